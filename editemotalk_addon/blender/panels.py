"""The EditEmoTalk sidebar tab in the 3D Viewport."""

import bpy

from ..core import rig
from ..core.errors import UserError
from . import characters, exports, session


class _Panel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "EditEmoTalk"


class EET_UL_mapping(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        row.label(text=item.arkit)
        row.prop_search(item, "shape_key", data.id_data.data.shape_keys, "key_blocks", text="")


class EET_PT_main(_Panel, bpy.types.Panel):
    bl_label = "EditEmoTalk"

    def draw(self, context):
        s = context.scene.editemotalk
        col = self.layout.column()
        col.prop(s, "target")
        row = col.row(align=True)
        row.operator("editemotalk.add_demo_head", icon="MONKEY")
        row.operator("editemotalk.import_ict_head", text="ICT Head", icon="IMPORT")
        col.prop(s, "audio_source", expand=True)
        col.prop(s, "audio_path" if s.audio_source == "FILE" else "sound_strip")
        col.prop(s, "start_frame")
        row = col.row(align=True)
        row.operator("editemotalk.analyze", icon="SPEAKER")
        row.prop(s, "mark_phones", text="", icon="MARKER_HLT")
        row.operator("editemotalk.remove_markers", text="", icon="X")
        if s.mark_phones:
            col.prop(s, "line")
        if s.status:
            col.label(text=s.status)


class EET_PT_emotion(_Panel, bpy.types.Panel):
    bl_label = "Emotion"
    bl_parent_id = "EET_PT_main"

    def draw(self, context):
        s = context.scene.editemotalk
        col = self.layout.column()
        col.prop(s, "mode", expand=True)
        for name in rig.SLIDERS:
            col.prop(s, name, slider=True)
        col.prop(s, "intensity", slider=True)
        if s.heard:  # kept by Analyze and Bake, cleared with another clip: draw reads no file and runs no model
            col.label(text="Heard: " + s.heard, icon="INFO")
            col.operator("editemotalk.key_heard", icon="KEYINGSET")
        col.prop(s, "key_heard")
        col.prop(s, "live_preview", toggle=True, icon="PLAY")


class EET_PT_bake(_Panel, bpy.types.Panel):
    bl_label = "Bake"
    bl_parent_id = "EET_PT_main"

    def draw(self, context):
        s = context.scene.editemotalk
        col = self.layout.column()
        col.prop(s, "layers")
        col.prop(s, "hold_last")
        col.prop(s, "seed")
        row = col.row(align=True)
        row.operator("editemotalk.bake", icon="REC")
        row.operator("editemotalk.clear", icon="TRASH")
        col.operator("editemotalk.preview", icon="FILE_MOVIE")
        col.label(text="Export:")
        row = col.row(align=True)
        for fmt, (_, _, name) in exports.PANEL_FORMATS.items():
            row.operator("editemotalk.export", text=name.removeprefix("Live Link Face ")).format = fmt


class EET_PT_mapping(_Panel, bpy.types.Panel):
    bl_label = "Shape Key Names"
    bl_parent_id = "EET_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        obj = context.scene.editemotalk.target
        col = self.layout.column()
        if obj is None or obj.type != "MESH" or obj.data.shape_keys is None:
            col.label(text="Pick a mesh with shape keys")
            return
        m = obj.editemotalk
        col.prop(m, "preset")
        col.operator("editemotalk.update_mapping", icon="FILE_REFRESH")
        col.template_list("EET_UL_mapping", "", m, "rows", m, "row_index", rows=6)
        if m.unmatched:
            box = col.box()
            box.label(text=f"Unmatched ({len(m.unmatched.split(', '))}):", icon="ERROR")
            for line in range(0, len(m.unmatched), 60):
                box.label(text=m.unmatched[line : line + 60])


class EET_PT_character(_Panel, bpy.types.Panel):
    bl_label = "Character"
    bl_parent_id = "EET_PT_main"

    def draw(self, context):
        s = context.scene.editemotalk
        col = self.layout.column()
        col.prop(s, "character")
        if not s.character.strip():
            col.label(text="Name the voice to hear its clips against it")
            col.operator("editemotalk.character_load", icon="FILE_FOLDER")
            return
        try:
            voice = session.character(context.scene)
        except UserError as exc:
            col.label(text=str(exc), icon="ERROR")
            return
        if voice is None:
            col.label(text="No clips yet: add this voice's clips")
        else:
            col.label(text=f"Built from {characters.summary(voice)} ({voice.phrases} phrases)", icon="SPEAKER")
            box = col.box()
            for entry in voice.clips[: characters.MAX_ROWS]:
                row = box.row(align=True)
                row.label(text=f"{bpy.path.basename(entry.source) or entry.key[:12]}  {entry.seconds:.1f} s")
                row.operator("editemotalk.character_drop_clip", text="", icon="X").key = entry.key
            if len(voice) > characters.MAX_ROWS:
                box.label(text=f"... and {len(voice) - characters.MAX_ROWS} more")
        col.operator("editemotalk.character_add_clip", icon="ADD")
        row = col.row(align=True)
        row.operator("editemotalk.character_load", text="Load", icon="FILE_FOLDER")
        row.operator("editemotalk.character_save", text="Save", icon="FILE_TICK")


CLASSES = (EET_UL_mapping, EET_PT_main, EET_PT_emotion, EET_PT_bake, EET_PT_mapping, EET_PT_character)
