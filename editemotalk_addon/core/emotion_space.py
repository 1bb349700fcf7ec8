"""The emotion space and its edit dictionary (numpy only).

Training fits a linear classifier on emotion embeddings of labelled speech (model/training/emotion_fit.py), with
c_k the centroid of class k. For each slider k the editing direction v_k is the unit normal of the decision
boundary between k and neutral; the calibration s_k is how far the centroid of k lies from the neutral centroid
along v_k, so alpha = 1 moves a face by one typical full emotion. The generator reads

    e'(t) = e_voice(t) + sum_k intensity * alpha_k(t) * s_k * v_k                      (the paper's edit)

    e_voice(t) = c_neutral + sum_k p_k(t) * (c_k - c_neutral)    "keep the voice" mode (`voice_embedding`)
    e_voice(t) = c_neutral                                        absolute mode

where p(t) is Heard's calibrated probability of each emotion in the phrase under t (core/heard.py; 0 for the
classes it has no data for): the voice's own emotion projected into the learned space, a clearly angry voice at
the angry centroid, an uncertain one between the centroids, nearer neutral the less sure Heard is.
`voice_alphas` (the probability above chance, 0..1) is the same reading as slider values, for Key Heard Emotion
and the idle layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .rig import EMOTIONS

CHANCE = 1.0 / len(EMOTIONS)


def calibrated(logits: np.ndarray, temperature: float = 1.0, baseline: np.ndarray | None = None) -> np.ndarray:
    """(T, 8) scores -> probabilities: softmax(logits / temperature), the temperature fitted on corpora the emotion
    head never heard (model/evaluation/loco.py), so a voice from an unknown corpus is not shown more strongly than
    it is recognised. `baseline` (8,): a bias taken off first."""
    x = (logits - (0.0 if baseline is None else baseline)) / temperature
    p = np.exp(x - x.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)).astype(np.float32)


def voice_alphas(probabilities: np.ndarray) -> np.ndarray:
    """(T, 8) class probabilities -> (T, 7) slider values: each emotion's probability above chance, scaled to 0..1."""
    return np.clip((probabilities[:, 1:] - CHANCE) / (1.0 - CHANCE), 0.0, 1.0).astype(np.float32)


@dataclass
class EmotionSpace:
    labels: tuple[str, ...]
    centroids: np.ndarray  # (8, E)
    normals: np.ndarray  # (7, E) unit vectors, one per slider
    calibration: np.ndarray  # (7,)
    weight: np.ndarray  # (8, E) the fitted classifier
    bias: np.ndarray  # (8,)

    @property
    def neutral(self) -> np.ndarray:
        return self.centroids[0]

    @property
    def origin(self) -> np.ndarray:
        """The centre of the emotion space (mean of the centroids): cosines are measured from here."""
        return self.centroids.mean(0)

    @property
    def directions(self) -> np.ndarray:
        """(7, E) calibrated edit vectors s_k * v_k."""
        return self.calibration[:, None] * self.normals

    def edit(self, alphas: np.ndarray, voice: np.ndarray | None = None) -> np.ndarray:
        """alphas (T, 7) or (7,), the sliders -> e' (T, E): from `voice` (T, E) (voice_embedding), else neutral."""
        alphas = np.atleast_2d(np.asarray(alphas, np.float32))
        start = self.neutral[None, :] if voice is None else voice
        return (start + alphas @ self.directions).astype(np.float32)

    def voice_embedding(self, probabilities: np.ndarray) -> np.ndarray:
        """(T, 8) heard probabilities -> e_voice (T, E) = c_neutral + sum_k p_k (c_k - c_neutral)."""
        return (self.neutral[None, :] + probabilities @ (self.centroids - self.neutral[None, :])).astype(np.float32)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """(T, E) -> (T, 8) softmax of the fitted classifier."""
        logits = embeddings @ self.weight.T + self.bias
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(1, keepdims=True)

    def to_json(self) -> dict:
        return {
            "labels": list(self.labels),
            "centroids": self.centroids.tolist(),
            "normals": self.normals.tolist(),
            "calibration": self.calibration.tolist(),
            "weight": self.weight.tolist(),
            "bias": self.bias.tolist(),
        }

    @classmethod
    def from_json(cls, d: dict) -> EmotionSpace:
        arr = lambda k: np.asarray(d[k], np.float32)
        return cls(tuple(d["labels"]), arr("centroids"), arr("normals"), arr("calibration"), arr("weight"), arr("bias"))

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_json()))

    @classmethod
    def load(cls, path: Path) -> EmotionSpace:
        return cls.from_json(json.loads(Path(path).read_text()))
