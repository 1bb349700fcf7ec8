"""Real English read speech with exact transcripts (CMU ARCTIC bdl/slt, Common Voice) -> forced alignment ->
teacher targets with a neutral face (read speech).

Splits (splits.py): ARCTIC by prompt (both speakers in every split: "seen speakers, unseen prompts"), Common Voice
by speaker.
Clips whose transcript does not align are reported by the builder and skipped, never guessed.
"""

from __future__ import annotations

from pathlib import Path

from editemotalk_addon.core.audio import load_audio

from ..align import AlignmentError, align
from .base import Item, teacher_example
from .splits import arctic_split, common_voice_split
from .store import Example, Meta


def _rows(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t", 1)) for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]


def items(root: Path) -> list[Item]:
    out = []
    for rel, text in _rows(root / "cmu_arctic" / "transcripts.tsv"):
        speaker, prompt = rel.split("/")[0], Path(rel).stem
        split = arctic_split(prompt)
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
    speakers = list(speaker_of.values())
    for rel, text in _rows(root / "common_voice_en" / "transcripts.tsv"):
        client = speaker_of[rel]
        out.append(
            Item(
                f"english_read/cv/{Path(rel).stem}",
                common_voice_split(speakers, client),
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
