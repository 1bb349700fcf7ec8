"""Add-on preferences: runtime, device, weights; versions shown."""

import bpy

from .core import weights


def _runtimes(self, context):
    items = [
        ("auto", "Automatic", "PyTorch on a GPU when available, otherwise ONNX Runtime"),
        ("onnx", "ONNX Runtime", "Bundled with the extension; runs on any CPU"),
    ]
    if _torch_version():
        items.append(("torch", "PyTorch", "Uses the PyTorch installed in Blender's Python"))
    return items


def _devices(self, context):
    items = [("cpu", "CPU", "")]
    torch = _torch()
    if torch is not None and torch.cuda.is_available():
        items.append(("cuda", "CUDA", torch.cuda.get_device_name(0)))
    if torch is not None and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        items.append(("mps", "Apple GPU (MPS)", ""))
    return items


def _torch():
    try:
        import torch

        return torch
    except ImportError:
        return None


def _torch_version() -> str | None:
    torch = _torch()
    return torch.__version__ if torch is not None else None


def _ort_version() -> str | None:
    try:
        import onnxruntime

        return onnxruntime.__version__
    except ImportError:
        return None


class EETPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    runtime: bpy.props.EnumProperty(name="Runtime", items=_runtimes)
    device: bpy.props.EnumProperty(name="Device", items=_devices)
    weights_source: bpy.props.EnumProperty(
        name="Weights",
        items=[
            ("BUNDLED", "Bundled default", "The model shipped with the extension"),
            ("CUSTOM", "Custom", "A weights folder written by `build.py train`"),
        ],
    )
    custom_weights: bpy.props.StringProperty(name="Weights folder", subtype="DIR_PATH")

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "runtime")
        col.prop(self, "device")
        col.prop(self, "weights_source")
        if self.weights_source == "CUSTOM":
            col.prop(self, "custom_weights")
        box = col.box()
        box.label(text=f"ONNX Runtime {_ort_version() or 'not installed'}")
        box.label(text=f"PyTorch {_torch_version() or 'not installed (optional)'}")
        box.label(text=f"Default weights: {weights.DEFAULT}")


def get(context) -> EETPreferences | None:
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon else None


CLASSES = (EETPreferences,)
