"""The PyTorch model from a verified weights folder: the optional torch backend (CPU, CUDA, MPS).

model.safetensors is read here with numpy (the format is a JSON header and raw little-endian arrays), so the
backend needs torch alone, and nothing is ever unpickled. Training-only parameters (the mapping network, the
phoneme head) are in the same file and are left out.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .. import weights as W
from .config import ModelConfig
from .model import EditEmoTalk

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """{name: tensor} from a safetensors file (the dtypes torch modules use)."""
    data = Path(path).read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    body = memoryview(data)[8 + size :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise W.WeightsError(f"{path} holds {info['dtype']} tensors - re-export the weights (float32).")
        start, end = info["data_offsets"]
        array = np.frombuffer(body[start:end], _DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out


def load_torch_model(folder: Path, device: str = "cpu") -> EditEmoTalk:
    """The inference network from a verified weights folder."""
    folder = W.verify(folder, W.TORCH_FILES)
    try:
        cfg = ModelConfig.from_dict(json.loads((folder / "config.json").read_text())["model"])
    except TypeError:  # a field this version does not have
        raise W.WeightsError(
            f"{folder} was written by another version of EditEmoTalk - use weights of this one"
        ) from None
    model = EditEmoTalk(cfg)
    missing, _training_only = model.load_state_dict(read_safetensors(folder / "model.safetensors"), strict=False)
    if missing:
        raise W.WeightsError(f"{folder} does not fit this network (lacks {missing[0]}) - re-export the weights.")
    return model.eval().to(device)
