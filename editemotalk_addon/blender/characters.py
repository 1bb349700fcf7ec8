"""The Character operators (their panel is in panels.py): whose voice a clip is, the clips that voice's baseline is
built from (kept in the .blend), and the same character file that `bake --character` and a batch's speakers write.

Each operator is one undo step (saving a file changes nothing in the scene) and reports one line.
"""

from __future__ import annotations

import bpy

from ..core.character import Character
from ..core.errors import UserError
from . import session
from .operators import reporting

MAX_ROWS = 12  # clips listed on the panel; the count and seconds cover all of them


def summary(voice: Character) -> str:
    """'3 clips, 8.2 s': what a character is built from."""
    return f"{len(voice)} clip{'s' * (len(voice) != 1)}, {voice.seconds:.1f} s"


def _changed(context, voice: Character) -> None:
    """Keep `voice` in the .blend and show what the clip now sounds like against it."""
    session.keep_character(context.scene, voice)
    s = context.scene.editemotalk
    try:
        analysis = session.cached_analysis(session.audio_path(context.scene))
    except (UserError, OSError):  # no clip chosen, or it vanished: nothing heard to update
        analysis = None
    if analysis is not None:
        s.heard = session.as_heard(context, analysis).summary()
    session.request_refresh(context.scene)


class EET_OT_character_add_clip(bpy.types.Operator):
    """Add the chosen clip to the character's voice (analysing it first if needed); the same recording counts once"""

    bl_idname = "editemotalk.character_add_clip"
    bl_label = "Add This Clip"
    bl_options = {"REGISTER", "UNDO"}

    @reporting
    def execute(self, context):
        voice = session.editable_character(context.scene)
        path = session.audio_path(context.scene)
        name = bpy.path.basename(path)
        if not voice.add(session.clip_analysis(context, path), path):
            self.report({"INFO"}, f"{voice.name} already holds {name} ({summary(voice)})")
            return {"CANCELLED"}
        _changed(context, voice)
        self.report({"INFO"}, f"{voice.name}: added {name} - built from {summary(voice)}")
        return {"FINISHED"}


class EET_OT_character_drop_clip(bpy.types.Operator):
    """Drop this clip from the character's voice (its file is not touched)"""

    bl_idname = "editemotalk.character_drop_clip"
    bl_label = "Drop Clip"
    bl_options = {"REGISTER", "UNDO"}

    key: bpy.props.StringProperty(name="Clip", description="The clip's audio key", options={"HIDDEN", "SKIP_SAVE"})

    @reporting
    def execute(self, context):
        voice = session.editable_character(context.scene)
        entry = next((e for e in voice.clips if e.key == self.key), None)
        if entry is None:
            raise UserError(f"{voice.name} holds no clip {self.key[:12]} - pick one listed on the panel")
        voice.drop(entry.key)
        _changed(context, voice)
        self.report({"INFO"}, f"{voice.name}: dropped {bpy.path.basename(entry.source)} - built from {summary(voice)}")
        return {"FINISHED"}


class EET_OT_character_save(bpy.types.Operator):
    """Write the character to a file: what `bake --character FILE` reads and adds to, and a batch's speakers write"""

    bl_idname = "editemotalk.character_save"
    bl_label = "Save Character File"

    filepath: bpy.props.StringProperty(subtype="FILE_PATH")
    filter_glob: bpy.props.StringProperty(default="*.json", options={"HIDDEN"})

    def invoke(self, context, event):
        self.filepath = f"{bpy.path.clean_name(context.scene.editemotalk.character)}.character.json"
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    @reporting
    def execute(self, context):
        voice = session.character(context.scene)
        if voice is None:
            raise UserError("The character holds no clip yet - add its clips first")
        path = bpy.path.abspath(self.filepath)
        if not path.lower().endswith(".json"):
            raise UserError(f"{path} must end in .json - a character file is JSON")
        try:
            voice.save(path)
        except OSError as exc:
            raise UserError(f"Cannot write {path}: {exc.strerror or exc} - choose another folder") from None
        self.report({"INFO"}, f"Saved {voice.name} ({summary(voice)}) to {path}")
        return {"FINISHED"}


class EET_OT_character_load(bpy.types.Operator):
    """Read a character file (from Save Character File, `bake --character` or a batch's speaker) into this .blend
    and make it the scene's character"""

    bl_idname = "editemotalk.character_load"
    bl_label = "Load Character File"
    bl_options = {"REGISTER", "UNDO"}

    filepath: bpy.props.StringProperty(subtype="FILE_PATH")
    filter_glob: bpy.props.StringProperty(default="*.json", options={"HIDDEN"})

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    @reporting
    def execute(self, context):
        path = bpy.path.abspath(self.filepath)
        voice = Character.load(path)
        if not voice.name.strip():
            raise UserError(f"{path} names no character - save it again from the panel or the CLI")
        context.scene.editemotalk.character = voice.name
        _changed(context, voice)
        self.report({"INFO"}, f"Loaded {voice.name} ({summary(voice)}) from {path}")
        return {"FINISHED"}


CLASSES = (
    EET_OT_character_add_clip,
    EET_OT_character_drop_clip,
    EET_OT_character_save,
    EET_OT_character_load,
)
