"""A facial performance: three additive layers of ARKit weights at one frame rate, the unit everything passes on.

Layers stay separate so each can be baked to its own NLA track: articulation (mouth, jaw, tongue), expression
(emotion), life (blinks and gaze). `weights` is their sum, clipped to the shape-key range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rig import ARKIT_NAMES


def compose(*layers: np.ndarray) -> np.ndarray:
    return np.clip(np.sum(layers, axis=0), 0.0, 1.0).astype(np.float32)


@dataclass
class Performance:
    fps: float
    articulation: np.ndarray  # (F, 52)
    expression: np.ndarray  # (F, 52)
    life: np.ndarray  # (F, 52)
    closure: np.ndarray | None = None  # (F,) 1 where the lips are sealed for a p/b/m (teacher only)
    names: tuple[str, ...] = ARKIT_NAMES

    @property
    def weights(self) -> np.ndarray:  # (F, 52) in `names` order
        return compose(self.articulation, self.expression, self.life)
