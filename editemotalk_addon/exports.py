"""Writing results: .blend, FBX (shape-key animation), Alembic (vertex cache), USD, Live Link Face CSV.

Every file is written next to its destination under a temporary name and moved into place only when complete, so
an interrupted or failed write (disk full, killed worker) never leaves a half file that looks finished.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import bpy

from .core import files, livelink


class ExportError(RuntimeError):
    """One line: which file could not be written and why."""


@contextmanager
def atomic(path: str | Path):
    """Yields a temporary path beside `path`; on success it replaces `path`, on failure it is removed."""
    path = Path(path).resolve()
    if path.parent.exists() and not path.parent.is_dir():
        raise ExportError(f"Cannot write {path}: {path.parent} is a file, not a folder - choose another path.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc} - choose a writable folder.") from None
    try:
        with files.atomic(path) as tmp:
            yield tmp
            if not tmp.exists() or tmp.stat().st_size == 0:
                raise ExportError(f"Cannot write {path}: nothing was written (disk full?) - free space and retry.")
    except ExportError:
        raise
    except (OSError, RuntimeError) as exc:
        raise ExportError(
            f"Cannot write {path}: {str(exc).splitlines()[0] if str(exc) else exc} - check free space and permissions."
        ) from None


def _only_selected(obj):
    for o in bpy.context.view_layer.objects:
        o.select_set(o == obj)
    bpy.context.view_layer.objects.active = obj


def save_blend(path) -> None:
    """A copy of the open file; no .blend1 backup beside it, and the user's own backup preference left as it was."""
    filepaths = bpy.context.preferences.filepaths
    saved_versions = filepaths.save_version
    filepaths.save_version = 0
    try:
        with atomic(path) as tmp:
            bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, check_existing=False)
    finally:
        filepaths.save_version = saved_versions


def _export(path, obj, frame_start: int, frame_end: int, operator, **options) -> None:
    """Select only `obj`, set the frame range, run a Blender exporter into a temporary file, move it in place."""
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = frame_start, frame_end
    _only_selected(obj)
    with atomic(path) as tmp:
        operator(filepath=str(tmp), **options)


def export_fbx(path, obj, frame_start: int, frame_end: int) -> None:
    """Shape-key animation baked per frame (the NLA layers summed), on the mesh alone."""
    _export(
        path,
        obj,
        frame_start,
        frame_end,
        bpy.ops.export_scene.fbx,
        use_selection=True,
        object_types={"MESH"},
        bake_anim=True,
        bake_anim_use_all_actions=False,
        bake_anim_use_nla_strips=False,
        bake_anim_simplify_factor=0.0,
        add_leaf_bones=False,
    )


def export_alembic(path, obj, frame_start: int, frame_end: int) -> None:
    """Deformed vertices every frame (for compositing and engines without blend shapes)."""
    _export(
        path,
        obj,
        frame_start,
        frame_end,
        bpy.ops.wm.alembic_export,
        start=frame_start,
        end=frame_end,
        selected=True,
        visible_objects_only=False,
        export_hair=False,
        export_particles=False,
    )


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


def export_csv(path, weights, fps: float) -> None:
    with atomic(path) as tmp:
        livelink.write_csv(tmp, weights, fps)
