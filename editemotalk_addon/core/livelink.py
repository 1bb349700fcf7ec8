"""Live Link Face CSV (the iPhone app's take export): write our performances, read captures back.

Columns: Timecode (HH:MM:SS:FF.mmm), BlendShapeCount (61), the 52 blendshapes in the app's order and PascalCase
(which differs from Apple's documentation order: JawRight before JawLeft, MouthRight before MouthLeft), then head
and eye rotations. We have no head motion; eye yaw and pitch come from the gaze channels.
"""

from __future__ import annotations

import csv
import io
import math
import re
from array import array
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .audio import MAX_SECONDS
from .errors import InputError
from .files import check_regular
from .rig import INDEX
from .validate import short

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
MAX_CAPTURE_BYTES = 128 << 20


def timecode(frame: int, fps: float) -> str:
    """Frame `frame` at `fps` (29.97 too) as HH:MM:SS:FF.mmm: the second it falls in, then the frames into that
    second, to a thousandth of a frame."""
    seconds = math.floor(frame / fps)
    ff, milli = divmod(round((frame - seconds * fps) * 1000), 1000)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{ff:02d}.{milli:03d}"


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


class Capture(NamedTuple):
    times: np.ndarray  # seconds from the first row
    weights: np.ndarray  # (F, 52) in rig order, 0..1
    missing: list[str]  # ARKit channels the file has no column for (left at 0)


def read_csv(path: str | Path, fps: float | None = None) -> Capture:
    """A Live Link Face CSV, as the app and its importers write it: column names in any case (BlendShapeCount or
    BlendshapeCount), all 52 blendshapes or some (`missing` names the rest), with or without the nine rotation
    columns (which we do not read).

    `fps` is the rate the FF field of the timecode counts in (the app's capture rate: 60, or 30 when set so). When
    not given it is read from the timecodes (the last frame of a second), 60 for a take that never crosses one; when
    given it must match them, or the take's times would be warped (30 fps rows read at 60 play twice as fast).
    Checked as it is read, before anything larger than the file is allocated: at most 128 MB, UTF-8 text, a number
    in every cell read, timecodes rising and spanning at most 30 minutes (what a recording may hold). Anything else
    raises InputError naming the file, the row, the column and the fix.
    """
    path = Path(path)
    check_regular(path, "capture")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CAPTURE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"capture file not found: {path} - check the path") from None
    except OSError as exc:
        raise InputError(f"capture {path} cannot be read ({exc.strerror or exc}) - check its permissions") from None
    name = path.name
    if len(data) > MAX_CAPTURE_BYTES:
        raise InputError(
            f"capture {name} is larger than {MAX_CAPTURE_BYTES >> 20} MB (a 30-minute take at 60 frames/s is "
            "about 70 MB) - split the take"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        what = "UTF-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "UTF-8"
        raise InputError(f"capture {name} row {row} is not UTF-8 text ({what} file?) - save it as UTF-8") from None
    del data
    return _parse(csv.reader(io.StringIO(text)), name, fps)


def _parse(reader, name: str, fps: float | None) -> Capture:
    def refuse(row, problem: str, fix: str = "fix that cell, or export the take again from Live Link Face"):
        raise InputError(f"capture {name} row {row}{problem} - {fix}")

    try:
        header = next((r for r in reader if r), [])
        columns = {name: i for i, name in enumerate(header)}  # as the file spells them (for messages)
        lower = {name.strip().lower(): i for i, name in enumerate(header)}
        used = {arkit: lower.get(arkit.lower()) for arkit in LLF_ORDER}
        if "timecode" not in lower or all(c is None for c in used.values()):
            raise InputError(
                f"{name} is not a Live Link Face CSV (it needs a Timecode column and blendshape columns) - "
                "export the take from Live Link Face"
            )
        tc = lower["timecode"]
        read = [(INDEX[arkit], col) for arkit, col in used.items() if col is not None]
        width = 1 + max(tc, *(col for _, col in read))
        title = {i: n for n, i in columns.items()}
        stamps, texts, rows, weights = [], [], array("q"), array("f")  # per frame: (seconds, FF), as written, row
        for row in reader:
            if not row:
                continue
            n = reader.line_num
            if len(row) < width:
                refuse(n, f" has {len(row)} cells where the header has {len(header)} (no {title[len(row)]})")
            stamp = _timecode(row[tc].strip())
            if stamp is None:
                refuse(n, f", column {title[tc]}: {short(row[tc])} is not a timecode HH:MM:SS:FF.mmm",
                       "fix the timecode, or export the take again from Live Link Face")  # fmt: skip
            if stamps and stamp[0] - stamps[0][0] > MAX_SECONDS:
                refuse(n, f": the take spans more than {MAX_SECONDS // 60} minutes", "split it into shorter takes")
            frame = [0.0] * len(INDEX)
            for channel, col in read:
                cell = row[col].strip()
                try:
                    value = float(cell)
                except ValueError:
                    refuse(n, f", column {title[col]}: {short(cell) if cell else 'an empty cell'} is not a number")
                if not math.isfinite(value):
                    refuse(n, f", column {title[col]}: {cell} is not a finite number")
                frame[channel] = min(max(value, 0.0), 1.0)
            stamps.append(stamp)
            texts.append(row[tc].strip())
            rows.append(n)
            weights.extend(frame)
    except csv.Error as exc:  # a cell beyond the csv module's size limit, a stray quote
        refuse(reader.line_num, f": {exc}")
    if not stamps:
        raise InputError(f"{name} has a Live Link Face header but no frames - export the take again")
    fps = _rate(stamps, fps, name)
    times = array("d")
    for (seconds, ff), text, n in zip(stamps, texts, rows):
        if ff >= fps:
            refuse(n, f", column {title[tc]}: its frame {ff:g} is past the {fps:g} frames of a second",
                   "set --capture-fps to the take's rate")  # fmt: skip
        t = seconds + ff / fps - stamps[0][0] - stamps[0][1] / fps
        if times and t <= times[-1]:
            refuse(n, f", column {title[tc]}: {text} does not come after the row before it",
                   "rows must be in time order, one timecode each (is --capture-fps the take's rate?)")  # fmt: skip
        times.append(t)
    missing = [arkit for arkit, col in used.items() if col is None]
    grid = np.frombuffer(weights, np.float32).reshape(len(times), len(INDEX)).copy()
    return Capture(np.frombuffer(times, np.float64).copy(), grid, missing)


def _rate(stamps: list[tuple[int, float]], fps: float | None, name: str) -> float:
    """The rate FF counts in: the last frame before a new second says it (30 fps: 29; 29.97: 29.03). A given
    `fps` must agree (NTSC rates within 1 % of the whole one)."""
    counted = max((ff for (s, ff), (t, _) in zip(stamps, stamps[1:]) if t > s), default=None)
    if counted is None:  # the take never crosses a second: only a given rate, or the app's default
        return fps or 60.0
    heard = math.floor(counted) + 1
    if fps is None:
        return float(heard)
    if fps > heard * 1.01:  # its seconds end far below the given rate: read at it, the take would play too fast
        raise InputError(
            f"capture {name}: its timecodes count {heard} frames a second, not the {fps:g} of --capture-fps - set "
            f"--capture-fps {heard}, or leave it out (the rate is read from the timecodes)"
        )
    return fps


TIMECODE = re.compile(r"(\d{1,9}):(\d{1,2}):(\d{1,2}):(\d{1,4}(?:\.\d{1,9})?)")


def _timecode(tc: str) -> tuple[int, float] | None:
    """HH:MM:SS:FF.mmm -> (whole seconds, FF), or None when it is no timecode (minutes or seconds past 59)."""
    match = TIMECODE.fullmatch(tc)
    if match is None:
        return None
    h, m, s, ff = int(match[1]), int(match[2]), int(match[3]), float(match[4])
    return (h * 3600 + m * 60 + s, ff) if m < 60 and s < 60 else None
