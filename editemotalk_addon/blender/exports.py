"""Writing results: .blend, FBX (shape-key animation), Alembic (vertex cache), USD, Live Link Face CSV.

A run's outputs are written all or none (`write_outputs`): each goes to a temporary file beside its destination,
is checked (the .blend and the CSV re-opened; FBX, Alembic and USD by their structure, which a cut-off file lacks),
and only when every one has passed are they moved into place. A failed, full or killed write leaves the user's
previous files as they were. The Alembic exporter, which aborts its whole process on a write error, runs in a
child Blender (alembic_child.py).
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import bpy
import numpy as np

from ..core import files, livelink, rig, terminal
from ..core.errors import UserError
from ..core.performance import check_finite
from . import nla, playblast
from .alembic_child import select_only
from .shape_keys import sync_mapping


def save_blend(path, compress: bool = False) -> None:
    """A copy of the open file; no .blend1 backup beside it, and the user's own backup preference left as it was."""
    filepaths = bpy.context.preferences.filepaths
    saved_versions = filepaths.save_version
    filepaths.save_version = 0
    try:
        with terminal.quiet():
            bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, check_existing=False, compress=compress)
    finally:
        filepaths.save_version = saved_versions


def _export(path, obj, frame_start: int, frame_end: int, operator, **options) -> None:
    """Select only `obj`, set the frame range, run a Blender exporter into `path`."""
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = frame_start, frame_end
    select_only(obj)
    with terminal.quiet():
        operator(filepath=str(path), **options)


def export_fbx(path, obj, frame_start: int, frame_end: int) -> None:
    """Shape-key animation baked per frame (the NLA layers summed), on the mesh alone, at FBX time
    (frame - 1) / fps: Blender's importer puts time t on frame t * fps + 1 (its Animation Offset, 1 by default),
    so the keys go back on the frames they came from. The exporter writes frame f at time f / fps, hence the
    frames are played one frame earlier while it runs (from frame 1: FBX time is never negative)."""
    with _one_frame_earlier(obj, frame_start, frame_end):
        _export(
            path,
            obj,
            frame_start - 1,
            frame_end - 1,
            bpy.ops.export_scene.fbx,
            use_selection=True,
            object_types={"MESH"},
            bake_anim=True,
            bake_anim_use_all_actions=False,
            bake_anim_use_nla_strips=False,
            bake_anim_simplify_factor=0.0,
            add_leaf_bones=False,
        )


@contextlib.contextmanager
def _one_frame_earlier(obj, first: int, last: int):
    """obj's shape keys play frames first..last as they play now, one frame earlier, while the block runs: every
    value sampled per frame into a temporary action that plays alone (as in `solo`); then all is put back."""
    scene, key = bpy.context.scene, obj.data.shape_keys
    current = scene.frame_current
    values = np.empty((last - first + 1, len(key.key_blocks)), np.float32)
    for i, frame in enumerate(range(first, last + 1)):
        scene.frame_set(frame)
        key.key_blocks.foreach_get("value", values[i])
    scene.frame_set(current)
    action, slot = nla.new_action("EET FBX export", key, "editemotalk:fbx-export", "export")
    try:
        nla.write_action(action, slot, {kb.name: values[:, i] for i, kb in enumerate(key.key_blocks) if i}, first - 1)
        with _playing_only(key.animation_data, set()):
            key.animation_data.action = action
            key.animation_data.action_slot = slot
            yield
    finally:
        bpy.data.actions.remove(action)


ALEMBIC_OPTIONS = {"selected": True, "visible_objects_only": False, "export_hair": False, "export_particles": False}


def export_alembic(path, obj, frame_start: int, frame_end: int) -> None:
    """Deformed vertices every frame (for compositing and engines without blend shapes), written by a child
    Blender from a copy of this scene, so that an abort of the Alembic library fails this file only."""
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = frame_start, frame_end
    scratch = Path(f"{path}.blend")  # beside the temporary file: removed with it, swept with its leftovers
    save_blend(scratch, compress=True)
    script = str(Path(__file__).with_name("alembic_child.py"))
    options = json.dumps({**ALEMBIC_OPTIONS, "start": frame_start, "end": frame_end})
    args = ["--", str(os.getpid()), str(scratch), obj.name, str(path), options]
    blender = bpy.app.binary_path  # "" on the bpy module, whose Python imports bpy itself
    command = [blender, "-b", "--factory-startup", "--python", script] if blender else [sys.executable, script]
    # It dies with this process (killed on an exception by subprocess.run; when this process is killed, as it sets
    # itself up to), so that no exporter outlives the bake writing into a file nobody will move. No preexec_fn:
    # Python code between fork and exec can deadlock a process with threads, as Blender is.
    done = subprocess.run([*command, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the Alembic exporter stopped (exit status {done.returncode}), disk full?")


def export_usd(path, obj, frame_start: int, frame_end: int) -> None:
    _export(
        path,
        obj,
        frame_start,
        frame_end,
        bpy.ops.wm.usd_export,
        selected_objects_only=True,
        export_animation=True,
        export_shapekeys=True,
        export_materials=False,
    )


def _preview(path, obj, start: int, end: int) -> None:
    playblast.render_into(path, bpy.context.scene, obj, (start, end), progress=True)


WRITERS = {
    "out": lambda path, obj, start, end, weights, fps: save_blend(path),
    "fbx": lambda path, obj, start, end, weights, fps: export_fbx(path, obj, start, end),
    "abc": lambda path, obj, start, end, weights, fps: export_alembic(path, obj, start, end),
    "usd": lambda path, obj, start, end, weights, fps: export_usd(path, obj, start, end),
    "csv": lambda path, obj, start, end, weights, fps: livelink.write_csv(path, weights, fps),
    "preview": lambda path, obj, start, end, weights, fps: _preview(path, obj, start, end),
}


def problem(key: str, path: Path, obj_name: str, frames: int, fps: float) -> str | None:
    """What is wrong with a freshly written output, or None when it holds the object and its animation."""
    if not path.is_file() or path.stat().st_size == 0:
        return "nothing was written (disk full?)"
    if key == "heard":
        try:
            return None if "sliders" in json.loads(path.read_text(encoding="utf-8")) else "the curves lack sliders"
        except (ValueError, UnicodeDecodeError):
            return "the curves are not complete JSON"
    if key == "out":
        with bpy.data.libraries.load(str(path)) as (source, _):
            names = list(source.objects)
        return None if obj_name in names else f"the saved file lacks {obj_name!r}"
    if key == "csv":
        rows = len(livelink.read_csv(path, fps).weights)
        return None if rows == frames else f"the CSV holds {rows} of {frames} frames"
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if key == "usd":  # a crate file points at its table of contents, which is written last
            if data[:5] == b"#usda":
                return None
            toc = int.from_bytes(data[16:24], "little") if data[:8] == b"PXR-USDC" else 0
            return None if toc > 0 and toc + 8 <= len(data) else "the USD file is incomplete"
        if key == "preview":  # ffmpeg writes the movie's index (moov) when it closes the file
            return None if data[4:8] == b"ftyp" and data.find(b"moov") >= 0 else "the movie is incomplete"
        if key == "abc":  # Ogawa sets its "frozen" byte to 0xff only when the archive was closed complete
            return None if data[:6] == b"Ogawa\xff" else "the Alembic archive is incomplete"
        if data[:18] != b"Kaydara FBX Binary":
            return "not an FBX file"
        if data.find(b"Geometry") < 0:
            return "the FBX holds no mesh"
        return None if frames < 2 or data.find(b"AnimationCurve") >= 0 else "the FBX holds no animation"


def _target(path) -> Path:
    path = Path(path).resolve()
    if path.parent.exists() and not path.parent.is_dir():
        raise UserError(f"Cannot write {path}: {path.parent} is a file, not a folder - choose another path.")
    if path.is_dir():
        raise UserError(f"Cannot write {path}: it is a folder - give a file name.")
    if path.exists() and not path.stat().st_mode & stat.S_IWUSR:
        raise UserError(f"Cannot write {path}: the file is read-only - make it writable or choose another path.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.sweep([path])
    except OSError as exc:
        raise UserError(f"Cannot write {path}: {exc.strerror or exc} - choose a writable folder.") from None
    return path


@contextlib.contextmanager
def atomic_outputs(paths: list) -> Iterator[list[Path]]:
    """A temporary path beside each destination; when the block succeeds all of them replace their destinations,
    else none does and the temporaries are removed. Raises UserError naming the file."""
    finals = [_target(p) for p in paths]
    try:
        with files.atomic_all(finals) as tmps:
            yield tmps
    except UserError:
        raise
    except Exception as exc:  # exporters raise OSError, RuntimeError and their readers' own errors
        where = finals[0] if len(finals) == 1 else "the outputs"
        raise UserError(f"Cannot write {where}: {_last_line(exc)} - check free space and permissions.") from None


@contextlib.contextmanager
def atomic(path) -> Iterator[Path]:
    """One output, complete or absent: a temporary path beside `path`, moved into place when the block succeeds."""
    with atomic_outputs([path]) as (tmp,):
        yield tmp
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise UserError(f"Cannot write {path}: nothing was written (disk full?) - free space and retry.")


def write_outputs(
    targets: dict[str, str],
    obj,
    start: int,
    end: int,
    weights,
    fps: float,
    isolate=contextlib.nullcontext,
    texts: dict[str, str] | None = None,
) -> None:
    """Every output of a run ({"fbx": path, ...}), all or none: written beside their destinations, each checked,
    then all moved into place. The .blend is the scene as it is; the exports of frames start..end run inside
    `isolate()` (solo: the clip alone); `texts` holds the text outputs ({"heard": JSON}). Raises UserError naming
    the first file that failed, or any NaN among `weights` (the CSV's) before anything is written."""
    check_finite(weights, "the animation to export")
    texts = texts or {}

    def write(key, final, tmp):
        try:
            if key in texts:
                Path(tmp).write_text(texts[key], encoding="utf-8")
            else:
                WRITERS[key](tmp, obj, start, end, weights, fps)
            trouble = problem(key, tmp, obj.name, end - start + 1, fps)
        except Exception as exc:  # exporters raise OSError, RuntimeError and their readers' own errors
            trouble = _last_line(exc)
        if trouble:
            raise UserError(f"Cannot write {Path(final).resolve()}: {trouble} - check free space and permissions.")

    with atomic_outputs(list(targets.values())) as tmps:
        jobs = [(key, final, tmp) for (key, final), tmp in zip(targets.items(), tmps)]
        for job in jobs:
            if job[0] == "out":
                write(*job)
        with isolate():
            for job in jobs:
                if job[0] != "out":
                    write(*job)


def _last_line(exc: Exception) -> str:
    """The specific part of an error: the last line of Blender's report of a Python traceback, or the message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.startswith("Location:")]
    return lines[-1] if lines else type(exc).__name__


def solo(obj, source_path: str):
    """Evaluate obj's shape keys with this clip's tracks alone (exports of one clip)."""
    ad = obj.data.shape_keys.animation_data
    return _playing_only(ad, set(nla.clip_tracks(ad, nla.clip_key(source_path))))


@contextlib.contextmanager
def _playing_only(ad, tracks: set):
    """While the block runs, only `tracks` of the animation data `ad` play: every other track is muted and the
    active action set aside; then all is put back as it was."""
    saved = [(t, t.mute) for t in ad.nla_tracks]
    action, slot = ad.action, ad.action_slot
    try:
        for track, _ in saved:
            track.mute = track not in tracks
        ad.action = None
        yield
    finally:
        for track, mute in saved:
            track.mute = mute
        ad.action = action
        if action is not None:
            ad.action_slot = slot


def sample_weights(scene, obj, frames) -> np.ndarray:
    """(F, 52) ARKit weights as the scene plays them on obj's mapped shape keys (a whole-timeline CSV)."""
    blocks = obj.data.shape_keys.key_blocks
    pairs = sync_mapping(obj).pairs
    out = np.zeros((len(frames), rig.NUM_CHANNELS), np.float32)
    for i, frame in enumerate(frames):
        scene.frame_set(frame)
        for arkit, target in pairs:
            out[i, rig.INDEX[arkit]] = blocks[target].value
    return out


def write_preview(path, scene, obj, frames: tuple[int, int], size: int = playblast.SIZE, progress=False) -> None:
    """The playblast of `frames` into the movie `path` now (blocking), all or none; `progress`: a progress line."""
    with atomic(path) as tmp:
        playblast.render_into(tmp, scene, obj, frames, size, progress)
