"""The inner-lip gap in millimetres on a real head (ICT-FaceKit), as an exact linear function of the 52 weights.

"Are the lips shut?" means what a real head does. ICT's shapes are linear blendshapes, so every vertex is linear in
the weights, and so is the vertical distance between an upper- and a lower-lip contact vertex:

    gap_p(w) = GAP0_MM[p] + GAP_COEF_MM[p] @ w          (mm; negative = the lips pass through each other)

for seven pairs across the middle of the mouth (x = 0, +-4, +-8, +-12 mm; the corners are at +-23 mm). Lips cannot
interpenetrate, and the mouth is shut only if it is shut across the whole middle:

    lip_gap_mm(w) = max_p max(0, gap_p(w))

The rest face is 0.76 mm open at the centre, so "closed" means at most CLOSED_MM = 0.5 mm: a face that never moves
scores no closure. The constants come from the mesh (model/evaluation/lip_derivation.py re-derives them; a test
checks they match); at run time only numpy is needed, and every function also takes torch tensors, so the same
maths serves the metrics, the training losses and the network's seal inside the ONNX graph.
"""

from __future__ import annotations

import numpy as np

from .rig import ARKIT_NAMES, INDEX

JAW, CLOSE = INDEX["jawOpen"], INDEX["mouthClose"]

# Derived from ict_face_model.npz (model/evaluation/lip_derivation.py); channels in ARKIT_NAMES order.
PAIR_X_MM = (0.0, -4.0, 4.0, -8.0, 8.0, -12.0, 12.0)
UPPER_VERTICES = (5533, 5781, 6286, 5739, 6244, 5688, 6193)
LOWER_VERTICES = (5517, 5880, 6385, 5951, 6455, 5874, 6379)
GAP0_MM = np.array([0.7629, 0.7531, 0.7531, 0.4708, 0.4708, 0.2817, 0.2817], np.float32)
# (pairs, 52) mm per unit weight, columns in ARKIT_NAMES order
GAP_COEF_MM = np.array([
    [-0.0002, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, -0.0002, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 1.2913, -0.2285, -0.2285, 32.7539, -38.9441, 13.7256, -0.5167, -0.6593, -0.6593, 0.0354, 0.0354, -0.1242, -0.1242, -0.3573, -0.3577, -0.1550, -0.1550, -3.7475, 1.8196, -6.8762, 5.2560, -1.2689, -1.2689, 3.3812, 3.3812, 3.5464, 3.5464, -0.0005, -0.0005, 0.0030, 0.0000, 0.0000, -0.4402, 0.1851, 0.1851, 3.1085, 3.1085, 0.0000],
    [0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 1.2531, -0.2865, -0.2126, 31.8921, -38.7262, 13.2617, -0.5542, -0.5823, -0.5756, 0.0012, -0.0122, -0.0937, -0.1340, -0.3680, -0.5375, -0.1106, -0.1656, -3.4726, 1.5243, -6.7271, 5.2125, -1.0367, -1.5170, 2.6672, 3.9097, 2.9111, 4.2471, -0.0004, -0.0005, 0.0035, 0.0000, 0.0000, -0.3944, 0.1485, 0.2172, 2.5760, 3.7473, 0.0000],
    [0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 1.2531, -0.2126, -0.2865, 31.8921, -38.7262, 13.2617, -0.5542, -0.5756, -0.5823, -0.0122, 0.0012, -0.1340, -0.0937, -0.5376, -0.3680, -0.1656, -0.1105, -3.4726, 1.5243, -6.7271, 5.2516, -1.5170, -1.0367, 3.9097, 2.6672, 4.2471, 2.9111, -0.0005, -0.0004, 0.0035, 0.0000, 0.0000, -0.3944, 0.2172, 0.1485, 3.7473, 2.5760, 0.0000],
    [0.0000, 0.0001, 0.0001, 0.0001, 0.0001, 0.0001, 0.0001, 0.0000, 0.0001, 0.0001, 0.0001, 0.0001, 0.0001, 0.0001, 1.0884, -0.2862, -0.1477, 28.3984, -36.7676, 9.5654, -2.2400, -0.0336, 0.2014, -0.1074, -0.0366, -0.0517, -0.1831, -0.4659, -1.1707, -0.0506, -0.2942, -0.6979, 2.2592, -6.3443, 4.2839, -0.5985, -1.4721, 1.6694, 4.1143, 1.8745, 5.0177, -0.0002, -0.0009, 0.0056, 0.0002, 0.0002, -0.0050, 0.1103, 0.2827, 1.7270, 4.6307, 0.0000],
    [0.0000, 0.0001, 0.0001, 0.0001, 0.0001, 0.0001, 0.0001, 0.0000, 0.0001, 0.0001, 0.0001, 0.0001, 0.0001, 0.0001, 1.0884, -0.1477, -0.2862, 28.3984, -36.7676, 9.5654, -2.2400, 0.2014, -0.0336, -0.0366, -0.1074, -0.1831, -0.0517, -1.1707, -0.4661, -0.2942, -0.0505, -0.6979, 2.2592, -6.3443, 4.3661, -1.4721, -0.5985, 4.1143, 1.6694, 5.0177, 1.8745, -0.0009, -0.0002, 0.0056, 0.0002, 0.0002, -0.0050, 0.2827, 0.1103, 4.6307, 1.7270, 0.0000],
    [0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, -0.0001, -0.0001, -0.0001, -0.0001, -0.0001, -0.0001, 0.8803, -0.2609, -0.0317, 24.6240, -34.3135, 6.4154, -2.4475, -0.2205, 0.1038, -0.1086, 0.2393, -0.0421, -0.3479, -0.4282, -1.6957, 0.0250, -0.4398, 0.2062, 2.2728, -5.8536, 3.3124, -0.3284, -1.1984, 1.0026, 3.8760, 1.1462, 5.3265, -0.0004, -0.0013, 0.0077, 0.0002, 0.0004, 0.4764, 0.0799, 0.3478, 1.0861, 5.1025, 0.0000],
    [0.0000, -0.0001, -0.0001, -0.0001, -0.0001, -0.0001, -0.0001, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.8803, -0.0317, -0.2609, 24.6240, -34.3135, 6.4154, -2.4475, 0.1038, -0.2205, 0.2393, -0.1086, -0.3479, -0.0421, -1.6957, -0.4281, -0.4398, 0.0250, 0.2062, 2.2728, -5.8536, 3.3991, -1.1984, -0.3284, 3.8760, 1.0026, 5.3265, 1.1462, -0.0013, -0.0004, 0.0077, 0.0004, 0.0002, 0.4764, 0.3478, 0.0799, 5.1025, 1.0861, 0.0000],
], np.float32)  # fmt: skip

CLOSED_MM = 0.5  # below the rest face's 0.76 mm: only an active closure counts as closed
SEAL_TARGET_MM = 0.0  # the seal brings every pair to contact

# Channels that exist to part the lips: a bilabial closure cancels them rather than fighting them. Everything else
# that opens the lips (a sneer, a smile) is compensated with mouthClose, so it does not flicker off at every p.
CANCELLED_BY_SEAL: tuple[str, ...] = (
    "mouthFunnel",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "mouthShrugUpper",
)
CANCEL_MASK = np.array([n in CANCELLED_BY_SEAL for n in ARKIT_NAMES], np.float32)


# ---------------------------------------------------------------- backend helpers (numpy or torch, same maths)
def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _const(c: np.ndarray, like):
    """A constant as an array/tensor matching `like` (dtype, device)."""
    if _is_torch(like):
        import torch

        return torch.as_tensor(c, dtype=like.dtype, device=like.device)
    return np.asarray(c, dtype=np.result_type(like.dtype, np.float32))


def _amax(x, axis: int, keepdims: bool = False):
    return x.amax(dim=axis, keepdim=keepdims) if _is_torch(x) else x.max(axis=axis, keepdims=keepdims)


def _maximum(a, b):
    if _is_torch(a) or _is_torch(b):
        import torch

        return torch.maximum(a, b)
    return np.maximum(a, b)


def _minimum(a, b):
    if _is_torch(a) or _is_torch(b):
        import torch

        return torch.minimum(a, b)
    return np.minimum(a, b)


# ---------------------------------------------------------------- the gap
def pair_gaps_mm(weights):
    """(..., 52) weights -> (..., P) signed vertical gap per contact pair, mm (exact on ICT: positions are linear)."""
    return weights @ _const(GAP_COEF_MM.T, weights) + _const(GAP0_MM, weights)


def lip_gap_mm(weights):
    """(..., 52) -> (...): the inner-lip gap across the middle of the mouth, mm (largest pair gap, never negative)."""
    return _amax(pair_gaps_mm(weights), -1).clip(min=0.0)


def lips_closed(weights, threshold_mm: float = CLOSED_MM):
    """(..., 52) -> (...) bool: lips shut (every central pair within `threshold_mm`)."""
    return lip_gap_mm(weights) <= threshold_mm


def channel_effects(pair: int = 0) -> dict[str, float]:
    """{channel: mm per unit weight} at one pair (0 = the midline), for the channels that move the gap (>0.05 mm)."""
    return {n: float(GAP_COEF_MM[pair, i]) for i, n in enumerate(ARKIT_NAMES) if abs(GAP_COEF_MM[pair, i]) > 0.05}


def channel_table(eps: float = 0.05) -> list[tuple[str, float, float, float]]:
    """(channel, mm per unit at the midline, min and max over the pairs) for every channel that moves a pair."""
    rows = [
        (n, float(GAP_COEF_MM[0, i]), float(GAP_COEF_MM[:, i].min()), float(GAP_COEF_MM[:, i].max()))
        for i, n in enumerate(ARKIT_NAMES)
        if np.abs(GAP_COEF_MM[:, i]).max() > eps
    ]
    return sorted(rows, key=lambda r: -r[3] if r[3] > eps else -r[1])


def opening_channels(eps: float = 0.05) -> dict[str, float]:
    """Channels that open the lips at some central pair: {name: largest mm per unit weight over the pairs}."""
    top = GAP_COEF_MM.max(0)
    return {n: float(top[i]) for i in np.argsort(-top) if top[i] > eps for n in [ARKIT_NAMES[i]]}


def closing_channels(eps: float = 0.05) -> dict[str, float]:
    """Channels that close the lips at every central pair: {name: mm per unit weight at the midline}."""
    top, mid = GAP_COEF_MM.max(0), GAP_COEF_MM[0]
    return {n: float(mid[i]) for i in np.argsort(mid) if top[i] <= eps and mid[i] < -eps for n in [ARKIT_NAMES[i]]}


# ---------------------------------------------------------------- the seal
def seal_last(w, g, target_mm: float = SEAL_TARGET_MM, cover_jaw: bool = True):
    """The seal on channel-last weights: w (..., 52) in [0, 1], gate g (..., 1) in [0, 1] -> sealed (..., 52).

    1. cancel the pure lip-parting shapes (CANCELLED_BY_SEAL) by (1 - g);
    2. raise mouthClose by the least amount that brings every pair gap to `target_mm`, and (cover_jaw) at least to
       jawOpen as the old rule did (ICT's mouthClose over-closes: jawOpen = mouthClose = x leaves -6.2 x mm at the
       midline, but other ARKit rigs are authored so that equal values just touch), at most to 1;
    3. if mouthClose is saturated and a pair is still open, lower jawOpen by the least amount that closes it.
    Steps 2-3 are computed for a full seal and scaled by g, so a half-open gate gives a partial seal, g = 0 changes
    nothing, and the jaw only ever moves where mouthClose saturates.

    Guarantee (g = 1, every input channel in [0, 1]): all pair gaps <= target_mm. Step 2 alone succeeds unless
    mouthClose hits 1; step 3 alone succeeds unless jawOpen hits 0; and with mouthClose = 1, jawOpen = 0 and every
    other channel at its worst (openers at 1, closers at 0) the largest pair gap is WORST_WITH_CLOSE_NO_JAW_MM < 0.
    Everything is elementwise plus one (P x 52) matmul: cheap, differentiable almost everywhere, ONNX-exportable.
    """
    coef = _const(GAP_COEF_MM, w)  # (P, 52)
    k_close, k_jaw = -coef[:, CLOSE], coef[:, JAW]  # (P,) both > 0 at every pair
    w = w * (1.0 - g * _const(CANCEL_MASK, w))
    gaps = w @ coef.T + _const(GAP0_MM, w)  # (..., P)
    close, jaw = w[..., CLOSE : CLOSE + 1], w[..., JAW : JAW + 1]
    need = _amax((gaps - target_mm).clip(min=0.0) / k_close, -1, keepdims=True)
    if cover_jaw:  # never less than the ARKit convention mouthClose >= jawOpen (lips together on any rig)
        need = _maximum(need, (jaw - close).clip(min=0.0))
    d_close = _minimum(need, 1.0 - close)  # the full-seal amounts; both steps are then scaled by the gate
    gaps = gaps - d_close * k_close
    need = _amax((gaps - target_mm).clip(min=0.0) / k_jaw, -1, keepdims=True)
    d_jaw = g * _minimum(need, jaw)  # nonzero only where mouthClose saturates, whatever the gate
    d_close = g * d_close
    onehot_close = _const(np.eye(len(ARKIT_NAMES), dtype=np.float32)[CLOSE], w)
    onehot_jaw = _const(np.eye(len(ARKIT_NAMES), dtype=np.float32)[JAW], w)
    return w + d_close * onehot_close - d_jaw * onehot_jaw


def seal(weights_B52T, gate_B1T, target_mm: float = SEAL_TARGET_MM, cover_jaw: bool = True):
    """Torch, network layout: weights (B, 52, T), gate (B, 1, T) -> sealed weights (B, 52, T)."""
    out = seal_last(weights_B52T.transpose(1, 2), gate_B1T.transpose(1, 2), target_mm, cover_jaw)
    return out.transpose(1, 2)


def seal_np(weights_F52, gate_F, target_mm: float = SEAL_TARGET_MM, cover_jaw: bool = True) -> np.ndarray:
    """Numpy twin (teacher layout): weights (F, 52), gate (F,) -> sealed (F, 52)."""
    w = np.asarray(weights_F52, np.float32)
    return seal_last(w, np.asarray(gate_F, np.float32)[:, None], target_mm, cover_jaw).astype(np.float32)


def _worst_with_close_no_jaw() -> float:
    """Largest pair gap at the seal's last resort (mouthClose 1, jawOpen 0, parting shapes cancelled), every other
    channel at its worst in [0, 1]: the bound that makes seal() a guarantee."""
    free = np.ones(len(ARKIT_NAMES), bool)
    free[[JAW, CLOSE]] = False
    free &= CANCEL_MASK == 0
    worst = GAP0_MM + GAP_COEF_MM[:, CLOSE] + np.where(free, GAP_COEF_MM, 0.0).clip(min=0).sum(1)
    return float(worst.max())


WORST_WITH_CLOSE_NO_JAW_MM = _worst_with_close_no_jaw()
