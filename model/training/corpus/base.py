"""What every corpus source shares: a unit of work (Item) and teacher targets for speech with known phones."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from editemotalk_addon.core.rig import NUM_CHANNELS, SLIDERS
from editemotalk_addon.core.timebase import TRAIN_FPS

from .. import teacher
from ..phones import PhoneSegment
from ..prosody import analyze_prosody
from .store import Example, Meta, stable_seed


@dataclass(frozen=True)
class Item:
    """One unit a source turns into examples (a recording, or a sentence read by a voice in every emotion)."""

    id: str
    split: str
    seconds: float  # estimated audio it yields, for the --hours budget
    payload: dict = field(default_factory=dict, hash=False, compare=False)


def teacher_example(meta: Meta, audio: np.ndarray, phones: list[PhoneSegment]) -> Example:
    """Targets from the teacher: every channel is supervised."""
    meta.seed = stable_seed(meta.id)
    prosody = analyze_prosody(audio)
    emotion = meta.emotion if meta.emotion in SLIDERS else "neutral"  # boredom reads as a neutral face
    perf = teacher.perform(
        phones, prosody, emotion, meta.intensity, seed=meta.seed, fps=TRAIN_FPS, duration=len(audio) / 16000
    )
    return Example(meta, audio, perf.weights, np.ones(NUM_CHANNELS, bool), phones, prosody)
