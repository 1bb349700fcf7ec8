"""Scene settings (clip, emotion sliders, options) and the per-object name-mapping table."""

import bpy

from ..core import name_mapping, rig, validate
from . import session, sound


def _is_mesh(self, obj):
    return obj.type == "MESH"


def _refresh_preview(self, context):
    """Any slider, clip setting or the live-preview toggle: show the edit when preview is on, remove it when off."""
    session.request_refresh(context.scene)


def _clip_changed(self, context):
    """Another clip or character: what was heard in the last one no longer holds (the panel shows `heard`)."""
    self.heard = ""
    _refresh_preview(self, context)


def _sound_strips(self, context, edit_text):
    return [
        s.name for s in sound.all_strips(context.scene) if s.type == "SOUND" and edit_text.lower() in s.name.lower()
    ]


class EETMapRow(bpy.types.PropertyGroup):
    arkit: bpy.props.StringProperty(name="ARKit")
    shape_key: bpy.props.StringProperty(name="Shape key")


class EETObjectSettings(bpy.types.PropertyGroup):
    preset: bpy.props.EnumProperty(
        name="Names", items=[(k, v, "") for k, v in name_mapping.PRESET_LABELS.items()], default="auto"
    )
    rows: bpy.props.CollectionProperty(type=EETMapRow)
    row_index: bpy.props.IntProperty()
    unmatched: bpy.props.StringProperty(name="Unmatched ARKit channels")


_SLIDER_PROPS = {
    name: bpy.props.FloatProperty(
        name=name.capitalize(),
        min=validate.SLIDER_RANGE[0],
        max=validate.SLIDER_RANGE[1],
        soft_max=1.0,
        default=0.0,
        description=f"How much {name} to add (1 = a typical full {name} face)",
        update=_refresh_preview,
    )
    for name in rig.SLIDERS
}


class EETSceneSettings(bpy.types.PropertyGroup):
    __annotations__ = {
        "target": bpy.props.PointerProperty(
            name="Face",
            type=bpy.types.Object,
            poll=_is_mesh,
            update=_refresh_preview,
            description="The mesh whose shape keys are animated",
        ),
        "audio_source": bpy.props.EnumProperty(
            name="Audio", items=[("FILE", "File", ""), ("STRIP", "Sound strip", "")], update=_clip_changed
        ),
        "audio_path": bpy.props.StringProperty(name="Audio file", subtype="FILE_PATH", update=_clip_changed),
        "sound_strip": bpy.props.StringProperty(name="Sound strip", search=_sound_strips, update=_clip_changed),
        "start_frame": bpy.props.IntProperty(name="Start frame", default=1, update=_refresh_preview),
        "mode": bpy.props.EnumProperty(
            name="Mode",
            default=validate.DEFAULT_MODE,
            update=_refresh_preview,
            items=[
                ("voice", "Keep voice emotion", "Sliders add to the emotion heard in the voice"),
                ("absolute", "Absolute", "Sliders set the emotion; the face starts neutral"),
            ],
        ),
        "intensity": bpy.props.FloatProperty(name="Intensity", min=0.0, max=2.0, default=1.0, update=_refresh_preview),
        **_SLIDER_PROPS,
        "seed": bpy.props.IntProperty(name="Blink seed", default=0, min=0, update=_refresh_preview),
        "layers": bpy.props.EnumProperty(
            name="Bake",
            update=_refresh_preview,
            items=[
                ("SEPARATE", "Separate NLA tracks", "Articulation, expression and blinks/eyes"),
                ("COMBINED", "One combined action", ""),
            ],
        ),
        "hold_last": bpy.props.BoolProperty(
            name="Hold last pose",
            update=_refresh_preview,
            description="Keep the clip's last pose after it ends (NLA Hold Forward); off, a clip plays on its own "
            "frames only",
        ),
        "live_preview": bpy.props.BoolProperty(
            name="Live preview",
            update=_refresh_preview,
            description="While on, the unbaked edit plays over the clip's frames on a temporary layer (the clip's "
            "earlier bake muted meanwhile); off, or after Bake, the scene plays exactly as without it",
        ),
        "heard": bpy.props.StringProperty(name="Heard", description="The emotions Analyze heard in the voice"),
        "key_heard": bpy.props.BoolProperty(
            name="Key what is heard",
            description="After Analyze, key the sliders with the emotion heard in the voice, phrase by phrase "
            "(absolute mode); one undo step takes the keys back",
        ),
        "character": bpy.props.StringProperty(
            name="Character",
            update=_clip_changed,
            description="Clips analysed under one character's name are read against that voice's own baseline "
            "(from two clips on): a voice that always sounds tense shows its calm lines as calm",
        ),
        "status": bpy.props.StringProperty(name="Status"),
    }


CLASSES = (EETMapRow, EETObjectSettings, EETSceneSettings)


def register():
    bpy.types.Scene.editemotalk = bpy.props.PointerProperty(type=EETSceneSettings)
    bpy.types.Object.editemotalk = bpy.props.PointerProperty(type=EETObjectSettings)


def unregister():
    del bpy.types.Object.editemotalk
    del bpy.types.Scene.editemotalk
