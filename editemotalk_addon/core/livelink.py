"""Live Link Face CSV (the iPhone app's take export): write our performances, read captures back.

Columns: Timecode (HH:MM:SS:FF.mmm), BlendShapeCount (61), the 52 blendshapes in the app's order and PascalCase
(which differs from Apple's documentation order: JawRight before JawLeft, MouthRight before MouthLeft), then head
and eye rotations. We have no head motion; eye yaw and pitch come from the gaze channels.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .rig import INDEX

LLF_ORDER = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawRight", "jawLeft", "jawOpen", "mouthClose", "mouthFunnel",
    "mouthPucker", "mouthRight", "mouthLeft", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft", "mouthPressRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "browDownLeft",
    "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff", "cheekSquintLeft",
    "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)  # fmt: skip
ROTATIONS = (
    "HeadYaw",
    "HeadPitch",
    "HeadRoll",
    "LeftEyeYaw",
    "LeftEyePitch",
    "LeftEyeRoll",
    "RightEyeYaw",
    "RightEyePitch",
    "RightEyeRoll",
)
HEADER = ("Timecode", "BlendShapeCount", *(n[0].upper() + n[1:] for n in LLF_ORDER), *ROTATIONS)
EYE_DEGREES = 30.0  # a gaze channel at 1 turns the eye this far


def timecode(frame: int, fps: float) -> str:
    seconds, sub = divmod(frame, fps)
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{int(sub):02d}.{int(round((sub % 1) * 1000)):03d}"


def _eye_angles(w: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    out, inward = w[:, INDEX["eyeLookOut" + side]], w[:, INDEX["eyeLookIn" + side]]
    yaw = (out - inward) * EYE_DEGREES * (1 if side == "Left" else -1)
    pitch = (w[:, INDEX["eyeLookUp" + side]] - w[:, INDEX["eyeLookDown" + side]]) * EYE_DEGREES
    return yaw, pitch


def write_csv(path: str | Path, weights: np.ndarray, fps: float) -> None:
    """(F, 52) weights in rig order -> a Live Link Face CSV."""
    cols = [INDEX[n] for n in LLF_ORDER]
    ly, lp = _eye_angles(weights, "Left")
    ry, rp = _eye_angles(weights, "Right")
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i, row in enumerate(weights):
            rot = (0.0, 0.0, 0.0, ly[i], lp[i], 0.0, ry[i], rp[i], 0.0)
            out.writerow(
                [timecode(i, fps), len(HEADER) - 2, *(f"{row[c]:.6f}" for c in cols), *(f"{r:.4f}" for r in rot)]
            )


def _seconds(tc: str, fps: float) -> float:
    h, m, s, ff = tc.split(":")
    return int(h) * 3600 + int(m) * 60 + int(s) + float(ff) / fps


class Capture(NamedTuple):
    times: np.ndarray  # seconds from the first row
    weights: np.ndarray  # (F, 52) in rig order, 0..1
    missing: list[str]  # ARKit channels the file has no column for (left at 0)


def read_csv(path: str | Path, fps: float = 60.0) -> Capture:
    """A Live Link Face CSV, as the app and its importers write it: column names in any case (BlendShapeCount or
    BlendshapeCount), all 52 blendshapes or some (`missing` names the rest), with or without the nine rotation
    columns (which we do not read).

    `fps` is the app's capture rate (60 by default, 30 when set so), which the FF field of the timecode counts in.
    """
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if r]
    header = {name.strip().lower(): i for i, name in enumerate(rows[0])} if rows else {}
    columns = {name: header.get(name.lower()) for name in LLF_ORDER}
    if "timecode" not in header or not any(c is not None for c in columns.values()):
        raise ValueError(f"{path} is not a Live Link Face CSV (it needs a Timecode column and blendshape columns)")
    if len(rows) < 2:
        raise ValueError(f"{path} has a Live Link Face header but no frames")
    weights = np.zeros((len(rows) - 1, len(INDEX)), np.float32)
    for name, col in columns.items():
        if col is not None:
            weights[:, INDEX[name]] = [float(r[col]) for r in rows[1:]]
    times = np.array([_seconds(r[header["timecode"]], fps) for r in rows[1:]])
    missing = [name for name, col in columns.items() if col is None]
    return Capture(times - times[0], np.clip(weights, 0.0, 1.0), missing)
