"""One job, baked: the flags of `bake` (or one manifest line) -> mesh, performance, bake, exports.

`run_job` is what the CLI and every batch worker call; it goes through the same pipeline (model.runtime.pipeline)
and the same bake (bake.bake_clip) as the Bake button.
"""

from __future__ import annotations

import contextlib
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


def _new_file() -> None:
    """An empty factory scene. Not read_factory_settings: that also resets the preferences, which disables the
    extension running this very job."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)


def load_mesh(spec: str):
    """Open or build the target mesh; returns the object."""
    import bpy

    from . import bake, heads
    from .core import files

    if spec == "demo":
        _new_file()
        return heads.add_demo_head(bpy.context)
    path, name = files.split_mesh_spec(spec)
    if path.endswith(".blend"):
        if not Path(path).is_file():
            raise JobError(f"mesh file not found: {path}")
        bpy.ops.wm.open_mainfile(filepath=str(Path(path).resolve()), load_ui=False)
    elif path:
        if not Path(path).exists():
            raise JobError(f"mesh file not found: {path}")
        _new_file()
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
    if job.get("audio"):
        try:
            audio.check_file(source)
        except audio.AudioError as exc:
            raise JobError(str(exc)) from None
    elif not source or not Path(source).is_file():
        raise JobError(f"capture file not found: {source}")
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
    hold = bool(job.get("hold_last"))
    try:
        result = bake.bake_clip(scene, obj, perf, source, start, combined, bool(job.get("audio")), hold)
    except bake.BakeError as exc:
        raise JobError(str(exc)) from None
    end = start + result.frames - 1
    timeline = (min(scene.frame_start, start), max(scene.frame_end, end))
    scene.frame_start, scene.frame_end = start, end
    mark("bake")
    # One clip's exports carry that clip alone (its frames, every other track muted) unless the job asks for the
    # whole timeline: the scene's frames as they play, the clip among the user's animation and other clips.
    whole = bool(job.get("whole_timeline"))
    first, last = timeline if whole else (start, end)
    try:
        if job.get("out"):
            exports.save_blend(job["out"])
        with contextlib.nullcontext() if whole else bake.solo(obj, source):
            for key, write in (
                ("fbx", exports.export_fbx),
                ("abc", exports.export_alembic),
                ("usd", exports.export_usd),
                ("preview", lambda p, o, a, b: preview.render(p, scene, o, (a, b), progress=preview.terminal_progress)),
            ):
                if job.get(key):
                    write(job[key], obj, first, last)
            if job.get("csv"):
                weights = bake.sample_weights(scene, obj, range(first, last + 1)) if whole else perf.weights
                exports.export_csv(job["csv"], weights, fps)
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
