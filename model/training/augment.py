"""Augmentation applied when examples are loaded, deterministic per seed.

Channel effects (noise, room reverb, level, band-limiting) stop the model from learning one synthesizer or one
microphone; speaker effects (speed = vocal-tract length and pitch together, formant warping, tempo) make 97 real
speakers look like many more. Effects that change timing return the time scale so targets can follow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from editemotalk_addon.core.audio import SAMPLE_RATE


@dataclass(frozen=True)
class AugmentConfig:
    p_speed: float = 0.5
    speed: tuple[float, float] = (0.88, 1.12)  # resampling: pitch and formants move together, tempo too
    p_tempo: float = 0.3
    tempo: tuple[float, float] = (0.9, 1.1)  # phase-vocoder tempo, pitch unchanged
    p_formant: float = 0.4
    formant: tuple[float, float] = (0.9, 1.1)  # spectral warp: vocal-tract length without pitch
    p_reverb: float = 0.4
    rt60: tuple[float, float] = (0.1, 0.5)  # s
    p_noise: float = 0.5
    snr_db: tuple[float, float] = (10.0, 40.0)
    p_band: float = 0.35
    gain_db: tuple[float, float] = (-18.0, 6.0)


def augment(audio: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()):
    """-> (augmented audio, time scale = output duration / input duration)."""
    x = audio.astype(np.float32)
    scale = 1.0
    if rng.random() < cfg.p_speed:
        s = rng.uniform(*cfg.speed)
        x, scale = speed(x, s), scale / s
    if rng.random() < cfg.p_tempo:
        s = rng.uniform(*cfg.tempo)
        x, scale = tempo(x, s), scale / s
    if rng.random() < cfg.p_formant:
        x = formant_warp(x, rng.uniform(*cfg.formant))
    if rng.random() < cfg.p_reverb:
        x = reverb(x, rng.uniform(*cfg.rt60), rng)
    if rng.random() < cfg.p_band:
        x = band_limit(x, rng.uniform(2800, 7500), rng.uniform(60, 350))
    if rng.random() < cfg.p_noise:
        x = add_noise(x, rng.uniform(*cfg.snr_db), rng)
    x = x * 10 ** (rng.uniform(*cfg.gain_db) / 20)
    return np.clip(x, -1.0, 1.0).astype(np.float32), scale


def speed(x: np.ndarray, factor: float) -> np.ndarray:
    import soxr

    return soxr.resample(x, SAMPLE_RATE * factor, SAMPLE_RATE).astype(np.float32)


def tempo(x: np.ndarray, factor: float) -> np.ndarray:
    import librosa

    return librosa.effects.time_stretch(x, rate=factor).astype(np.float32)


def formant_warp(x: np.ndarray, alpha: float, n_fft: int = 512) -> np.ndarray:
    """Stretch the spectral envelope by `alpha` (magnitude warped along frequency, phase kept)."""
    import librosa

    spec = librosa.stft(x, n_fft=n_fft, hop_length=n_fft // 4)
    bins = np.arange(spec.shape[0], dtype=np.float32)
    src = np.clip(bins / alpha, 0, spec.shape[0] - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, spec.shape[0] - 1)
    w = (src - lo)[:, None]
    mag = np.abs(spec)
    warped = (1 - w) * mag[lo] + w * mag[hi]
    out = librosa.istft(warped * np.exp(1j * np.angle(spec)), hop_length=n_fft // 4, length=len(x))
    return out.astype(np.float32)


def reverb(x: np.ndarray, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room: direct path plus exponentially decaying noise (-60 dB at rt60)."""
    from scipy.signal import fftconvolve

    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 0.25
    rir[0] = 1.0
    wet = fftconvolve(x, rir)[: len(x)]
    return (wet * np.sqrt(np.mean(x**2) / (np.mean(wet**2) + 1e-12))).astype(np.float32)


def band_limit(x: np.ndarray, low_pass: float, high_pass: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(4, [high_pass, min(low_pass, SAMPLE_RATE / 2 - 100)], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, x).astype(np.float32)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White, pink or brown noise at `snr_db` below the speech level."""
    white = rng.standard_normal(len(x))
    colour = rng.integers(3)
    if colour:
        spec = np.fft.rfft(white)
        f = np.maximum(np.fft.rfftfreq(len(x)), 1.0 / len(x))
        white = np.fft.irfft(spec / f ** (0.5 * colour), len(x))
    speech = np.sqrt(np.mean(x**2)) + 1e-8
    noise = white / (np.sqrt(np.mean(white**2)) + 1e-12) * speech * 10 ** (-snr_db / 20)
    return (x + noise).astype(np.float32)
