"""Every knob of training, as a dataclass (saved as JSON beside the run and the weights)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from editemotalk_addon.core.network.config import ModelConfig, restore_tuples


@dataclass
class TrainConfig:
    corpus: str = "data/corpus"
    out: str = "runs/default"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | mps
    threads: int = 0  # torch CPU threads (0: all cores)
    loader_workers: int = 1
    # start from a trained weights folder: its emotion encoder and edit dictionary are kept, the mapping network
    # and the generator train on from its parameters ("" = from scratch)
    init_from: str = ""
    # the parts taken from init_from (comma-separated top-level modules, e.g. "content,articulation,expression";
    # "" = every part it shares). Without "emotion" the emotion stage trains afresh and the space is fitted again.
    init_parts: str = ""
    # stage 1: emotion encoder (classification)
    emotion_steps: int = 4000
    emotion_batch: int = 24
    emotion_crop: float = 2.0  # s
    emotion_lr: float = 2e-3
    emotion_real_share: float = 0.5  # of emotion batches drawn from real emotional speech
    # sources or synthesizer families (comma-separated) that stage 1 never draws: leave-one-corpus-out
    # (model/evaluation/loco.py), e.g. "emodb" or "synthetic,english_read" or "flite"
    emotion_exclude: str = ""
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
    model: ModelConfig = field(default_factory=lambda: ModelConfig(content_input="hidden+log_probs"))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        d = dict(d)
        model = ModelConfig.from_dict(d.pop("model", {}))
        return cls(model=model, **restore_tuples(d, cls))

    def overridden(self, items: list[str]) -> TrainConfig:
        """A copy with `KEY=VALUE` overrides (`model.KEY=VALUE` for the network), each parsed as its field's type."""
        cfg = replace(self, model=replace(self.model))
        for item in items:
            key, sep, text = item.partition("=")
            target, name = (cfg.model, key[6:]) if key.startswith("model.") else (cfg, key)
            kinds = {f.name: str(f.type) for f in fields(target)}
            if not sep or name not in kinds or name == "model":
                raise ValueError(f"cannot set {item!r}: write KEY=VALUE with KEY one of {', '.join(sorted(kinds))}")
            setattr(target, name, parse_value(kinds[name], text.strip(), key))
        return cfg


def parse_value(kind: str, text: str, key: str):
    """'true' -> True for a bool field, '1,2,4' -> (1, 2, 4) for a tuple of ints, numbers and strings as they are."""
    try:
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return text.lower() in ("true", "1", "yes")
        if kind.startswith("tuple"):
            return tuple(int(x) for x in text.split(",") if x.strip())
        return {"int": int, "float": float}.get(kind, str)(text)
    except ValueError:
        raise ValueError(f"{key}={text!r} is not a valid {kind}") from None
