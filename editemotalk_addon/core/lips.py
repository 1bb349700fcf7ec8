"""The inner-lip gap in millimetres on a real head (ICT-FaceKit), as an exact linear function of the 52 weights.

"Are the lips shut?" means what a real head does. ICT's shapes are linear blendshapes, so every vertex is linear in
the weights, and so is the vertical distance between an upper- and a lower-lip contact vertex:

    gap_p(w) = GAP0_MM[p] + GAP_COEF_MM[p] @ w          (mm; negative = the lips pass through each other)

for seven pairs across the middle of the mouth (x = 0, +-4, +-8, +-12 mm; the corners are at +-23 mm). Lips cannot
interpenetrate, and the mouth is shut only if it is shut across the whole middle:

    lip_gap_mm(w) = max_p max(0, gap_p(w))

The rest face is 0.76 mm open at the centre, so "closed" means at most CLOSED_MM = 0.5 mm: a face that never moves
scores no closure. The constants come from the mesh (model/evaluation/lip_derivation.py re-derives them; a test
checks they match). The metrics and the teacher run this numpy seal; at runtime the seal runs inside the ONNX graphs
as its torch twin (core/network/lips.py, held equal to this one by a test), and only the rules after the network
(on_lips: rest in silence, a bounded jaw, no emotion narrowing a speaking mouth) run here in numpy.
"""

from __future__ import annotations

import numpy as np

from .rig import ARKIT_NAMES, INDEX, LIP_PARTING

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

# Channels that exist to part the lips, and the upper lip's shrug: a bilabial closure cancels them rather than
# fighting them. Everything else that opens the lips (a sneer, a smile) is compensated with mouthClose, so it does
# not flicker off at every p.
CANCELLED_BY_SEAL: tuple[int, ...] = (*LIP_PARTING, INDEX["mouthShrugUpper"])
CANCEL_MASK = np.isin(np.arange(len(ARKIT_NAMES)), CANCELLED_BY_SEAL).astype(np.float32)


def pair_gaps_mm(weights: np.ndarray) -> np.ndarray:
    """(..., 52) weights -> (..., P) signed vertical gap per contact pair, mm (exact on ICT: positions are linear)."""
    return weights @ GAP_COEF_MM.T + GAP0_MM


def lip_gap_mm(weights: np.ndarray) -> np.ndarray:
    """(..., 52) -> (...): the inner-lip gap across the middle of the mouth, mm (largest pair gap, never negative)."""
    return pair_gaps_mm(weights).max(-1).clip(min=0.0)


def lips_closed(weights: np.ndarray, threshold_mm: float = CLOSED_MM) -> np.ndarray:
    """(..., 52) -> (...) bool: lips shut (every central pair within `threshold_mm`)."""
    return lip_gap_mm(weights) <= threshold_mm


def seal(weights: np.ndarray, gate: np.ndarray, target_mm: float = SEAL_TARGET_MM) -> np.ndarray:
    """The seal: weights (F, 52) in [0, 1], gate (F,) in [0, 1] -> sealed (F, 52).

    1. cancel the lip-parting shapes (CANCELLED_BY_SEAL) by (1 - g);
    2. raise mouthClose by the least amount that brings every pair gap to `target_mm`, and at least to
       jawOpen (ICT's mouthClose over-closes: jawOpen = mouthClose = x leaves -6.2 x mm at the midline, but other
       ARKit rigs are authored so that equal values just touch), at most to 1;
    3. if mouthClose is saturated and a pair is still open, lower jawOpen by the least amount that closes it.
    Steps 2-3 are computed for a full seal and scaled by g, so a half-open gate gives a partial seal, g = 0 changes
    nothing, and the jaw only ever moves where mouthClose saturates.

    Guarantee (g = 1, every input channel in [0, 1]): all pair gaps <= target_mm. Step 2 alone succeeds unless
    mouthClose hits 1; step 3 alone succeeds unless jawOpen hits 0; and with mouthClose = 1, jawOpen = 0 and every
    other channel at its worst (openers at 1, closers at 0) the largest pair gap is still negative (a test checks).
    """
    w = np.asarray(weights, np.float32)
    g = np.asarray(gate, np.float32)[:, None]
    k_close, k_jaw = -GAP_COEF_MM[:, CLOSE], GAP_COEF_MM[:, JAW]  # (P,) both > 0 at every pair
    w = w * (1.0 - g * CANCEL_MASK)
    gaps = pair_gaps_mm(w)  # (F, P)
    close, jaw = w[:, CLOSE : CLOSE + 1], w[:, JAW : JAW + 1]
    need = ((gaps - target_mm).clip(min=0.0) / k_close).max(-1, keepdims=True)
    need = np.maximum(need, (jaw - close).clip(min=0.0))  # the ARKit convention mouthClose >= jawOpen
    d_close = np.minimum(need, 1.0 - close).clip(min=0.0)  # the full-seal amounts, then scaled by the gate
    gaps = gaps - d_close * k_close
    need = ((gaps - target_mm).clip(min=0.0) / k_jaw).max(-1, keepdims=True)
    out = w.copy()
    out[:, CLOSE : CLOSE + 1] += g * d_close
    out[:, JAW : JAW + 1] -= g * np.minimum(need, jaw).clip(min=0.0)  # nonzero only where mouthClose saturates
    return out


REST_MM = float(GAP0_MM.max())  # the rest face's gap: 0.76 mm
REST_MARGIN_MM = 0.9  # in silence the lips stay within 1 mm of the rest face (0.1 mm to spare)
OPEN_MARGIN_MM = 0.3  # outside a closure, emotion narrows a speaking mouth by at most this
OPEN_GATE = 0.1  # a gate below this counts as open: the rule holds in full there, and fades as the gate closes
OPENING = GAP_COEF_MM.max(0) > 0  # (52,) channels that open some central pair


def keep_open(articulation: np.ndarray, expression: np.ndarray, gate: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """The expression (F, 52) with what it closes of the lips cut back, so that where someone speaks and the gate
    is open the composed mouth is never narrower than the articulation's own minus OPEN_MARGIN_MM: no emotion
    seals the lips mid-word (a sad press at 1.5 did). Only the articulation's gate closes lips in speech.
    articulation (F, 52), gate and speech (F,) in [0, 1]."""
    gaps = pair_gaps_mm(articulation)  # (F, P)
    widest = gaps.argmax(1)
    applied = np.clip(articulation + expression, 0.0, 1.0) - articulation  # what composing shows (weights clip)
    effect = GAP_COEF_MM[widest] * applied  # (F, 52): mm each expression channel adds at that pair
    closing = effect < 0
    narrowed = -(effect * closing).sum(1)  # mm the closing channels take away
    allowed = (effect * ~closing).sum(1) + OPEN_MARGIN_MM  # what they may: what the rest opens, and the margin
    keep = np.where(narrowed > 1e-6, np.clip(allowed / np.maximum(narrowed, 1e-6), 0.0, 1.0), 1.0)
    strength = np.clip((1.0 - np.asarray(gate, np.float32)) / (1.0 - OPEN_GATE), 0.0, 1.0) * speech
    keep = 1.0 - strength * (1.0 - keep)
    return np.where(closing, expression * keep[:, None], expression).astype(np.float32)


def rest_in_silence(layer: np.ndarray, below: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """`layer` (F, 52) with its lip-opening channels scaled back where nobody speaks (speech 0), so that with the
    layers `below` it (F, 52) the lips stay within REST_MARGIN_MM of the rest face: a mouth at rest in silence,
    whatever the emotion. Where speech is 1 nothing changes; between, a ramp."""
    fixed = below + layer * ~OPENING
    base = pair_gaps_mm(fixed)  # (F, P) without what this layer opens
    opened = (layer * OPENING) @ GAP_COEF_MM.T  # (F, P)
    limit = REST_MM + REST_MARGIN_MM
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = np.where(opened > 1e-6, (limit - base) / opened, np.inf)
    keep = np.clip(scale.min(1), 0.0, 1.0)
    keep = 1.0 - (1.0 - speech) * (1.0 - keep)
    return np.where(OPENING, layer * keep[:, None], layer).astype(np.float32)


EMOTION_JAW = 0.6  # emotion opens the jaw up to this (20 mm on ICT), never beyond where speech already has it


def bound_jaw(articulation: np.ndarray, expression: np.ndarray) -> np.ndarray:
    """The expression (F, 52) with its jaw drop limited so speech and emotion together open the jaw no further
    than the larger of the two's own limits: no combination of voice and sliders layers into a scream."""
    jaw = np.minimum(expression[:, JAW], np.maximum(EMOTION_JAW - articulation[:, JAW], 0.0))
    out = expression.copy()
    out[:, JAW] = np.where(expression[:, JAW] > 0, jaw, expression[:, JAW])
    return out


def on_lips(
    articulation: np.ndarray, expression: np.ndarray, gate: np.ndarray, speech: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What the lips may show, the same for the teacher and the model: the layers (F, 52) at rest in silence, the
    emotion's jaw bounded, and no emotion narrowing a speaking mouth outside a closure (gate, speech (F,))."""
    articulation = rest_in_silence(articulation, np.zeros_like(articulation), speech)
    expression = keep_open(articulation, bound_jaw(articulation, expression), gate, speech)
    return articulation, rest_in_silence(expression, articulation, speech)
