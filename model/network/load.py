"""The PyTorch model from a verified weights folder: the torch runtime outside Blender, and a start for training."""

from __future__ import annotations

import json
from pathlib import Path

from ..runtime import weights as W
from .config import ModelConfig
from .model import EditEmoTalk


def load_torch_model(folder: Path, device: str = "cpu") -> EditEmoTalk:
    """The PyTorch model from a verified weights folder (safetensors only)."""
    from safetensors.torch import load_file

    folder = W.verify(folder, W.TORCH_FILES)
    cfg = ModelConfig.from_dict(json.loads((folder / "config.json").read_text())["model"])
    model = EditEmoTalk(cfg)
    model.load_state_dict(load_file(str(folder / "model.safetensors"), device="cpu"))
    return model.eval().to(device)
