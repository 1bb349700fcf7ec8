"""The emotion heard in the voice as slider keys an animator can see, keep or correct.

Phrase by phrase (speech between pauses of PAUSE_S or more): the phrase's mean emotion probabilities, its
strongest emotion keyed at the slider value voice mode would show (emotion_space.voice_alphas: the probability
above chance, 0..1), held over the phrase and ramped RAMP_S into the next one. Each key carries the probability
it came from as its confidence. Neutral, and emotions heard no better than chance, key nothing: an uncertain
voice leaves the sliders at 0.
"""

from __future__ import annotations

import numpy as np

from .emotion_space import voice_alphas
from .rig import SLIDERS

PAUSE_S = 0.25  # a silence this long ends a phrase
RAMP_S = 0.2  # keys move from one phrase's value to the next over this
MIN_ALPHA = 0.05  # below this a slider is not keyed


def phrases(speech: np.ndarray, fps: float) -> list[tuple[int, int]]:
    """[(first frame, end frame)] of the stretches where speech > 0.5, joined across pauses shorter than PAUSE_S."""
    on = np.flatnonzero(np.diff(np.concatenate([[0], (speech > 0.5).astype(int), [0]])) == 1)
    off = np.flatnonzero(np.diff(np.concatenate([[0], (speech > 0.5).astype(int), [0]])) == -1)
    out: list[list[int]] = []
    for a, b in zip(on, off):
        if out and a - out[-1][1] < PAUSE_S * fps:
            out[-1][1] = b
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def heard_keys(analysis) -> dict[str, list[tuple[float, float, float]]]:
    """An Analysis -> {slider: [(seconds, value, confidence)]}: every slider some phrase keys, with a key at 0
    before and after each of its phrases so that it returns to neutral between them."""
    fps = analysis.fps
    keys: dict[str, list[tuple[float, float, float]]] = {}
    for first, end in phrases(analysis.speech, fps):
        mean = analysis.probabilities[first:end].mean(0)
        alphas = voice_alphas(mean[None])[0]
        k = int(alphas.argmax())
        if alphas[k] < MIN_ALPHA:
            continue
        start_s, end_s = first / fps, end / fps
        value, confidence = round(float(alphas[k]), 3), round(float(mean[k + 1]), 3)
        track = keys.setdefault(SLIDERS[k], [])
        if not track or track[-1][0] < start_s - RAMP_S:
            track.append((round(max(0.0, start_s - RAMP_S), 3), 0.0, confidence))
        elif track[-1][1] == 0.0:
            track.pop()  # the previous phrase's return to 0 comes too late: move straight to this value
        track += [(round(start_s, 3), value, confidence), (round(end_s, 3), value, confidence)]
        track.append((round(end_s + RAMP_S, 3), 0.0, confidence))
    return keys


def curves_json(keys: dict[str, list[tuple[float, float, float]]]) -> dict:
    """The curves-JSON format `--emotion-curves` reads (absolute mode), with each key's confidence beside it."""
    return {
        "mode": "absolute",
        "intensity": 1.0,
        "sliders": {name: [[t, v] for t, v, _ in track] for name, track in keys.items()},
        "confidence": {name: [[t, c] for t, _, c in track] for name, track in keys.items()},
    }
