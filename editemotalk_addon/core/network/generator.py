"""The dual-channel generator.

Both channels regress unbounded values (a sigmoid output saturates and can die at 0 under the closure loss);
inference clamps them to [0, 1].

Articulation channel: content -> mouth, jaw and tongue (A) and a lip-closure gate g. It never sees the emotion,
so no edit can move the lips' timing; it is computed once per clip (analyze) and cached. Where g closes, A is
sealed by the one seal rule (lips.seal).
Expression channel: content + edited emotion e'(t) -> expression (X). Its lip-opening channels are multiplied
by (1 - g), so a bilabial closure stays sealed whatever the sliders say (the teacher's rule, made structural).
"""

from __future__ import annotations

import torch
from torch import nn

from ..rig import GROUPS, LIFE_CHANNELS, LIP_OPENING, NUM_CHANNELS
from .blocks import stack
from .config import ModelConfig
from .lips import seal


def channel_mask(channels) -> torch.Tensor:
    mask = torch.zeros(1, NUM_CHANNELS, 1)
    mask[0, list(channels), 0] = 1.0
    return mask


class ArticulationChannel(nn.Module):
    SHARPNESS = 4.0  # the seal follows sigmoid(4 z): firm where a closure is likely, nothing where it is doubtful

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.blocks = stack(cfg.content_dim, cfg.articulation_dilations, dropout=cfg.dropout)
        self.head = nn.Conv1d(cfg.content_dim, NUM_CHANNELS + 1, 1)
        self.register_buffer("mouth", channel_mask(GROUPS["mouth"]), persistent=False)

    def raw(self, content):  # (B, C, T) -> unsealed A (B, 52, T), mouth only; closure logit (B, 1, T)
        out = self.head(self.blocks(content))
        return out[:, :NUM_CHANNELS] * self.mouth, out[:, NUM_CHANNELS:]

    def seal(self, raw, logit):  # -> sealed A, and the seal gate in (0, 1)
        gate = torch.sigmoid(self.SHARPNESS * logit)
        return seal(raw, gate), gate

    def forward(self, content):  # (B, C, T) -> A (B, 52, T) unbounded, mouth only; gate (B, 1, T) in (0, 1)
        return self.seal(*self.raw(content))


class ExpressionChannel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.expression_dim
        self.from_content = nn.Conv1d(cfg.content_dim, d, 1)
        self.from_emotion = nn.Conv1d(cfg.emotion_dim, d, 1)
        self.blocks = stack(d, cfg.expression_dilations, dropout=cfg.dropout)
        self.head = nn.Conv1d(d, NUM_CHANNELS, 1)
        self.register_buffer("lip_opening", channel_mask(LIP_OPENING), persistent=False)
        # blinks and gaze belong to the procedural life layer: the expression never writes them
        self.register_buffer("not_life", 1.0 - channel_mask(LIFE_CHANNELS), persistent=False)

    def forward(self, content, emotion, gate):  # (B, C, T), (B, E, T), (B, 1, T) -> gated X (B, 52, T) unbounded
        x = self.head(self.blocks(self.from_content(content) + self.from_emotion(emotion)))
        return x * self.not_life * (1.0 - gate * self.lip_opening)
