"""Training losses. Shapes: motion (B, 52, T), frame masks (B, T), channel masks (B, 52)."""

from __future__ import annotations

import torch
from torch import nn

from .rig import GROUPS, LIFE_CHANNELS, NUM_CHANNELS, lip_aperture


def channel_weights(mouth_weight: float) -> torch.Tensor:
    """(1, 52, 1): mouth and jaw emphasised; blinks and gaze excluded (the life layer is procedural)."""
    w = torch.ones(1, NUM_CHANNELS, 1)
    w[0, list(GROUPS["mouth"]), 0] = mouth_weight
    w[0, list(LIFE_CHANNELS), 0] = 0.0
    return w


def _masked_mean(err: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (err * weight).sum() / weight.sum().clamp(min=1.0)


def reconstruction(pred, target, channel_w, mask, valid) -> torch.Tensor:
    """Channel-weighted L1 over valid frames; masked channels (real capture) contribute nothing."""
    weight = channel_w * mask[:, :, None] * valid[:, None, :]
    return _masked_mean((pred - target).abs(), weight)


def velocity(pred, target, channel_w, mask, valid) -> torch.Tensor:
    """L1 between frame-to-frame changes: the motion must move like the target, not only sit near it."""
    both = valid[:, 1:] * valid[:, :-1]
    weight = channel_w * mask[:, :, None] * both[:, None, :]
    return _masked_mean(((pred[:, :, 1:] - pred[:, :, :-1]) - (target[:, :, 1:] - target[:, :, :-1])).abs(), weight)


def closure(pred, closure_target, valid) -> torch.Tensor:
    """On frames where a p/b/m seals the lips, any lip aperture is an error (negative channels earn nothing)."""
    weight = (closure_target[:, 0] > 0.5).float() * valid
    return _masked_mean(lip_aperture(pred.clamp(min=0.0).transpose(1, 2)), weight)


def gate(pred_gate, closure_target, valid) -> torch.Tensor:
    bce = nn.functional.binary_cross_entropy(
        pred_gate[:, 0].clamp(1e-5, 1 - 1e-5), closure_target[:, 0], reduction="none"
    )
    return _masked_mean(bce, valid)
