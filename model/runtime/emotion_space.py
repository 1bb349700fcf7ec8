"""The emotion space and its edit dictionary (numpy only: the add-on uses it without torch).

A linear multi-class classifier is fitted on emotion embeddings of labelled speech. For each slider k the editing
direction v_k is the unit normal of the decision boundary between k and neutral, (w_k - w_neutral) / |...|.
The calibration s_k is how far the centroid of k lies from the neutral centroid along v_k, so alpha = 1 moves a
face by one typical full emotion:

    e'(t) = c_neutral + sum_k (voice_k(t) + intensity * alpha_k(t)) * s_k * v_k

where voice_k(t) is how clearly the voice's emotion k is heard (`voice_alphas`: the classifier's probability above
chance, 0..1) in "keep the voice" mode, and 0 in absolute mode. The face then shows the voice's emotion as strongly
as the recogniser is sure of it: a clearly angry voice gets an angry face, an uncertain one stays near neutral.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .rig import EMOTIONS

CHANCE = 1.0 / len(EMOTIONS)


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

    @classmethod
    def fit(cls, embeddings: np.ndarray, labels: np.ndarray, c: float = 1.0) -> EmotionSpace:
        """embeddings (N, E) of labelled speech, labels (N,) indices into EMOTIONS."""
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        clf.fit(embeddings, labels)
        weight = np.zeros((len(EMOTIONS), embeddings.shape[1]))
        bias = np.full(len(EMOTIONS), -1e3)  # a class never seen gets no probability
        weight[clf.classes_], bias[clf.classes_] = clf.coef_, clf.intercept_
        centroids = np.stack(
            [
                embeddings[labels == k].mean(0) if np.any(labels == k) else embeddings.mean(0)
                for k in range(len(EMOTIONS))
            ]
        )
        normals = weight[1:] - weight[:1]
        normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
        calibration = np.einsum("ke,ke->k", centroids[1:] - centroids[:1], normals)
        return cls(
            EMOTIONS,
            centroids.astype(np.float32),
            normals.astype(np.float32),
            np.maximum(calibration, 1e-3).astype(np.float32),
            weight.astype(np.float32),
            bias.astype(np.float32),
        )

    def decorrelated(self) -> EmotionSpace:
        """The same space with the normals made orthogonal by the symmetric (Loewdin) orthogonalisation, the
        orthonormal set closest to the boundary normals: one slider no longer drags its neighbours along, while
        each direction still raises its own class over neutral ((w_k - w_neutral) . v'_k > 0, checked)."""
        normals = self.normals.astype(np.float64)
        values, vectors = np.linalg.eigh(normals @ normals.T)
        orthogonal = (vectors @ np.diag(values**-0.5) @ vectors.T) @ normals
        rise = np.einsum("ke,ke->k", self.weight[1:] - self.weight[:1], orthogonal)
        if np.any(rise <= 0):
            raise ValueError(f"decorrelating would turn a slider against its own class: {rise.round(3)}")
        calibration = np.einsum("ke,ke->k", self.centroids[1:] - self.centroids[:1], orthogonal)
        return EmotionSpace(
            self.labels,
            self.centroids,
            orthogonal.astype(np.float32),
            np.maximum(calibration, 1e-3).astype(np.float32),
            self.weight,
            self.bias,
        )

    def edit(self, base: np.ndarray | None, alphas: np.ndarray, intensity: float = 1.0) -> np.ndarray:
        """base (T, E) or None for absolute mode (the neutral centroid); alphas (T, 7) or (7,) -> e' (T, E)."""
        alphas = np.atleast_2d(np.asarray(alphas, np.float32))
        start = self.neutral[None, :] if base is None else np.asarray(base, np.float32)
        return (start + intensity * alphas @ self.directions).astype(np.float32)

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
