"""The phone groups the recogniser is sure of and the words of a given line (core/phone_marks.py), against a forced
alignment of read speech the recogniser never trained on (CMU ARCTIC test prompts, aligned by
model/training/align.py)."""

import numpy as np
import pytest

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.audio import load_audio
from editemotalk_addon.core.phone_marks import heard_groups, on_frames, speech_columns, word_starts, words_of
from editemotalk_addon.core.recogniser import Recogniser
from model.training.align import align, align_words

ALIGNED = {  # the ARPAbet phones of each group
    "closure": {"P", "B", "M"},
    "rounded": {"UW", "UH", "OW", "W", "AO", "OY"},
    "open": {"AA", "AE", "AY", "AW", "AH"},
}
NEAR_S = 0.06


@pytest.fixture(scope="module")
def heard(data_root):
    """(marks, aligned phones) of 20 test prompts."""
    root = data_root / "english_read" / "cmu_arctic"
    texts = dict(line.split("\t", 1) for line in (root / "transcripts.tsv").read_text().splitlines() if "\t" in line)
    prompts = [f"arctic_b0{n}" for n in range(400, 440)]
    chosen = [k for k in sorted(texts) if k.split("/")[-1].split(".")[0] in prompts][:20]
    recogniser = Recogniser(W.verify(W.DEFAULT) / "recogniser.onnx")
    out = []
    for rel in chosen:
        audio = load_audio(root / rel)
        out.append((heard_groups(recogniser(audio)[0]), align(audio, texts[rel])))
    return out


def near(t, segments, phones) -> bool:
    return any(s.phone in phones and s.start - NEAR_S <= t <= s.end + NEAR_S for s in segments)


def test_each_mark_is_on_a_phone_of_its_group_and_every_closure_is_marked(heard):
    right = {g: [near(t, segs, ALIGNED[g]) for marks, segs in heard for t, mark in marks if mark == g] for g in ALIGNED}
    assert min(len(r) for r in right.values()) >= 30  # enough marks of each group to judge
    precision = {g: sum(r) / len(r) for g, r in right.items()}
    assert precision["closure"] >= 0.95 and precision["open"] >= 0.9 and precision["rounded"] >= 0.75, precision
    closures = [(s, marks) for marks, segs in heard for s in segs if s.phone in ALIGNED["closure"]]
    found = [any(g == "closure" and s.start - NEAR_S <= t <= s.end + NEAR_S for t, g in marks) for s, marks in closures]
    assert sum(found) / len(found) >= 0.9  # an animator can check every p, b and m by eye


def test_marks_go_on_the_clips_frames():
    marks = [(0.0, "closure"), (0.5, "open"), (1.02, "rounded")]
    assert on_frames(marks, 24.0, 10) == [
        {"frame": 10, "seconds": 0.0, "group": "closure"},
        {"frame": 22, "seconds": 0.5, "group": "open"},
        {"frame": 34, "seconds": 1.02, "group": "rounded"},
    ]


def test_the_words_of_a_given_line_are_placed_where_a_forced_aligner_puts_them(data_root):
    """The line's words over the recogniser's word boundaries (no pronouncing dictionary), against pocketsphinx's
    forced alignment with its dictionary: most words start within 0.1 s of it, nearly all within 0.2 s."""
    root = data_root / "english_read" / "cmu_arctic"
    texts = dict(line.split("\t", 1) for line in (root / "transcripts.tsv").read_text().splitlines() if "\t" in line)
    prompts = [f"arctic_b0{n}" for n in range(400, 440)]
    chosen = [k for k in sorted(texts) if k.split("/")[-1].split(".")[0] in prompts][:20]
    recogniser = Recogniser(W.verify(W.DEFAULT) / "recogniser.onnx")
    errors = []
    for rel in chosen:
        audio = load_audio(root / rel)
        placed = word_starts(speech_columns(recogniser(audio)[0]), words_of(texts[rel]))
        assert [w for _, w in placed] == words_of(texts[rel])  # every word, in order
        errors += [abs(t - ref) for (t, _), ref in zip(placed, align_words(audio, texts[rel]), strict=True)]
    errors = np.array(errors)
    assert len(errors) > 150 and np.median(errors) <= 0.1 and np.mean(errors <= 0.2) >= 0.9, np.median(errors)
