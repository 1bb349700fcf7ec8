"""Every knob of the model and of its training, as dataclasses (saved as JSON beside the weights)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


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
    articulation_dilations: tuple[int, ...] = (1, 2, 4)
    expression_dim: int = 96
    expression_dilations: tuple[int, ...] = (1, 2, 4, 8)
    mapping_dim: int = 96
    mapping_dilations: tuple[int, ...] = (1, 2, 4, 8)
    n_classes: int = 8  # neutral + the seven sliders
    dropout: float = 0.1

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(**_tuples(d, cls))


@dataclass
class TrainConfig:
    corpus: str = "data/corpus"
    out: str = "runs/default"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | mps
    threads: int = 0  # torch CPU threads (0: all cores)
    loader_workers: int = 1
    # stage 1: emotion encoder (classification)
    emotion_steps: int = 4000
    emotion_batch: int = 24
    emotion_crop: float = 2.0  # s
    emotion_lr: float = 2e-3
    emotion_real_share: float = 0.5  # of emotion batches drawn from real emotional speech
    # stage 2: mapping network on teacher motion
    mapping_steps: int = 800
    mapping_batch: int = 32
    # stage 3: content encoder + generator
    steps: int = 5000  # the shipped weights; more steps were still improving closures (see the model card)
    batch: int = 12
    crop: float = 4.0  # s
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: int = 300
    # edits sampled for the generator: share of absolute edits, voice-relative edits and pair edits
    p_absolute: float = 0.35
    p_relative: float = 0.2
    p_pair: float = 0.15
    max_alpha: float = 1.5
    # loss weights
    w_rec: float = 1.0
    w_layers: float = 0.5
    w_velocity: float = 0.5
    w_aperture: float = 1.0
    w_closure: float = 1.0
    w_gate: float = 0.3
    w_consistency: float = 0.1
    mouth_weight: float = 3.0
    # augmentation
    augment: bool = True
    real_speech_boost: float = 2.0  # real speech is sampled this much more often than its share
    log_every: int = 50
    checkpoint_every: int = 500
    model: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        d = dict(d)
        model = ModelConfig.from_dict(d.pop("model", {}))
        return cls(model=model, **_tuples(d, cls))


def _tuples(d: dict, cls) -> dict:
    """JSON turns tuples into lists; give them back their type."""
    names = {f.name: f for f in fields(cls)}
    return {k: tuple(v) if isinstance(v, list) and "tuple" in str(names[k].type) else v for k, v in d.items()}
