"""The one building block: a 1-D ConvNeXt-style residual block (depthwise conv, then a pointwise MLP).

Cost and memory are linear in the sequence length, so a 10-minute clip costs 10x a 1-minute one.
"""

from __future__ import annotations

from torch import nn


class ChannelNorm(nn.Module):
    """LayerNorm over channels of a (B, C, T) tensor."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class ConvBlock(nn.Module):
    def __init__(self, dim: int, kernel: int = 7, dilation: int = 1, expand: int = 2, dropout: float = 0.0):
        super().__init__()
        self.dw = nn.Conv1d(dim, dim, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation, groups=dim)
        self.norm = ChannelNorm(dim)
        self.mlp = nn.Sequential(
            nn.Conv1d(dim, expand * dim, 1), nn.GELU(), nn.Dropout(dropout), nn.Conv1d(expand * dim, dim, 1)
        )

    def forward(self, x):  # (B, C, T)
        return x + self.mlp(self.norm(self.dw(x)))


def stack(dim: int, dilations: tuple[int, ...], kernel: int = 7, dropout: float = 0.0) -> nn.Sequential:
    return nn.Sequential(*[ConvBlock(dim, kernel, d, dropout=dropout) for d in dilations])
