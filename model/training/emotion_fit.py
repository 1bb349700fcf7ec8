"""The emotion space fitted on labelled speech: the paper's boundary-aware embedding (training only, sklearn).

A linear multi-class classifier is fitted on emotion embeddings. For each slider k the editing direction v_k is
the unit normal of the boundary between k and neutral, (w_k - w_neutral) / |...|; the calibration s_k is how far
the centroid of k lies from the neutral centroid along v_k, so alpha = 1 moves a face by one typical full emotion.
The result is the edit dictionary the extension reads (core.emotion_space.EmotionSpace).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from editemotalk_addon.core.emotion_space import EmotionSpace
from editemotalk_addon.core.rig import EMOTIONS


def fit(embeddings: np.ndarray, labels: np.ndarray, c: float = 1.0) -> EmotionSpace:
    """embeddings (N, E) of labelled speech, labels (N,) indices into EMOTIONS -> the space, boundary normals as
    they are."""
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    clf.fit(embeddings, labels)
    weight = np.zeros((len(EMOTIONS), embeddings.shape[1]))
    bias = np.full(len(EMOTIONS), -1e3)  # a class never seen gets no probability
    weight[clf.classes_], bias[clf.classes_] = clf.coef_, clf.intercept_
    centroids = np.stack(
        [embeddings[labels == k].mean(0) if np.any(labels == k) else embeddings.mean(0) for k in range(len(EMOTIONS))]
    )
    normals = weight[1:] - weight[:1]
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    return _calibrated(EmotionSpace(EMOTIONS, centroids, normals, np.ones(len(normals)), weight, bias), normals)


def decorrelated(space: EmotionSpace) -> EmotionSpace:
    """The same space with the normals made orthogonal by the symmetric (Loewdin) orthogonalisation, the
    orthonormal set closest to the boundary normals: one slider no longer drags its neighbours along, while each
    direction still raises its own class over neutral ((w_k - w_neutral) . v'_k > 0, checked)."""
    normals = space.normals.astype(np.float64)
    values, vectors = np.linalg.eigh(normals @ normals.T)
    orthogonal = (vectors @ np.diag(values**-0.5) @ vectors.T) @ normals
    rise = np.einsum("ke,ke->k", space.weight[1:] - space.weight[:1], orthogonal)
    if np.any(rise <= 0):
        raise ValueError(f"decorrelating would turn a slider against its own class: {rise.round(3)}")
    return _calibrated(space, orthogonal)


def fit_space(embeddings: np.ndarray, labels: np.ndarray) -> EmotionSpace:
    """What training ships: the fitted space with decorrelated directions."""
    return decorrelated(fit(embeddings, labels))


def _calibrated(space: EmotionSpace, normals: np.ndarray) -> EmotionSpace:
    """`normals` as the space's directions, each calibrated to its centroid's distance from neutral."""
    calibration = np.einsum("ke,ke->k", space.centroids[1:] - space.centroids[:1], normals)
    f32 = lambda x: np.asarray(x, np.float32)
    return EmotionSpace(
        space.labels,
        f32(space.centroids),
        f32(normals),
        f32(np.maximum(calibration, 1e-3)),
        f32(space.weight),
        f32(space.bias),
    )
