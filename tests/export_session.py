"""Runs in a Python with the bpy module (see test_export_panel.py), on each Blender tested: bake a known performance
on the stylised head, export it from the panel (FBX, Alembic, USD, Live Link CSV) and with Blender's own File >
Export FBX and USD, re-import every file with Blender's default importers in an empty scene, and report what plays.

    python export_session.py -- OUTPUT_FOLDER

The performance is made here, not by the model (this Python has no ONNX Runtime): what is tested is the way from a
bake to the files. Prints one line: REPORT {json}.
"""

import json
import math
import sys
import wave
from pathlib import Path

import bpy
import numpy as np
from bpy_extras import anim_utils

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import editemotalk_addon  # noqa: E402
from editemotalk_addon.blender import bake, nla  # noqa: E402
from editemotalk_addon.core.livelink import read_csv  # noqa: E402
from editemotalk_addon.core.performance import LAYER_CHANNELS, Performance  # noqa: E402
from editemotalk_addon.core.rig import INDEX, NUM_CHANNELS  # noqa: E402

out = Path(sys.argv[sys.argv.index("--") + 1])
FPS, START, FRAMES = 24, 1, 48
NAMES = ["jawOpen", "mouthSmileLeft", "eyeBlinkLeft", "browInnerUp"]
report = {"blender": bpy.app.version_string}

editemotalk_addon.register()
bpy.ops.wm.read_factory_settings()  # the startup scene: a cube, a camera, a light
scene = bpy.context.scene
scene.render.fps = FPS
audio = out / "line.wav"  # two seconds of a quiet tone: the clip the bake is of
with wave.open(str(audio), "wb") as w:
    w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
    w.writeframes((np.sin(np.arange(32000) * 0.05) * 3000).astype("<i2").tobytes())
s = scene.editemotalk
s.audio_path = str(audio)
bpy.ops.editemotalk.add_demo_head(kind="STYLISED")
obj = s.target
t = np.arange(FRAMES)[:, None] / FRAMES  # every channel its own smooth curve within 0..0.8
c = np.arange(NUM_CHANNELS)
curves = (0.4 + 0.4 * np.sin(2 * math.pi * (t * (1 + c % 3) + c / 7))).astype(np.float32)  # (F, 52)
layers = {name: np.zeros((FRAMES, NUM_CHANNELS), np.float32) for name in ("articulation", "expression", "life")}
for name, channels in (("life", LAYER_CHANNELS["life"]), ("articulation", LAYER_CHANNELS["articulation"])):
    layers[name][:, channels] = curves[:, channels]  # each channel on one layer: the three sum to `curves`
rest = [c for c in LAYER_CHANNELS["expression"] if c not in LAYER_CHANNELS["articulation"]]
layers["expression"][:, rest] = curves[:, rest]
perf = Performance(FPS, **layers)
bake.bake_clip(scene, obj, perf, str(audio), START)
scene.frame_end = 100  # the timeline runs past the clip
want = perf.weights[:, [INDEX[n] for n in NAMES]]  # (F, 4) the bake's values on frames START..


def played(o, frames):
    out = []
    for f in frames:
        scene.frame_set(f)
        out.append([o.data.shape_keys.key_blocks[n].value for n in NAMES])
    return np.array(out)


def world_vertices(o, frame):
    scene.frame_set(frame)
    mesh = o.evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh()
    co = np.empty(3 * len(mesh.vertices), np.float32)
    mesh.vertices.foreach_get("co", co)
    m = np.asarray(o.matrix_world)
    return co.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]


clip_frames = range(START, START + FRAMES)
report["bake_vs_perf"] = float(np.abs(played(obj, clip_frames) - want).max())
vertices = {f: world_vertices(obj, f) for f in (START, START + 10, START + 30)}
scene.frame_set(7)
obj.select_set(False)
before = [scene.frame_start, scene.frame_end, scene.frame_current, [o.name for o in bpy.context.selected_objects]]
for fmt, name in (("FBX", "panel.fbx"), ("ABC", "panel.abc"), ("USD", "panel.usdc"), ("CSV", "panel.csv")):
    report[f"export_{fmt}"] = list(bpy.ops.editemotalk.export(format=fmt, filepath=str(out / name)))
report["scene_kept"] = before == [
    scene.frame_start, scene.frame_end, scene.frame_current, [o.name for o in bpy.context.selected_objects]
]  # fmt: skip
bpy.ops.export_scene.fbx(filepath=str(out / "own.fbx"))  # File > Export > FBX, every option at its default
export_range = obj.animation_data.action
report["export_range"] = [export_range.name, *export_range.frame_range]
bpy.data.actions.remove(export_range)  # without it: what Blender's FBX exporter makes of the NLA tracks alone
del obj[nla.EXPORT_RANGE]
bpy.ops.export_scene.fbx(filepath=str(out / "tracks_only.fbx"))
bpy.ops.wm.usd_export(filepath=str(out / "own.usdc"), export_animation=True)  # File > Export > USD, Animation on

brow = obj.data.shape_keys.key_blocks["browDownLeft"]  # the user's own key, then the face with or without it
brow.value = 0.5
brow.keyframe_insert("value", frame=1)
bpy.ops.editemotalk.export(format="CSV", filepath=str(out / "clip.csv"))
bpy.ops.editemotalk.export(format="CSV", filepath=str(out / "every.csv"), every_clip=True)
column = INDEX["browDownLeft"]
report["brow"] = [float(np.abs(read_csv(out / "clip.csv", fps=FPS).weights[:, column] - curves[:, column]).max()),
                  float(np.abs(read_csv(out / "every.csv", fps=FPS).weights[:, column] - 0.5).max())]  # fmt: skip
times, weights, _ = read_csv(out / "panel.csv", fps=FPS)
report["csv"] = [len(weights), float(times[1]), float(np.abs(weights[:, [INDEX[n] for n in NAMES]] - want).max())]


def reimported(path):
    """The face of `path` in an empty scene at the clip's rate, read by Blender's importer with its defaults."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = FPS
    {".fbx": bpy.ops.import_scene.fbx, ".abc": bpy.ops.wm.alembic_import, ".usdc": bpy.ops.wm.usd_import}[path.suffix](
        filepath=str(path)
    )
    return next(o for o in bpy.data.objects if o.type == "MESH" and len(o.data.vertices) == len(vertices[START]))


for name in ("panel.fbx", "own.fbx", "tracks_only.fbx", "panel.usdc", "own.usdc"):
    face = reimported(out / name)
    scene = bpy.context.scene
    got = played(face, range(1, START + FRAMES + 5))  # the frames before, of and after the clip
    keys = face.data.shape_keys.animation_data
    action = keys.action if keys is not None else None
    curves = anim_utils.action_get_channelbag_for_slot(action, keys.action_slot).fcurves if action else []
    report[name] = {
        "shape_keys": len(face.data.shape_keys.key_blocks) - 1,
        "animated": keys is not None and (keys.action is not None or len(keys.nla_tracks) > 0),
        "max_error": float(np.abs(got[START - 1 : START - 1 + FRAMES] - want).max()),
        "first_key": min((fc.keyframe_points[0].co.x for fc in curves), default=None),
    }
face = reimported(out / "panel.abc")
scene = bpy.context.scene
report["panel.abc"] = max(float(np.abs(world_vertices(face, f) - v).max()) for f, v in vertices.items())
report["abc_moves"] = float(np.abs(world_vertices(face, START + 10) - world_vertices(face, START)).max())
print("REPORT " + json.dumps(report))
