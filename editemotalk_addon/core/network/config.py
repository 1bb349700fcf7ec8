"""The network's shape: every knob of the model, as a dataclass saved as JSON beside the weights."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..rig import EMOTIONS


@dataclass
class ModelConfig:
    n_mels: int = 80
    content_dim: int = 128
    content_dilations: tuple[int, ...] = (1, 2, 4, 1, 2, 4)
    # what the content encoder reads, streams joined by "+": "spectra" (our log-mel encoder), "hidden" (the
    # pretrained recogniser's last hidden layer), "log_probs" (its phoneme log-probabilities); see encoders.py
    content_input: str = "spectra"
    emotion_width: int = 128
    emotion_dim: int = 64
    emotion_dilations: tuple[int, ...] = (1, 2, 4, 1, 2, 4)
    emotion_window: int = 25  # frames at 25 Hz: emotion embeddings over ~1 s windows
    # the emotion encoder's input: "spectra" (log-mel + pitch spectrum), "spectra+prosody" (and clip-relative
    # loudness, pitch, tilt and voicing: network/prosody.py), or "voice" (Whisper's middle layer: core/voice.py)
    emotion_features: str = "spectra"
    voice_layer: str = "layer3"  # with "voice": which of the voice encoder's layers
    articulation_dilations: tuple[int, ...] = (1, 2, 4)
    expression_dim: int = 96
    expression_dilations: tuple[int, ...] = (1, 2, 4, 8)
    mapping_dim: int = 96  # training only (model/training/network.py), like the field below
    mapping_dilations: tuple[int, ...] = (1, 2, 4, 8)
    n_classes: int = len(EMOTIONS)  # neutral + the sliders
    dropout: float = 0.1

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(**restore_tuples(d, cls))


def restore_tuples(d: dict, cls) -> dict:
    """JSON turns tuples into lists; give them back their type."""
    names = {f.name: f for f in fields(cls)}
    return {k: tuple(v) if isinstance(v, list) and "tuple" in str(names[k].type) else v for k, v in d.items()}
