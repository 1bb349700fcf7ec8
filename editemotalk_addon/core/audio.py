"""Audio input: any wav/flac/ogg/mp3, any rate and channel count -> mono float32 at 16 kHz.

Decoding uses libsndfile (soundfile) when it is importable and Blender's own `aud` module otherwise, so the same
function serves the CLI, the tests and the add-on inside Blender (which ships `aud` but not soundfile). Every bad
input raises AudioError (an InputError: exit status 2) with a one-line message that names the problem and the fix.
A file that holds less than its header announces (a cut-off copy: WAV, FLAC, MP3, Ogg) decodes to what it holds,
and `decode` says so in a warning. File names are whatever bytes the file system holds (not necessarily UTF-8).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import InputError
from .files import check_readable

SAMPLE_RATE = 16_000
MAX_SECONDS = 30 * 60  # longer than any dialogue line; beyond this a file is almost surely a mistake
SILENCE_PEAK = 10 ** (-60 / 20)  # -60 dBFS
CUT_TOLERANCE = 0.1  # seconds a decoder may drop (MP3 encoder delay and padding) before a file counts as cut short
BLOCK = 4096  # frames decoded at a time: a cut-off FLAC or MP3 yields every block before its damage


class AudioError(InputError):
    """A one-line, user-facing description of what is wrong with an audio input and how to fix it."""


def check_file(path: str | os.PathLike) -> None:
    """An audio path that can be opened and read: not missing, not a folder, not empty, not unreadable."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"Audio file not found: {path} - check the path.")
    if path.is_dir():
        raise AudioError(f"Audio path is a folder, not a file: {path} - pick a wav/flac/ogg/mp3 file.")
    check_readable(path, "Audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"Audio file is empty (0 bytes): {path} - re-export the recording.")


class Decoded(NamedTuple):
    samples: np.ndarray  # (samples,) float32 at 16 kHz, checked
    claimed: float  # seconds the file's header announces
    name: str

    @property
    def warning(self) -> str | None:
        """A cut-off copy: what it announces and what it holds, or None for a whole file."""
        held = len(self.samples) / SAMPLE_RATE
        if held >= self.claimed - CUT_TOLERANCE:
            return None
        return (
            f"{self.name} is cut short: its header says {self.claimed:.1f} s but it holds {held:.1f} s - "
            f"re-export or re-copy it (baking the {held:.1f} s it holds)"
        )


def decode(path: str | os.PathLike, max_seconds: float = MAX_SECONDS) -> Decoded:
    """Decode `path` to mono float32 at 16 kHz, with the length its header announces."""
    path = Path(path)
    check_file(path)
    try:
        samples, rate, claimed = _decode(path, max_seconds)
        x = validate_audio(to_mono_16k(samples, rate), str(path), max_seconds)
    except MemoryError:  # a real 30 minutes at 192 kHz under a tight memory limit
        raise AudioError(
            f"Audio {path.name} needs more memory to decode than this process may use - resample it to 48 kHz or "
            "split it into lines."
        ) from None
    return Decoded(x, _wav_header_seconds(path) or claimed, path.name)


def load_audio(path: str | os.PathLike, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Decode `path` to mono float32 at 16 kHz, shape (samples,)."""
    return decode(path, max_seconds).samples


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
        raise _too_long(seconds, name, max_seconds)
    if np.max(np.abs(x)) < SILENCE_PEAK:
        raise AudioError(f"Audio is silent (peak below -60 dBFS): {name} - check the recording or its gain.")
    return x


def _wav_header_seconds(path: Path) -> float | None:
    """The length a WAV header announces (libsndfile reports what a cut-off WAV holds instead), else None."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
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
            return length / align / rate
        pos += 8 + length + (length & 1)
    return None


def _too_long(seconds: float, path: Path | str, max_seconds: float) -> AudioError:
    return AudioError(
        f"Audio is too long ({seconds:.1f} s, more than {max_seconds:g} s = {max_seconds / 60:g} min): {path} - "
        "split it into lines."
    )


def _decode(path: Path, max_seconds: float) -> tuple[np.ndarray, int, float]:
    """(samples, rate, the seconds the file announces)."""
    try:
        import soundfile
    except ImportError:
        return _decode_with_aud(path, max_seconds)
    name = str(path) if sys.platform == "win32" else os.fsencode(path)  # any bytes, not only UTF-8 names
    try:
        f = soundfile.SoundFile(name)
    except Exception as exc:  # libsndfile's messages are multi-line and vary; ours names the file and the fix
        raise AudioError(
            f"Cannot decode audio {path.name}: not a readable wav/flac/ogg/mp3 ({_first_line(exc)}) - "
            "re-export it as WAV or FLAC."
        ) from None
    with f:
        if f.frames == 0 or f.samplerate <= 0:
            raise AudioError(f"Audio holds no samples: {path} - re-export the recording.")
        if f.frames / f.samplerate > max_seconds:
            raise _too_long(f.frames / f.samplerate, path, max_seconds)
        # Nothing is allocated from what the header claims (a forged one claims 30 minutes of 8 channels at
        # 192 kHz, 10 GB): blocks as they decode, each made mono at once, so memory follows what the file holds.
        blocks, block = [], np.empty((BLOCK, f.channels), np.float32)
        try:
            while got := len(f.read(out=block)):
                blocks.append(block[:got, 0].copy() if f.channels == 1 else block[:got].mean(axis=1))
        except Exception as exc:  # damage: a cut-off FLAC or MP3 ends in a broken frame
            if not blocks:
                raise AudioError(
                    f"Cannot decode audio {path.name}: the file is damaged ({_first_line(exc)}) - re-export it."
                ) from None
        return np.concatenate(blocks or [np.empty(0, np.float32)]), f.samplerate, f.frames / f.samplerate


def _decode_with_aud(path: Path, max_seconds: float) -> tuple[np.ndarray, int, float]:
    import aud  # Blender's audio library (ffmpeg inside)

    try:
        sound = aud.Sound(str(path))
        rate = sound.specs[0]  # (rate, channels); raises on undecodable files
        if sound.length / rate > max_seconds:
            raise _too_long(sound.length / rate, path, max_seconds)
        samples = sound.rechannel(1).resample(SAMPLE_RATE, 3).data()  # 3: aud's best resampler
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(
            f"Cannot decode audio {path.name}: not a readable wav/flac/ogg/mp3 ({_first_line(exc)}) - "
            "re-export it as WAV or FLAC."
        ) from None
    return samples, SAMPLE_RATE, sound.length / rate


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
