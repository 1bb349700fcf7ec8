"""Loudness and pitch of speech at 100 frames/s, and the pitch accents the teacher emphasises."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from editemotalk_addon.core.audio import SAMPLE_RATE

HOP = 160  # 10 ms
RATE = SAMPLE_RATE / HOP  # 100 frames per second


@dataclass
class Prosody:
    loudness_db: np.ndarray  # (T,) frame RMS in dBFS
    f0: np.ndarray  # (T,) Hz, NaN where unvoiced
    rate: float = RATE

    @property
    def duration(self) -> float:
        return len(self.loudness_db) / self.rate

    def at(self, times: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sample a per-frame track at arbitrary times (s), holding the ends."""
        idx = np.clip(np.round(np.asarray(times) * self.rate).astype(int), 0, len(values) - 1)
        return values[idx]

    def relative_loudness(self) -> np.ndarray:
        """(T,) loudness relative to the clip's speech level, in units of 12 dB (0 = typical speech)."""
        active = self.loudness_db[self.loudness_db > self.loudness_db.max() - 35]
        return (self.loudness_db - np.median(active)) / 12.0

    def pitch_accents(self, min_gap: float = 0.25, z: float = 1.0) -> np.ndarray:
        """Times (s) of pitch accents: voiced F0 peaks at least `z` std above the clip's median (in semitones)."""
        voiced = np.isfinite(self.f0)
        if voiced.sum() < 10:
            return np.zeros(0)
        st = np.full_like(self.f0, np.nan)
        st[voiced] = 12 * np.log2(self.f0[voiced] / np.median(self.f0[voiced]))
        s = np.nanstd(st) + 1e-6
        filled = np.where(voiced, st, -np.inf)
        peaks = [
            i
            for i in range(1, len(st) - 1)
            if voiced[i] and filled[i] >= filled[i - 1] and filled[i] > filled[i + 1] and st[i] > z * s
        ]
        accents: list[int] = []
        for i in sorted(peaks, key=lambda i: -filled[i]):  # strongest first, then keep those far enough apart
            if all(abs(i - j) >= min_gap * self.rate for j in accents):
                accents.append(i)
        return np.sort(np.asarray(accents, float)) / self.rate


def analyze_prosody(audio: np.ndarray, fmin: float = 60.0, fmax: float = 500.0) -> Prosody:
    """librosa's YIN for F0, frame RMS for loudness; voicing from level and F0 continuity."""
    import librosa

    n = len(audio) // HOP + 1
    rms = librosa.feature.rms(y=audio, frame_length=400, hop_length=HOP, center=True)[0][:n]
    loud = 20 * np.log10(np.maximum(rms, 1e-5))
    f0 = librosa.yin(audio, fmin=fmin, fmax=fmax, sr=SAMPLE_RATE, frame_length=1024, hop_length=HOP)[:n]
    st = 12 * np.log2(f0 / 100.0)
    smooth = np.abs(np.diff(st, prepend=st[0])) < 1.5  # octave jumps and noise are not intonation
    active = loud > loud.max() - 30
    voiced = active & smooth & (f0 > fmin * 1.05) & (f0 < fmax * 0.95)
    f0 = np.where(voiced, f0, np.nan)
    return Prosody(loud.astype(np.float32), f0.astype(np.float32))


def compile_kernels() -> None:
    """Compile (and cache) the librosa numba kernels training uses, in this one process: see `build.py setup`."""
    from .augment import formant_warp, tempo

    noise = np.random.default_rng(0).standard_normal(SAMPLE_RATE).astype(np.float32) * 0.1
    analyze_prosody(noise)
    formant_warp(tempo(noise, 1.1), 0.95)
