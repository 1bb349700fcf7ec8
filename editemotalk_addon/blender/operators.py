"""Operators: Analyze (background, cancellable), Bake, Clear, mapping, heads, previewing one frame, and the preview
video (a playblast with sound, cancellable)."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from pathlib import Path

import bpy

from ..core import files
from ..core.errors import UserError
from . import bake, exports, heads, markers, nla, playblast, session
from .shape_keys import check_target, update_mapping


def reporting(method):
    """The add-on's one error boundary: a UserError raised while an operator runs becomes its report (the status
    bar and the Info log, one line) and the operator is cancelled. Anything else is a bug and keeps its traceback."""

    def guarded(self, *args):
        try:
            return method(self, *args)
        except UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}

    # Blender checks how many arguments an operator's execute (self, context) and invoke (+ event) take
    if method.__code__.co_argcount == 3:
        return functools.wraps(method)(lambda self, context, event: guarded(self, context, event))
    return functools.wraps(method)(lambda self, context: guarded(self, context))


def _report_analysis(context, path: str, analysis, key: bool = True) -> str:
    """What Analyze reports (and Bake, which analyzes a clip first when needed), also kept in
    scene.editemotalk.heard for scripts and on the panel's status line. After Analyze (`key`), with Key what is
    heard on, the sliders are keyed with it (Key Heard Emotion, its own undo step); Bake never keys: it bakes the
    sliders as the animator left them."""
    s = context.scene.editemotalk
    s.heard = session.as_heard(context, analysis).summary()
    if key and s.key_heard and bpy.ops.editemotalk.key_heard.poll():
        bpy.ops.editemotalk.key_heard()
    s.status = f"Analyzed {bpy.path.basename(path)}: heard {s.heard}"
    if s.mark_phones:
        placed = markers.place(context.scene, analysis, s.start_frame, session.scene_fps(context.scene), s.line)
        s.status += f"; {placed} {'word' if s.line.strip() else 'phone'} marker(s)"
    return s.status


class EET_OT_analyze(bpy.types.Operator):
    """Analyze the voice: content and emotion, once per clip (runs in the background; Esc cancels). The face is
    ready as soon as what is said is known; how it is said fills Heard when it is ready"""

    bl_idname = "editemotalk.analyze"
    bl_label = "Analyze"

    _thread = None
    _timer = None

    @reporting
    def execute(self, context):  # scripts and background mode: synchronous
        check_target(context.scene.editemotalk.target)
        path = session.audio_path(context.scene)
        analysis = session.analyze(context, path)
        self.report({"INFO"}, _report_analysis(context, path, analysis))
        session.request_refresh(context.scene)
        return {"FINISHED"}

    @reporting
    def invoke(self, context, event):
        check_target(context.scene.editemotalk.target)
        self._path = session.audio_path(context.scene)
        self._animator = session.get_animator(context)
        if session.cached_analysis(self._path) is not None:
            return self.execute(context)
        self._result, self._cancelled, self._lips_shown = {}, False, False

        def work(result=self._result, animator=self._animator, path=self._path):
            try:
                result["lips"] = lips = animator.analyze(path, voice=False)  # what is said: the face, editable
                result["analysis"] = animator.hear(lips, path)  # how it is said: Heard, and the voice mode
            except Exception as exc:  # reported on the main thread
                result["error"] = exc

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.progress_begin(0, 100)
        self._ticks = 0
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self._cancelled = True
            return self._finish(context, "Analysis cancelled")
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        self._ticks += 1
        context.window_manager.progress_update(min(95, 5 + 3 * self._ticks))
        name = bpy.path.basename(self._path)
        if "lips" in self._result and not self._lips_shown:  # the face first, while the voice is heard
            self._lips_shown = True
            session.store_analysis(self._path, self._result["lips"])
            session.request_refresh(context.scene)
            context.scene.editemotalk.status = f"Analyzed what is said in {name}; hearing how it is said"
        if context.workspace:
            doing = "hearing the voice of" if self._lips_shown else "analyzing"
            context.workspace.status_text_set(f"EditEmoTalk: {doing} {name} (Esc cancels)")
        if self._thread.is_alive():
            return {"PASS_THROUGH"}
        if "error" in self._result:
            self.report({"ERROR"}, str(self._result["error"]).splitlines()[0])
            return self._finish(context, None, cancelled=True)
        session.store_analysis(self._path, self._result["analysis"])
        session.request_refresh(context.scene)
        return self._finish(context, _report_analysis(context, self._path, self._result["analysis"]))

    def _finish(self, context, message, cancelled=False):
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        if context.workspace:
            context.workspace.status_text_set(None)
        if message:
            self.report({"INFO"}, message)
            context.scene.editemotalk.status = message
        return {"CANCELLED"} if cancelled or self._cancelled else {"FINISHED"}


class EET_OT_key_heard(bpy.types.Operator):
    """Key the sliders with the emotion heard in the voice, phrase by phrase (absolute mode): keep, move or delete
    the keys like any others. Pressed again, it replaces only the keys it wrote; a slider you keyed over the clip
    or set by hand stays as you left it (one undo step)"""

    bl_idname = "editemotalk.key_heard"
    bl_label = "Key Heard Emotion"
    bl_options = {"REGISTER", "UNDO"}

    @reporting
    def execute(self, context):
        scene = context.scene
        s = scene.editemotalk
        analysis = session.analyze(context, session.audio_path(scene))
        keyed, theirs = session.key_heard(scene, analysis)
        left = "; left " + ", ".join(f"{name} ({why})" for name, why in theirs.items()) if theirs else ""
        if not keyed:
            self.report({"INFO"}, f"Nothing keyed: no phrase sounds more than neutral{left}")
            return {"FINISHED"}
        s.mode = "ABSOLUTE"
        summary = ", ".join(f"{name} ({n} phrase{'s' * (n > 1)}, {c:.0%} sure)" for name, (n, c) in keyed.items())
        self.report({"INFO"}, f"Keyed {summary}{left}")
        return {"FINISHED"}


class EET_OT_bake(bpy.types.Operator):
    """Bake the performance into shape-key actions on NLA tracks (one undo step)"""

    bl_idname = "editemotalk.bake"
    bl_label = "Bake"
    bl_options = {"REGISTER", "UNDO"}

    @reporting
    def execute(self, context):
        scene = context.scene
        s = scene.editemotalk
        check_target(s.target)
        path = session.audio_path(scene)
        analysis = session.analyze(context, path)
        heard = _report_analysis(context, path, analysis, key=False)
        perf = session.performance(context, scene, analysis)
        result = bake.bake_clip(scene, s.target, perf, path, s.start_frame, s.layers == "COMBINED", hold=s.hold_last)
        bake.fit_scene_range(scene, s.target)
        note = f"; unmatched: {', '.join(result.unmatched)}" if result.unmatched else ""
        self.report({"INFO"}, f"{heard}; baked {result.frames} frames into {len(result.tracks)} NLA track(s){note}")
        return {"FINISHED"}


class EET_OT_clear(bpy.types.Operator):
    """Remove what baking this clip made (tracks, actions, sound strip); your own animation and strips stay"""

    bl_idname = "editemotalk.clear"
    bl_label = "Clear"
    bl_options = {"REGISTER", "UNDO"}

    @reporting
    def execute(self, context):
        s = context.scene.editemotalk
        check_target(s.target)
        removed = bake.clear_clip(context.scene, s.target, session.audio_path(context.scene))
        s.live_preview = False
        self.report({"INFO"}, f"Removed {removed} EditEmoTalk track(s)")
        return {"FINISHED"}


class EET_OT_update_mapping(bpy.types.Operator):
    """Match ARKit channels to the target's shape keys with the chosen preset"""

    bl_idname = "editemotalk.update_mapping"
    bl_label = "Match Shape Keys"
    bl_options = {"REGISTER", "UNDO"}

    @reporting
    def execute(self, context):
        obj = context.scene.editemotalk.target
        check_target(obj)
        mapping = update_mapping(obj)
        self.report({"INFO"}, f"{len(mapping.pairs)} shape keys matched, {len(mapping.unmatched)} channels unmatched")
        return {"FINISHED"}


class EET_OT_add_demo_head(bpy.types.Operator):
    """Add a demo head with ARKit shape keys: the realistic ICT-FaceKit face, or a stylised head"""

    bl_idname = "editemotalk.add_demo_head"
    bl_label = "Add Demo Head"
    bl_options = {"REGISTER", "UNDO"}

    kind: bpy.props.EnumProperty(
        name="Head",
        items=(
            ("REALISTIC", "Realistic", "The ICT-FaceKit face (MIT licence): 51 ARKit shape keys, no tongueOut"),
            ("STYLISED", "Stylised", "Our stylised head with all 52 ARKit shape keys"),
        ),
    )
    place: bpy.props.EnumProperty(
        name="Place",
        items=(
            ("CAMERA", "Before the Camera", "Facing the scene's camera, filling its frame; the camera stays put"),
            ("CURSOR", "At the 3D Cursor", "At the 3D cursor, facing front"),
        ),
    )
    hide_default_cube: bpy.props.BoolProperty(
        name="Hide Default Cube",
        description="Hide the startup file's cube (named Cube, 8 vertices) in the viewport and in renders; it is "
        "not deleted",
    )

    def execute(self, context):
        scene = context.scene
        obj = heads.add_demo_head(context, scene.cursor.location, stylised=self.kind == "STYLISED")
        scene.editemotalk.target = obj
        update_mapping(obj, "arkit")
        done = [f"Added {obj.name}"]
        camera = scene.camera
        if self.place == "CAMERA" and camera is not None and camera.data.type == "PERSP":
            heads.place_before_camera(obj, camera, scene)
            done[0] += f" before {camera.name}"
        else:
            done[0] += " at the 3D cursor"
        if heads.frame_in_viewports(context, obj):
            done.append("framed in the viewport")
        cube = bpy.data.objects.get("Cube")
        if self.hide_default_cube and cube is not None and cube.type == "MESH" and len(cube.data.vertices) == 8:
            cube.hide_set(True)
            cube.hide_render = True
            done.append("Cube hidden")
        self.report({"INFO"}, ", ".join(done))
        return {"FINISHED"}


class EET_OT_import_ict_head(bpy.types.Operator):
    """Import an ICT-FaceKit head (FaceXModel OBJ folder or the compact .npz) with its _L/_R shape keys"""

    bl_idname = "editemotalk.import_ict_head"
    bl_label = "Import ICT-FaceKit Head"
    bl_options = {"REGISTER", "UNDO"}

    filepath: bpy.props.StringProperty(subtype="FILE_PATH")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    @reporting
    def execute(self, context):
        try:
            obj = heads.import_ict_head(context, self.filepath)
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(f"Cannot read an ICT-FaceKit head from {self.filepath}: {exc}") from None
        context.scene.editemotalk.target = obj
        update_mapping(obj, "suffix_lr")
        return {"FINISHED"}


class EET_OT_preview(bpy.types.Operator):
    """Render the baked clip with its sound into a small MP4 (Workbench playblast; Esc cancels)"""

    bl_idname = "editemotalk.preview"
    bl_label = "Preview"

    filepath: bpy.props.StringProperty(
        subtype="FILE_PATH", description="Movie to write (default: <clip>_preview.mp4 beside the .blend file)"
    )
    size: bpy.props.IntProperty(name="Size", description="Width and height in pixels", default=playblast.SIZE, min=64)

    def _prepare(self, context):
        s = context.scene.editemotalk
        check_target(s.target)
        path = session.audio_path(context.scene)
        frames = playblast.clip_frames(s.target, path)
        self.filepath = bpy.path.abspath(self.filepath) if self.filepath else playblast.default_path(path)
        return s.target, frames

    @reporting
    def execute(self, context):  # scripts and background mode: synchronous
        obj, frames = self._prepare(context)
        exports.write_preview(self.filepath, context.scene, obj, frames, self.size)
        context.scene.editemotalk.status = f"Preview written to {self.filepath}"
        self.report({"INFO"}, context.scene.editemotalk.status)
        return {"FINISHED"}

    @reporting
    def invoke(self, context, event):
        """Blender's own render job renders the frames (Esc stops it); we follow it in the status bar."""
        obj, frames = self._prepare(context)
        try:
            os.makedirs(os.path.dirname(self.filepath), exist_ok=True)
        except OSError as exc:
            raise UserError(f"Cannot write {self.filepath}: {exc.strerror or exc} - choose another folder.") from None
        self._tmp = str(files.partial_path(Path(self.filepath)))
        self._blast = playblast.Playblast(context.scene, obj, frames, self._tmp, self.size)
        self._done = None
        self._handlers = (
            (bpy.app.handlers.render_complete, self._complete),
            (bpy.app.handlers.render_cancel, self._cancel),
        )
        for handlers, fn in self._handlers:
            handlers.append(fn)
        if bpy.ops.render.render("INVOKE_DEFAULT", animation=True) != {"RUNNING_MODAL"}:
            self._finish(context)
            raise UserError("Blender could not start the preview render - is another render running?")
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.25, window=context.window)
        wm.progress_begin(0, self._blast.total)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _complete(self, *args):
        self._done = "complete"

    def _cancel(self, *args):
        self._done = "cancelled"

    def modal(self, context, event):
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        blast = self._blast
        context.window_manager.progress_update(blast.rendered)
        if context.workspace:
            context.workspace.status_text_set(
                f"EditEmoTalk: preview frame {blast.rendered}/{blast.total} (Esc cancels)"
            )
        if self._done is None:
            return {"PASS_THROUGH"}
        done = self._done == "complete" and os.path.exists(self._tmp)
        if done:
            os.replace(self._tmp, self.filepath)
        self._finish(context)
        context.scene.editemotalk.status = f"Preview written to {self.filepath}" if done else "Preview cancelled"
        self.report({"INFO"}, context.scene.editemotalk.status)
        return {"FINISHED"} if done else {"CANCELLED"}

    def _finish(self, context):
        for handlers, fn in self._handlers:
            if fn in handlers:
                handlers.remove(fn)
        self._blast.restore()
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)
        wm = context.window_manager
        if getattr(self, "_timer", None):
            wm.event_timer_remove(self._timer)
            wm.progress_end()
        if context.workspace:
            context.workspace.status_text_set(None)


class EET_OT_remove_markers(bpy.types.Operator):
    """Remove the phone markers Analyze placed (named EET:...); your own markers stay (one undo step)"""

    bl_idname = "editemotalk.remove_markers"
    bl_label = "Remove Phone Markers"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        self.report({"INFO"}, f"Removed {markers.remove_ours(context.scene)} phone marker(s)")
        return {"FINISHED"}


class EET_OT_export(bpy.types.Operator):
    """Export the baked clip (or every baked clip on the face) through the same writers as the command line, at
    the scene's frame rate on the clip's own frames"""

    bl_idname = "editemotalk.export"
    bl_label = "Export"

    format: bpy.props.EnumProperty(
        name="Format",
        items=(
            ("FBX", "FBX", "Shape-key animation, baked per frame, on the clip's own frames (game engines, Maya)"),
            ("ABC", "Alembic", "The deformed vertices every frame (compositing, engines without blend shapes)"),
            ("USD", "USD", "The mesh with its blend shapes and their weights every frame"),
            ("CSV", "Live Link CSV", "The 52 ARKit weights per frame as the Live Link Face app writes them"),
        ),
    )
    filepath: bpy.props.StringProperty(
        subtype="FILE_PATH", description="File to write (default: <clip>.<format> beside the .blend file)"
    )
    every_clip: bpy.props.BoolProperty(
        name="Every Clip",
        description="The face as it plays over the frames of every clip baked on it (your own keys included), "
        "not the chosen clip alone",
    )

    def _default_path(self, context) -> str:
        suffix = exports.PANEL_FORMATS[self.format][1]
        return playblast.default_path(session.audio_path(context.scene), suffix, "exports")

    @reporting
    def invoke(self, context, event):
        check_target(context.scene.editemotalk.target)
        self.filepath = self.filepath or self._default_path(context)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    @reporting
    def execute(self, context):
        scene, obj = context.scene, context.scene.editemotalk.target
        check_target(obj)
        path = session.audio_path(scene)
        key, _, name = exports.PANEL_FORMATS[self.format]
        target = bpy.path.abspath(self.filepath) if self.filepath else self._default_path(context)
        if self.every_clip:
            frames, isolate, what = nla.baked_frames(obj.data.shape_keys), None, "every clip"
            if frames is None:
                raise UserError(f"'{obj.name}' has no baked clip - Bake, then Export.")
        else:
            frames, what = playblast.clip_frames(obj, path), nla.clip_name(path)
            isolate = lambda: exports.solo(obj, path)
        exports.export_baked(scene, obj, key, target, frames, isolate or contextlib.nullcontext)
        fps = scene.render.fps / scene.render.fps_base
        self.report({"INFO"}, f"Wrote {name} of {what} (frames {frames[0]}-{frames[1]} at {fps:g} fps) to {target}")
        return {"FINISHED"}


CLASSES = (
    EET_OT_analyze,
    EET_OT_key_heard,
    EET_OT_bake,
    EET_OT_clear,
    EET_OT_update_mapping,
    EET_OT_add_demo_head,
    EET_OT_import_ict_head,
    EET_OT_preview,
    EET_OT_export,
    EET_OT_remove_markers,
)
