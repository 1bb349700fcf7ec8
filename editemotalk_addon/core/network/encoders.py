"""What is said (content, 50 Hz) and how it is said (emotion, windowed 25 Hz + pooled clip embedding)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ChannelNorm, stack
from .config import ModelConfig


def _downsample(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(cin, cout, 3, padding=1), nn.GELU(), nn.Conv1d(cout, cout, 4, stride=2, padding=1))


CONTENT_STREAMS = ("spectra", "hidden", "log_probs")
RECOGNISER_CHANNELS = {"hidden": slice(0, 256), "log_probs": slice(256, 447)}  # the recogniser input's layout
RECOGNISER_WIDTH = 447
LOG_PROB_FLOOR = -16.0  # log-probabilities below this carry no information, only fp16 noise


class ContentEncoder(nn.Module):
    """What is said, at 50 frames/s: content (B, content_dim, T) from our log-mel encoder (B, n_mels, 2T) and/or
    the pretrained recogniser's features (B, 447, T): its hidden layer (256) and phoneme log-probabilities (191).
    Each stream is projected to content_dim, the projections summed, then shared dilated blocks (they also shift
    the recogniser's CTC spikes, which come at a phone's end, to where the face must move)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.streams = cfg.content_input.split("+")
        if not self.streams or any(s not in CONTENT_STREAMS for s in self.streams):
            raise ValueError(
                f"content_input={cfg.content_input!r}: streams of {', '.join(CONTENT_STREAMS)} joined by +"
            )
        self.stem = _downsample(cfg.n_mels, cfg.content_dim) if "spectra" in self.streams else None
        self.recogniser = nn.ModuleDict(
            {
                name: nn.Sequential(
                    ChannelNorm(width.stop - width.start), nn.Conv1d(width.stop - width.start, cfg.content_dim, 1)
                )
                for name, width in RECOGNISER_CHANNELS.items()
                if name in self.streams
            }
        )
        self.blocks = stack(cfg.content_dim, cfg.content_dilations, dropout=cfg.dropout)
        self.norm = ChannelNorm(cfg.content_dim)

    def forward(self, logmel: torch.Tensor, recogniser: torch.Tensor) -> torch.Tensor:
        frames = logmel.shape[2] // 2
        x = self.stem(logmel) if self.stem is not None else 0.0
        for name, project in self.recogniser.items():
            features = recogniser[:, RECOGNISER_CHANNELS[name], :frames]
            x = x + project(features.clamp(min=LOG_PROB_FLOOR) if name == "log_probs" else features)
        return self.norm(self.blocks(x))


class EmotionEncoder(nn.Module):
    """log-mel + pitch spectrum (B, F, 4T') at 100 Hz, or the voice encoder's features (B, 512, 2T') at 50 Hz ->
    windowed embeddings (B, emotion_dim, T') at 25 Hz, a clip embedding and class logits. Windows and clip are
    mean + std statistics of the same features, projected by the same layer, so both live in one emotion space."""

    def __init__(self, cfg: ModelConfig, in_channels: int, rate: int = 100):
        """`rate`: the input's frames per second, 100 (spectra) or 50 (the voice encoder's)."""
        super().__init__()
        w = cfg.emotion_width
        half = len(cfg.emotion_dilations) // 2
        if rate == 100:
            self.stem = _downsample(in_channels, w)
        else:
            self.stem = nn.Sequential(ChannelNorm(in_channels), nn.Conv1d(in_channels, w, 3, padding=1), nn.GELU())
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
