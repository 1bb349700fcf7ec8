"""Life: blinks and small eye movements, shaped by emotion.

Events are drawn in continuous time from a seeded generator and only then sampled at the frames, so the same seed
gives the same blinks at 24 and at 60 fps. The model uses this module too: blinks cannot be predicted from audio,
so they stay procedural at inference, driven by the edited emotion.
"""

from __future__ import annotations

import numpy as np

from .rig import EMOTIONS, INDEX, NUM_CHANNELS

# Per emotion: blinks per minute, blink speed, gaze hold (s), vertical gaze bias. An emotion without a row of its
# own blinks and looks as neutral does.
LIFE = {
    "neutral": (17, 1.0, 1.2, 0.0),
    "happy": (21, 1.0, 1.1, 0.02),
    "sad": (12, 0.7, 1.8, -0.12),
    "angry": (10, 1.15, 1.5, 0.0),
    "fearful": (28, 1.3, 0.6, 0.03),
    "disgusted": (18, 1.0, 1.2, -0.04),
    "surprised": (8, 1.2, 0.9, 0.05),
    "contempt": (14, 0.9, 1.4, -0.02),
}
BLINK_RATE, BLINK_SPEED, GAZE_HOLD, GAZE_BIAS = np.array([LIFE.get(e, LIFE["neutral"]) for e in EMOTIONS], np.float32).T
_CLOSE, _HOLD, _OPEN = 0.09, 0.03, 0.18  # s, blink phases at speed 1
_SACCADE = 0.04  # s


def _mix(table: np.ndarray, sliders: np.ndarray) -> np.ndarray:
    """Blend a per-emotion table by slider intensities (F, 7) -> (F,), neutral where all sliders are 0."""
    w = np.clip(sliders, 0.0, None)
    return table[0] + w @ (table[1:] - table[0])


def _at(times: np.ndarray, values: np.ndarray, t: float) -> float:
    return float(np.interp(t, times, values))


def blink_curve(times: np.ndarray, sliders: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(F,) eyelid closure in [0, 1]."""
    duration = times[-1] + 1e-3 if len(times) else 0.0
    rate = np.clip(_mix(BLINK_RATE, sliders), 4, 40) / 60.0  # per second
    speed = np.clip(_mix(BLINK_SPEED, sliders), 0.5, 1.6)
    out = np.zeros(len(times), np.float32)
    t = rng.uniform(0.3, 2.0)
    while t < duration:
        r = _at(times, rate, t)
        s = _at(times, speed, t)
        close, hold, open_ = _CLOSE / s, _HOLD / s, _OPEN / s
        amp = 1.0 if rng.random() > 0.15 else 0.6  # now and then a half blink
        span = slice(*np.searchsorted(times, [t, t + close + hold + open_]))  # the frames this blink touches
        u = times[span] - t
        out[span] = np.maximum(
            out[span],
            amp
            * np.select(
                [u < close, u < close + hold],
                [np.sin(0.5 * np.pi * u / close), np.ones_like(u)],
                np.cos(0.5 * np.pi * (u - close - hold) / open_),
            ).astype(np.float32),
        )
        t += max(0.6, rng.exponential(1.0 / r))
    return out


def gaze_curves(times: np.ndarray, sliders: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(F,) horizontal and vertical gaze (-1..1, + is the character's left / up): fixations joined by saccades."""
    duration = times[-1] + 1e-3 if len(times) else 0.0
    hold = np.clip(_mix(GAZE_HOLD, sliders), 0.3, 3.0)  # blends of several emotions stay in a sane range
    bias = np.clip(_mix(GAZE_BIAS, sliders), -0.25, 0.25)
    knots_t, knots_h, knots_v = [0.0], [0.0], [_at(times, bias, 0.0)]
    t = 0.0
    while t < duration:
        t += max(0.25, rng.gamma(4.0, _at(times, hold, t) / 4.0))
        knots_t += [t, t + _SACCADE]
        h, v = rng.normal(0, 0.12), _at(times, bias, t) + rng.normal(0, 0.07)
        knots_h += [knots_h[-1], h]
        knots_v += [knots_v[-1], v]
    h = np.interp(times, knots_t, knots_h).astype(np.float32)
    v = np.interp(times, knots_t, knots_v).astype(np.float32)
    return np.clip(h, -0.4, 0.4), np.clip(v, -0.4, 0.4)


def live(times: np.ndarray, sliders: np.ndarray, seed: int) -> np.ndarray:
    """The life layer (F, 52): blinks and gaze on the eye channels."""
    rng = np.random.default_rng([seed, 7])  # its own stream: blinks do not shift when other layers change
    out = np.zeros((len(times), NUM_CHANNELS), np.float32)
    blink = blink_curve(times, sliders, rng)
    h, v = gaze_curves(times, sliders, rng)
    for side, inward in (("Left", -1.0), ("Right", 1.0)):
        out[:, INDEX["eyeBlink" + side]] = blink
        out[:, INDEX["eyeLookOut" + side]] = np.maximum(-inward * h, 0)
        out[:, INDEX["eyeLookIn" + side]] = np.maximum(inward * h, 0)
        out[:, INDEX["eyeLookUp" + side]] = np.maximum(v, 0) * (1 - blink)
        out[:, INDEX["eyeLookDown" + side]] = np.maximum(-v, 0) + 0.15 * blink  # the eyes drop as the lids close
    return out
