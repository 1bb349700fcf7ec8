"""The torch twin of core/lips.py in the network's layout (B, 52, T): the seal inside the ONNX graphs and the
training losses' lip gap. Same constants, same steps; a test holds the two equal."""

from __future__ import annotations

import torch

from ..lips import CANCEL_MASK, CLOSE, GAP0_MM, GAP_COEF_MM, JAW, SEAL_TARGET_MM


def _const(c, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(c, dtype=like.dtype, device=like.device)


def pair_gaps_mm(weights: torch.Tensor) -> torch.Tensor:
    """(B, 52, T) -> (B, P, T) signed gap per contact pair, mm."""
    return torch.einsum("pc,bct->bpt", _const(GAP_COEF_MM, weights), weights) + _const(GAP0_MM, weights)[:, None]


def lip_gap_mm(weights: torch.Tensor) -> torch.Tensor:
    """(B, 52, T) -> (B, T): the inner-lip gap, mm (largest pair gap, never negative)."""
    return pair_gaps_mm(weights).amax(1).clamp(min=0.0)


def seal(weights: torch.Tensor, gate: torch.Tensor, target_mm: float = SEAL_TARGET_MM) -> torch.Tensor:
    """weights (B, 52, T), gate (B, 1, T) -> sealed (B, 52, T): core.lips.seal, step for step."""
    coef = _const(GAP_COEF_MM, weights)  # (P, 52)
    k_close, k_jaw = -coef[:, CLOSE][None, :, None], coef[:, JAW][None, :, None]  # (1, P, 1)
    w = weights * (1.0 - gate * _const(CANCEL_MASK, weights)[None, :, None])
    gaps = pair_gaps_mm(w)  # (B, P, T)
    close, jaw = w[:, CLOSE : CLOSE + 1], w[:, JAW : JAW + 1]
    need = ((gaps - target_mm).clamp(min=0.0) / k_close).amax(1, keepdim=True)
    need = torch.maximum(need, (jaw - close).clamp(min=0.0))  # the ARKit convention mouthClose >= jawOpen
    d_close = torch.minimum(need, 1.0 - close).clamp(min=0.0)
    gaps = gaps - d_close * k_close
    need = ((gaps - target_mm).clamp(min=0.0) / k_jaw).amax(1, keepdim=True)
    d_jaw = gate * torch.minimum(need, jaw).clamp(min=0.0)
    onehot = torch.zeros_like(w[:1, :, :1])
    close_hot, jaw_hot = onehot.clone(), onehot.clone()
    close_hot[:, CLOSE], jaw_hot[:, JAW] = 1.0, 1.0
    return w + gate * d_close * close_hot - d_jaw * jaw_hot
