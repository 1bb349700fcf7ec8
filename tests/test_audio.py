import subprocess

import numpy as np
import pytest
import soundfile as sf

from editemotalk_addon.core.audio import AudioError, load_audio


def _tone(rate, seconds=1.0, channels=1):
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t)
    return np.stack([x] * channels, 1) if channels > 1 else x


@pytest.mark.parametrize(
    "fmt,rate,channels", [("WAV", 44100, 2), ("FLAC", 22050, 1), ("OGG", 48000, 2), ("WAV", 8000, 1), ("MP3", 44100, 1)]
)
def test_any_format_rate_and_channels_become_mono_16k(tmp_path, fmt, rate, channels):
    path = tmp_path / f"clip.{fmt.lower()}"
    sf.write(path, _tone(rate, 1.5, channels), rate, format=fmt)
    x = load_audio(path)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(len(x) / 16000 - 1.5) < 0.06  # mp3 adds encoder padding
    # the 220 Hz tone survives resampling: its spectral peak stays at 220 Hz
    spec = np.abs(np.fft.rfft(x[1000:-1000]))
    assert abs(np.argmax(spec) * 16000 / (len(x) - 2000) - 220) < 3


def test_mp3_from_real_corpus_decodes(data_root):
    x = load_audio(data_root / "english_read/common_voice_en/clips/common_voice_en_111554.mp3")
    assert 1.0 < len(x) / 16000 < 10 and np.abs(x).max() > 0.01


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(tmp_path / "empty.wav")


def test_corrupt_file(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    with pytest.raises(AudioError, match="Cannot decode") as err:
        load_audio(tmp_path / "bad.wav")
    assert "\n" not in str(err.value)


def test_header_only_file(tmp_path):
    sf.write(tmp_path / "zero.wav", np.zeros(0), 16000)
    with pytest.raises(AudioError, match="no samples"):
        load_audio(tmp_path / "zero.wav")


def test_silent_file(tmp_path):
    sf.write(tmp_path / "silent.wav", np.zeros(16000), 16000)
    with pytest.raises(AudioError, match="silent"):
        load_audio(tmp_path / "silent.wav")


def test_absurdly_long_file_is_refused_before_decoding(tmp_path):
    path = tmp_path / "long.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-b", "8", str(path), "synth", "1900", "sine", "300"], check=True)
    with pytest.raises(AudioError, match="too long"):
        load_audio(path)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)
