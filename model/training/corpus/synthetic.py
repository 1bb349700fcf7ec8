"""Synthetic emotional speech: one generated sentence, one voice, all eight emotions -> paired examples.

A held-out sentence is only ever read by held-out voices, so train and test are disjoint in both.
Phone timing comes from forced alignment of the synthesized audio (the same aligner as for real speech); the tests
cross-check it against flite's and festival's own segment timing.
"""

from __future__ import annotations

import numpy as np

from ...runtime.rig import EMOTIONS
from ..align import AlignmentError, align
from ..sentences import is_test_sentence, sentence
from ..synth import FAMILIES, is_test_voice, synthesize, voices
from .base import Item, teacher_example
from .store import Example, Meta

SECONDS_PER_ITEM = 8 * 2.9  # eight renderings of a ~2.9 s sentence


def items(count: int) -> list[Item]:
    pools = {
        (f, s): [v for v in voices() if v.family == f and is_test_voice(v) == (s == "test")]
        for f in FAMILIES
        for s in ("train", "test")
    }
    out = []
    for i in range(count):
        text = sentence(i)
        split = "test" if is_test_sentence(text) else "train"
        rng = np.random.default_rng([i, 11])
        pool = pools[(FAMILIES[i % len(FAMILIES)], split)]
        voice = pool[int(rng.integers(len(pool)))]
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
