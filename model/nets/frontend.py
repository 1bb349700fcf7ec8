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


class AudioFrontEnd(nn.Module):
    """(B, samples) -> (B, n_mels, frames) log-mel at 100 frames/s, mean-normalised per band over the input."""

    def __init__(self, n_mels: int = 80):
        super().__init__()
        n = torch.arange(N_FFT)
        window = 0.5 - 0.5 * torch.cos(2 * math.pi * n / N_FFT)
        k = torch.arange(N_FFT // 2 + 1)[:, None]
        angle = 2 * math.pi * k * n[None, :] / N_FFT
        kernels = torch.cat([torch.cos(angle), -torch.sin(angle)]) * window  # (2 * bins, N_FFT)
        self.register_buffer("dft", kernels[:, None, :].float(), persistent=False)
        self.register_buffer("mel", torch.from_numpy(mel_filterbank(n_mels)), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(audio[:, None, :], (N_FFT // 2, N_FFT // 2), mode="reflect")
        spec = nn.functional.conv1d(x, self.dft, stride=HOP)  # (B, 2 * bins, T)
        re, im = spec.chunk(2, dim=1)
        power = re * re + im * im
        logmel = torch.log(torch.einsum("mf,bft->bmt", self.mel, power) + 1e-6)
        return logmel - logmel.mean(dim=2, keepdim=True)  # level and microphone colour removed
