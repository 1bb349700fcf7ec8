"""One job, baked: the flags of `bake` (or one manifest line) -> mesh, performance, bake, exports.

`run_job` is what the CLI and every batch worker call; it goes through the same pipeline (model.runtime.pipeline)
and the same bake (bake.bake_clip) as the Bake button.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path


class JobError(RuntimeError):
    """One line: what is wrong with a job and how to fix it."""


def emotion_edit(job: dict):
    """The job's sliders: its curves file, overridden by its constant emotions (both checked by validate.job)."""
    from .core import animator, validate

    spec = validate.curves_file(job["emotion_curves"]) if job.get("emotion_curves") else {}
    return animator.EmotionEdit(
        {**spec.get("sliders", {}), **job.get("emotion", {})},
        mode=job.get("mode") or spec.get("mode", "voice"),
        intensity=job["intensity"] if "intensity" in job else spec.get("intensity", 1.0),
    )


def checked(job: dict):
    """(the job with every value checked and typed, its emotion edit); raises validate.InputError."""
    from .core import validate

    job = validate.job(job)
    validate.separate_paths(job)
    return job, emotion_edit(job)


_DEMO_TEMPLATE: list[Path] = []  # the demo head, built once per process, saved, and reopened for every later job


def _demo_head():
    """The demo head in a new file: reopening the saved head takes ~0.01 s, building it ~0.2 s (the most of a
    short job in a batch)."""
    import atexit
    import shutil
    import tempfile

    import bpy

    from . import exports, heads

    if _DEMO_TEMPLATE and _DEMO_TEMPLATE[0].is_file():
        bpy.ops.wm.open_mainfile(filepath=str(_DEMO_TEMPLATE[0]), load_ui=False)
        return bpy.data.objects[heads.DEMO_NAME]
    _new_file()
    obj = heads.add_demo_head(bpy.context)
    folder = Path(tempfile.mkdtemp(prefix="editemotalk-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    try:
        exports.save_blend(folder / "demo_head.blend")
        _DEMO_TEMPLATE[:] = [folder / "demo_head.blend"]
    except RuntimeError:  # no room for the copy: the next job builds the head again
        pass
    return obj


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
        return _demo_head()
    path, name = files.split_mesh_spec(spec)
    if path.endswith(".blend"):
        if not Path(path).is_file():
            raise JobError(f"mesh file not found: {path}")
        try:
            bpy.ops.wm.open_mainfile(filepath=str(Path(path).resolve()), load_ui=False)
        except RuntimeError:
            raise JobError(f"cannot open {path}: not a readable .blend file - re-save it from Blender") from None
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
    """Bake one job (a dict of bake flags) in this process's Blender; returns per-stage seconds and warnings.

    Raises validate.InputError for a bad flag or value (exit status 2), JobError when the job cannot be done."""
    import bpy

    from . import bake, exports
    from .core import audio, livelink, pipeline, validate

    t = {"start": time.perf_counter()}
    mark = lambda name: t.__setitem__(name, time.perf_counter())
    job, edit = checked(job)
    source = job.get("audio") or job.get("csv_in")
    if job.get("audio"):
        try:
            audio.check_file(source)
        except audio.AudioError as exc:
            raise JobError(str(exc)) from None
    elif not source or not Path(source).is_file():
        raise JobError(f"capture file not found: {source}")
    warnings = [w for w in [audio.truncation(source) if job.get("audio") else None] if w]
    obj = load_mesh(job.get("mesh") or "demo")
    scene = bpy.context.scene
    if job.get("fps"):
        scene.render.fps, scene.render.fps_base = round(job["fps"]), 1.0
    fps = scene.render.fps / scene.render.fps_base
    bake.update_mapping(obj, job.get("names") or "auto")
    start = job.get("start_frame", 1)
    mark("load")
    missing = []  # capture columns
    if job.get("audio"):
        try:
            analysis = animator.analyze(job["audio"])
        except audio.AudioError as exc:
            raise JobError(str(exc)) from None
        mark("analyze")
        _, perf = pipeline.animate(animator, job["audio"], edit, fps, job.get("seed", 0), analysis)
        combined = job.get("layers") == "combined"
    else:
        try:
            capture = livelink.read_csv(job["csv_in"], job.get("capture_fps", 60.0))
        except (ValueError, IndexError) as exc:
            raise JobError(str(exc)) from None
        mark("analyze")
        perf = pipeline.captured(capture.times, capture.weights, fps)
        missing = capture.missing
        combined = True
    mark("generate")
    end = start + len(perf.weights) - 1
    if end > validate.MAX_FRAME:
        raise validate.InputError(f"start_frame={start} puts the clip past frame {validate.MAX_FRAME} - start earlier")
    hold = bool(job.get("hold_last"))
    try:
        result = bake.bake_clip(scene, obj, perf, source, start, combined, bool(job.get("audio")), hold)
    except bake.BakeError as exc:
        raise JobError(str(exc)) from None
    timeline = (min(scene.frame_start, start), max(scene.frame_end, end))
    scene.frame_start, scene.frame_end = start, end
    mark("bake")
    # One clip's exports carry that clip alone (its frames, every other track muted) unless the job asks for the
    # whole timeline: the scene's frames as they play, the clip among the user's animation and other clips.
    whole = bool(job.get("whole_timeline"))
    first, last = timeline if whole else (start, end)
    try:
        targets = {k: job[k] for k in validate.OUTPUT_SUFFIXES if job.get(k)}
        weights = bake.sample_weights(scene, obj, range(first, last + 1)) if whole and job.get("csv") else perf.weights
        isolate = contextlib.nullcontext if whole else lambda: bake.solo(obj, source)
        exports.write_outputs(targets, obj, first, last, weights, fps, isolate)
    except exports.ExportError as exc:
        raise JobError(str(exc)) from None
    mark("export")
    order = ["start", "load", "analyze", "generate", "bake", "export"]
    return {
        "frames": result.frames,
        "unmatched": result.unmatched,
        "missing_columns": missing,
        "warnings": warnings,
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
