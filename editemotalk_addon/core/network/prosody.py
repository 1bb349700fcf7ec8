"""Prosody relative to the clip itself, for an emotion encoder that meets voices and languages it never heard.

Absolute pitch and level tell the speaker, the microphone and the corpus apart more than the emotion; what carries
emotion across them is how a voice moves within its own range. Per frame at 100 frames/s, each relative to the
clip's voiced frames: loudness, pitch (octaves), spectral tilt, their slopes, and the voicing and harmonicity of
the F0 estimate. Fixed matrices and reductions only: it exports to ONNX inside the analyze graph.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..audio import SAMPLE_RATE
from .frontend import mel_filterbank

F0_RANGE = (65.0, 500.0)  # Hz: F0 candidates, a quarter semitone apart
CANDIDATE_STEP = 0.25  # semitones
HARMONICS = 10
DECAY = 0.9  # weight of harmonic h: DECAY ** (h - 1)
SHARPNESS = 0.05  # soft-argmax temperature over the candidates' harmonic scores (nats)
VOICED_SCORE, VOICED_SLOPE = 2.5, 2.0  # voicing = sigmoid(SLOPE * (best score - SCORE))
TILT_SPLIT = 1000.0  # Hz: tilt = mean log-mel above minus below
DELTA = 2  # frames each side of a slope


def harmonic_matrix(first_bin: int, bins: int, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """(candidates, bins) weights W and (candidates,) semitones above 440 Hz: W @ log power S is each candidate
    f's harmonic score, sum_h DECAY^(h-1) [S(h f) - S((h + 1/2) f)] / sum_h DECAY^(h-1), over the harmonics whose
    trough lies inside the spectrum.

    The trough between harmonics makes twice the F0 score near zero; weights falling with h and harmonics missing
    above the spectrum's top make a third of it and half of it score lower than the F0 itself (on Emo-DB and
    synthetic validation clips: 89 % of pYIN's voiced frames within a semitone of pYIN's F0).
    """
    count = int(12 * math.log2(F0_RANGE[1] / F0_RANGE[0]) / CANDIDATE_STEP) + 1
    f0 = F0_RANGE[0] * 2 ** (np.arange(count) * CANDIDATE_STEP / 12)
    weights = np.zeros((count, bins), np.float32)
    norm = sum(DECAY ** (h - 1) for h in range(1, HARMONICS + 1))
    for c, f in enumerate(f0):
        for h in range(1, HARMONICS + 1):
            peak, trough = (k * f * n_fft / SAMPLE_RATE - first_bin for k in (h, h + 0.5))  # in bins
            if trough > bins - 1:
                break  # a harmonic only counts with its trough inside the spectrum
            for pos, sign in ((peak, 1.0), (trough, -1.0)):
                lo, frac = int(pos), pos - int(pos)
                weights[c, lo] += sign * (1 - frac) * DECAY ** (h - 1) / norm
                weights[c, min(lo + 1, bins - 1)] += sign * frac * DECAY ** (h - 1) / norm
    return weights, (12 * np.log2(f0 / 440.0)).astype(np.float32)


def _relative(x: torch.Tensor, voicing: torch.Tensor) -> torch.Tensor:
    """(B, 1, T) minus its mean over the clip's voiced frames (voicing-weighted)."""
    return x - (x * voicing).sum(2, keepdim=True) / (voicing.sum(2, keepdim=True) + 1e-3)


def _slope(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T) -> the slope over +-DELTA frames, per frame."""
    padded = nn.functional.pad(x, (DELTA, DELTA), mode="replicate")
    return (padded[:, :, 2 * DELTA :] - padded[:, :, : -2 * DELTA]) / (2 * DELTA)


class ProsodyFeatures(nn.Module):
    """centred log-mel (B, n_mels, T) + pitch log power (B, bins, T) -> (B, 7, T): relative loudness, relative
    pitch (octaves, 0 where unvoiced), voicing, harmonicity, relative tilt, loudness slope, pitch slope."""

    CHANNELS = 7

    def __init__(self, n_mels: int, first_bin: int, bins: int, n_fft: int):
        super().__init__()
        weights, semitones = harmonic_matrix(first_bin, bins, n_fft)
        self.register_buffer("harmonics", torch.from_numpy(weights), persistent=False)
        self.register_buffer("semitones", torch.from_numpy(semitones)[None, :, None], persistent=False)
        fb = mel_filterbank(n_mels)
        centres = (fb * np.linspace(0, SAMPLE_RATE / 2, fb.shape[1])).sum(1) / fb.sum(1)
        high = torch.from_numpy((centres >= TILT_SPLIT).astype(np.float32))
        self.register_buffer("tilt", (high / high.sum() - (1 - high) / (1 - high).sum())[None, :], persistent=False)

    def pitch(self, power: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """pitch log power (B, bins, T) -> F0 in semitones above 440 Hz, voicing in [0, 1], harmonicity (nats);
        each (B, 1, T)."""
        score = torch.einsum("cf,bft->bct", self.harmonics, power)  # (B, candidates, T)
        best = score.amax(dim=1, keepdim=True)
        semitones = (torch.softmax(score / SHARPNESS, dim=1) * self.semitones).sum(1, keepdim=True)
        return semitones, torch.sigmoid(VOICED_SLOPE * (best - VOICED_SCORE)), best

    def forward(self, logmel: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
        semitones, voicing, harmonicity = self.pitch(power)
        loudness = _relative(torch.logsumexp(power, dim=1, keepdim=True), voicing)  # (B, 1, T) nats
        pitch = _relative(semitones / 12, voicing) * voicing  # octaves
        tilt = _relative(torch.einsum("xm,bmt->bxt", self.tilt, logmel), voicing)
        return torch.cat([loudness, pitch, voicing, harmonicity, tilt, _slope(torch.cat([loudness, pitch], 1))], 1)
