"""The network as training sees it: the shipped inference network plus what only training needs.

the mapping network: motion (B, 52, T) -> the emotion space (B, E, T), the critic of the emotional-consistency
loss 1 - cos(M(Y), e'_target) (the paper's mapping network). It is saved in model.safetensors with the rest
(fine-tuning continues it) and never reaches the ONNX graphs or the extension's torch backend, which loads the
inference parts alone.
"""

from __future__ import annotations

import torch
from torch import nn

from editemotalk_addon.core.network.blocks import stack
from editemotalk_addon.core.network.config import ModelConfig
from editemotalk_addon.core.network.model import EditEmoTalk
from editemotalk_addon.core.rig import NUM_CHANNELS


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


class TrainingNetwork(EditEmoTalk):
    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.mapping = MappingNetwork(cfg)
