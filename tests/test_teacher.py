import numpy as np
import pytest

from editemotalk_addon.core import life
from editemotalk_addon.core.lips import lips_closed
from editemotalk_addon.core.rig import EMOTIONS, INDEX, SLIDERS
from editemotalk_addon.core.timebase import FPS_CHOICES, frame_times
from model.evaluation.metrics import closure_hits, false_closures
from model.training import teacher
from model.training.phones import BILABIAL, SIL
from model.training.teacher.expression import EXPRESSIONS, prototype_channels


@pytest.mark.parametrize("fps", [24, 30, 60])
def test_every_bilabial_closes_in_every_emotion_and_intensity(spoken, fps):
    for emotion in EMOTIONS:
        audio, phones, prosody = spoken[emotion]
        assert sum(s.phone in BILABIAL for s in phones) >= 8
        for intensity in (0.0, 0.5, 1.0, 1.5):
            perf = teacher.perform(phones, prosody, emotion, intensity, seed=1, fps=fps)
            hits = closure_hits(perf.weights, phones, fps)
            assert all(hits), (emotion, intensity, hits)
            shut, eligible = false_closures(perf.weights, phones, fps)
            assert shut <= 0.03 * eligible, (emotion, intensity, shut, eligible)  # and not elsewhere


def test_open_vowels_open_the_jaw_more_than_closed_ones(spoken):
    audio, phones, prosody = spoken["neutral"]
    perf = teacher.perform(phones, prosody, fps=60)
    jaw = perf.weights[:, INDEX["jawOpen"]]

    def peak(phone_set):
        return [jaw[int(s.start * 60) : int(s.end * 60) + 1].max() for s in phones if s.phone in phone_set]

    open_, closed = peak({"AA", "AO", "AE", "AY"}), peak({"IY", "UW", "UH"})
    assert min(open_) > 0.2 and np.mean(open_) > np.mean(closed) + 0.1


@pytest.mark.parametrize("emotion", SLIDERS)
def test_each_emotion_moves_its_facs_channels_monotonically(spoken, emotion):
    audio, phones, prosody = spoken[emotion]
    channels = [INDEX[c] for c in prototype_channels(emotion)]
    assert channels
    means = [
        teacher.perform(phones, prosody, emotion, i, seed=2, fps=30).expression[:, channels].mean(0)
        for i in (0.0, 0.25, 0.5, 1.0, 1.5)
    ]
    assert np.all(np.diff(np.array(means), axis=0) > 0), emotion


def test_facs_prototypes_leave_headroom_to_intensity_one_and_a_half():
    assert EXPRESSIONS.max() <= 0.8 + 1e-6  # nothing clips below alpha 1.25
    assert prototype_channels("happy") == [
        "eyeSquintLeft",
        "eyeSquintRight",
        "mouthSmileLeft",
        "mouthSmileRight",
        "cheekSquintLeft",
        "cheekSquintRight",
    ]
    contempt = prototype_channels("contempt")
    assert "mouthSmileRight" in contempt and "mouthSmileLeft" not in contempt  # unilateral


def test_closure_events_agree_across_frame_rates(spoken):
    """Each p/b/m's closure (the mean time of its sealed frames) sits within one frame at 24, 30 and 60 fps."""
    audio, phones, prosody = spoken["angry"]
    onsets = {}
    for fps in (24, 30, 60):
        closed = lips_closed(teacher.perform(phones, prosody, "angry", 1.0, seed=4, fps=fps).weights)
        t = np.arange(len(closed)) / fps
        onsets[fps] = np.array(
            [
                t[(t >= s.start - 0.5 / fps) & (t <= s.end + 0.5 / fps) & closed].mean()
                for s in phones
                if s.phone in BILABIAL
            ]
        )
    for fps in (24, 30):
        assert np.max(np.abs(onsets[fps] - onsets[60])) <= 1 / fps + 1e-9, (fps, onsets[fps] - onsets[60])


def test_deterministic_for_a_seed_and_alive_across_seeds(spoken):
    audio, phones, prosody = spoken["happy"]
    a = teacher.perform(phones, prosody, "happy", 1.0, seed=5).weights
    b = teacher.perform(phones, prosody, "happy", 1.0, seed=5).weights
    c = teacher.perform(phones, prosody, "happy", 1.0, seed=6).weights
    assert np.array_equal(a, b)
    blink = INDEX["eyeBlinkLeft"]
    assert not np.allclose(a[:, blink], c[:, blink]) and a[:, blink].max() > 0.5  # blinks happen, seed-dependent


def test_blink_rate_follows_emotion():
    """Over ten minutes, fearful blinks about 2.8x as often as surprised (28 vs 10 per minute in the table)."""
    times = frame_times(600, 30)
    rates = {}
    for emotion in ("fearful", "surprised"):
        sliders = teacher.slider_track(emotion, 1.0, len(times))
        blink = life.blink_curve(times, sliders, np.random.default_rng(0))
        rates[emotion] = np.sum((blink[1:] > 0.5) & (blink[:-1] <= 0.5)) / 10
    assert 20 < rates["fearful"] < 36 and 4 < rates["surprised"] < 12


@pytest.mark.parametrize("fps", FPS_CHOICES)
def test_any_supported_frame_rate_gives_weights_in_range(spoken, fps):
    audio, phones, prosody = spoken["surprised"]
    w = teacher.perform(phones, prosody, "surprised", 1.5, fps=fps).weights
    assert w.shape == (int(np.ceil(len(audio) / 16000 * fps)), 52)
    assert w.min() >= 0 and w.max() <= 1


def test_emotion_never_undoes_a_closure_even_at_full_blend(spoken):
    audio, phones, prosody = spoken["neutral"]
    sliders = np.full((int(np.ceil(len(audio) / 16000 * 30)), 7), 1.5, np.float32)  # every emotion at once
    perf = teacher.perform(phones, prosody, sliders=sliders, fps=30)
    assert all(closure_hits(perf.weights, phones, 30))
    assert perf.expression[:, INDEX["jawOpen"]].max() > 0.3  # the jaw drop of fear and surprise is there...
    sealed = perf.closure >= 1.0
    assert perf.expression[sealed, INDEX["jawOpen"]].max() == 0  # ...but not while the lips seal
    assert sum(s.phone != SIL for s in phones) > 20
