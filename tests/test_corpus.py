import json
import os
import signal
from collections import defaultdict

import numpy as np
import pytest

from editemotalk_addon.core.rig import EMOTIONS
from editemotalk_addon.core.timebase import TRAIN_FPS, frame_count
from model.training.corpus.builder import build_corpus, plan
from model.training.corpus.store import load_shard, read_manifest
from model.training.parallel import parallel
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
        assert {(source, "train"), (source, "validation"), (source, "test")} <= sources, source
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


def _identities(items, split, key) -> set:
    return {key(i) for i in items if i.split == split}


def _assert_disjoint(items, key, what):
    train, val, test = (_identities(items, s, key) for s in ("train", "validation", "test"))
    assert train and val and test, what
    assert not train & val and not train & test and not val & test, (what, train & test, train & val, val & test)


def test_splits_are_disjoint_on_the_underlying_voices_speakers_and_sentences(data_root):
    """Planned items of every source, split three ways, checked on who speaks and what is said - the espeak voice
    whatever its accent, the one person behind several flite/festival voices - not on voice strings."""
    from model.training.corpus import emodb, english_read, facegood, synthetic
    from model.training.corpus.splits import SET_LABELS, voice_identity

    synth = synthetic.items(3000)
    voice = lambda i: voice_identity(i.payload["voice"].family, i.payload["voice"].name, i.payload["voice"].variant)
    _assert_disjoint(synth, voice, "synthetic voices")
    _assert_disjoint(synth, lambda i: i.payload["text"].lower(), "synthetic sentences")
    assert {voice(i) for i in synth if i.split == "test"} == {"rms", "ked"}
    espeak_val = {voice(i) for i in synth if i.split == "validation" and i.payload["voice"].family == "espeak"}
    espeak_train = {voice(i) for i in synth if i.split == "train" and i.payload["voice"].family == "espeak"}
    assert espeak_val and not espeak_val & espeak_train  # every accent of a held-out espeak voice is held out

    emo = emodb.items(data_root / "emodb")
    _assert_disjoint(emo, lambda i: i.payload["name"][:2], "Emo-DB speakers")
    assert "seen sentences" in SET_LABELS["emodb"]  # the ten sentences are shared: said wherever it is reported

    read = english_read.items(data_root / "english_read")
    arctic = [i for i in read if i.id.startswith("english_read/arctic/")]
    _assert_disjoint(arctic, lambda i: i.payload["sentence"], "ARCTIC prompts")
    assert "seen speakers" in SET_LABELS["arctic"]  # bdl and slt read in every split
    cv = [i for i in read if i.id.startswith("english_read/cv/")]
    _assert_disjoint(cv, lambda i: i.payload["speaker"], "Common Voice speakers")

    fg = facegood.items(data_root / "facegood")
    _assert_disjoint(fg, lambda i: i.payload["name"], "FACEGOOD recordings")

    # across sources: no held-out synthetic voice is a person any other source trains on
    people_in_training = {"slt", "bdl", "kal"} | {voice(i) for i in synth if i.split == "train"}
    assert not {"rms", "ked"} & people_in_training


def test_built_corpus_carries_three_splits(corpus):
    out, _ = corpus
    rows = read_manifest(out)
    assert {r.split for r in rows} == {"train", "validation", "test"}
    for source in ("synthetic", "emodb", "english_read", "facegood"):
        assert {r.split for r in rows if r.source == source} == {"train", "validation", "test"}, source


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


def _die_on_two(x: int) -> int:
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # what a native crash looks like to the pool
    return x


def test_a_crashed_worker_fails_the_build_with_one_line_instead_of_hanging():
    assert sorted(parallel(_die_on_two, [0, 1], 2)) == [0, 1]
    with pytest.raises(RuntimeError, match="worker process crashed"):
        list(parallel(_die_on_two, [0, 1, 2, 3], 2))
