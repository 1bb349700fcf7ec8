"""Synthetic emotional speech: one generated sentence, one voice, all eight emotions -> paired examples.

A sentence of one split is only ever read by voices of the same split (splits.py), so train, validation and test
are disjoint in voices and sentences.
Phone timing comes from forced alignment of the synthesized audio (the same aligner as for real speech); the tests
cross-check it against flite's and festival's own segment timing.
"""

from __future__ import annotations

import numpy as np

from editemotalk_addon.core.rig import EMOTIONS

from ..align import AlignmentError, align
from ..sentences import sentence
from ..synth import synthesize, voices
from .base import Item, teacher_example
from .splits import SPLITS, sentence_split, synthetic_voice_split
from .store import Example, Meta

SECONDS_PER_ITEM = 8 * 2.9  # eight renderings of a ~2.9 s sentence


def voice_pools() -> dict[str, list[list]]:
    """split -> one list of voices per synthesizer family that has voices in that split."""
    pools: dict[str, dict[str, list]] = {s: {} for s in SPLITS}
    for v in voices():
        pools[synthetic_voice_split(v.family, v.name, v.variant)].setdefault(v.family, []).append(v)
    return {s: list(families.values()) for s, families in pools.items()}


def items(count: int) -> list[Item]:
    pools = voice_pools()
    out = []
    for i in range(count):
        text = sentence(i)
        split = sentence_split(text)
        rng = np.random.default_rng([i, 11])
        family = pools[split][i % len(pools[split])]  # the families take turns
        voice = family[int(rng.integers(len(family)))]
        intensity = round(float(rng.uniform(0.5, 1.5)), 3)
        out.append(
            Item(f"synthetic/{i:06d}", split, SECONDS_PER_ITEM, {"text": text, "voice": voice, "intensity": intensity})
        )
    return out


def build(item: Item, root=None) -> tuple[list[Example], list[str]]:
    text, voice, intensity = item.payload["text"], item.payload["voice"], item.payload["intensity"]
    rendered = synthesize(text, voice, {e: 0.0 if e == "neutral" else intensity for e in EMOTIONS})
    out, problems = [], []
    for emotion, audio in rendered.items():
        try:
            phones = align(audio, text)
        except AlignmentError as exc:
            problems.append(f"{item.id}/{emotion} ({voice.id}): {exc}")
            continue
        meta = Meta(
            f"{item.id}/{emotion}",
            "synthetic",
            "en",
            voice.speaker,
            emotion,
            0.0 if emotion == "neutral" else intensity,
            text,
            item.split,
            real_speech=False,
            family=voice.family,
            pair=item.id,
        )
        out.append(teacher_example(meta, audio, phones))
    return out, problems
