"""Lip-sync metrics on (frames, 52) weights, defined once for the tests, the evaluation and the benchmarks.

"Closed" is the real head's inner-lip gap (core.lips): at most 0.5 mm, below the rest face's 0.76 mm.
"""

from __future__ import annotations

import numpy as np

from editemotalk_addon.core.ict import IctHead
from editemotalk_addon.core.lips import REST_MM, lip_gap_mm, lips_closed
from editemotalk_addon.core.rig import INDEX

from ..training.phones import BILABIAL, SIL, PhoneSegment

# Around a p/b/m the lips may legitimately be shut a little longer than the phone (a sealed hold lasts >= 70 ms,
# plus its ramps): such frames are neither hits nor false closures.
CLOSURE_MARGIN = 0.06  # s


def _times(frames: int, fps: float) -> np.ndarray:
    return np.arange(frames) / fps


def bilabials(phones: list[PhoneSegment], frames: int, fps: float) -> list[PhoneSegment]:
    """The p/b/m a clip can show: one that starts after its last frame (cut off by the recording) cannot."""
    return [s for s in phones if s.phone in BILABIAL and s.start <= (frames - 1) / fps]


def closure_hits(weights: np.ndarray, phones: list[PhoneSegment], fps: float) -> list[bool]:
    """Per p/b/m: does some frame within the phone (+- half a frame) show the lips closed?"""
    t = _times(len(weights), fps)
    closed = lips_closed(weights)
    return [
        bool(closed[(t >= s.start - 0.5 / fps) & (t <= s.end + 0.5 / fps)].any())
        for s in bilabials(phones, len(weights), fps)
    ]


def false_closures(weights: np.ndarray, phones: list[PhoneSegment], fps: float) -> tuple[int, int]:
    """(closed frames, eligible frames): speech frames away from any p/b/m where the lips are shut anyway."""
    t = _times(len(weights), fps)
    speech = np.zeros(len(t), bool)
    near_bilabial = np.zeros(len(t), bool)
    for s in phones:
        if s.phone != SIL:
            speech |= (t >= s.start) & (t < s.end)
        if s.phone in BILABIAL:
            near_bilabial |= (t >= s.start - CLOSURE_MARGIN) & (t <= s.end + CLOSURE_MARGIN)
    eligible = speech & ~near_bilabial
    return int((lips_closed(weights) & eligible).sum()), int(eligible.sum())


SILENCE_FROM_SPEECH = 0.15  # s: frames this far from any spoken phone are silence, where the mouth rests
REST_WITHIN_MM = 1.0


def resting_in_silence(weights: np.ndarray, phones: list[PhoneSegment], fps: float) -> tuple[int, int]:
    """(resting frames, silent frames): frames more than 150 ms from any spoken phone, and among them those whose
    lip gap is within 1 mm of the rest face's."""
    t = _times(len(weights), fps)
    near = np.zeros(len(t), bool)
    for s in phones:
        if s.phone != SIL:
            near |= (t >= s.start - SILENCE_FROM_SPEECH) & (t <= s.end + SILENCE_FROM_SPEECH)
    rest = np.abs(lip_gap_mm(weights) - REST_MM) <= REST_WITHIN_MM
    return int((rest & ~near).sum()), int((~near).sum())


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Correlation, or None when either side does not move."""
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 1e-9 else None


def jaw_correlation(pred: np.ndarray, target: np.ndarray) -> float | None:
    j = INDEX["jawOpen"]
    return pearson(pred[:, j], target[:, j])


def lip_vertex_error(pred: np.ndarray, target: np.ndarray, head: IctHead, lips: np.ndarray) -> float:
    """LVE in mm: per frame the largest L2 distance over lip vertices, averaged over frames."""
    diff = head.vertices(pred, lips) - head.vertices(target, lips)  # (F, V, 3) cm
    return float(np.linalg.norm(diff, axis=2).max(1).mean() * 10.0)
