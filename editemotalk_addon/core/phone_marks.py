"""What the recogniser is sure it hears, as marks on the timeline: lip closures (p b m), rounded vowels (u o w) and
open vowels (a), so that an animator can check a closure by eye and key emotion on a syllable.

The recogniser (recogniser.py) gives, per 20 ms frame, log-probabilities over hama's IPA tokens; a group's
probability is the sum over its tokens. Each run of frames where that sum stays at SURE or above is one mark, on
its most probable frame. Words would need the line's text turned into phones; the extension ships no
pronouncing dictionary, so it marks the phone groups only.
"""

from __future__ import annotations

import numpy as np

from .audio import SAMPLE_RATE
from .recogniser import BILABIAL, HOP

# Token indices in hama's g2p_vocab.json "decoder" list (recogniser.py)
GROUPS = {
    "closure": BILABIAL,  # p b m pʰ p͈ ɓ
    "rounded": (48, 33, 34, 50, 51, 52, 53, 54, 56, 71, 72, 76, 77, 81, 83, 84, 111, 122, 123, 127),  # u o oʊ w ɔ ʊ y
    "open": (7, 8, 9, 62, 63, 64, 66, 79, 80),  # a aɪ aʊ æ ɐ ɑ
}
SURE = 0.8


def heard_groups(log_probs: np.ndarray) -> list[tuple[float, str]]:
    """(T, tokens) log-probabilities -> [(seconds, group)] in time order: one mark per run of sure frames."""
    probs = np.exp(log_probs)
    marks = []
    for group, tokens in GROUPS.items():
        p = probs[:, list(tokens)].sum(1)  # (T,)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], (p >= SURE).astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):
            marks.append((float(start + np.argmax(p[start:stop])) * HOP / SAMPLE_RATE, group))
    return sorted(marks)


def on_frames(marks, fps: float, start_frame: int) -> list[dict]:
    """The marks on the timeline of a clip starting at `start_frame` at `fps`: [{"frame", "seconds", "group"}]."""
    return [{"frame": start_frame + round(t * fps), "seconds": round(t, 3), "group": g} for t, g in marks]
