"""Inputs checked at the edge, once: CLI flags, manifest lines, emotion-curve files and the Python API.

Every refusal is an InputError (a ValueError) with one line naming the field, the value and the fix. Ranges:
sliders 0 to 1.5 and intensity 0 to 2 (the panel's ranges), fps 1 to 1000, start frame within Blender's frame
range (0 to 1048574), seed 0 or more.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from .errors import InputError
from .name_mapping import PRESETS
from .rig import SLIDERS

SLIDER_RANGE = (0.0, 1.5)
INTENSITY_RANGE = (0.0, 2.0)
FPS_RANGE = (1.0, 1000.0)
MAX_FRAME = 1_048_574  # Blender's last frame
MODES = ("voice", "absolute")
LAYERS = ("separate", "combined")
NAMES = ("auto", *PRESETS)
INPUT_KEYS = ("audio", "csv_in", "emotion_curves")
OUTPUT_SUFFIXES = {
    "out": (".blend",),
    "fbx": (".fbx",),
    "abc": (".abc",),
    "usd": (".usd", ".usdc", ".usda"),
    "csv": (".csv",),
    "preview": (".mp4",),
}
PATH_KEYS = (*INPUT_KEYS, *OUTPUT_SUFFIXES)
JOB_KEYS = (*PATH_KEYS, "mesh", "names", "emotion", "mode", "intensity", "fps", "start_frame", "seed", "layers")
JOB_KEYS += ("capture_fps", "hold_last", "whole_timeline")
SWITCHES = {True: True, False: False, "true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def number(field: str, value, lo: float, hi: float, fix: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str | np.number):
        raise InputError(f"{field} must be a number, not {value!r} - {fix}")
    try:
        x = float(value)
    except ValueError:
        raise InputError(f"{field} must be a number, not {value!r} - {fix}") from None
    if not (math.isfinite(x) and lo <= x <= hi):
        raise InputError(f"{field}={value!r} is outside {lo:.10g}..{hi:.10g} - {fix}")
    return x


def integer(field: str, value, lo: int, hi: int, fix: str) -> int:
    x = number(field, value, lo, hi, fix)
    if x != int(x):
        raise InputError(f"{field} must be a whole number, not {value!r} - {fix}")
    return int(x)


def slider(name: str, value) -> float:
    return number(f"emotion {name}", value, *SLIDER_RANGE, "use 0 (none) to 1.5 (stronger than a typical emotion)")


def intensity(value) -> float:
    return number("intensity", value, *INTENSITY_RANGE, "use 0 (no edit) to 2 (twice the sliders)")


def mode(value) -> str:
    if value not in MODES:
        raise InputError(f"mode={value!r} is not a mode - use voice (add to the voice's emotion) or absolute")
    return value


def fps(value, field: str = "fps") -> float:
    return number(field, value, *FPS_RANGE, "use a frame rate such as 24, 25, 30 or 60")


def curve(name: str, value):
    """A constant, or keys [[seconds, value], ...] -> float or a (K, 2) float64 array."""
    if np.ndim(value) == 0:
        return slider(name, value)
    fix = f'write "{name}": 0.8 or "{name}": [[0.0, 0.0], [1.5, 1.0]] (seconds, value)'
    try:
        keys = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        keys = np.empty(0)
    if keys.ndim != 2 or keys.shape[1] != 2 or len(keys) == 0:
        raise InputError(f"emotion {name} curve {_short(value)} is not a list of [seconds, value] keys - {fix}")
    if not np.all(np.isfinite(keys[:, 0])):
        raise InputError(f"emotion {name} curve has a key time that is not a finite number - {fix}")
    lo, hi = SLIDER_RANGE
    bad = ~(np.isfinite(keys[:, 1]) & (keys[:, 1] >= lo) & (keys[:, 1] <= hi))
    if bad.any():
        slider(name, keys[np.argmax(bad), 1])
    return keys


def _known(names) -> None:
    unknown = sorted(set(names) - set(SLIDERS))
    if unknown:
        raise InputError(f"unknown emotion slider(s) {unknown} - use {', '.join(SLIDERS)}")


def sliders(values) -> dict:
    if not isinstance(values, dict):
        raise InputError(f'sliders must be an object of name: value, not {_short(values)} - e.g. {{"happy": 0.8}}')
    _known(values)
    return {name: curve(name, v) for name, v in values.items()}


def emotions(items) -> dict[str, float]:
    """['happy=0.8', 'sad=0.2'] or 'happy=0.8;sad=0.2' or {'happy': 0.8} -> {'happy': 0.8, ...}, checked."""
    if isinstance(items, str):
        items = [x for x in items.replace(",", ";").split(";") if x.strip()]
    if isinstance(items, list) and all(isinstance(x, str) for x in items):
        pairs = [item.partition("=") for item in items]
        for item, (_, sep, _) in zip(items, pairs):
            if not sep:
                raise InputError(f"bad emotion {item!r} - write NAME=VALUE, e.g. happy=0.8")
        items = {name.strip(): value.strip() for name, _, value in pairs}
    if not isinstance(items, dict):
        raise InputError(f"emotion must be NAME=VALUE pairs or an object, not {_short(items)} - e.g. happy=0.8")
    _known(items)
    return {name: slider(name, v) for name, v in items.items()}


def curves_file(path: str | Path) -> dict:
    """An emotion-curves JSON file -> {"mode", "intensity", "sliders"} (each only when given), checked."""
    path = Path(path)
    fix = 'write {"mode": "absolute", "intensity": 1.0, "sliders": {"happy": [[0.0, 0.0], [1.5, 1.0]]}}'
    try:
        spec = json.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"emotion curves not found: {path} - check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"emotion curves {path} cannot be read as UTF-8 ({_reason(exc)}) - save it as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"emotion curves {path} are not valid JSON (line {exc.lineno}): {exc.msg} - {fix}") from None
    if not isinstance(spec, dict):
        raise InputError(f"emotion curves {path} hold {_short(spec)}, not an object - {fix}")
    unknown = sorted(set(spec) - {"mode", "intensity", "sliders"})
    if unknown:
        raise InputError(f"emotion curves {path}: unknown key(s) {unknown} - {fix}")
    out = {"sliders": sliders(spec.get("sliders", {}))}
    if "mode" in spec:
        out["mode"] = mode(spec["mode"])
    if "intensity" in spec:
        out["intensity"] = intensity(spec["intensity"])
    return out


def job(raw) -> dict:
    """A job (the bake flags, or one manifest line) -> the same with every value checked and typed."""
    if not isinstance(raw, dict):
        raise InputError(f'a job must be an object of bake flags, not {_short(raw)} - e.g. {{"audio": "a.wav"}}')
    raw = {str(k).replace("-", "_"): v for k, v in raw.items() if v is not None and v != "" and v != []}
    unknown = sorted(set(raw) - set(JOB_KEYS))
    if unknown:
        raise InputError(f"unknown key(s) {unknown} - use {', '.join(JOB_KEYS)}")
    if ("audio" in raw) == ("csv_in" in raw):
        raise InputError("a job needs exactly one of audio or csv_in - give the recording (or capture) to bake")
    out = {}
    for key, value in raw.items():
        if key in PATH_KEYS or key == "mesh":
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"{key} must be a file path (text), not {value!r} - write it as a quoted string")
            out[key] = value
            if key in OUTPUT_SUFFIXES and not value.lower().endswith(OUTPUT_SUFFIXES[key]):
                raise InputError(f"{key}={value!r} must end in {' or '.join(OUTPUT_SUFFIXES[key])} - rename it")
        elif key == "names":
            if value not in NAMES:
                raise InputError(f"names={value!r} is not a preset - use one of {', '.join(NAMES)}")
            out[key] = value
        elif key == "layers":
            if value not in LAYERS:
                raise InputError(f"layers={value!r} - use separate or combined")
            out[key] = value
        elif key == "emotion":
            out[key] = emotions(value)
        elif key == "mode":
            out[key] = mode(value)
        elif key == "intensity":
            out[key] = intensity(value)
        elif key in ("fps", "capture_fps"):
            out[key] = fps(value, key)
        elif key in ("hold_last", "whole_timeline"):
            switch = (
                SWITCHES.get(value.lower() if isinstance(value, str) else value)
                if isinstance(value, bool | str)
                else None
            )
            if switch is None:
                raise InputError(f"{key}={value!r} is not a switch - write true or false")
            out[key] = switch
        elif key == "start_frame":
            out[key] = integer(key, value, 0, MAX_FRAME, f"use a frame from 0 to {MAX_FRAME}")
        else:  # seed
            out[key] = integer(key, value, 0, 2**32 - 1, "use a whole number from 0")
    return out


def separate_paths(job: dict) -> None:
    """No output overwrites an input (audio, capture, curves, mesh file), and no two outputs share a path."""
    from .files import split_mesh_spec

    mesh = split_mesh_spec(job.get("mesh") or "")[0] if job.get("mesh") not in (None, "demo") else ""
    inputs = {k: job[k] for k in INPUT_KEYS if job.get(k)} | ({"mesh": mesh} if mesh else {})
    seen = {os.path.realpath(p): k for k, p in inputs.items()}
    for key in OUTPUT_SUFFIXES:
        if not job.get(key):
            continue
        real = os.path.realpath(job[key])
        if real in seen:
            other = seen[real]
            what = "the input" if other in inputs else "the output"
            raise InputError(f"{key}={job[key]!r} is also {what} {other} - choose another output path")
        seen[real] = key


def _short(value) -> str:
    text = json.dumps(value) if isinstance(value, list | dict | str | int | float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).split(":")[0]
