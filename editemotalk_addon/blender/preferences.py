"""Add-on preferences: runtime, device, weights; versions shown. And the extension's own folder."""

from pathlib import Path

import bpy

from ..core import weights
from ..core.animator import torch_backend
from ..core.errors import UserError
from ..core.onnx_sessions import onnx_runtime

ADDON = __package__.rpartition(".")[0]  # the add-on's module: this layer is its `blender` subpackage
EXTENSION_ID = "editemotalk"  # blender_manifest.toml's id


def own_folder(name: str) -> Path:
    """A folder of the extension's own: Blender's per-extension user folder (bpy.utils.extension_path_user), the
    one place it writes besides the files asked of it. Run from a clone (not installed as an extension), the
    folder it would have in Blender's default user repository."""
    package = ADDON if ADDON.startswith("bl_ext.") else f"bl_ext.user_default.{EXTENSION_ID}"
    folder = bpy.utils.extension_path_user(package, path=name, create=True)
    if not folder:  # Blender printed why
        raise UserError(f"cannot create the extension's folder {name!r} - check your Blender user folder")
    return Path(folder)


def runtime_items(self, context):
    items = [
        ("AUTO", "Automatic", "ONNX Runtime on the CPU; PyTorch when a GPU device is chosen"),
        ("ONNX", "ONNX Runtime", "Bundled with the extension; runs on any CPU"),
    ]
    if torch_backend() is not None:
        items.append(("TORCH", "PyTorch", "Uses the PyTorch installed in Blender's Python"))
    return items


def _devices(self, context):
    torch = torch_backend()
    found = torch.devices() if torch else {"cpu": "CPU"}
    return [(key, key.upper(), description) for key, description in found.items()]


def _torch_version() -> str | None:
    torch = torch_backend()
    return torch.VERSION if torch is not None else None


def _ort_version() -> str | None:
    try:
        return onnx_runtime().__version__
    except ImportError:
        return None


class EETPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON

    runtime: bpy.props.EnumProperty(name="Runtime", items=runtime_items)
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
    addon = context.preferences.addons.get(ADDON)
    return addon.preferences if addon else None


CLASSES = (EETPreferences,)
