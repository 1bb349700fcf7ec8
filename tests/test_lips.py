"""Lips on a real head, for the shipped weights: the seal no edit can break, closures on held-out speech, and an
articulation layer that edits never touch. "Closed" is measured on the ICT-FaceKit mesh itself."""

import dataclasses
import itertools

import numpy as np
import pytest

from editemotalk_addon.core import lips
from editemotalk_addon.core.animator import Animator, EmotionEdit
from editemotalk_addon.core.audio import load_audio
from editemotalk_addon.core.ict import IctHead
from editemotalk_addon.core.rig import SLIDERS
from model.evaluation.lip_derivation import matches_mesh
from model.evaluation.metrics import closure_hits, false_closures
from model.training.align import align

ARCTIC_TEST = ["bdl/arctic_b0400", "slt/arctic_b0401", "bdl/arctic_b0402", "slt/arctic_b0403"]


@pytest.fixture(scope="module")
def head(data_root):
    return IctHead.load(data_root / "ict_facekit" / "ict_face_model.npz")


@pytest.fixture(scope="module")
def animator():
    return Animator.load(runtime="onnx")


@pytest.fixture(scope="module")
def held_out(data_root, animator):
    """CMU ARCTIC test prompts (b0400+), aligned to their transcripts, analyzed once."""
    root = data_root / "english_read" / "cmu_arctic"
    texts = dict(line.split("\t", 1) for line in (root / "transcripts.tsv").read_text().splitlines() if "\t" in line)
    out = []
    for name in ARCTIC_TEST:
        rel = next(k for k in texts if k.startswith(name))
        audio = load_audio(root / rel)
        out.append((animator.analyze(audio), align(audio, texts[rel])))
    return out


def mesh_gap_mm(head: IctHead, weights: np.ndarray) -> np.ndarray:
    """(F, 52) -> (F,): the largest vertical gap between the contact vertices, from the posed ICT mesh itself."""
    pairs = list(zip(lips.UPPER_VERTICES, lips.LOWER_VERTICES))
    verts = head.vertices(weights, np.array([v for pair in pairs for v in pair]))  # (F, 2P, 3) cm
    return (10 * (verts[:, 0::2, 1] - verts[:, 1::2, 1])).clip(min=0).max(1)


def test_lip_constants_are_the_mesh(data_root):
    assert matches_mesh(data_root / "ict_facekit" / "ict_face_model.npz")


def test_closed_means_closer_than_the_rest_face(head):
    rest = np.zeros((1, 52), np.float32)
    assert mesh_gap_mm(head, rest)[0] > 0.6 and not lips.lips_closed(rest)[0]
    jaw = rest.copy()
    jaw[0, lips.JAW] = 0.5
    sealed = lips.seal(jaw, np.ones(1))
    assert mesh_gap_mm(head, jaw)[0] > 10 and mesh_gap_mm(head, sealed)[0] < 0.05


def test_one_seal_rule_the_numpy_rule_and_its_torch_twin_agree():
    """core.lips.seal (metrics, teacher, runtime) and core.network.lips.seal (inside the ONNX graphs)."""
    import torch

    from editemotalk_addon.core.network import lips as twin

    rng = np.random.default_rng(0)
    weights = rng.uniform(0, 1, (400, 52)).astype(np.float32) ** 3  # mostly small, some near 1
    weights[:100, lips.JAW] = 1.0  # the jaw wide open: mouthClose saturates, the jaw must give way
    gate = rng.uniform(0, 1, 400).astype(np.float32)
    gate[::4], gate[1::4] = 1.0, 0.0
    ours = lips.seal(weights, gate)
    theirs = twin.seal(torch.from_numpy(weights.T[None]), torch.from_numpy(gate[None, None]))[0].numpy().T
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.abs(lips.lip_gap_mm(weights) - twin.lip_gap_mm(torch.from_numpy(weights.T[None]))[0].numpy()).max() < 1e-4
    assert lips.lip_gap_mm(ours[gate == 1]).max() <= lips.SEAL_TARGET_MM + 1e-4  # a full gate always seals
    assert np.array_equal(ours[1::4], weights[1::4])  # a shut gate changes nothing


def test_the_seal_is_a_guarantee_even_with_every_other_channel_at_its_worst():
    """mouthClose at 1, the jaw shut and the parting shapes cancelled: no mix of the rest opens a central pair."""
    free = np.ones(52, bool)
    free[[lips.JAW, lips.CLOSE, *lips.CANCELLED_BY_SEAL]] = False
    worst = lips.GAP0_MM + lips.GAP_COEF_MM[:, lips.CLOSE] + np.where(free, lips.GAP_COEF_MM, 0.0).clip(min=0).sum(1)
    assert worst.max() < 0


def test_no_slider_or_pair_of_sliders_opens_lips_the_gate_has_closed(animator, held_out, head):
    """With the gate closed, every slider at 1.5 and every pair at 1.0, in both modes: ICT lips within 1 mm.
    Through Animator.generate, the path every user takes: the weights it bakes (all layers summed, at 30 fps)."""
    analysis = dataclasses.replace(held_out[0][0], gate=np.ones_like(held_out[0][0].gate))  # the gate shut throughout
    worst = 0.0
    for combo in [(s,) for s in SLIDERS] + list(itertools.combinations(SLIDERS, 2)):
        for mode in ("absolute", "voice"):
            alpha = 1.5 if len(combo) == 1 else 1.0
            perf = animator.generate(analysis, EmotionEdit(dict.fromkeys(combo, alpha), mode=mode), fps=30)
            worst = max(worst, float(mesh_gap_mm(head, perf.weights).max()))
    assert worst <= 1.0, worst


def test_edits_leave_the_articulation_layer_bit_for_bit_unchanged(animator, held_out):
    analysis = held_out[0][0]
    plain = animator.generate(analysis, EmotionEdit(), fps=30).articulation
    for name in SLIDERS:
        for alpha in (0.5, 1.0, 1.5):
            for mode in ("absolute", "voice"):
                perf = animator.generate(analysis, EmotionEdit({name: alpha}, mode=mode, intensity=1.0), fps=30)
                assert np.array_equal(perf.articulation, plain), (name, alpha, mode)


def test_held_out_speech_closes_on_its_bilabials_and_little_elsewhere(animator, held_out):
    hits, shut, eligible = [], 0, 0
    for analysis, phones in held_out:
        weights = animator.generate(analysis, EmotionEdit(), fps=30).weights
        hits += closure_hits(weights, phones, 30)
        s, e = false_closures(weights, phones, 30)
        shut, eligible = shut + s, eligible + e
    assert len(hits) >= 8 and np.mean(hits) >= 0.75, hits
    assert shut / eligible < 0.15


def test_no_emotion_closes_a_speaking_mouth_outside_a_closure(animator, held_out):
    """The emotion-press case (a sad press at 1.5 sealed lips mid-word): every slider at 1.5 and every pair at 1.0,
    in both modes, where the gate is open and someone speaks, never narrows the lips below the articulation's own
    gap minus the margin."""
    analysis = held_out[0][0]
    open_ = (analysis.gate[0] < 0.1) & (analysis.speech == 1.0)
    assert open_.sum() > 50
    articulation = lips.pair_gaps_mm(analysis.articulation.T).max(1)
    worst = np.inf
    for combo in [(s,) for s in SLIDERS] + list(itertools.combinations(SLIDERS, 2)):
        for mode in ("absolute", "voice"):
            edit = EmotionEdit(dict.fromkeys(combo, 1.5 if len(combo) == 1 else 1.0), mode=mode)
            weights = animator.generate(analysis, edit, fps=analysis.fps, life=False).weights
            narrowed = (articulation - lips.pair_gaps_mm(weights).max(1))[open_]
            worst = min(worst, float((lips.OPEN_MARGIN_MM - narrowed).min()))
    assert worst >= -1e-3, worst


def test_the_mouth_rests_in_silence_whatever_the_emotion(animator, data_root):
    """A second of silence before and after a line: more than 150 ms from speech, the lip gap stays within 1 mm of
    the rest face's in both modes, with any slider at 1.5 (fear and surprise drop the jaw while speaking)."""
    audio = load_audio(data_root / "english_read" / "cmu_arctic" / "slt" / "arctic_b0450.flac")
    silence = np.zeros(16000, np.float32)
    analysis = animator.analyze(np.concatenate([silence, audio, silence]))
    t = np.arange(len(analysis.speech)) / analysis.fps
    speech = align(audio, "To my dearest and always appreciated friend, I submit myself.")
    spoken = [(s.start + 1.0, s.end + 1.0) for s in speech if s.phone != "SIL"]
    far = np.array([all(x < a - 0.15 or x > b + 0.15 for a, b in spoken) for x in t])
    assert far.sum() > 60
    for name in (None, *SLIDERS):
        for mode in ("absolute", "voice"):
            edit = EmotionEdit({name: 1.5} if name else {}, mode=mode)
            gap = lips.lip_gap_mm(animator.generate(analysis, edit, fps=analysis.fps).weights)
            assert np.abs(gap[far] - lips.REST_MM).max() <= 1.0, (name, mode)
