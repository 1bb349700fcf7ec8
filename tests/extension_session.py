"""Runs inside a Blender-only Python (see test_extension.py): install the extension zip, bake, remove it.

That Python holds the bpy module and what Blender itself carries, nothing else: ONNX Runtime can come only from
the extension's bundled wheel. The report lists every module loaded from anywhere else. With a third argument
`torch` (run in a Python that has torch), the clip is baked again through the PyTorch backend and compared.
"""

import json
import os
import sys
import sysconfig
import time

import bpy
import numpy as np

zip_path, wav, *runtime = sys.argv[sys.argv.index("--") + 1 :]
report = {"blender": bpy.app.version_string}
start = time.perf_counter()
bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
report["install_enable_s"] = time.perf_counter() - start
module = "bl_ext.user_default.editemotalk"
report["enabled"] = module in bpy.context.preferences.addons
scene = bpy.context.scene
scene.render.fps = 30
bpy.ops.editemotalk.add_demo_head()
obj = scene.editemotalk.target
report["head"] = [obj.name, len(obj.data.shape_keys.key_blocks), obj.editemotalk.unmatched]
scene.editemotalk.audio_path = wav
scene.editemotalk.happy = 1.0
start = time.perf_counter()
report["bake"] = list(bpy.ops.editemotalk.bake())
report["bake_s"] = time.perf_counter() - start
report["onnxruntime"] = sys.modules["onnxruntime"].__file__  # imported by the extension, as it imports it
report["preview"] = list(bpy.ops.editemotalk.preview(size=64))  # an unsaved file: into the extension's own folder
preview_name = os.path.splitext(os.path.basename(wav))[0] + "_preview.mp4"  # named after the clip
report["preview_file"] = os.path.join(bpy.utils.extension_path_user(module, path="previews"), preview_name)
with open(report["preview_file"], "rb") as movie:
    report["preview_is_mp4"] = movie.read(8)[4:] == b"ftyp" and os.path.getsize(report["preview_file"]) > 10_000
jaw, smile = [], []
for f in range(1, 60):
    scene.frame_set(f)
    jaw.append(obj.data.shape_keys.key_blocks["jawOpen"].value)
    smile.append(obj.data.shape_keys.key_blocks["mouthSmileLeft"].value)
report["jaw_range"] = float(np.ptp(jaw))
report["smile_max"] = float(np.max(smile))
report["tracks"] = [t.name for t in obj.data.shape_keys.animation_data.nla_tracks]
report["sound_strips"] = [s.name for s in scene.sequence_editor.strips_all if s.type == "SOUND"]
keys = obj.data.shape_keys.key_blocks


def curves() -> np.ndarray:
    out = []
    for f in range(1, 60):
        scene.frame_set(f)
        out.append([k.value for k in keys[1:]])
    return np.asarray(out)


preferences = sys.modules[f"{module}.blender.preferences"]
report["runtimes"] = [item[0] for item in preferences.runtime_items(None, bpy.context)]
try:  # a script asking for PyTorch: where there is none, the one line a user would see (never a traceback)
    sys.modules[f"{module}.core.animator"].Animator.load(runtime="torch")
    report["torch_request"] = "loaded"
except sys.modules[f"{module}.core.errors"].UserError as exc:
    report["torch_request"] = str(exc)
if runtime == ["torch"]:
    onnx_curves = curves()
    bpy.context.preferences.addons[module].preferences.runtime = "TORCH"
    report["torch_bake"] = list(bpy.ops.editemotalk.bake())
    report["torch_animator"] = sys.modules[f"{module}.blender.session"].get_animator().runtime
    report["torch_vs_onnx"] = float(np.abs(curves() - onnx_curves).max())
scene.editemotalk.character = "Ada"  # the character kept in the .blend, and its file, on this Blender
report["character_add"] = list(bpy.ops.editemotalk.character_add_clip())
character_file = os.path.join(os.environ["HOME"], "ada.json")
report["character_save"] = list(bpy.ops.editemotalk.character_save(filepath=character_file))
scene.editemotalk.character = ""
report["character_load"] = list(bpy.ops.editemotalk.character_load(filepath=character_file))
report["character"] = [scene.editemotalk.character, len(json.loads(scene.editemotalk.characters["Ada"].data)["clips"])]
report["torch_loaded"] = "torch" in sys.modules
report["clear"] = list(bpy.ops.editemotalk.clear())
report["after_clear"] = [len(obj.data.shape_keys.animation_data.nla_tracks), len(scene.sequence_editor.strips_all)]

# Where every loaded module came from: the standard library, Blender (the bpy module and the packages it carries),
# or the extension (its own code and its installed wheels). Anything else would be a dependency users lack.
allowed = [sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")]
site = sysconfig.get_paths()["purelib"]
allowed += [os.path.join(site, p) for p in ("bpy", "numpy", "requests", "certifi", "charset_normalizer", "idna",
                                           "urllib3", "zstandard", "Cython", "cython", "pyximport")]  # fmt: skip
allowed += [os.path.join(os.environ["BLENDER_USER_RESOURCES"], "extensions")]


def foreign(mod) -> bool:
    path = getattr(mod, "__file__", None)
    if not path or not os.path.isabs(path):  # built-ins and Blender's namespace packages (bl_ext...)
        return False
    return not any(os.path.realpath(path).startswith(os.path.realpath(a)) for a in allowed)


report["foreign_modules"] = sorted(
    f"{name}: {mod.__file__}" for name, mod in list(sys.modules.items()) if name != "__main__" and foreign(mod)
)

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
