"""A facial performance: three additive layers of ARKit weights at one frame rate, the unit everything passes on.

Layers stay separate so each can be baked to its own NLA track: articulation (mouth, jaw, tongue), expression
(emotion), life (blinks and gaze). `weights` is their sum, clipped to the shape-key range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UserError
from .rig import ARKIT_NAMES, GROUPS, LIFE_CHANNELS, NUM_CHANNELS
from .timebase import frame_count

# The channels each layer may write when baked to its own NLA track.
LAYER_CHANNELS: dict[str, tuple[int, ...]] = {
    "articulation": tuple(GROUPS["mouth"]),
    "expression": tuple(i for i in range(NUM_CHANNELS) if i not in LIFE_CHANNELS),
    "life": tuple(LIFE_CHANNELS),
    "combined": tuple(range(NUM_CHANNELS)),
}


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

    def layers(self, combined: bool = False) -> dict[str, np.ndarray]:
        """The tracks to bake: {layer: (F, 52)}, or the summed weights as one "combined" layer."""
        if combined:
            return {"combined": self.weights}
        return {"articulation": self.articulation, "expression": self.expression, "life": self.life}


def check_finite(weights: np.ndarray, what: str) -> None:
    """The last check before weights reach a shape key or a file: NaN or infinity never does, whatever made it
    (inputs are checked where they are read; this catches what got past them)."""
    if not np.all(np.isfinite(weights)):
        raise UserError(f"{what} holds NaN or infinite weights - nothing was written; check its inputs")


def captured(times: np.ndarray, weights: np.ndarray, fps: float) -> Performance:
    """A capture (F, 52) sampled at `times` (seconds) -> a Performance at `fps`, all channels in one layer."""
    frames = np.arange(frame_count(times[-1] + 1.0 / fps, fps)) / fps
    resampled = np.stack([np.interp(frames, times, weights[:, c]) for c in range(weights.shape[1])], 1)
    resampled = resampled.astype(np.float32)
    zeros = np.zeros_like(resampled)
    return Performance(fps, resampled, zeros, zeros)
