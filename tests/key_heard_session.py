"""Runs inside a Blender-only Python (see test_key_heard.py): install the extension zip, press Key Heard Emotion
three times with the animator's own edits in between, Bake twice with Key what is heard on, and undo after each
(then redo, so the next step starts from what it did). Prints one REPORT line: the sliders' keys and values
before, after, undone and redone at every step, and what each operator returned and reported."""

import json
import sys
from dataclasses import replace

import bpy
import numpy as np

zip_path, wav = sys.argv[sys.argv.index("--") + 1 :]
bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
module = "bl_ext.user_default.editemotalk"
session = sys.modules[f"{module}.blender.session"]
rig = sys.modules[f"{module}.core.rig"]
report = {"blender": bpy.app.version_string, "steps": {}}
scene = bpy.context.scene
scene.render.fps = 30
bpy.ops.editemotalk.add_demo_head()
scene.editemotalk.audio_path = wav
scene.editemotalk.start_frame = 10
bpy.ops.editemotalk.analyze()
path = session.audio_path(scene)
analysis = session.cached_analysis(path)
report["clip_frames"] = [10, 10 + int(np.ceil(analysis.duration * 30))]


def heard_as(name: str) -> None:
    """The clip heard as `name` in every phrase: what the voice is read as is not what this tests."""
    p = np.full_like(analysis.probabilities, 0.02)
    p[:, rig.EMOTIONS.index(name)] = 1 - 7 * 0.02
    session.store_analysis(path, replace(analysis, probabilities=p))


def state() -> dict:
    """Every slider's keys [frame, value], the value of each slider without keys, and the baked tracks (fresh
    references: an undo makes every Python reference stale)."""
    scene = bpy.context.scene
    s = scene.editemotalk
    keys = session.slider_curves(scene)
    target = s.target
    ad = target.data.shape_keys.animation_data if target and target.data.shape_keys else None
    return {
        "keys": {n: [[round(p.co[0], 3), round(p.co[1], 4)] for p in fc.keyframe_points] for n, fc in keys.items()},
        "values": {n: round(getattr(s, n), 4) for n in rig.SLIDERS if n not in keys},  # animated ones follow keys
        "tracks": len(ad.nla_tracks) if ad else 0,
    }


def step(name: str, operator) -> None:
    """One user action as the UI does it: an undo step pushed after it; then undo, then redo."""
    out = {"before": state()}
    bpy.ops.ed.undo_push(message=f"before {name}")
    try:
        out["result"] = list(operator())
    except RuntimeError as exc:  # what the crash looked like: the result says so instead of ending the session
        out["result"] = [f"RuntimeError: {exc}"]
    bpy.ops.ed.undo_push(message=name)
    out["after"] = state()
    out["status"] = bpy.context.scene.editemotalk.status
    bpy.ops.ed.undo()
    out["undone"] = state()
    bpy.ops.ed.redo()
    out["redone"] = state()
    report["steps"][name] = out


heard_as("happy")
step("press 1", bpy.ops.editemotalk.key_heard)
heard_as("sad")
step("press 2", bpy.ops.editemotalk.key_heard)  # heard otherwise now: its happy keys go, sad keys come
s = bpy.context.scene.editemotalk
s.angry = 0.7  # the animator's hand-set value
s.sad = 0.9
s.keyframe_insert("sad", frame=20)  # and a key of their own on a slider it keyed, inside the clip
s.happy = 0.3
s.keyframe_insert("happy", frame=900)  # and one far past the clip on a slider it will key again
report["hand_edited"] = state()
heard_as("happy")
step("press 3", bpy.ops.editemotalk.key_heard)
bpy.context.scene.editemotalk.key_heard = True
heard_as("surprised")  # were Bake to key, surprised would appear
step("bake 1", bpy.ops.editemotalk.bake)
step("bake 2", bpy.ops.editemotalk.bake)
print("REPORT " + json.dumps(report), flush=True)
