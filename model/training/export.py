"""Write a trained model as a weights folder: safetensors, config, edit dictionary, two ONNX graphs, manifest.

analyze.onnx   audio (1, N), recogniser (1, 447, N / 320), voice (1, 512, N / 320) -> content (1, C, T),
               articulation (1, 52, T), gate (1, 1, T), emotion (1, E, T), clip (1, E), logits (1, 8, T)
               [N: multiple of 640; an input the config does not read is not in the graph]
generate.onnx  content, articulation, gate, edited emotion -> weights (1, 52, T), expression (1, 52, T)
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.emotion_space import EmotionSpace
from editemotalk_addon.core.files import sha256, write_text_atomic
from editemotalk_addon.core.network.encoders import RECOGNISER_WIDTH
from editemotalk_addon.core.network.model import BLOCK, VOICE_WIDTH, EditEmoTalk
from editemotalk_addon.core.timebase import TRAIN_FPS

from ..pretrained import write_networks

OPSET = 17


class _Analyze(nn.Module):
    def __init__(self, model: EditEmoTalk):
        super().__init__()
        self.model = model

    def forward(self, audio, recogniser, voice):
        return self.model.analyze(audio, recogniser, voice)


class _Generate(nn.Module):
    def __init__(self, model: EditEmoTalk):
        super().__init__()
        self.model = model

    def forward(self, content, articulation, gate, emotion):
        return self.model.generate(content, articulation, gate, emotion)


def export_onnx(model: EditEmoTalk, folder: Path) -> None:
    model = model.eval().cpu()
    cfg = model.cfg
    audio = torch.zeros(1, 4 * BLOCK * 10)
    audio[0, ::7] = 0.1
    recogniser = torch.randn(1, RECOGNISER_WIDTH, audio.shape[1] // (BLOCK // 2))
    voice = torch.randn(1, VOICE_WIDTH, audio.shape[1] // (BLOCK // 2))
    time = {2: "frames"}
    torch.onnx.export(
        _Analyze(model),
        (audio, recogniser, voice),
        str(folder / "analyze.onnx"),
        dynamo=False,
        opset_version=OPSET,
        input_names=["audio", "recogniser", "voice"],
        output_names=["content", "articulation", "gate", "emotion", "clip", "logits"],
        dynamic_axes={
            "audio": {1: "samples"},
            "recogniser": time,
            "voice": time,
            "content": time,
            "articulation": time,
            "gate": time,
            "emotion": time,
            "logits": time,
        },
    )
    frames = audio.shape[1] // (BLOCK // 2)
    inputs = (
        torch.zeros(1, cfg.content_dim, frames),
        torch.zeros(1, 52, frames),
        torch.zeros(1, 1, frames),
        torch.zeros(1, cfg.emotion_dim, frames),
    )
    names = ["content", "articulation", "gate", "emotion"]
    torch.onnx.export(
        _Generate(model),
        inputs,
        str(folder / "generate.onnx"),
        dynamo=False,
        opset_version=OPSET,
        input_names=names,
        output_names=["weights", "expression"],
        dynamic_axes={n: time for n in [*names, "weights", "expression"]},
    )


def write_manifest(folder: Path) -> dict:
    """The SHA-256 of every weights file, which the extension checks on every load (core.weights.verify)."""
    manifest = {"files": {name: sha256(folder / name) for name in W.FILES if (folder / name).exists()}}
    write_text_atomic(folder / W.MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest


def save_weights(model: EditEmoTalk, space: EmotionSpace, folder: Path, extra: dict | None = None) -> Path:
    from dataclasses import asdict

    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    config = {"model": asdict(model.cfg), "fps": TRAIN_FPS, "block": BLOCK, **(extra or {})}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    space.save(folder / "edit_dictionary.json")
    export_onnx(model, folder)
    write_networks(folder)
    write_manifest(folder)
    return folder


def reexport(folder: Path) -> Path:
    """The ONNX graphs and the manifest again from the folder's safetensors: for a change to the network's
    parameter-free structure (such as the lip seal), which needs no retraining."""
    from editemotalk_addon.core.network.load import load_torch_model

    export_onnx(load_torch_model(folder), folder)
    write_networks(folder)
    write_manifest(folder)
    return folder


def set_config(folder: Path, **values) -> None:
    """Operating choices made after training (the seal's gate threshold, the voice's temperature) into a weights
    folder's config.json, and its manifest again."""
    path = Path(folder) / "config.json"
    write_text_atomic(path, json.dumps(json.loads(path.read_text()) | values, indent=2) + "\n")
    write_manifest(Path(folder))
