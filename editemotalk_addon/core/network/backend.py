"""The optional PyTorch backend of the Animator: the same two calls as ONNX Runtime, on a CPU, CUDA or MPS device.

Imported only where this Python has torch (a user who installed it in Blender's Python, or the repository);
nothing else in the extension imports torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .load import load_torch_model

VERSION = torch.__version__


def devices() -> dict[str, str]:
    """{device: description} of what this torch can run on."""
    out = {"cpu": "CPU"}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_device_name(0)
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        out["mps"] = "Apple GPU (MPS)"
    return out


def check_device(device: str) -> None:
    """One line when the device is not there, instead of torch's own error deep in the first call."""
    if device not in ("cpu", "cuda", "mps"):
        raise UserError(f"device={device!r} is not a device - use cpu, cuda or mps")
    if device not in devices():
        raise UserError(f"PyTorch here has no {device} device - choose CPU (Preferences > Device)")


class TorchBackend:
    def __init__(self, folder: Path, device: str):
        check_device(device)
        self.device = device
        self.model = load_torch_model(folder, device)

    def analyze(self, audio: np.ndarray, recogniser: np.ndarray, voice: np.ndarray):
        t = lambda x: torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(self.device)
        with torch.no_grad():
            return [o.cpu().numpy() for o in self.model.analyze(t(audio), t(recogniser), t(voice))]

    def content(self, audio: np.ndarray, recogniser: np.ndarray):
        t = lambda x: torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(self.device)
        with torch.no_grad():
            return [o.cpu().numpy() for o in self.model.analyze_content(t(audio), t(recogniser))]

    def emotion(self, audio: np.ndarray, voice: np.ndarray):
        t = lambda x: torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(self.device)
        with torch.no_grad():
            return [o.cpu().numpy() for o in self.model.encode_emotion(t(audio), t(voice))[:3]]

    def generate(self, content, articulation, gate, emotion):
        t = lambda x: torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(self.device)
        with torch.no_grad():
            out = self.model.generate(t(content), t(articulation), t(gate), t(emotion))
            return [o.cpu().numpy() for o in out]
