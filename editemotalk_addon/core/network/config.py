"""The network's shape: every knob of the model, as a dataclass saved as JSON beside the weights."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class ModelConfig:
    n_mels: int = 80
    content_dim: int = 128
    content_dilations: tuple[int, ...] = (1, 2, 4, 1, 2, 4)
    content_backbone: str = "own"  # or a local folder holding a HuBERT / wav2vec 2.0 checkpoint (transformers)
    emotion_width: int = 128
    emotion_dim: int = 64
    emotion_dilations: tuple[int, ...] = (1, 2, 4, 1, 2, 4)
    emotion_window: int = 25  # frames at 25 Hz: emotion embeddings over ~1 s windows
    # the emotion encoder's input: "spectra" (log-mel + pitch spectrum) or "spectra+prosody" (and clip-relative
    # loudness, pitch, tilt and voicing: network/prosody.py)
    emotion_features: str = "spectra"
    articulation_dilations: tuple[int, ...] = (1, 2, 4)
    expression_dim: int = 96
    expression_dilations: tuple[int, ...] = (1, 2, 4, 8)
    mapping_dim: int = 96  # training only (model/training/network.py), like the two fields below
    mapping_dilations: tuple[int, ...] = (1, 2, 4, 8)
    n_classes: int = 8  # neutral + the seven sliders
    phoneme_head: bool = False  # content -> the phoneme teacher's lip classes (never exported)
    dropout: float = 0.1

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(**restore_tuples(d, cls))


def restore_tuples(d: dict, cls) -> dict:
    """JSON turns tuples into lists; give them back their type."""
    names = {f.name: f for f in fields(cls)}
    return {k: tuple(v) if isinstance(v, list) and "tuple" in str(names[k].type) else v for k, v in d.items()}
