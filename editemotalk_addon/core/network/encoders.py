"""What is said (content, 50 Hz) and how it is said (emotion, windowed 25 Hz + pooled clip embedding)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ChannelNorm, stack
from .config import ModelConfig


def _downsample(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(cin, cout, 3, padding=1), nn.GELU(), nn.Conv1d(cout, cout, 4, stride=2, padding=1))


class ContentEncoder(nn.Module):
    """log-mel (B, n_mels, 2T) -> content (B, content_dim, T) at 50 frames/s."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.stem = _downsample(cfg.n_mels, cfg.content_dim)
        self.blocks = stack(cfg.content_dim, cfg.content_dilations, dropout=cfg.dropout)
        self.norm = ChannelNorm(cfg.content_dim)

    def forward(self, logmel: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        return self.norm(self.blocks(self.stem(logmel)))


class PretrainedContentEncoder(nn.Module):
    """HuBERT / wav2vec 2.0 from a LOCAL folder through `transformers` (never a hub download).

    Both models emit one frame per 320 samples (50 frames/s), the rate of our own encoder.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        from transformers import AutoModel

        self.backbone = AutoModel.from_pretrained(cfg.content_backbone, local_files_only=True)
        self.proj = nn.Conv1d(self.backbone.config.hidden_size, cfg.content_dim, 1)
        self.norm = ChannelNorm(cfg.content_dim)

    def forward(self, logmel: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        frames = logmel.shape[2] // 2
        x = (audio - audio.mean(1, keepdim=True)) / (audio.std(1, keepdim=True) + 1e-5)
        x = nn.functional.pad(x, (40, 40))  # the conv stack eats 400 samples; keep one frame per 320
        h = self.backbone(x).last_hidden_state.transpose(1, 2)  # (B, H, T')
        h = nn.functional.pad(h, (0, max(0, frames - h.shape[2])), mode="replicate")[:, :, :frames]
        return self.norm(self.proj(h))


def content_encoder(cfg: ModelConfig) -> nn.Module:
    return ContentEncoder(cfg) if cfg.content_backbone == "own" else PretrainedContentEncoder(cfg)


class EmotionEncoder(nn.Module):
    """log-mel + pitch spectrum (B, F, 4T') -> windowed embeddings (B, emotion_dim, T') at 25 Hz, a clip
    embedding and class logits. Windows and clip are mean + std statistics of the same features, projected by the
    same layer, so both live in one emotion space."""

    def __init__(self, cfg: ModelConfig, in_channels: int):
        super().__init__()
        w = cfg.emotion_width
        half = len(cfg.emotion_dilations) // 2
        self.stem = _downsample(in_channels, w)
        self.blocks1 = stack(w, cfg.emotion_dilations[:half], dropout=cfg.dropout)
        self.down = nn.Conv1d(w, w, 4, stride=2, padding=1)
        self.blocks2 = stack(w, cfg.emotion_dilations[half:], dropout=cfg.dropout)
        self.window = nn.AvgPool1d(
            cfg.emotion_window, stride=1, padding=cfg.emotion_window // 2, count_include_pad=False
        )
        self.score = nn.Conv1d(w, 1, 1)
        self.proj = nn.Conv1d(2 * w, cfg.emotion_dim, 1)
        self.head = nn.Conv1d(cfg.emotion_dim, cfg.n_classes, 1)

    @staticmethod
    def _stats(mean: torch.Tensor, square: torch.Tensor) -> torch.Tensor:
        return torch.cat([mean, torch.sqrt(torch.relu(square - mean * mean) + 1e-5)], dim=1)

    def forward(self, features: torch.Tensor):
        h = self.blocks2(self.down(self.blocks1(self.stem(features))))  # (B, w, T')
        windows = self.proj(self._stats(self.window(h), self.window(h * h)))  # (B, E, T')
        attn = torch.softmax(self.score(h), dim=2)  # (B, 1, T')
        clip = self.proj(self._stats((h * attn).sum(2, keepdim=True), (h * h * attn).sum(2, keepdim=True)))
        return windows, clip[:, :, 0], self.head(windows), self.head(clip)[:, :, 0]
