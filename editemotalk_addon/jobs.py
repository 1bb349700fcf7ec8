"""One job, baked: the flags of `bake` (or one manifest line) -> mesh, performance, bake, exports.

`run_job` is what the CLI and every batch worker call; it goes through the same pipeline (model.runtime.pipeline)
and the same bake (bake.bake_clip) as the Bake button.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


class JobError(RuntimeError):
    """One line: what is wrong with a job and how to fix it."""


def parse_emotions(items) -> dict[str, float]:
    """['happy=0.8', 'sad=0.2'] or 'happy=0.8;sad=0.2' or {'happy': 0.8} -> {'happy': 0.8, ...}"""
    if isinstance(items, dict):
        return {k: float(v) for k, v in items.items()}
    if isinstance(items, str):
        items = [x for x in items.replace(",", ";").split(";") if x.strip()]
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise JobError(f"bad emotion {item!r}: write NAME=VALUE, e.g. happy=0.8") from None
        if not sep:
            raise JobError(f"bad emotion {item!r}: write NAME=VALUE, e.g. happy=0.8")
    return out


def emotion_edit(job: dict):
    from .core import animator

    spec = {}
    if job.get("emotion_curves"):
        path = Path(job["emotion_curves"])
        try:
            spec = json.loads(path.read_text())
        except FileNotFoundError:
            raise JobError(f"emotion curves not found: {path}") from None
        except json.JSONDecodeError as exc:
            raise JobError(f"emotion curves {path} are not valid JSON (line {exc.lineno}): {exc.msg}") from None
    sliders = {**spec.get("sliders", {}), **parse_emotions(job.get("emotion") or [])}
    try:
        return animator.EmotionEdit(
            sliders,
            mode=job.get("mode") or spec.get("mode", "voice"),
            intensity=float(job.get("intensity") or spec.get("intensity", 1.0)),
        )
    except ValueError as exc:
        raise JobError(str(exc)) from None


def load_mesh(spec: str):
    """Open or build the target mesh; returns the object."""
    import bpy

    from . import bake, heads
    from .core import files

    if spec == "demo":
        bpy.ops.wm.read_factory_settings(use_empty=True)
        return heads.add_demo_head(bpy.context)
    path, name = files.split_mesh_spec(spec)
    if path.endswith(".blend"):
        if not Path(path).is_file():
            raise JobError(f"mesh file not found: {path}")
        bpy.ops.wm.open_mainfile(filepath=str(Path(path).resolve()), load_ui=False)
    elif path:
        if not Path(path).exists():
            raise JobError(f"mesh file not found: {path}")
        bpy.ops.wm.read_factory_settings(use_empty=True)
        try:
            return heads.import_ict_head(bpy.context, path)
        except (OSError, ValueError, KeyError) as exc:
            raise JobError(f"cannot read an ICT-FaceKit head from {path}: {exc}") from None
    if not name:
        raise JobError(f"which object? write --mesh {path or 'FILE.blend'}:OBJECT")
    obj = bpy.data.objects.get(name)
    if obj is None:
        meshes = ", ".join(o.name for o in bpy.data.objects if o.type == "MESH") or "none"
        raise JobError(f"no object {name!r} in {path or 'the open file'} (meshes: {meshes})")
    try:
        bake.check_target(obj)
    except bake.BakeError as exc:
        raise JobError(str(exc)) from None
    return obj


def run_job(job: dict, animator) -> dict:
    """Bake one job (a dict of bake flags) in this process's Blender; returns per-stage seconds."""
    import bpy

    from . import bake, exports, preview
    from .core import audio, livelink, pipeline

    t = {"start": time.perf_counter()}
    mark = lambda name: t.__setitem__(name, time.perf_counter())
    source = job.get("audio") or job.get("csv_in")
    if not source or not Path(source).is_file():
        raise JobError(f"{'audio' if job.get('audio') else 'capture'} file not found: {source}")
    obj = load_mesh(job.get("mesh") or "demo")
    scene = bpy.context.scene
    if job.get("fps"):
        scene.render.fps, scene.render.fps_base = round(float(job["fps"])), 1.0
    fps = scene.render.fps / scene.render.fps_base
    bake.update_mapping(obj, job.get("names") or "auto")
    edit = emotion_edit(job)
    start = int(job.get("start_frame") or 1)
    mark("load")
    missing = []  # capture columns
    if job.get("audio"):
        try:
            analysis = animator.analyze(job["audio"])
        except audio.AudioError as exc:
            raise JobError(str(exc)) from None
        mark("analyze")
        _, perf = pipeline.animate(animator, job["audio"], edit, fps, int(job.get("seed") or 0), analysis)
        combined = job.get("layers") == "combined"
    else:
        try:
            capture = livelink.read_csv(job["csv_in"], float(job.get("capture_fps") or 60.0))
        except (ValueError, IndexError) as exc:
            raise JobError(str(exc)) from None
        mark("analyze")
        perf = pipeline.captured(capture.times, capture.weights, fps)
        missing = capture.missing
        combined = True
    mark("generate")
    try:
        result = bake.bake_clip(scene, obj, perf, source, start, combined, sound=bool(job.get("audio")))
    except bake.BakeError as exc:
        raise JobError(str(exc)) from None
    end = start + result.frames - 1
    scene.frame_start, scene.frame_end = start, end
    mark("bake")
    try:
        for key, write in (
            ("out", lambda p: exports.save_blend(p)),
            ("fbx", lambda p: exports.export_fbx(p, obj, start, end)),
            ("abc", lambda p: exports.export_alembic(p, obj, start, end)),
            ("usd", lambda p: exports.export_usd(p, obj, start, end)),
            ("csv", lambda p: exports.export_csv(p, perf.weights, fps)),
            ("preview", lambda p: preview.render(p, scene, obj, (start, end), progress=preview.terminal_progress)),
        ):
            if job.get(key):
                write(job[key])
    except exports.ExportError as exc:
        raise JobError(str(exc)) from None
    mark("export")
    order = ["start", "load", "analyze", "generate", "bake", "export"]
    return {
        "frames": result.frames,
        "unmatched": result.unmatched,
        "missing_columns": missing,
        **{b: round(t[b] - t[a], 4) for a, b in zip(order, order[1:])},
    }


def load_animator(args):
    from .core import animator, weights

    try:
        return animator.Animator.load(args.weights, runtime=args.runtime)
    except weights.WeightsError as exc:
        raise JobError(str(exc)) from None


def ensure_registered() -> None:
    import atexit

    import bpy

    if not hasattr(bpy.types.Scene, "editemotalk"):
        from . import register, unregister

        register()
        # The bpy module waits forever at interpreter exit while Python classes are still registered.
        atexit.register(unregister)
