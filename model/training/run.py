"""`python build.py train`: one training run into a weights folder, with the record the model card quotes."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from .config import TrainConfig
from .export import save_weights
from .train import Trainer


def train_default(corpus: str, run: str, weights: str, device: str = "auto", overrides: list[str] = ()) -> Path:
    """Train (resumably, in `run`) and write the weights folder; its config.json records the machine, the wall
    time, the configuration, the corpus and (when fine-tuning) how the weights it started from were trained."""
    start = time.time()
    try:
        cfg = TrainConfig(corpus=corpus, out=run, device=device).overridden(list(overrides))
        trainer = Trainer(cfg)
    except ValueError as exc:
        raise SystemExit(f"train: {exc}") from None
    model, space = trainer.run()
    record = {
        "wall_seconds": round(time.time() - start),
        "machine": f"{platform.machine()} with {os.cpu_count()} cores, {trainer.device.type}",
        "config": cfg.to_dict(),
        "corpus": json.loads((Path(cfg.corpus) / "summary.json").read_text()),
    }
    if cfg.init_from:  # the lineage: how the weights it started from were trained
        record["started_from"] = json.loads((Path(cfg.init_from) / "config.json").read_text()).get("train")
    extra = {"train": record, "voice_reference": trainer.voice_reference()}
    return save_weights(model, space, Path(weights), extra)
