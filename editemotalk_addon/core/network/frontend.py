"""Log-mel front end inside the module, so an exported graph takes raw 16 kHz audio.

The STFT is a convolution with fixed windowed-DFT kernels: it exports to any ONNX runtime as a plain Conv.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..audio import SAMPLE_RATE

HOP = 160  # 10 ms -> 100 frames/s
N_FFT = 400  # 25 ms
CONTENT_HOP = 2 * HOP  # the networks work at 50 frames/s: one output frame per 320 samples


def mel_filterbank(n_mels: int, n_fft: int = N_FFT, rate: int = SAMPLE_RATE, fmin: float = 40.0) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)
    edges = hz(np.linspace(mel(fmin), mel(rate / 2), n_mels + 2))
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    fb = np.zeros((n_mels, len(freqs)), np.float32)
    for i in range(n_mels):
        lo, mid, hi = edges[i : i + 3]
        fb[i] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return fb


def _dft_kernels(n_fft: int, bins: torch.Tensor) -> torch.Tensor:
    """(2 * len(bins), 1, n_fft) Hann-windowed cosine and sine kernels: an STFT as a convolution."""
    n = torch.arange(n_fft)
    window = 0.5 - 0.5 * torch.cos(2 * math.pi * n / n_fft)
    angle = 2 * math.pi * bins[:, None] * n[None, :] / n_fft
    return (torch.cat([torch.cos(angle), -torch.sin(angle)]) * window)[:, None, :].float()


def _power(x: torch.Tensor, kernels: torch.Tensor, n_fft: int) -> torch.Tensor:
    x = nn.functional.pad(x[:, None, :], (n_fft // 2, n_fft // 2), mode="reflect")
    re, im = nn.functional.conv1d(x, kernels, stride=HOP).chunk(2, dim=1)
    return re * re + im * im


def centred(x: torch.Tensor) -> torch.Tensor:
    """(B, F, T) with each feature's mean over the input removed: level and microphone colour cancel."""
    return x - x.mean(dim=2, keepdim=True)


class AudioFrontEnd(nn.Module):
    """(B, samples) -> (B, n_mels, frames) log-mel at 100 frames/s, mean-normalised per band over the input."""

    def __init__(self, n_mels: int = 80):
        super().__init__()
        self.register_buffer("dft", _dft_kernels(N_FFT, torch.arange(N_FFT // 2 + 1)), persistent=False)
        self.register_buffer("mel", torch.from_numpy(mel_filterbank(n_mels)), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        logmel = torch.log(torch.einsum("mf,bft->bmt", self.mel, _power(audio, self.dft, N_FFT)) + 1e-6)
        return centred(logmel)


class PitchSpectrum(nn.Module):
    """(B, samples) -> (B, bins, frames): a 64 ms log spectrum of 60 Hz - 1 kHz at 100 frames/s.

    The 25 ms mel front end blurs harmonics below 1 kHz; this one resolves them (15.6 Hz bins), so the emotion
    encoder can follow pitch level and range, the main carriers of vocal emotion.
    """

    N_FFT = 1024
    BINS = (4, 64)  # 62.5 Hz ... 1 kHz

    def __init__(self):
        super().__init__()
        self.register_buffer("dft", _dft_kernels(self.N_FFT, torch.arange(*self.BINS)), persistent=False)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> the spectrum centred over the input (the encoder's input) and the log power itself."""
        power = torch.log(_power(audio, self.dft, self.N_FFT) + 1e-6)
        return centred(power), power
