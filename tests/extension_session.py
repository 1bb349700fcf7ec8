"""Runs inside a fresh `bpy` process (see test_extension.py): install the extension zip, bake, remove it.

ONNX Runtime is taken only from the extension's bundled wheel, as in a Blender without it, so the test proves
the zip is self-sufficient.
"""

import importlib.abc
import importlib.machinery
import json
import os
import sys
import time


class OnlyBundledOnnxRuntime(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "onnxruntime":
            return None
        local = [p for p in sys.path if f"{os.sep}extensions{os.sep}" in p]
        spec = importlib.machinery.PathFinder.find_spec(name, local)
        if spec is None:
            raise ModuleNotFoundError("onnxruntime is not bundled with the extension")
        return spec


sys.meta_path.insert(0, OnlyBundledOnnxRuntime())

import bpy  # noqa: E402
import numpy as np  # noqa: E402

zip_path, wav = sys.argv[sys.argv.index("--") + 1 :]
report = {}
start = time.perf_counter()
bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
report["install_enable_s"] = time.perf_counter() - start
module = "bl_ext.user_default.editemotalk"
report["enabled"] = module in bpy.context.preferences.addons
import onnxruntime  # noqa: E402

report["onnxruntime"] = onnxruntime.__file__
scene = bpy.context.scene
scene.render.fps = 30
bpy.ops.editemotalk.add_demo_head()
obj = scene.editemotalk.target
scene.editemotalk.audio_path = wav
scene.editemotalk.happy = 1.0
report["bake"] = list(bpy.ops.editemotalk.bake())
jaw, smile = [], []
for f in range(1, 60):
    scene.frame_set(f)
    jaw.append(obj.data.shape_keys.key_blocks["jawOpen"].value)
    smile.append(obj.data.shape_keys.key_blocks["mouthSmileLeft"].value)
report["jaw_range"] = float(np.ptp(jaw))
report["smile_max"] = float(np.max(smile))
report["tracks"] = [t.name for t in obj.data.shape_keys.animation_data.nla_tracks]
start = time.perf_counter()
bpy.ops.preferences.addon_disable(module=module)
bpy.ops.preferences.addon_enable(module=module)
report["enable_s"] = time.perf_counter() - start
bpy.ops.preferences.addon_disable(module=module)
repo_index = [r.module for r in bpy.context.preferences.extensions.repos].index("user_default")
bpy.ops.extensions.package_uninstall(repo_index=repo_index, pkg_id="editemotalk")
report["left_behind"] = sorted(
    [n for n in dir(bpy.types) if n.startswith(("EET_", "EETP", "EETS", "EETM", "EETO"))]
    + [f"Scene.{p}" for p in ("editemotalk",) if hasattr(bpy.types.Scene, p)]
    + [f"Object.{p}" for p in ("editemotalk",) if hasattr(bpy.types.Object, p)]
)
report["installed_after"] = os.path.exists(
    os.path.join(os.environ["BLENDER_USER_RESOURCES"], "extensions", "user_default", "editemotalk")
)
print("REPORT " + json.dumps(report))
