"""FACEGOOD (MIT): real captured mouth animation with its audio -> ARKit targets on the mouth channels only.

The capture rig's 116 channels map to ARKit through the dataset's own table (`max(a,b)` = the larger of the two);
only rows marked valid (jaw and mouth) were animated, so every other channel is masked out of the loss.
Recordings are cut into chunks so training crops and the --hours budget can use part of one.
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np

from editemotalk_addon.core.audio import load_audio
from editemotalk_addon.core.rig import INDEX, NUM_CHANNELS
from editemotalk_addon.core.timebase import TRAIN_FPS, frame_count, resample_frames

from .base import Item
from .splits import facegood_split
from .store import Example, Meta, stable_seed

CAPTURE_FPS = 30
# The value files hold an empty column 0, and column c holds bs_names[c - 1]: only with this shift do the left/right
# channel pairs carry identical statistics and does jawOpen's source (mouth_stretch_c) follow the audio level
# (r = 0.76); read as the data README says, that channel is constant.
COLUMN_OFFSET = 1
CHUNK = 10.0  # s


def arkit_mapping(root: Path) -> dict[str, list[str]]:
    """ARKit name -> capture channels whose max gives it (valid rows only)."""
    out = {}
    lower = {n.lower(): n for n in INDEX}
    with open(root / "arkit_mapping.csv", newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) < 3 or row[2].strip().lower() != "valid":
                continue
            name = lower.get(row[0].strip().lower())  # the table spells browDownleft; match case-blind
            if name is not None:
                out[name] = re.findall(r"[A-Za-z0-9_]+", row[1].replace("max(", ""))
    return out


def to_arkit(values: np.ndarray, names: list[str], mapping: dict[str, list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(frames, 116) capture -> (frames, 52) ARKit weights and the (52,) mask of channels that carry data."""
    col = {n: i + COLUMN_OFFSET for i, n in enumerate(names)}
    out = np.zeros((len(values), NUM_CHANNELS), np.float32)
    mask = np.zeros(NUM_CHANNELS, bool)
    for arkit, sources in mapping.items():
        out[:, INDEX[arkit]] = values[:, [col[s] for s in sources]].max(1)
        mask[INDEX[arkit]] = True
    return np.clip(out, 0, 1), mask


def capture(root: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A whole recording's ARKit targets at CAPTURE_FPS and their channel mask."""
    with warnings.catch_warnings():  # saved by Python 2: numpy warns, then reads a plain float64 array
        warnings.simplefilter("ignore", UserWarning)
        values = np.load(root / "bs_value" / f"bs_value_{name}.npy", allow_pickle=False)
    names = (root / "bs_names.txt").read_text().split()
    return to_arkit(values, names, arkit_mapping(root))


def items(root: Path) -> list[Item]:
    import soundfile

    out = []
    for path in sorted((root / "audio").glob("*.flac")):
        seconds = soundfile.info(str(path)).duration
        split = facegood_split(path.stem)
        for k in range(int(np.ceil(seconds / CHUNK))):
            length = min(CHUNK, seconds - k * CHUNK)
            if length >= 2.0:
                out.append(Item(f"facegood/{path.stem}/{k:02d}", split, length, {"name": path.stem, "chunk": k}))
    return out


def build(item: Item, root: Path) -> tuple[list[Example], list[str]]:
    name, k = item.payload["name"], item.payload["chunk"]
    audio = load_audio(root / "audio" / f"{name}.flac")
    targets, mask = capture(root, name)
    targets = resample_frames(targets, CAPTURE_FPS, TRAIN_FPS)
    a, b = int(k * CHUNK * 16000), int(min((k + 1) * CHUNK, len(audio) / 16000) * 16000)
    fa = int(round(k * CHUNK * TRAIN_FPS))
    frames = np.minimum(np.arange(fa, fa + frame_count((b - a) / 16000, TRAIN_FPS)), len(targets) - 1)
    meta = Meta(
        item.id,
        "facegood",
        "zh",
        f"facegood:{name[:6]}",
        "unlabelled",
        0.0,
        f"facegood:{name}",
        item.split,
        seed=stable_seed(item.id),
    )
    return [Example(meta, audio[a:b], targets[frames], mask)], []
