"""Real English read speech with exact transcripts (CMU ARCTIC bdl/slt, Common Voice) -> forced alignment ->
teacher targets with a neutral face (read speech).

Held out: ARCTIC prompts arctic_b0400 and later (both speakers), and a fixed third of the Common Voice speakers.
Clips whose transcript does not align are reported by the builder and skipped, never guessed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ...runtime.audio import load_audio
from ..align import AlignmentError, align
from .base import Item, teacher_example
from .store import Example, Meta

ARCTIC_TEST_FROM = "arctic_b0400"


def _rows(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t", 1)) for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]


def common_voice_test_speakers(root: Path) -> frozenset[str]:
    """Every third Common Voice speaker, in the order of a hash of their id (fixed, independent of file order)."""
    speakers = sorted(
        {
            row.split("\t")[1]
            for row in (root / "common_voice_en" / "speakers.tsv").read_text(encoding="utf-8").splitlines()[1:]
            if row.strip()
        },
        key=lambda s: hashlib.sha1(s.encode()).hexdigest(),
    )
    return frozenset(speakers[::3])


def items(root: Path) -> list[Item]:
    out = []
    for rel, text in _rows(root / "cmu_arctic" / "transcripts.tsv"):
        speaker, prompt = rel.split("/")[0], Path(rel).stem
        split = "test" if prompt >= ARCTIC_TEST_FROM else "train"
        out.append(
            Item(
                f"english_read/arctic/{speaker}/{prompt}",
                split,
                2.8,
                {
                    "path": f"cmu_arctic/{rel}",
                    "text": text,
                    "speaker": f"arctic:{speaker}",
                    "sentence": f"arctic:{prompt}",
                },
            )
        )
    speaker_of = {
        row.split("\t")[0]: row.split("\t")[1]
        for row in (root / "common_voice_en" / "speakers.tsv").read_text(encoding="utf-8").splitlines()[1:]
        if row.strip()
    }
    test = common_voice_test_speakers(root)
    for rel, text in _rows(root / "common_voice_en" / "transcripts.tsv"):
        client = speaker_of[rel]
        out.append(
            Item(
                f"english_read/cv/{Path(rel).stem}",
                "test" if client in test else "train",
                4.7,
                {
                    "path": f"common_voice_en/{rel}",
                    "text": text,
                    "speaker": f"cv:{client[:12]}",
                    "sentence": f"cv:{text.lower()}",
                },
            )
        )
    return out


def build(item: Item, root: Path) -> tuple[list[Example], list[str]]:
    audio = load_audio(root / item.payload["path"])
    try:
        phones = align(audio, item.payload["text"])
    except AlignmentError as exc:
        return [], [f"{item.id}: {exc}"]
    meta = Meta(
        item.id, "english_read", "en", item.payload["speaker"], "neutral", 0.0, item.payload["sentence"], item.split
    )
    return [teacher_example(meta, audio, phones)], []
