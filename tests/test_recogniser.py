"""The pretrained phoneme recogniser as the extension runs it: the shipped ONNX file, our own feeder, long clips in
windows, and the speech activity that puts the mouth at rest."""

import numpy as np
import pytest

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.audio import SAMPLE_RATE, load_audio
from editemotalk_addon.core.recogniser import BILABIAL, Recogniser, frame_count, speech_activity
from model.training.align import align

ARCTIC_TEST = [f"arctic_b0{n}" for n in range(400, 440)]  # test prompts, never trained on
NEAR_S = 0.06


@pytest.fixture(scope="module")
def recogniser():
    return Recogniser(W.verify(W.DEFAULT) / "recogniser.onnx")


@pytest.fixture(scope="module")
def arctic(data_root):
    root = data_root / "english_read" / "cmu_arctic"
    texts = dict(line.split("\t", 1) for line in (root / "transcripts.tsv").read_text().splitlines() if "\t" in line)
    chosen = [k for k in sorted(texts) if k.split("/")[-1].split(".")[0] in ARCTIC_TEST][:20]
    return [(load_audio(root / rel), texts[rel]) for rel in chosen]


def bilabial_mass(log_probs: np.ndarray) -> np.ndarray:
    return np.exp(log_probs[:, list(BILABIAL)]).sum(1)


def test_the_bilabial_posterior_rises_at_aligned_p_b_m_and_nowhere_else(recogniser, arctic):
    """Through the shipped file: > 0.5 within 60 ms of >= 80 % of aligned p/b/m, and on < 5 % of the other frames."""
    found, events, stray, other = 0, 0, 0, 0
    for audio, text in arctic:
        log_probs, hidden = recogniser(audio)
        assert log_probs.shape == (frame_count(len(audio)), 191) and hidden.shape == (len(log_probs), 256)
        mass, t = bilabial_mass(log_probs), np.arange(len(log_probs)) * 0.02
        near = np.zeros(len(t), bool)
        for seg in align(audio, text):
            if seg.phone in ("P", "B", "M"):
                window = (t >= seg.start - NEAR_S) & (t <= seg.end + NEAR_S)
                near |= window
                found, events = found + bool((mass[window] > 0.5).any()), events + 1
        stray, other = stray + int((mass[~near] > 0.5).sum()), other + int((~near).sum())
    assert events > 40
    assert found / events >= 0.8, (found, events)
    assert stray / other < 0.05, (stray, other)


def test_long_clips_run_in_windows_that_agree_with_one_pass(recogniser, arctic, tmp_path):
    """A 40 s clip, past the graph's 30 s: stitched 20 s windows against one pass of an uncapped copy of the graph.
    Every frame depends on the whole input (global means, self-attention), so they cannot be equal; they agree on
    where the lips close: the same p/b/m peaks within one frame, and 99 % of frames within 0.5 of each other."""
    import onnx

    model = onnx.load(W.DEFAULT / "recogniser.onnx")
    raised = 0
    for node in model.graph.node:  # the graph's two 3000-frame limits, lifted
        if node.op_type == "Constant" and node.output[0] in ("/Constant_14_output_0", "/Constant_24_output_0"):
            value = onnx.numpy_helper.to_array(node.attribute[0].t)
            node.attribute[0].t.CopyFrom(onnx.numpy_helper.from_array(np.full_like(value, 10**9)))
            raised += 1
    assert raised == 2
    onnx.save(model, tmp_path / "uncapped.onnx")
    clip = np.concatenate([audio for audio, _ in arctic])[: 40 * SAMPLE_RATE]
    assert len(clip) == 40 * SAMPLE_RATE
    stitched, _ = recogniser(clip)
    single, _ = Recogniser(tmp_path / "uncapped.onnx")._run(clip)
    assert stitched.shape == single.shape == (frame_count(len(clip)), 191)
    a, b = bilabial_mass(stitched), bilabial_mass(single)
    assert np.percentile(np.abs(a - b), 99) < 0.5
    peaks = lambda m: set(np.flatnonzero((m > 0.5) & (m >= np.roll(m, 1)) & (m >= np.roll(m, -1))))
    pa, pb = peaks(a), peaks(b)
    matched = sum(any(abs(p - q) <= 1 for q in pb) for p in pa)
    assert len(pa) > 20 and matched >= 0.95 * len(pa) and abs(len(pa) - len(pb)) <= 0.05 * len(pb)


def test_speech_activity_is_zero_in_silence_and_one_in_speech(recogniser, arctic):
    audio = arctic[0][0]
    silence = np.zeros(SAMPLE_RATE, np.float32)
    clip = np.concatenate([silence, audio, silence])
    log_probs, _ = recogniser(clip)
    activity = speech_activity(clip, log_probs)
    assert activity.shape == (len(log_probs),)
    speech = align(audio, arctic[0][1])
    first = 1.0 + next(s.start for s in speech if s.phone != "SIL")
    t = np.arange(len(activity)) * 0.02
    assert activity[t < first - 0.2].max() == 0.0  # the lead-in silence rests
    assert activity[t > 1.0 + len(audio) / SAMPLE_RATE + 0.3].max() == 0.0  # and so does the tail
    voiced = [(s.start + 1.0, s.end + 1.0) for s in speech if s.phone not in ("SIL",)]
    inside = np.concatenate([activity[(t >= a) & (t <= b)] for a, b in voiced])
    assert (inside == 1.0).mean() > 0.95
