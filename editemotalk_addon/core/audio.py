"""Audio input: any wav/flac/ogg/mp3, any rate and channel count -> mono float32 at 16 kHz.

Decoding uses libsndfile (soundfile) when it is importable and Blender's own `aud` module otherwise, so the same
function serves the CLI, the tests and the add-on inside Blender (which ships `aud` but not soundfile). Every bad
input raises AudioError with a one-line message that names the problem and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import UserError

SAMPLE_RATE = 16_000
MAX_SECONDS = 30 * 60  # longer than any dialogue line; beyond this a file is almost surely a mistake
SILENCE_PEAK = 10 ** (-60 / 20)  # -60 dBFS


class AudioError(UserError, ValueError):
    """A one-line, user-facing description of what is wrong with an audio input and how to fix it."""


def check_file(path: str | os.PathLike) -> None:
    """An audio path that can be opened: not missing, not a folder, not empty."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"Audio file not found: {path} - check the path.")
    if path.is_dir():
        raise AudioError(f"Audio path is a folder, not a file: {path} - pick a wav/flac/ogg/mp3 file.")
    if path.stat().st_size == 0:
        raise AudioError(f"Audio file is empty (0 bytes): {path} - re-export the recording.")


def load_audio(path: str | os.PathLike, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Decode `path` to mono float32 at 16 kHz, shape (samples,)."""
    path = Path(path)
    check_file(path)
    samples, rate = _decode(path, max_seconds)
    return validate_audio(to_mono_16k(samples, rate), str(path), max_seconds)


def to_mono_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """(samples,) or (samples, channels) at any rate -> (samples,) float32 at 16 kHz."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x[:, 0] if x.shape[1] == 1 else x.mean(axis=1)  # mono: a view, no copy of a long clip
    if rate != SAMPLE_RATE and len(x):
        x = resample(x, rate, SAMPLE_RATE)
    return np.ascontiguousarray(x, dtype=np.float32)


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    try:
        import soxr

        return soxr.resample(x, rate_in, rate_out).astype(np.float32)
    except ImportError:  # inside Blender: band-limited FFT resampling, exact for a whole clip
        n_out = int(round(len(x) * rate_out / rate_in))
        spec = np.fft.rfft(x)
        keep = min(len(spec), n_out // 2 + 1)
        out = np.fft.irfft(spec[:keep], n_out) * (n_out / len(x))
        return out.astype(np.float32)


def validate_audio(x: np.ndarray, name: str = "audio", max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Checks shared by every decoder (and by callers that already hold samples)."""
    if x.ndim != 1:
        raise AudioError(
            f"Audio samples must be one channel of shape (samples,), not {x.shape}: {name} - "
            "average the channels first, e.g. x.mean(axis=1)."
        )
    if x.size == 0:
        raise AudioError(f"Audio holds no samples: {name} - re-export the recording.")
    if not np.all(np.isfinite(x)):
        raise AudioError(f"Audio holds NaN or infinite samples: {name} - re-export it as 16-bit PCM.")
    seconds = len(x) / SAMPLE_RATE
    if seconds > max_seconds:
        raise AudioError(
            f"Audio is too long ({seconds / 60:.1f} min > {max_seconds / 60:.0f} min): {name} - split it into lines."
        )
    if np.max(np.abs(x)) < SILENCE_PEAK:
        raise AudioError(f"Audio is silent (peak below -60 dBFS): {name} - check the recording or its gain.")
    return x


def truncation(path: str | os.PathLike) -> str | None:
    """A warning when a WAV file holds less audio than its header announces (a cut-off copy), else None."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
        size = f.seek(0, os.SEEK_END)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, rate, align = 12, 0, 0
    while pos + 8 <= len(head):
        chunk, length = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            rate = int.from_bytes(head[pos + 12 : pos + 16], "little")
            align = int.from_bytes(head[pos + 20 : pos + 22], "little")
        if chunk == b"data":
            if not rate or not align or length in (0, 0xFFFFFFFF):  # streamed WAVs leave the size open
                return None
            said, held = length / align / rate, (size - pos - 8) / align / rate
            if held >= said:
                return None
            return (
                f"{Path(path).name} is cut short: its header says {said:.1f} s but it holds {held:.1f} s - "
                f"re-export or re-copy it (baking the {held:.1f} s it holds)"
            )
        pos += 8 + length + (length & 1)
    return None


def _decode(path: Path, max_seconds: float) -> tuple[np.ndarray, int]:
    try:
        import soundfile
    except ImportError:
        return _decode_with_aud(path, max_seconds)
    try:
        info = soundfile.info(str(path))
    except Exception as exc:  # libsndfile's messages are multi-line and vary; ours names the file and the fix
        raise AudioError(
            f"Cannot decode audio {path.name}: not a readable wav/flac/ogg/mp3 ({_first_line(exc)}) - "
            "re-export it as WAV or FLAC."
        ) from None
    if info.frames == 0 or info.samplerate <= 0:
        raise AudioError(f"Audio holds no samples: {path} - re-export the recording.")
    if info.frames / info.samplerate > max_seconds:
        raise AudioError(
            f"Audio is too long ({info.frames / info.samplerate / 60:.1f} min > {max_seconds / 60:.0f} min): "
            f"{path} - split it into lines."
        )
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(
            f"Cannot decode audio {path.name}: the file is damaged ({_first_line(exc)}) - re-export it."
        ) from None
    return samples, rate


def _decode_with_aud(path: Path, max_seconds: float) -> tuple[np.ndarray, int]:
    import aud  # Blender's audio library (ffmpeg inside)

    try:
        sound = aud.Sound(str(path))
        specs = sound.specs  # (rate, channels); raises on undecodable files
        if sound.length / specs[0] > max_seconds:
            raise AudioError(
                f"Audio is too long ({sound.length / specs[0] / 60:.1f} min > {max_seconds / 60:.0f} min): "
                f"{path} - split it into lines."
            )
        samples = sound.rechannel(1).resample(SAMPLE_RATE, 3).data()  # 3: aud's best resampler
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(
            f"Cannot decode audio {path.name}: not a readable wav/flac/ogg/mp3 ({_first_line(exc)}) - "
            "re-export it as WAV or FLAC."
        ) from None
    return samples, SAMPLE_RATE


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__


def write_wav(path: str | os.PathLike, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """16-bit PCM WAV writer with no dependency beyond the standard library (usable inside Blender)."""
    import wave

    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
