"""A performance as shape-key animation: one Action per layer written with bulk F-curve writes, additive NLA
tracks, each clip in its own time.

Nothing of the user's is touched: our actions carry an `editemotalk_clip` tag, removing a clip's bake removes only
what that bake made, and the user's active action and their own tracks stay as they were. A clip's strips
extrapolate NOTHING (HOLD_FORWARD only when asked), and baking a clip over frames another clip covers mutes that
clip's tracks (removing the new clip unmutes them). Actions are slotted (Blender 4.4+).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import bpy
import numpy as np

from .shape_keys import check_target, layer_columns, sync_mapping

TAG = "editemotalk_clip"

MUTED_BY = "editemotalk_muted_by"  # on a clip's actions: the clip whose bake muted that clip's tracks

LAYER = "editemotalk_layer"  # on a bake's actions: which layer (articulation, expression, life, combined)

EXPORT_RANGE = "editemotalk_export_range"  # on the face object, and on the action keying it (see export_range)

_LINEAR = 1  # KeyframePoint.interpolation: CONSTANT, LINEAR, BEZIER...


@dataclass
class BakeResult:
    actions: list = field(default_factory=list)
    tracks: list = field(default_factory=list)
    unmatched: list = field(default_factory=list)
    frames: int = 0


def clip_key(path: str) -> str:
    """The clip's tag: its absolute path, as text Blender stores (bytes of a name that is not UTF-8 as \\xNN)."""
    full = os.path.normcase(os.path.abspath(bpy.path.abspath(path)))
    return os.fsencode(full).decode("utf-8", "backslashreplace")


def clip_name(path: str) -> str:
    """The clip's name in track and action names (a byte that is not UTF-8 shown as U+FFFD)."""
    return os.fsencode(os.path.splitext(os.path.basename(path))[0]).decode("utf-8", "replace")


def _new_fcurve(action, slot, data_path: str):
    layer = action.layers[0] if action.layers else action.layers.new("Layer")
    strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True).fcurves.new(data_path)


def new_action(name: str, key, tag: str, layer: str):
    """An action for the shape-key datablock `key`, tagged with its clip and layer, and its slot."""
    action = bpy.data.actions.new(name)
    action[TAG] = tag
    action[LAYER] = layer
    return action, action.slots.new(id_type="KEY", name=key.name)


def data_path(shape_key: str) -> str:
    return f'key_blocks["{bpy.utils.escape_identifier(shape_key)}"].value'


def key_coordinates(values: np.ndarray, start_frame: int) -> np.ndarray:
    """(frame, value) pairs, flat, for foreach_set("co")."""
    co = np.empty(2 * len(values), np.float32)
    co[0::2] = start_frame + np.arange(len(values))
    co[1::2] = values
    return co


def write_action(action, slot, columns: dict[str, np.ndarray], start_frame: int) -> None:
    """Every column becomes one F-curve of linear keys at start_frame, start_frame + 1, ... (bulk foreach_set)."""
    for shape_key, values in columns.items():
        fc = _new_fcurve(action, slot, data_path(shape_key))
        n = len(values)
        fc.keyframe_points.add(n)
        fc.keyframe_points.foreach_set("co", key_coordinates(values, start_frame))
        fc.keyframe_points.foreach_set("interpolation", np.full(n, _LINEAR, np.int32))
        fc.update()


def strip_fcurves(strip) -> list:
    """The F-curves an NLA strip plays, through its action slot."""
    return list(strip.action.layers[0].strips[0].channelbag(strip.action_slot).fcurves)


def clip_tracks(ad, tag: str | None = None) -> list:
    """Tracks a bake made (of clip `tag`, or of any clip): every strip holds one of our tagged actions."""
    return [
        t
        for t in (ad.nla_tracks if ad else ())
        if t.strips
        and all(s.action is not None and s.action.get(TAG) is not None for s in t.strips)
        and (tag is None or t.strips[0].action[TAG] == tag)
    ]


def remove_bake(key, tag: str) -> int:
    """Remove the tracks and actions a bake under `tag` made from a shape-key datablock, and unmute the clips it
    had muted; returns how many tracks went."""
    ad = key.animation_data if key else None
    ours = clip_tracks(ad, tag)
    actions = {s.action for t in ours for s in t.strips}
    for track in ours:
        ad.nla_tracks.remove(track)
    for action in actions:
        if action.users == 0:
            bpy.data.actions.remove(action)
    for track in clip_tracks(ad):
        if all(s.action.get(MUTED_BY) == tag for s in track.strips):
            track.mute = False
            for s in track.strips:
                del s.action[MUTED_BY]
    return len(ours)


def bake_layers(obj, perf, tag: str, name: str, start_frame: int, combined=False, hold=False) -> BakeResult:
    """`perf` as additive NLA tracks on obj's shape keys under `tag` (replacing that tag's previous tracks),
    playing on its own frames only (`hold`: the last pose stays after the end). Other clips' tracks that play
    within those frames are muted (and unmuted when this tag's tracks are removed): clips never add up."""
    check_target(obj)
    layers = layer_columns(obj, perf, combined)
    key = obj.data.shape_keys
    remove_bake(key, tag)
    ad = key.animation_data or key.animation_data_create()
    result = BakeResult(unmatched=sync_mapping(obj).unmatched, frames=len(perf.weights))
    first, last = start_frame, start_frame + result.frames - 1
    for track in clip_tracks(ad):
        if not track.mute and any(s.frame_start <= last and s.frame_end >= first for s in track.strips):
            track.mute = True
            for s in track.strips:
                s.action[MUTED_BY] = tag
    for layer, columns in layers.items():
        action, slot = new_action(f"EET {name} {layer}", key, tag, layer)
        write_action(action, slot, columns, start_frame)
        track = ad.nla_tracks.new()
        track.name = f"EET {name} {layer}"
        strip = track.strips.new(action.name, start_frame, action)
        strip.action_slot = slot
        strip.blend_type = "ADD"  # layers sum on top of whatever the user has below
        strip.extrapolation = "HOLD_FORWARD" if hold else "NOTHING"
        result.actions.append(action)
        result.tracks.append(track)
    return result


def baked_frames(key) -> tuple[int, int] | None:
    """First and last frame of every clip baked on a shape-key datablock (not the live preview), or None."""
    tracks = clip_tracks(key.animation_data if key else None)
    strips = [s for t in tracks for s in t.strips if not s.action[TAG].startswith("editemotalk:")]  # no preview
    if not strips:
        return None
    return int(min(s.frame_start for s in strips)), int(max(s.frame_end for s in strips))


def export_range(obj) -> None:
    """Blender's own FBX exporter, with its defaults (All Actions), bakes a take per action of an object and
    nothing for shape-key tracks alone: a File > Export > FBX of a bake would hold a still face. So the face object
    gets an action of ours keying a property of its own (it animates nothing else) from frame 1 (FBX time 0, which
    the importer puts on frame 1) to the last baked frame; that take carries the shape keys as they play. Updated
    by every bake and clear, unassigned with the last clip; an object with an action of the user's is left alone.
    Only our curve is ever rewritten or removed: keys Blender puts in the object's action (keying the shape keys
    uses it, in a slot of their own) stay, and so does the action while anything uses it."""
    ad = obj.animation_data
    action = ad.action if ad else None
    if action is not None and not action.get(EXPORT_RANGE):
        return
    path = f'["{EXPORT_RANGE}"]'
    if action is not None:
        for layer in action.layers:
            for strip in layer.strips:
                bag = strip.channelbag(ad.action_slot) if ad.action_slot else None
                for fc in [f for f in (bag.fcurves if bag else ()) if f.data_path == path]:
                    bag.fcurves.remove(fc)
    frames = baked_frames(obj.data.shape_keys)
    if frames is None:
        if action is not None:
            ad.action = None
            if action.users == 0:
                bpy.data.actions.remove(action)
        if EXPORT_RANGE in obj:
            del obj[EXPORT_RANGE]
        return
    obj[EXPORT_RANGE] = 0.0
    if action is None:
        action = bpy.data.actions.new("EET export range")
        action[EXPORT_RANGE] = True
        ad = ad or obj.animation_data_create()
        ad.action = action
        ad.action_slot = action.slots.new(id_type="OBJECT", name=obj.name)
    fc = _new_fcurve(action, ad.action_slot, path)
    fc.keyframe_points.add(2)
    fc.keyframe_points.foreach_set("co", [min(1, frames[0]), 0.0, frames[1], 0.0])
    fc.update()
