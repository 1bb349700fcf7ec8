import json
from collections import defaultdict

import numpy as np
import pytest

from model.runtime.rig import EMOTIONS
from model.runtime.timebase import TRAIN_FPS, frame_count
from model.training.corpus.builder import build_corpus, plan
from model.training.corpus.store import load_shard, read_manifest
from model.training.phones import INVENTORY

HOURS = 0.04


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("corpus")
    summary = build_corpus(out, HOURS, data_root, workers=2, progress=False)
    return out, summary


def test_every_source_split_family_and_emotion_is_present(corpus):
    out, summary = corpus
    rows = read_manifest(out)
    sources = {(r.source, r.split) for r in rows}
    for source in ("synthetic", "emodb", "facegood", "english_read"):
        assert {(source, "train"), (source, "test")} <= sources, source
    assert {r.family for r in rows if r.source == "synthetic"} == {"espeak", "flite", "festival"}
    assert set(EMOTIONS) <= {r.emotion for r in rows}
    assert all(r.real_speech == (r.source != "synthetic") for r in rows)


def test_manifest_rows_match_their_shards(corpus):
    out, _ = corpus
    rows = read_manifest(out)
    by_shard = defaultdict(list)
    for r in rows:
        by_shard[r.shard].append(r)
    assert len({r.id for r in rows}) == len(rows)
    for shard, metas in by_shard.items():
        for ex in load_shard(out / "shards" / shard, metas):
            m = ex.meta
            assert abs(len(ex.audio) / 16000 - m.duration) < 1e-3
            assert ex.targets.shape == (frame_count(len(ex.audio) / 16000, TRAIN_FPS), 52)
            assert ex.targets.min() >= 0 and ex.targets.max() <= 1
            assert ex.mask.shape == (52,)
            if m.source == "facegood":
                assert 0 < ex.mask.sum() < 52 and not ex.phones
            else:
                assert ex.mask.all() and ex.phones and all(p.phone in INVENTORY for p in ex.phones)
                assert all(a.end <= b.start + 1e-6 for a, b in zip(ex.phones, ex.phones[1:]))
                assert ex.prosody is not None and len(ex.prosody.loudness_db) >= m.duration * 100 - 1


def test_splits_are_disjoint_by_speaker_and_sentence(corpus):
    out, _ = corpus
    rows = read_manifest(out)

    def disjoint(source, field, where=lambda r: True):
        train = {getattr(r, field) for r in rows if r.source == source and r.split == "train" and where(r)}
        test = {getattr(r, field) for r in rows if r.source == source and r.split == "test" and where(r)}
        assert train and test and not train & test, (source, field, train & test)

    disjoint("synthetic", "speaker")
    disjoint("synthetic", "sentence")
    disjoint("emodb", "speaker")
    assert {r.speaker for r in rows if r.source == "emodb" and r.split == "test"} <= {"emodb:15", "emodb:16"}
    disjoint("facegood", "sentence")
    disjoint("english_read", "sentence")  # ARCTIC prompts b0400+ and CV sentences
    cv = lambda r: r.speaker.startswith("cv:")
    train = {r.speaker for r in rows if r.source == "english_read" and cv(r) and r.split == "train"}
    test = {r.speaker for r in rows if r.source == "english_read" and cv(r) and r.split == "test"}
    assert not train & test
    assert all(
        r.sentence >= "arctic:arctic_b0400" for r in rows if r.sentence.startswith("arctic:") and r.split == "test"
    )


def test_synthetic_examples_come_in_emotion_pairs(corpus):
    out, _ = corpus
    groups = defaultdict(list)
    for r in read_manifest(out):
        if r.source == "synthetic":
            groups[r.pair].append(r)
    assert max(len(g) for g in groups.values()) == 8
    for g in groups.values():
        assert len({r.sentence for r in g}) == 1 and len({r.speaker for r in g}) == 1
        assert len({r.emotion for r in g}) == len(g)
        assert all((r.intensity == 0) == (r.emotion == "neutral") for r in g)


def test_rerun_resumes_without_rebuilding(corpus, data_root):
    out, first = corpus
    before = (out / "manifest.jsonl").read_text()
    again = build_corpus(out, HOURS, data_root, workers=2, progress=False)
    assert again["built_seconds_of_audio"] == 0
    assert (out / "manifest.jsonl").read_text() == before
    assert json.loads((out / "summary.json").read_text())["examples"] == first["examples"]


def test_a_larger_budget_keeps_every_finished_shard(data_root):
    small = {j.shard: j.item_ids for j in plan(0.05, data_root)}
    large = {j.shard: j.item_ids for j in plan(0.5, data_root)}
    synthetic = [s for s in small if s.startswith("synthetic")][:-1]  # the last block may grow
    assert all(large[s] == small[s] for s in synthetic)
    assert sum(len(v) for v in large.values()) > 3 * sum(len(v) for v in small.values())
    assert np.isclose(
        sum(len(v) for k, v in large.items() if k.startswith("emodb")) / 535, 0.5 * 3600 * 0.6 / 8684, atol=0.05
    )
