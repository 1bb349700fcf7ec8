"""The voice's emotion: the voice encoder as shipped, calibration, a speaker's own baseline, and what was heard as
slider keys an animator can keep or correct."""

import json

import numpy as np
import pytest

from editemotalk_addon.core import validate
from editemotalk_addon.core import weights as W
from editemotalk_addon.core.animator import Analysis, Animator
from editemotalk_addon.core.audio import load_audio
from editemotalk_addon.core.character import Character
from editemotalk_addon.core.emotion_keys import curves_json, heard_keys, phrases
from editemotalk_addon.core.emotion_space import calibrated, voice_alphas
from editemotalk_addon.core.rig import EMOTIONS
from editemotalk_addon.core.voice import VoiceEncoder


def analysis_of(probabilities: np.ndarray, speech: np.ndarray) -> Analysis:
    t = len(speech)
    z = np.zeros((1, t), np.float32)
    logits = np.log(probabilities + 1e-9)
    return Analysis(t / 50, z, z, z, z, np.zeros(1), logits, probabilities, speech)


def test_the_voice_encoder_runs_long_clips_in_windows_like_short_ones(data_root):
    """The shipped file: 512 features at 50 Hz for any length; a 25 s clip in 10 s windows agrees with the first
    window's own run over that window's core."""
    encoder = VoiceEncoder(W.DEFAULT / "voice.onnx")
    root = data_root / "english_read" / "cmu_arctic"
    bdl = [load_audio(root / "bdl" / f"arctic_b04{n:02d}.flac") for n in range(10, 26)]
    one = encoder(bdl[0])
    assert one.shape == (-(-len(bdl[0]) // 320), 512) and np.isfinite(one).all()
    clip = np.concatenate(bdl)[: 25 * 16000]
    long = encoder(clip)
    assert long.shape == (25 * 50, 512)
    window = encoder._run(clip[: 10 * 16000])  # the first window alone: its core frames (0-9 s) are the same
    assert np.abs(long[:400] - window[:400]).max() < 1e-4
    assert np.abs(long[600:] - window[-1]).max() > 1e-2  # past the first window: other audio, other features


def test_calibration_softens_an_overconfident_voice_and_keeps_its_ranking():
    logits = np.array([[0.0, 6.0, 1.0, 0, 0, 0, 0, 0]], np.float32)
    sharp, soft = calibrated(logits), calibrated(logits, temperature=4.0)
    assert soft.argmax() == sharp.argmax() == 1 and soft[0, 1] < sharp[0, 1]
    assert np.allclose(soft.sum(1), 1.0)
    assert voice_alphas(soft)[0, 0] < voice_alphas(sharp)[0, 0]  # voice mode shows it less strongly


def test_what_was_heard_becomes_phrase_keys_in_the_curves_format(tmp_path):
    """Two phrases, the first heard happy, the second no better than chance: one key per phrase edge at the value
    voice mode would show, ramps between, nothing for the uncertain phrase; the curves file bakes as written."""
    speech = np.zeros(300, np.float32)
    speech[50:120], speech[200:260] = 1.0, 1.0
    p = np.full((300, 8), 1 / 8, np.float32)
    happy = EMOTIONS.index("happy")
    p[50:120] = 0.05
    p[50:120, happy] = 1 - 7 * 0.05
    assert phrases(speech, 50) == [(50, 120), (200, 260)]
    keys = heard_keys(analysis_of(p, speech))
    assert list(keys) == ["happy"]
    value = float(voice_alphas(p[60:61])[0, happy - 1])
    times = [t for t, _, _ in keys["happy"]]
    assert times == sorted(times) and times[0] == pytest.approx(0.8) and times[-1] == pytest.approx(2.6)
    assert [v for _, v, _ in keys["happy"]] == pytest.approx([0.0, value, value, 0.0], abs=1e-3)
    assert all(c == pytest.approx(0.65) for _, _, c in keys["happy"])
    path = tmp_path / "heard.json"
    path.write_text(json.dumps(curves_json(keys)))
    spec = validate.curves_file(path)
    assert spec["mode"] == "absolute" and spec["sliders"]["happy"].shape == (4, 2)


def test_against_a_character_the_animator_changes_only_the_voices_emotion(speech_wav, data_root):
    """Read against a character (four real Emo-DB clips of one speaker and this line), the line's heard emotion
    changes and nothing else does; without a character, or with too few phrases, it is as analysed."""
    animator = Animator.load()
    analysis = animator.analyze(speech_wav)
    character = Character("Ada")
    for name in ("03a01Wa", "03a01Nc", "03a01Fa", "03a02Ta"):
        character.add(animator.analyze(data_root / "emodb" / "audio" / f"{name}.flac"))
    character.add(analysis)
    read = animator.heard(analysis, character)
    assert read.content is analysis.content and read.articulation is analysis.articulation
    assert np.abs(read.probabilities - analysis.probabilities).max() > 0.05
    assert np.allclose(read.probabilities.sum(1), 1.0, atol=1e-5)
    assert np.array_equal(animator.heard(analysis).probabilities, analysis.probabilities)


def test_keep_voice_is_the_papers_edit_from_the_heard_emotions_place_in_the_space():
    """e' = e_voice + sum_k alpha_k s_k v_k: a voice surely heard angry starts at the angry centroid, one heard
    half sad between the neutral and sad centroids; absolute mode starts at neutral; the sliders move both alike."""
    animator = Animator.load()
    space, angry, sad = animator.space, EMOTIONS.index("angry"), EMOTIONS.index("sad")
    speech = np.ones(50, np.float32)
    sure = analysis_of(np.tile(np.eye(8, dtype=np.float32)[angry], (50, 1)), speech)
    half = np.zeros((50, 8), np.float32)
    half[:, 0], half[:, sad] = 0.5, 0.5
    halfway = analysis_of(half, speech)
    from editemotalk_addon.core.animator import EmotionEdit

    voice, absolute = EmotionEdit(mode="voice"), EmotionEdit(mode="absolute")
    assert np.allclose(animator.edited_emotion(sure, voice).T, space.centroids[angry], atol=1e-5)
    assert np.allclose(animator.edited_emotion(sure, absolute).T, space.neutral, atol=1e-5)
    assert np.allclose(animator.edited_emotion(halfway, voice).T, (space.neutral + space.centroids[sad]) / 2, atol=1e-5)
    assert space.probabilities(animator.edited_emotion(sure, voice).T[:1])[0].argmax() == angry
    happy = {"happy": 0.8}
    moved_voice = animator.edited_emotion(sure, EmotionEdit(happy, mode="voice")) - animator.edited_emotion(sure, voice)
    moved_abs = animator.edited_emotion(sure, EmotionEdit(happy)) - animator.edited_emotion(sure, absolute)
    assert np.allclose(moved_voice, moved_abs, atol=1e-5)
    assert np.allclose(moved_abs.T[0], 0.8 * space.directions[EMOTIONS.index("happy") - 1], atol=1e-5)


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_lips_first_then_the_voice_gives_what_one_analysis_gives(data_root, runtime):
    """Analyze's two stages: what is said alone (the face, editable at once; the voice reads neutral and adds
    nothing in voice mode), then hear() fills how it is said: the same arrays as one analyze(), to the bit, on a
    clip long enough for several windows of both networks."""
    root = data_root / "english_read" / "cmu_arctic" / "bdl"
    clip = np.concatenate([load_audio(root / f"arctic_b04{n:02d}.flac") for n in range(10, 20)])[: 24 * 16000]
    animator = Animator.load(runtime=runtime)
    whole = animator.analyze(clip)
    lips = animator.analyze(clip, voice=False)
    assert whole.voice_heard and not lips.voice_heard
    for name in ("content", "articulation", "gate", "speech"):
        assert np.array_equal(getattr(lips, name), getattr(whole, name)), name
    assert lips.detected["neutral"] == 1.0 and not voice_alphas(lips.probabilities).any()
    assert not np.allclose(lips.probabilities, whole.probabilities)
    heard = animator.hear(lips, clip)
    assert heard.voice_heard and heard.content is lips.content
    for name in ("emotion", "clip", "logits", "probabilities"):
        assert np.array_equal(getattr(heard, name), getattr(whole, name)), name
    assert animator.hear(heard, clip) is heard


def test_a_long_clip_analyzed_in_chunks_gets_what_one_pass_gives(data_root, monkeypatch):
    """Past CHUNK_FRAMES a clip is analyzed in chunks (one network's features at a time, bounded memory): with
    chunks of 12 s, a 31 s clip gets the same content, lips and voice, frame by frame, as one pass."""
    from editemotalk_addon.core import animator as module

    root = data_root / "english_read" / "cmu_arctic" / "bdl"
    clip = np.concatenate([load_audio(root / f"arctic_b04{n:02d}.flac") for n in range(10, 25)])[: 31 * 16000 + 77]
    animator = Animator.load()
    whole = animator.analyze(clip)
    monkeypatch.setattr(module, "CHUNK_FRAMES", 600)
    chunked = animator.analyze(clip)
    assert chunked.content.shape == whole.content.shape == (128, -(-len(clip) * 50 // 16000))
    for name in ("content", "articulation", "gate", "speech", "emotion", "logits", "probabilities"):
        assert np.abs(getattr(chunked, name) - getattr(whole, name)).max() < 1e-4, name
