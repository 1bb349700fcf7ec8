"""One job, baked in this process's Blender: the flags of `bake` (or one manifest line) -> mesh, performance,
bake, exports.

`run_job` is what the CLI and every batch worker call; it goes through the same Animator and the same bake
(bake.bake_clip) as the Bake button.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import time
from pathlib import Path

import bpy

from ..core import (
    audio,
    bundled_head,
    files,
    livelink,
    performance,
    phone_marks,
    processes,
    speakers,
    terminal,
    timebase,
    validate,
)
from ..core.character import Character
from ..core.emotion_keys import curves_json, heard_keys
from ..core.errors import InputError, UserError
from ..core.job import checked, keyed_from_voice
from . import bake, exports, heads, nla
from .preferences import own_folder
from .shape_keys import check_target, sync_mapping, update_mapping


@functools.cache
def _demo_template() -> Path:
    """Where the demo head is kept, saved in a file of its own: in the extension's own folder, named after the
    head's asset and Blender's version, which are what it is made from."""
    made_from = f"{files.sha256(bundled_head.ASSET)[:16]}-{'.'.join(map(str, bpy.app.version))}"
    return own_folder("cache") / f"demo_head-{made_from}.blend"


def _demo_head():
    """The demo head in a new file: reopening the saved head takes ~0.03 s, building it ~1 s (the most of a
    short job in a batch)."""
    template = _demo_template()
    if template.is_file():
        try:
            with terminal.quiet():  # Blender's "Read blend" line: the user asked for no file of this name
                bpy.ops.wm.open_mainfile(filepath=str(template), load_ui=False)
            return bpy.data.objects[heads.DEMO_NAME]
        except (RuntimeError, KeyError):  # not a file this makes: built again below, and saved over
            pass
    _new_file()
    obj = heads.add_demo_head(bpy.context)
    try:
        with files.atomic(template) as tmp:  # whole or absent, also when workers save it at the same time
            exports.save_blend(tmp)
    except (OSError, RuntimeError):  # no room for the copy: the next job builds the head again
        pass
    return obj


def _new_file() -> None:
    """An empty factory scene. Not read_factory_settings: that also resets the preferences, which disables the
    extension running this very job."""
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)


def load_mesh(spec: str):
    """Open or build the target mesh; returns the object. Raises InputError naming what is wrong with it."""
    if spec == "demo":
        return _demo_head()
    path, name = files.split_mesh_spec(spec)
    if path and not Path(path).exists():
        raise InputError(f"mesh file not found: {path} - check the path")
    if path and not Path(path).is_dir():  # a FaceXModel folder is read as a folder
        files.check_readable(path, "mesh file")
    if path.endswith(".blend"):
        try:
            bpy.ops.wm.open_mainfile(filepath=str(Path(path).resolve()), load_ui=False)
        except RuntimeError:
            raise InputError(f"cannot open {path}: not a readable .blend file - re-save it from Blender") from None
    elif path:
        _new_file()
        try:
            return heads.import_ict_head(bpy.context, path)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"cannot read an ICT-FaceKit head from {path}: {exc}") from None
    if not name:
        raise InputError(f"which object? write --mesh {path or 'FILE.blend'}:OBJECT")
    obj = bpy.data.objects.get(name)
    if obj is None:
        meshes = ", ".join(o.name for o in bpy.data.objects if o.type == "MESH") or "none"
        raise InputError(f"no object {name!r} in {path or 'the open file'} (meshes: {meshes}) - name a mesh it holds")
    check_target(obj)
    return obj


def read_character(path: str) -> Character:
    """A batch speaker's character file (core/speakers.py), read once per worker while it stays the same, and
    condensed to what Heard reads of it."""
    st = os.stat(path)
    return _character(path, st.st_size, st.st_mtime_ns)


SCENE_FREE_OUTPUTS = {"csv", "heard", "phones"}  # outputs written from the performance and the analysis, not the scene


@functools.lru_cache(maxsize=16)
def _character(path: str, size: int, mtime_ns: int) -> Character:
    return speakers.condensed(Character.load(path))


def run_job(job: dict, animator, character: Character | None = None, character_file: str | None = None) -> dict:
    """Bake one job (a dict of bake flags) in this process's Blender; returns per-stage seconds and warnings.
    `character`: the voice's Character (a batch's speaker, `bake --character`): what is heard is read against it.
    With `character_file`, the clip joins the character, saved there once the outputs are written.

    Raises InputError when the job's input is wrong (exit status 2): a flag or value, its audio, capture, curves
    or mesh; UserError when it cannot be done (exit status 1)."""
    t = {"start": time.perf_counter()}
    mark = lambda name: t.__setitem__(name, time.perf_counter())
    job, edit = checked(job)
    targets = _swept_targets(job)
    source = job.get("audio") or job.get("csv_in")
    if job.get("audio"):
        clip, capture = audio.decode(source), None
        warnings = [clip.warning] if clip.warning else []
    else:
        clip, capture = None, livelink.read_csv(source, job.get("capture_fps"))
        warnings = []
    obj, fps = _open_target(job)
    start = job.get("start_frame", 1)
    mark("load")
    missing, joined = [], False  # capture columns; whether the clip joined the character
    if clip is not None:
        analysis, joined = _analyse(animator, clip, source, character, character_file)
        del clip  # a long recording's samples are not kept through the bake
        mark("analyze")
        perf, texts = _voice_performance(job, edit, animator, analysis, fps, start)
        combined = job.get("layers") == "combined"
    else:
        if job.get("heard") or job.get("emotion_from_voice") or job.get("phones"):
            raise InputError("a capture has no voice to hear - heard, phones and emotion_from_voice go with audio")
        texts = {}
        mark("analyze")
        perf = performance.captured(capture.times, capture.weights, fps)
        missing = capture.missing
        combined = True
    mark("generate")
    end = start + len(perf.weights) - 1
    if end > validate.MAX_FRAME:
        raise InputError(f"start_frame={start} puts the clip past frame {validate.MAX_FRAME} - start earlier")
    scene = bpy.context.scene
    in_scene = bool(job.get("whole_timeline")) or not SCENE_FREE_OUTPUTS.issuperset(targets)
    result = _bake(job, obj, perf, source, start, combined, in_scene)
    timeline = (min(scene.frame_start, start), max(scene.frame_end, end))
    scene.frame_start, scene.frame_end = start, end
    mark("bake")
    _export(job, targets, obj, perf, source, fps, (start, end), timeline, in_scene, texts)
    if joined:
        _save_character(character, character_file)
    mark("export")
    return _stats(t, result, missing, warnings)


def _swept_targets(job: dict) -> dict[str, str]:
    """The job's outputs (flag -> path), with what a killed run of them left finished or removed."""
    targets = {k: job[k] for k in validate.OUTPUT_SUFFIXES if job.get(k)}
    try:
        files.sweep(list(targets.values()))
    except OSError as exc:
        raise UserError(f"Cannot clean up what a killed run left ({exc}) - check the output folders") from None
    return targets


def _open_target(job: dict):
    """The job's mesh opened or built, at the job's frame rate, its shape keys mapped; returns it and the fps."""
    obj = load_mesh(job.get("mesh") or "demo")
    scene = bpy.context.scene
    if job.get("fps"):
        scene.render.fps, scene.render.fps_base = timebase.blender_rate(job["fps"])
    update_mapping(obj, job.get("names") or "auto")
    return obj, scene.render.fps / scene.render.fps_base


def _analyse(animator, clip, source: str, character: Character | None, character_file: str | None):
    """The clip's analysis, heard against the character; returns it and whether the clip joined the character."""
    analysis = animator.analyze(clip.samples)
    joined = character_file is not None and character.add(analysis, source)
    if character is not None:
        analysis = animator.heard(analysis, character)
    return analysis, joined


def _voice_performance(job: dict, edit, animator, analysis, fps: float, start: int):
    """The performance generated from the voice's analysis, and the texts it gives (heard curves, phone marks)."""
    if job.get("emotion_from_voice") == "keys":
        edit = keyed_from_voice(edit, analysis)
    texts = {"heard": json.dumps(curves_json(heard_keys(analysis)), indent=1)} if job.get("heard") else {}
    if job.get("phones"):
        marks = phone_marks.timeline_marks(analysis, fps, start, job.get("text", ""))
        texts["phones"] = json.dumps({"fps": fps, "start_frame": start, "marks": marks}, indent=1)
    return animator.generate(analysis, edit, fps, job.get("seed", 0)), texts


def _bake(job: dict, obj, perf, source: str, start: int, combined: bool, in_scene: bool) -> nla.BakeResult:
    """The performance keyed into the scene, or, where no output reads the scene, only its channels matched."""
    if in_scene:
        scene = bpy.context.scene
        hold = bool(job.get("hold_last"))
        return bake.bake_clip(scene, obj, perf, source, start, combined, bool(job.get("audio")), hold)
    # a CSV is the performance itself: nothing else needs the scene's keys (2 GB for a 30-minute clip)
    return nla.BakeResult(unmatched=sync_mapping(obj).unmatched, frames=len(perf.weights))


def _export(job, targets, obj, perf, source, fps, clip_range, timeline, in_scene, texts) -> None:
    """Write the job's outputs over the clip's frames (`clip_range`), or the whole `timeline` where it asks."""
    scene = bpy.context.scene
    whole = bool(job.get("whole_timeline"))
    # One clip's exports carry that clip alone (its frames, every other track muted) unless the job asks for the
    # whole timeline: the scene's frames as they play, the clip among the user's animation and other clips.
    first, last = timeline if whole else clip_range
    if job.get("fbx") and first < 1:
        raise InputError(
            f"--fbx from frame {first}: Blender reads FBX time 0 as frame 1, so an FBX starts at frame 1 or later "
            "- bake from --start-frame 1 (and a timeline that starts at 1)"
        )
    weights = exports.sample_weights(scene, obj, range(first, last + 1)) if whole and job.get("csv") else perf.weights
    isolate = lambda: exports.solo(obj, source) if in_scene and not whole else contextlib.nullcontext()
    exports.write_outputs(targets, obj, first, last, weights, fps, isolate, texts)


def _save_character(character: Character, path: str) -> None:
    """The character the clip joined, saved to its file."""
    try:
        character.save(path)
    except OSError as exc:
        raise UserError(f"Cannot write the character file {path}: {exc.strerror or exc} - free space") from None


def _stats(t: dict[str, float], result: nla.BakeResult, missing: list[str], warnings: list[str]) -> dict:
    """What a job reports: frames, unmatched channels, missing capture columns, warnings and seconds per stage."""
    order = ["start", "load", "analyze", "generate", "bake", "export"]
    return {
        "frames": result.frames,
        "unmatched": result.unmatched,
        "missing_columns": missing,
        "warnings": warnings,
        **{b: round(t[b] - t[a], 4) for a, b in zip(order, order[1:])},
    }


def ensure_registered() -> None:
    """The Blender layer, where no add-on manager registered it (`python -m editemotalk_addon`, batch workers); and
    Blender's session folder in the temporary folder removed when the process leaves without Blender's shutdown,
    which would remove it (processes.leave)."""
    if not hasattr(bpy.types.Scene, "editemotalk"):
        from . import register

        register()
    processes.on_leave(_remove_session_folder)


def _remove_session_folder() -> None:
    shutil.rmtree(bpy.app.tempdir, ignore_errors=True)
