"""The emotion encoder's clip-relative prosody: each feature is what it says, and it exports with the analyze graph."""

import numpy as np
import pytest
import torch

from editemotalk_addon.core.network.config import ModelConfig
from editemotalk_addon.core.network.model import EditEmoTalk, pad_audio

RATE = 16000
NAMES = ("loudness", "pitch", "voicing", "harmonicity", "tilt", "loudness_slope", "pitch_slope")


def buzz(f0: float, amplitude: float, seconds: float = 1.0) -> np.ndarray:
    """A voice-like harmonic tone: every harmonic below 4 kHz at 1/k."""
    t = np.arange(int(seconds * RATE)) / RATE
    return amplitude * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, int(4000 / f0)))


@pytest.fixture(scope="module")
def model():
    return EditEmoTalk(ModelConfig(emotion_features="spectra+prosody")).eval()


def features(model, audio: np.ndarray) -> dict[str, np.ndarray]:
    x = pad_audio(torch.from_numpy(audio.astype(np.float32))[None])
    with torch.no_grad():
        f = model.prosody(model.frontend(x), model.pitch(x)[1])[0].numpy()
    return dict(zip(NAMES, f))


def test_pitch_and_loudness_are_relative_to_the_clip(model):
    """200 Hz then a 12 dB louder 300 Hz: +-3.5 semitones around the clip's mean pitch, +-6 dB around its level."""
    f = features(model, np.concatenate([buzz(200, 0.05), buzz(300, 0.2)]))
    first, second = slice(10, 90), slice(110, 190)  # 100 frames/s, away from the change and the edges
    assert f["voicing"][first].min() > 0.9 and f["voicing"][second].min() > 0.9
    assert 12 * f["pitch"][first].mean() == pytest.approx(-12 * np.log2(1.5) / 2, abs=0.3)  # -3.5 semitones
    assert 12 * f["pitch"][second].mean() == pytest.approx(12 * np.log2(1.5) / 2, abs=0.3)
    nats_6db = np.log(10**0.6)  # half of the 12 dB step, in natural-log power
    assert f["loudness"][first].mean() == pytest.approx(-nats_6db, abs=0.2)
    assert f["loudness"][second].mean() == pytest.approx(nats_6db, abs=0.2)
    assert f["pitch_slope"][first].std() < 0.01 and f["pitch_slope"][95:105].max() > 0.01  # it moves at the change
    assert f["loudness_slope"][95:105].max() > 0.1


def test_the_same_melody_an_octave_up_and_quieter_gives_the_same_features(model):
    """A speaker's own range and the microphone's gain cancel: only movement within the clip remains."""
    low = features(model, np.concatenate([buzz(110, 0.1), buzz(165, 0.1)]))
    high = features(model, np.concatenate([buzz(220, 0.02), buzz(330, 0.02)]))
    frames = np.r_[10:90, 110:190]
    for name in ("pitch", "loudness"):
        assert np.abs(low[name][frames] - high[name][frames]).max() < 0.05, name


def test_silence_is_unvoiced_and_a_harmonic_tone_is_voiced(model):
    rng = np.random.default_rng(0)
    f = features(model, np.concatenate([buzz(150, 0.1), 0.01 * rng.standard_normal(RATE)]))
    assert f["voicing"][10:90].min() > 0.9 and f["voicing"][110:190].mean() < 0.1
    assert f["harmonicity"][10:90].mean() > 2 * f["harmonicity"][110:190].mean() + 2
    assert np.abs(f["pitch"][110:190]).mean() < 0.05  # unvoiced frames carry (almost) no pitch


def test_the_default_encoder_input_is_unchanged_and_prosody_exports_to_onnx(tmp_path, model):
    import onnxruntime as ort

    from model.training.export import OPSET, export_onnx

    assert EditEmoTalk(ModelConfig()).prosody is None  # the shipped weights' input: log-mel + pitch spectrum
    with pytest.raises(ValueError, match="emotion_features"):
        EditEmoTalk(ModelConfig(emotion_features="prosody"))
    export_onnx(model, tmp_path)  # inside the analyze graph, which takes raw audio
    audio = pad_audio(torch.from_numpy(np.concatenate([buzz(180, 0.1), buzz(240, 0.2)]).astype(np.float32))[None])
    session = ort.InferenceSession(str(tmp_path / "analyze.onnx"), providers=["CPUExecutionProvider"])
    assert np.isfinite(session.run(["clip"], {"audio": audio.numpy()})[0]).all()

    class Prosody(torch.nn.Module):  # the features alone, traced on another length than they run on
        def forward(self, audio):
            return model.prosody(model.frontend(audio), model.pitch(audio)[1])

    torch.onnx.export(
        Prosody(), (audio[:, :25600],), str(tmp_path / "prosody.onnx"), dynamo=False, opset_version=OPSET,
        input_names=["audio"], dynamic_axes={"audio": {1: "samples"}},
    )  # fmt: skip
    exported = ort.InferenceSession(str(tmp_path / "prosody.onnx")).run(None, {"audio": audio.numpy()})[0]
    with torch.no_grad():
        assert np.abs(exported - Prosody()(audio).numpy()).max() < 1e-3
