"""Inputs checked at the edge, once: CLI flags, manifest lines, emotion-curve files and the Python API.

Every refusal is an InputError (a ValueError) with one line naming the field, the value and the fix, whatever the
value is (nested, huge, NaN, a lone surrogate, a NUL). Ranges: sliders 0 to 1.5 and intensity 0 to 2 (the panel's
ranges), fps 1 to 1000 and a rate Blender holds exactly (whole, or NTSC: 23.976, 29.97, 59.94), start frame within
Blender's frame range (0 to 1048574), seed 0 or more; a curves file at most 16 MB.
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
from .timebase import blender_rate

SLIDER_RANGE = (0.0, 1.5)
INTENSITY_RANGE = (0.0, 2.0)
FPS_RANGE = (1.0, 1000.0)
MAX_FRAME = 1_048_574  # Blender's last frame
MODES = ("voice", "absolute")
# The default is absolute: on corpora the voice head never heard, keep-voice faces agreed with the acted emotion too
# rarely (bench: the judge, "voice, corpus never heard"); what is heard is offered as keys (Key Heard Emotion).
DEFAULT_MODE = "absolute"
LAYERS = ("separate", "combined")
RUNTIMES = ("auto", "onnx", "torch")  # auto: ONNX Runtime on the CPU, PyTorch for another device
NAMES = ("auto", *PRESETS)
INPUT_KEYS = ("audio", "csv_in", "emotion_curves")
OUTPUT_SUFFIXES = {
    "out": (".blend",),
    "fbx": (".fbx",),
    "abc": (".abc",),
    "usd": (".usd", ".usdc", ".usda"),
    "csv": (".csv",),
    "preview": (".mp4",),
    "heard": (".json",),  # the emotion heard in the voice, as slider keys (core/emotion_keys.py)
}
PATH_KEYS = (*INPUT_KEYS, *OUTPUT_SUFFIXES)
JOB_KEYS = (*PATH_KEYS, "mesh", "names", "emotion", "mode", "intensity", "fps", "start_frame", "seed", "layers")
JOB_KEYS += ("capture_fps", "hold_last", "whole_timeline", "emotion_from_voice", "speaker")
FROM_VOICE = ("keys",)  # emotion_from_voice: the sliders keyed from what the voice sounds like
MAX_CURVES_BYTES = 16 << 20  # a key every frame of a 30-minute clip, for every slider, is about 8 MB
MAX_PATH_BYTES, MAX_NAME_BYTES = 4096, 255  # what Linux, macOS and Windows file systems take
SWITCHES = {True: True, False: False, "true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def number(field: str, value, lo: float, hi: float, fix: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str | np.number):
        raise InputError(f"{field} must be a number, not {short(value)} - {fix}")
    try:
        x = float(value)
    except ValueError:
        raise InputError(f"{field} must be a number, not {short(value)} - {fix}") from None
    except OverflowError:  # an integer of hundreds of digits
        x = math.inf
    if not (math.isfinite(x) and lo <= x <= hi):
        raise InputError(f"{field}={short(value)} is outside {lo:.10g}..{hi:.10g} - {fix}")
    return x


def integer(field: str, value, lo: int, hi: int, fix: str) -> int:
    x = number(field, value, lo, hi, fix)
    if x != int(x):
        raise InputError(f"{field} must be a whole number, not {short(value)} - {fix}")
    return int(x)


def slider(name: str, value) -> float:
    return number(f"emotion {name}", value, *SLIDER_RANGE, "use 0 (none) to 1.5 (stronger than a typical emotion)")


def intensity(value) -> float:
    return number("intensity", value, *INTENSITY_RANGE, "use 0 (no edit) to 2 (twice the sliders)")


def mode(value) -> str:
    if not isinstance(value, str) or value not in MODES:
        raise InputError(f"mode={short(value)} is not a mode - use voice (add to the voice's emotion) or absolute")
    return value


def fps(value, field: str = "fps") -> float:
    """A frame rate Blender holds exactly (fps / fps_base): a whole rate, or an NTSC one (29.97 -> 30 / 1.001)."""
    fix = "use a whole rate such as 24, 25, 30 or 60, or an NTSC rate: 23.976, 29.97, 59.94"
    rate = blender_rate(number(field, value, *FPS_RANGE, fix))
    if rate is None:
        raise InputError(f"{field}={short(value)} is not a rate Blender can hold exactly - {fix}")
    return rate[0] / rate[1]


def curve(name: str, value):
    """A constant, or keys [[seconds, value], ...] -> float or a (K, 2) float64 array."""
    if not isinstance(value, list | tuple | np.ndarray):
        return slider(name, value)
    fix = f'write "{name}": 0.8 or "{name}": [[0.0, 0.0], [1.5, 1.0]] (seconds, value)'
    try:
        keys = np.asarray(value, np.float64)
    except (TypeError, ValueError, OverflowError):  # ragged, nested, text, integers beyond a float
        keys = np.empty(0)
    if keys.ndim != 2 or keys.shape[1] != 2 or len(keys) == 0:
        raise InputError(f"emotion {name} curve {short(value)} is not a list of [seconds, value] keys - {fix}")
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
        raise InputError(f"unknown emotion slider(s) {short(unknown)} - use {', '.join(SLIDERS)}")


def sliders(values) -> dict:
    if not isinstance(values, dict):
        raise InputError(f'sliders must be an object of name: value, not {short(values)} - e.g. {{"happy": 0.8}}')
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
                raise InputError(f"bad emotion {short(item)} - write NAME=VALUE, e.g. happy=0.8")
        items = {name.strip(): value.strip() for name, _, value in pairs}
    if not isinstance(items, dict):
        raise InputError(f"emotion must be NAME=VALUE pairs or an object, not {short(items)} - e.g. happy=0.8")
    _known(items)
    return {name: slider(name, v) for name, v in items.items()}


def curves_file(path: str | Path) -> dict:
    """An emotion-curves JSON file -> {"mode", "intensity", "sliders"} (each only when given), checked."""
    path = Path(path)
    fix = 'write {"mode": "absolute", "intensity": 1.0, "sliders": {"happy": [[0.0, 0.0], [1.5, 1.0]]}}'
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CURVES_BYTES + 1)
        if len(data) > MAX_CURVES_BYTES:
            raise InputError(
                f"emotion curves {path} are larger than {MAX_CURVES_BYTES >> 20} MB - key the sliders less often "
                "(a key every few frames is as smooth)"
            )
        spec = json.loads(data.decode("utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"emotion curves not found: {path} - check the path") from None
    except OSError as exc:
        raise InputError(f"emotion curves {path} cannot be read ({_reason(exc)}) - check its permissions") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"emotion curves {path} cannot be read as UTF-8 ({_reason(exc)}) - save it as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"emotion curves {path} are not valid JSON (line {exc.lineno}): {exc.msg} - {fix}") from None
    except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, lists nested thousands deep
        raise InputError(f"emotion curves {path} are not valid JSON ({_reason(exc)}) - {fix}") from None
    if not isinstance(spec, dict):
        raise InputError(f"emotion curves {path} hold {short(spec)}, not an object - {fix}")
    # "confidence": the heard keys' probabilities beside them (--heard), for reading; the bake ignores them
    unknown = sorted(set(spec) - {"mode", "intensity", "sliders", "confidence"})
    if unknown:
        raise InputError(f"emotion curves {path}: unknown key(s) {short(unknown)} - {fix}")
    out = {"sliders": sliders(spec.get("sliders", {}))}
    if "mode" in spec:
        out["mode"] = mode(spec["mode"])
    if "intensity" in spec:
        out["intensity"] = intensity(spec["intensity"])
    return out


def job(raw) -> dict:
    """A job (the bake flags, or one manifest line) -> the same with every value checked and typed."""
    if not isinstance(raw, dict):
        raise InputError(f'a job must be an object of bake flags, not {short(raw)} - e.g. {{"audio": "a.wav"}}')
    raw = {str(k).replace("-", "_"): v for k, v in raw.items() if v is not None and v != "" and v != []}
    unknown = sorted(set(raw) - set(JOB_KEYS))
    if unknown:
        raise InputError(f"unknown key(s) {short(unknown)} - use {', '.join(JOB_KEYS)}")
    if ("audio" in raw) == ("csv_in" in raw):
        raise InputError("a job needs exactly one of audio or csv_in - give the recording (or capture) to bake")
    out = {}
    for key, value in raw.items():
        if key in PATH_KEYS or key == "mesh":
            out[key] = file_path(key, value)
            if key in OUTPUT_SUFFIXES and not value.lower().endswith(OUTPUT_SUFFIXES[key]):
                raise InputError(f"{key}={short(value)} must end in {' or '.join(OUTPUT_SUFFIXES[key])} - rename it")
        elif key == "names":
            if not isinstance(value, str) or value not in NAMES:
                raise InputError(f"names={short(value)} is not a preset - use one of {', '.join(NAMES)}")
            out[key] = value
        elif key == "layers":
            if not isinstance(value, str) or value not in LAYERS:
                raise InputError(f"layers={short(value)} - use separate or combined")
            out[key] = value
        elif key == "speaker":  # a batch's clips of one voice: each read against that voice's baseline
            if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
                raise InputError(f'speaker={short(value)} - name the voice, e.g. "Ada"')
            out[key] = str(value).strip()[:200]
        elif key == "emotion_from_voice":
            if value not in FROM_VOICE:
                raise InputError(f"emotion_from_voice={short(value)} - use keys (the sliders keyed from the voice)")
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
                raise InputError(f"{key}={short(value)} is not a switch - write true or false")
            out[key] = switch
        elif key == "start_frame":
            out[key] = integer(key, value, 0, MAX_FRAME, f"use a frame from 0 to {MAX_FRAME}")
        else:  # seed
            out[key] = integer(key, value, 0, 2**32 - 1, "use a whole number from 0")
    return out


def file_path(key: str, value) -> str:
    """A path the file system can hold: text without NUL, any bytes as Python holds them (surrogate escapes of
    a non-UTF-8 name), within the length limits."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{key} must be a file path (text), not {short(value)} - write it as a quoted string")
    if "\0" in value:
        raise InputError(f"{key}={short(value)} holds a NUL character - remove it from the path")
    try:
        raw = os.fsencode(value)
    except UnicodeEncodeError:  # a lone surrogate such as \ud800: no file name is made of it
        raise InputError(f"{key}={short(value)} is not a valid file name (a broken character) - retype it") from None
    if len(raw) > MAX_PATH_BYTES or any(len(part) > MAX_NAME_BYTES for part in raw.split(os.fsencode(os.sep))):
        raise InputError(f"{key}={short(value)} is too long for a file path - shorten it")
    return value


def job_paths(job: dict) -> tuple[dict[str, str], dict[str, str]]:
    """({input key: real path}, {output key: real path}) of a checked job: the audio, capture, curves and mesh
    file it reads, and the files it writes."""
    from .files import split_mesh_spec

    mesh = split_mesh_spec(job.get("mesh") or "")[0] if job.get("mesh") not in (None, "demo") else ""
    inputs = {k: job[k] for k in INPUT_KEYS if job.get(k)} | ({"mesh": mesh} if mesh else {})
    outputs = {k: job[k] for k in OUTPUT_SUFFIXES if job.get(k)}
    return (
        {k: os.path.realpath(p) for k, p in inputs.items()},
        {k: os.path.realpath(p) for k, p in outputs.items()},
    )


def separate_paths(job: dict) -> None:
    """No output overwrites an input (audio, capture, curves, mesh file), and no two outputs share a path."""
    inputs, outputs = job_paths(job)
    seen = {real: k for k, real in inputs.items()}
    for key, real in outputs.items():
        if real in seen:
            other = seen[real]
            what = "the input" if other in inputs else "the output"
            raise InputError(f"{key}={short(job[key])} is also {what} {other} - choose another output path")
        seen[real] = key


def short(value) -> str:
    """A value as a message shows it, at most 40 characters, whatever it is (huge, nested, a broken character)."""
    try:
        text = json.dumps(value) if isinstance(value, list | dict | str | int | float) else repr(value)
    except (ValueError, RecursionError):  # an integer of thousands of digits, lists nested thousands deep
        text = f"a {type(value).__name__} too large to show"
    return text if len(text) <= 40 else text[:37] + "..."


def _reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).split(":")[0]
