"""Emo-DB (Burkhardt et al. 2005): real German emotional speech with phone alignments -> teacher targets.

The copy in shared/data is cut or zero-padded to exactly 2.000 s; its label files describe the original, uncut
recordings, so segments are clipped at the end of the audio. Splits by speaker (splits.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from editemotalk_addon.core.audio import load_audio

from ..phones import SIL, PhoneSegment, from_sampa, merge_repeats
from .base import Item, teacher_example
from .splits import emodb_split
from .store import Example, Meta

EMOTION = {"W": "angry", "L": "boredom", "E": "disgusted", "A": "fearful", "F": "happy", "T": "sad", "N": "neutral"}


def read_lablaut(path: Path, duration: float) -> list[PhoneSegment]:
    """xlabel file -> PhoneSegments. Each line's time is where its segment STARTS (shared/data README)."""
    starts: list[tuple[float, str]] = []
    body = False
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.strip() == "#":
            body = True
            continue
        if not body or not line.strip():
            continue
        head, _, label = line.strip().partition(" -1 ")
        phone = from_sampa(label.split("\t")[0] if label else "")
        if phone is not None:
            starts.append((float(head), phone))
    if not starts:
        return []
    segments = [PhoneSegment(0.0, starts[0][0], SIL)]
    for (t0, phone), (t1, _) in zip(starts, [*starts[1:], (duration, SIL)]):
        segments.append(PhoneSegment(min(t0, duration), min(t1, duration), phone))
    return merge_repeats(segments)


def perception(root: Path) -> dict[str, float]:
    """File -> % of listeners who recognised the intended emotion."""
    out = {}
    for line in (root / "perception.tsv").read_text(encoding="latin-1").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 3:
            out[parts[1].replace(".wav", "")] = float(parts[2])
    return out


def items(root: Path) -> list[Item]:
    recognised = perception(root)
    by_emotion: dict[str, list[float]] = {}
    names = sorted(p.stem for p in (root / "audio").glob("*.flac"))
    for n in names:
        by_emotion.setdefault(n[5], []).append(recognised.get(n, np.nan))
    typical = {e: float(np.nanmedian(v)) for e, v in by_emotion.items()}
    out = []
    for n in names:
        label = root / "lablaut" / f"{n}xx.lablaut"
        if not label.exists():
            continue
        # Intensity: how clearly listeners heard the emotion, relative to a typical recording of it (= 1).
        intensity = float(np.clip(recognised.get(n, typical[n[5]]) / typical[n[5]], 0.5, 1.5))
        split = emodb_split(n[:2])
        out.append(Item(f"emodb/{n}", split, 2.0, {"name": n, "intensity": round(intensity, 3)}))
    return out


def build(item: Item, root: Path) -> tuple[list[Example], list[str]]:
    n = item.payload["name"]
    audio = load_audio(root / "audio" / f"{n}.flac")
    phones = read_lablaut(root / "lablaut" / f"{n}xx.lablaut", len(audio) / 16000)
    if sum(p.phone != SIL for p in phones) == 0:
        return [], [f"{item.id}: its label file holds no phones"]  # three files
    emotion = EMOTION[n[5]]
    meta = Meta(
        item.id,
        "emodb",
        "de",
        f"emodb:{n[:2]}",
        emotion,
        0.0 if emotion == "neutral" else item.payload["intensity"],
        f"emodb:{n[2:5]}",
        item.split,
    )
    return [teacher_example(meta, audio, phones)], []
