"""The corpus on disk: shards of examples (npz) plus a JSON-lines manifest.

One example = speech audio (16 kHz int16), its 52-channel targets at TRAIN_FPS with a channel mask (real capture
animates only some channels), its phones and prosody (so the teacher can re-render other emotions at load time),
and the metadata the manifest lists.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from editemotalk_addon.core.files import atomic, write_text_atomic

from ..phones import INVENTORY, PHONE_ID, PhoneSegment
from ..prosody import Prosody

MANIFEST = "manifest.jsonl"


@dataclass
class Meta:
    id: str
    source: str  # synthetic | emodb | facegood | english_read
    language: str  # en | de | zh
    speaker: str  # voice (synthetic) or speaker id
    emotion: str  # one of rig.EMOTIONS, or "boredom" (Emo-DB) / "unlabelled" (FACEGOOD)
    intensity: float
    sentence: str
    split: str  # train | validation | test (splits.py)
    duration: float = 0.0  # s
    real_speech: bool = True
    family: str = ""  # synthesizer family for synthetic speech
    pair: str = ""  # examples with the same pair id say the same sentence with the same voice
    seed: int = 0
    shard: str = ""
    index: int = 0


@dataclass
class Example:
    meta: Meta
    audio: np.ndarray  # (samples,) float32 at 16 kHz
    targets: np.ndarray  # (F, 52) at TRAIN_FPS
    mask: np.ndarray  # (52,) bool: channels with real targets
    phones: list[PhoneSegment] = field(default_factory=list)
    prosody: Prosody | None = None
    # the shipped networks' features at 50 Hz of the clean audio and its augmented renditions (training/features.py):
    # the recogniser's (T, 447) and the voice encoder's (T, 512); None where they were not computed (validation and
    # test read the audio)
    recogniser: list[np.ndarray] | None = None
    voice: list[np.ndarray] | None = None


def stable_seed(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def write_shard(path: Path, examples: list[Example], job_items: list[str]) -> list[dict]:
    """Write atomically (an interrupted build never leaves a half shard) and return the manifest rows."""
    arrays, rows = {}, []
    for i, ex in enumerate(examples):
        ex.meta.shard, ex.meta.index = path.name, i
        ex.meta.duration = round(len(ex.audio) / 16000, 3)
        arrays[f"{i}.audio"] = (np.clip(ex.audio, -1, 1) * 32767).astype(np.int16)
        arrays[f"{i}.targets"] = ex.targets.astype(np.float16)
        arrays[f"{i}.mask"] = ex.mask.astype(np.uint8)
        arrays[f"{i}.phones"] = np.array([(s.start, s.end, PHONE_ID[s.phone]) for s in ex.phones], np.float32).reshape(
            -1, 3
        )
        if ex.prosody is not None:
            arrays[f"{i}.prosody"] = np.stack([ex.prosody.loudness_db, ex.prosody.f0], 1).astype(np.float32)
        rows.append(asdict(ex.meta))
    with atomic(path) as tmp:
        np.savez(tmp, **arrays)
    write_text_atomic(path.with_suffix(".json"), json.dumps({"items": job_items, "rows": rows}))
    return rows


def shard_done(path: Path, job_items: list[str]) -> list[dict] | None:
    """The manifest rows of a finished shard built from exactly these items, else None."""
    sidecar = path.with_suffix(".json")
    if not (path.exists() and sidecar.exists()):
        return None
    try:
        data = json.loads(sidecar.read_text())
    except json.JSONDecodeError:
        return None
    return data["rows"] if data.get("items") == job_items else None


FEATURES = ("recogniser", "voice")  # <corpus>/<kind>/<shard>: network features beside each training shard


def sidecar(corpus: Path, folder: str, shard: str) -> Path:
    """Where a per-shard file computed after the corpus lives: <corpus>/<folder>/<shard>."""
    return Path(corpus) / folder / shard


def read_manifest(root: Path) -> list[Meta]:
    with open(Path(root) / MANIFEST, encoding="utf-8") as f:
        return [Meta(**json.loads(line)) for line in f if line.strip()]


def load_shard(path: Path, metas: list[Meta]) -> list[Example]:
    """Every example of one shard (npz is read whole: shards are small and read once per epoch), with the network
    features where `<corpus>/<kind>/<shard>` holds them."""
    out = []
    features = {}
    for kind in FEATURES:
        found = sidecar(path.parent.parent, kind, path.name)
        if found.exists():
            with np.load(found) as z:
                features[kind] = dict(z)
    with np.load(path) as z:
        for m in metas:
            i = m.index
            renditions = {kind: _renditions(v, i) for kind, v in features.items()}
            phones = [PhoneSegment(float(a), float(b), INVENTORY[int(c)]) for a, b, c in z[f"{i}.phones"]]
            prosody = None
            if f"{i}.prosody" in z:
                p = z[f"{i}.prosody"]
                prosody = Prosody(p[:, 0].copy(), p[:, 1].copy())
            out.append(
                Example(
                    m,
                    z[f"{i}.audio"].astype(np.float32) / 32767,
                    z[f"{i}.targets"].astype(np.float32),
                    z[f"{i}.mask"].astype(bool),
                    phones,
                    prosody,
                    renditions.get("recogniser"),  # float16
                    renditions.get("voice"),
                )
            )
    return out


def _renditions(arrays: dict[str, np.ndarray], index: int) -> list[np.ndarray] | None:
    """Example `index`'s arrays "<index>.<rendition>" in rendition order, or None when it has none."""
    keys = sorted((k for k in arrays if k.split(".")[0] == str(index)), key=lambda k: int(k.split(".")[1]))
    return [arrays[k] for k in keys] or None
