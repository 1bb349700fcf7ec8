"""The teacher: a deterministic facial performance from speech whose phones are known.

    phones + loudness + pitch + emotion sliders + seed  ->  (frames, 52) ARKit weights at any frame rate

It is the source of every training target and the oracle of every benchmark. Three additive layers, so each can be
baked to its own NLA track: articulation (mouth, jaw, tongue), expression (emotion), life (blinks, gaze).
"""

from __future__ import annotations

import numpy as np

from editemotalk_addon.core.life import live
from editemotalk_addon.core.lips import on_lips
from editemotalk_addon.core.performance import Performance
from editemotalk_addon.core.recogniser import FULL_S, NONE_S
from editemotalk_addon.core.rig import SLIDERS
from editemotalk_addon.core.timebase import frame_times

from ..phones import SIL, PhoneSegment
from ..prosody import Prosody
from .articulation import articulate
from .expression import express, seal_expression


def slider_track(emotion: str, intensity, frames: int) -> np.ndarray:
    """(F, 7) slider intensities for one emotion at a constant or per-frame intensity (neutral: all zero)."""
    sliders = np.zeros((frames, len(SLIDERS)), np.float32)
    if emotion != "neutral":
        sliders[:, SLIDERS.index(emotion)] = intensity
    return sliders


def jaw_gain(prosody: Prosody):
    """Louder speech opens the jaw further: x0.5 at 12 dB below the clip's speech level, x1.5 at 10 dB above."""
    rel = prosody.relative_loudness()

    def gain(t: float) -> float:
        return float(np.clip(1.0 + 0.6 * prosody.at(np.array([t]), rel)[0], 0.5, 1.5))

    return gain


def perform(
    phones: list[PhoneSegment],
    prosody: Prosody,
    emotion: str = "neutral",
    intensity: float | np.ndarray = 1.0,
    seed: int = 0,
    fps: float = 30,
    sliders: np.ndarray | None = None,
    duration: float | None = None,
) -> Performance:
    """The teacher's performance. `sliders` (F, 7) overrides `emotion`/`intensity` for blends and keyframed edits."""
    duration = prosody.duration if duration is None else duration
    times = frame_times(duration, fps)
    if sliders is None:
        sliders = slider_track(emotion, intensity, len(times))
    articulation, closure = articulate(phones, times, jaw_gain(prosody))
    speech = [s.start for s in phones if s.phone != SIL]
    rng = np.random.default_rng(seed)
    expression = express(times, sliders, prosody.pitch_accents(), closure, speech[0] if speech else 0.0, rng)
    expression = seal_expression(articulation, expression, closure)
    articulation, expression = on_lips(articulation, expression, closure, speech_activity(phones, times))
    return Performance(fps, articulation, expression, live(times, sliders, seed), closure)


def speech_activity(phones: list[PhoneSegment], times: np.ndarray) -> np.ndarray:
    """(F,) the aligned phones' speech activity, on the runtime's terms (core.recogniser.speech_activity): 1
    within 50 ms of speech, 0 from 150 ms away."""
    distance = np.full(len(times), np.inf)
    for s in phones:
        if s.phone != SIL:
            distance = np.minimum(distance, np.maximum(np.maximum(s.start - times, times - s.end), 0.0))
    return np.clip((NONE_S - distance) / (NONE_S - FULL_S), 0.0, 1.0).astype(np.float32)
