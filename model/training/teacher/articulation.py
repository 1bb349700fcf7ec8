"""Articulation: phones -> mouth, jaw and tongue channels with Cohen-Massaro style coarticulation.

Each phone has a target pose and a dominance per articulator (lips, jaw, tongue). The pose at time t is the
dominance-weighted mean of the targets around t, so a phone that barely constrains the lips (k, h, t) takes its lip
shape from its neighbours (anticipatory rounding in "key" -> "coo"), while bilabials and labiodentals dominate.
Bilabial closures are then enforced explicitly: an averaged pose never quite closes, and a missed closure is the
most visible lip-sync error there is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from editemotalk_addon.core.lips import seal
from editemotalk_addon.core.rig import INDEX, NUM_CHANNELS, channel_vector

from ..phones import BILABIAL, SIL, PhoneSegment

_L, _J, _T = 0, 1, 2  # articulators: lips, jaw, tongue
# Channel -> articulator whose dominance blends it (-1: not an articulation channel).
ARTICULATOR = np.array(
    [
        _J if n.startswith("jaw") else _T if n.startswith("tongue") else _L if n.startswith("mouth") else -1
        for n in INDEX
    ]
)
MOUTH = ARTICULATOR >= 0


def _pose(**values: float) -> np.ndarray:
    return channel_vector(values)


@dataclass(frozen=True)
class PhoneShape:
    pose: np.ndarray  # (52,) target on the mouth channels
    dominance: tuple[float, float, float]  # lips, jaw, tongue
    then: np.ndarray | None = None  # diphthongs glide to a second pose


_V = (0.55, 0.9, 0.3)  # open/unrounded vowels: the jaw matters, lips partly
_VR = (0.85, 0.9, 0.3)  # rounded vowels hold their lip shape
SHAPES: dict[str, PhoneShape] = {
    SIL: PhoneShape(_pose(), (0.25, 0.25, 0.25)),
    "AA": PhoneShape(_pose(jawOpen=0.60, mouthLowerDown=0.15), _V),
    "AE": PhoneShape(_pose(jawOpen=0.48, mouthStretch=0.20, mouthUpperUp=0.10, mouthLowerDown=0.15), _V),
    "AH": PhoneShape(_pose(jawOpen=0.38, mouthLowerDown=0.10), _V),
    "AO": PhoneShape(_pose(jawOpen=0.45, mouthFunnel=0.30, mouthPucker=0.10), _VR),
    "EH": PhoneShape(_pose(jawOpen=0.32, mouthStretch=0.15, mouthLowerDown=0.10), _V),
    "ER": PhoneShape(_pose(jawOpen=0.25, mouthFunnel=0.20, mouthPucker=0.15), _VR),
    "IH": PhoneShape(_pose(jawOpen=0.18, mouthStretch=0.22), _V),
    "IY": PhoneShape(_pose(jawOpen=0.12, mouthStretch=0.35, mouthSmile=0.10), _V),
    "UH": PhoneShape(_pose(jawOpen=0.18, mouthPucker=0.30, mouthFunnel=0.15), _VR),
    "UW": PhoneShape(_pose(jawOpen=0.12, mouthPucker=0.60, mouthFunnel=0.25), _VR),
    "OW": PhoneShape(_pose(jawOpen=0.32, mouthFunnel=0.45, mouthPucker=0.30), _VR),
    "UE": PhoneShape(_pose(jawOpen=0.12, mouthPucker=0.55, mouthFunnel=0.15), _VR),
    "OE": PhoneShape(_pose(jawOpen=0.25, mouthPucker=0.35, mouthFunnel=0.35), _VR),
    "EY": PhoneShape(_pose(jawOpen=0.25, mouthStretch=0.20), _V, _pose(jawOpen=0.12, mouthStretch=0.32)),
    "AY": PhoneShape(_pose(jawOpen=0.58, mouthLowerDown=0.12), _V, _pose(jawOpen=0.14, mouthStretch=0.30)),
    "AW": PhoneShape(_pose(jawOpen=0.58, mouthLowerDown=0.12), _VR, _pose(jawOpen=0.14, mouthPucker=0.55)),
    "OY": PhoneShape(_pose(jawOpen=0.42, mouthFunnel=0.35), _VR, _pose(jawOpen=0.14, mouthStretch=0.28)),
    "P": PhoneShape(_pose(jawOpen=0.05, mouthPress=0.25), (1.0, 0.9, 0.2)),
    "B": PhoneShape(_pose(jawOpen=0.05, mouthPress=0.20), (1.0, 0.9, 0.2)),
    "M": PhoneShape(_pose(jawOpen=0.05, mouthPress=0.10), (1.0, 0.9, 0.2)),
    "F": PhoneShape(_pose(jawOpen=0.06, mouthRollLower=0.45, mouthUpperUp=0.15), (0.95, 0.8, 0.2)),
    "V": PhoneShape(_pose(jawOpen=0.06, mouthRollLower=0.40, mouthUpperUp=0.12), (0.95, 0.8, 0.2)),
    "TH": PhoneShape(_pose(jawOpen=0.12, tongueOut=0.35, mouthLowerDown=0.08), (0.3, 0.6, 0.9)),
    "DH": PhoneShape(_pose(jawOpen=0.12, tongueOut=0.30, mouthLowerDown=0.08), (0.3, 0.6, 0.9)),
    "T": PhoneShape(_pose(jawOpen=0.14, mouthLowerDown=0.08), (0.15, 0.5, 0.3)),
    "D": PhoneShape(_pose(jawOpen=0.14, mouthLowerDown=0.08), (0.15, 0.5, 0.3)),
    "N": PhoneShape(_pose(jawOpen=0.14, mouthLowerDown=0.06), (0.15, 0.5, 0.3)),
    "L": PhoneShape(_pose(jawOpen=0.20, mouthLowerDown=0.08), (0.15, 0.5, 0.3)),
    "S": PhoneShape(_pose(jawOpen=0.05, mouthStretch=0.20, mouthLowerDown=0.08), (0.4, 0.8, 0.3)),
    "Z": PhoneShape(_pose(jawOpen=0.05, mouthStretch=0.18, mouthLowerDown=0.08), (0.4, 0.8, 0.3)),
    "SH": PhoneShape(_pose(jawOpen=0.08, mouthFunnel=0.40, mouthPucker=0.20, mouthUpperUp=0.12), (0.75, 0.7, 0.3)),
    "ZH": PhoneShape(_pose(jawOpen=0.08, mouthFunnel=0.38, mouthPucker=0.18, mouthUpperUp=0.10), (0.75, 0.7, 0.3)),
    "CH": PhoneShape(_pose(jawOpen=0.08, mouthFunnel=0.40, mouthPucker=0.22, mouthUpperUp=0.12), (0.75, 0.7, 0.3)),
    "JH": PhoneShape(_pose(jawOpen=0.08, mouthFunnel=0.38, mouthPucker=0.20, mouthUpperUp=0.10), (0.75, 0.7, 0.3)),
    "K": PhoneShape(_pose(jawOpen=0.20), (0.1, 0.35, 0.2)),
    "G": PhoneShape(_pose(jawOpen=0.20), (0.1, 0.35, 0.2)),
    "NG": PhoneShape(_pose(jawOpen=0.18), (0.1, 0.35, 0.2)),
    "HH": PhoneShape(_pose(jawOpen=0.25), (0.05, 0.1, 0.05)),
    "R": PhoneShape(_pose(jawOpen=0.15, mouthPucker=0.30, mouthFunnel=0.20), (0.6, 0.4, 0.2)),
    "W": PhoneShape(_pose(jawOpen=0.06, mouthPucker=0.70, mouthFunnel=0.20), (0.9, 0.6, 0.2)),
    "Y": PhoneShape(_pose(jawOpen=0.10, mouthStretch=0.25), (0.5, 0.5, 0.2)),
}
TAU_BEFORE, TAU_AFTER = 0.07, 0.05  # s: anticipation reaches further than carry-over
REACH, _CHUNK = 30.0, 256
CLOSURE_HOLD, CLOSURE_RAMP = 0.07, 0.035  # s: a sealed bilabial lasts at least this long, with these ramps
_PRESS = {"P": 0.25, "B": 0.2, "M": 0.1}


def _targets(phones: list[PhoneSegment], jaw_gain) -> tuple[np.ndarray, ...]:
    """Per (sub)segment: centre, half plateau, pose (N, 52), dominance (N, 3)."""
    centre, half, poses, dom = [], [], [], []
    for seg in phones:
        shape = SHAPES[seg.phone]
        parts = [(seg.start, seg.end, shape.pose)]
        if shape.then is not None:  # a diphthong: first pose for 55 % of the time, then the second
            mid = seg.start + 0.55 * seg.duration
            parts = [(seg.start, mid, shape.pose), (mid, seg.end, shape.then)]
        for s, e, pose in parts:
            pose = pose.copy()
            pose[INDEX["jawOpen"]] *= jaw_gain(0.5 * (s + e))
            centre.append(0.5 * (s + e))
            half.append(0.3 * (e - s))
            poses.append(pose)
            dom.append(shape.dominance)
    return np.array(centre), np.array(half), np.array(poses, np.float32), np.array(dom, np.float32)


def blend(phones: list[PhoneSegment], times: np.ndarray, jaw_gain) -> np.ndarray:
    """Dominance-weighted coarticulation of the phone targets, sampled at `times` -> (F, 52)."""
    centre, half, poses, dom = _targets(phones, jaw_gain)
    reach = half + REACH * max(TAU_BEFORE, TAU_AFTER)  # beyond this a phone's weight is below e^-REACH
    out = np.zeros((len(times), NUM_CHANNELS), np.float32)
    for start in range(0, len(times), _CHUNK):  # banded in time, so the cost is linear in clip length
        t = times[start : start + _CHUNK]
        near = np.flatnonzero((centre + reach >= t[0]) & (centre - reach <= t[-1]))
        dt = t[:, None] - centre[None, near]  # (f, n)
        dist = np.maximum(np.abs(dt) - half[None, near], 0.0)
        tau = np.where(dt < 0, TAU_BEFORE, TAU_AFTER)
        d = np.exp(-np.minimum(dist / tau, REACH)).astype(np.float32)  # (f, n)
        for art in (_L, _J, _T):
            cols = np.flatnonzero(art == ARTICULATOR)
            w = d * dom[None, near, art]
            out[start : start + len(t), cols] = (w @ poses[near][:, cols]) / np.maximum(w.sum(1, keepdims=True), 1e-8)
    return out


def closure_curve(phones: list[PhoneSegment], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F,) 1 where the lips must be sealed (every p/b/m), with raised-cosine ramps; and the press amount (F,)."""
    closure = np.zeros(len(times), np.float32)
    press = np.zeros(len(times), np.float32)
    for seg in phones:
        if seg.phone not in BILABIAL:
            continue
        c, h = 0.5 * (seg.start + seg.end), 0.5 * max(CLOSURE_HOLD, 0.7 * seg.duration)
        i, j = np.searchsorted(times, [c - h - CLOSURE_RAMP, c + h + CLOSURE_RAMP])
        d = np.maximum(np.abs(times[i:j] - c) - h, 0.0) / CLOSURE_RAMP
        shape = (0.5 + 0.5 * np.cos(np.pi * np.minimum(d, 1.0))).astype(np.float32)
        closure[i:j] = np.maximum(closure[i:j], shape)
        press[i:j] = np.maximum(press[i:j], shape * _PRESS[seg.phone])
    return closure, press


def seal_lips(weights: np.ndarray, closure: np.ndarray, press: np.ndarray | None = None) -> np.ndarray:
    """Seal the lips where `closure` is 1, on the real head: press as the phone asks, then cancel the parting
    shapes and raise mouthClose until the lips touch (core.lips.seal)."""
    w = weights.copy()
    if press is not None:
        for name in ("mouthPressLeft", "mouthPressRight"):
            w[:, INDEX[name]] = np.maximum(w[:, INDEX[name]], press)
    return seal(w, closure)


def articulate(phones: list[PhoneSegment], times: np.ndarray, jaw_gain) -> tuple[np.ndarray, np.ndarray]:
    """The articulation layer (F, 52) and the closure curve (F,)."""
    pose = blend(phones, times, jaw_gain)
    closure, press = closure_curve(phones, times)
    return seal_lips(pose, closure, press), closure
