"""The dual-channel generator and the mapping network.

Articulation channel: content -> mouth, jaw and tongue (A) and a lip-closure gate g. It never sees the emotion,
so no edit can move the lips' timing; it is computed once per clip (analyze) and cached.
Expression channel: content + edited emotion e'(t) -> expression (X). Its lip-opening channels are multiplied
by (1 - g), so a bilabial closure stays sealed whatever the sliders say (the teacher's rule, made structural).
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from ..rig import LIP_OPENING, NUM_CHANNELS
from .blocks import stack


class ArticulationChannel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.blocks = stack(cfg.content_dim, cfg.articulation_dilations, dropout=cfg.dropout)
        self.head = nn.Conv1d(cfg.content_dim, NUM_CHANNELS + 1, 1)

    def forward(self, content):  # (B, C, T) -> A (B, 52, T), gate (B, 1, T)
        out = self.head(self.blocks(content))
        return torch.sigmoid(out[:, :NUM_CHANNELS]), torch.sigmoid(out[:, NUM_CHANNELS:])


class ExpressionChannel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.expression_dim
        self.from_content = nn.Conv1d(cfg.content_dim, d, 1)
        self.from_emotion = nn.Conv1d(cfg.emotion_dim, d, 1)
        self.blocks = stack(d, cfg.expression_dilations, dropout=cfg.dropout)
        self.head = nn.Conv1d(d, NUM_CHANNELS, 1)
        lip = torch.zeros(1, NUM_CHANNELS, 1)
        lip[0, list(LIP_OPENING), 0] = 1.0
        self.register_buffer("lip_opening", lip, persistent=False)

    def forward(self, content, emotion, gate):  # (B, C, T), (B, E, T), (B, 1, T) -> gated X (B, 52, T)
        x = torch.sigmoid(self.head(self.blocks(self.from_content(content) + self.from_emotion(emotion))))
        return x * (1.0 - gate * self.lip_opening)


class MappingNetwork(nn.Module):
    """Motion (B, 52, T) -> the emotion space (B, E, T): what emotion does this performance show?"""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.inp = nn.Conv1d(NUM_CHANNELS, cfg.mapping_dim, 1)
        self.blocks = stack(cfg.mapping_dim, cfg.mapping_dilations, dropout=cfg.dropout)
        self.out = nn.Conv1d(cfg.mapping_dim, cfg.emotion_dim, 1)

    def forward(self, motion):
        return self.out(self.blocks(self.inp(motion)))


def consistency_loss(mapped: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The emotional-consistency loss 1 - cos(M(Y), e'_target), per frame, averaged."""
    return (1.0 - nn.functional.cosine_similarity(mapped, target, dim=1)).mean()
