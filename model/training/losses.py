"""Training losses. Shapes: motion (B, 52, T), frame masks (B, T), channel masks (B, 52)."""

from __future__ import annotations

import torch
from torch import nn

from editemotalk_addon.core.lips import GAP_COEF_MM, JAW
from editemotalk_addon.core.network.lips import lip_gap_mm
from editemotalk_addon.core.rig import GROUPS, LIFE_CHANNELS, NUM_CHANNELS

JAW_MM = float(GAP_COEF_MM[0, JAW])  # the gap one unit of jawOpen opens: losses count gaps in jaw units


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


def lip_gap(weights) -> torch.Tensor:
    """(B, 52, T) -> (B, T): the real head's inner-lip gap, in units of one full jawOpen."""
    return lip_gap_mm(weights.clamp(0.0, 1.0)) / JAW_MM


def aperture(pred, target, valid) -> torch.Tensor:
    """L1 between lip gaps on the real head: the one quantity a viewer reads lip sync from, supervised on every
    frame (it keeps the mouth from shrinking towards half-open, the safe average of many uncertain channels)."""
    return _masked_mean((lip_gap(pred) - lip_gap(target)).abs(), valid)


def closure(raw, gate, closure_target, valid) -> torch.Tensor:
    """On frames where a p/b/m seals the lips, what the seal leaves open: (1 - gate) x the unsealed aperture.

    Only the gate learns from it (the aperture is detached): pushing jaw and lips shut directly would teach the
    model to keep the mouth half-closed wherever it is unsure where the closures are.
    """
    weight = (closure_target[:, 0] > 0.5).float() * valid
    aperture = lip_gap(raw).detach()
    return _masked_mean((1.0 - gate[:, 0]) * aperture, weight)


def gate(logit, closure_target, valid) -> torch.Tensor:
    """The closure detector: a calibrated probability sigmoid(logit) of "the lips are sealed here"."""
    bce = nn.functional.binary_cross_entropy_with_logits(logit[:, 0], closure_target[:, 0], reduction="none")
    return _masked_mean(bce, valid)
