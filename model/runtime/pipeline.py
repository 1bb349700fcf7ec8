"""The pipeline, written once: audio -> analyze -> edit -> generate -> a Performance at the scene's frame rate.

The Bake operator, the CLI and batch, the Blender bench and the model bench all go through `animate`; a Live Link
Face capture enters the same bake through `captured`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .animator import Analysis, Animator, EmotionEdit
from .performance import Performance
from .timebase import frame_count


def animate(
    animator: Animator,
    audio: str | Path | np.ndarray,
    edit: EmotionEdit | None = None,
    fps: float = 30,
    seed: int = 0,
    analysis: Analysis | None = None,
) -> tuple[Analysis, Performance]:
    """Analyze (unless a cached analysis of this clip is given), apply the edit, generate at `fps`."""
    analysis = analysis if analysis is not None else animator.analyze(audio)
    return analysis, animator.generate(analysis, edit, fps=fps, seed=seed)


def captured(times: np.ndarray, weights: np.ndarray, fps: float) -> Performance:
    """A capture (F, 52) sampled at `times` (seconds) -> a Performance at `fps`, all channels in one layer."""
    frames = np.arange(frame_count(times[-1] + 1.0 / fps, fps)) / fps
    resampled = np.stack([np.interp(frames, times, weights[:, c]) for c in range(weights.shape[1])], 1)
    resampled = resampled.astype(np.float32)
    zeros = np.zeros_like(resampled)
    return Performance(fps, resampled, zeros, zeros)
