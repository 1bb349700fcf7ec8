"""Baking a performance into shape-key animation: bulk F-curve writes, one Action per layer, NLA tracks.

Nothing of the user's is touched: our actions carry an `editemotalk_clip` tag, re-baking a clip removes only
what the previous bake of that clip made, and the user's active action and their own tracks stay as they were.
Slotted actions are used where Blender has them (4.4+), the legacy F-curve API on 4.2/4.3.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import bpy
import numpy as np

from .core import name_mapping, performance, rig

TAG = "editemotalk_clip"
_LINEAR = 1  # KeyframePoint.interpolation: CONSTANT, LINEAR, BEZIER...


class BakeError(ValueError):
    """One line naming what is wrong with the target or the input, and the fix."""


@dataclass
class BakeResult:
    actions: list = field(default_factory=list)
    tracks: list = field(default_factory=list)
    unmatched: list = field(default_factory=list)
    frames: int = 0


def check_target(obj) -> None:
    if obj is None:
        raise BakeError("No face selected - pick a mesh with shape keys as the target.")
    if obj.type != "MESH":
        raise BakeError(f"'{obj.name}' is a {obj.type.lower()}, not a mesh - pick a mesh with shape keys.")
    keys = obj.data.shape_keys
    if keys is None or len(keys.key_blocks) < 2:
        raise BakeError(f"'{obj.name}' has no shape keys - add ARKit shape keys (or use 'Add demo head').")


def shape_key_names(obj) -> list[str]:
    return [kb.name for kb in obj.data.shape_keys.key_blocks[1:]]


def update_mapping(obj, preset: str | None = None) -> name_mapping.Mapping:
    """Resolve the object's preset against its shape keys and store the table on the object (editable)."""
    settings = obj.editemotalk
    if preset is not None:
        settings.preset = preset
    mapping = name_mapping.resolve(settings.preset, shape_key_names(obj))
    settings.rows.clear()
    for arkit, key in mapping.pairs:
        row = settings.rows.add()
        row.arkit, row.shape_key = arkit, key
    settings.unmatched = ", ".join(mapping.unmatched)
    return mapping


def mapping_of(obj) -> name_mapping.Mapping:
    """The object's stored table (what the user may have edited), resolved first if it was never set."""
    settings = obj.editemotalk
    if not settings.rows:
        return update_mapping(obj)
    present = set(shape_key_names(obj))
    targets: dict[str, list[str]] = {}
    for row in settings.rows:
        if row.arkit in rig.INDEX and row.shape_key in present:
            targets.setdefault(row.arkit, []).append(row.shape_key)
    mapping = name_mapping.Mapping(targets, settings.preset)
    settings.unmatched = ", ".join(mapping.unmatched)
    return mapping


def clip_key(path: str) -> str:
    return os.path.normcase(os.path.abspath(bpy.path.abspath(path)))


def clip_name(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _new_fcurve(action, slot, data_path: str):
    if slot is None:  # Blender 4.2 / 4.3
        return action.fcurves.new(data_path)
    layer = action.layers[0] if action.layers else action.layers.new("Layer")
    strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True).fcurves.new(data_path)


def _new_action(name: str, key, tag: str, layer: str):
    action = bpy.data.actions.new(name)
    action[TAG] = tag
    action["editemotalk_layer"] = layer
    slot = action.slots.new(id_type="KEY", name=key.name) if hasattr(action, "slots") else None
    if slot is None:
        action.id_root = "KEY"
    return action, slot


def write_action(action, slot, columns: dict[str, np.ndarray], start_frame: int) -> None:
    """Every column becomes one F-curve of linear keys at start_frame, start_frame + 1, ... (bulk foreach_set)."""
    for shape_key, values in columns.items():
        fc = _new_fcurve(action, slot, f'key_blocks["{bpy.utils.escape_identifier(shape_key)}"].value')
        n = len(values)
        co = np.empty(2 * n, np.float32)
        co[0::2] = start_frame + np.arange(n)
        co[1::2] = values
        fc.keyframe_points.add(n)
        fc.keyframe_points.foreach_set("co", co)
        fc.keyframe_points.foreach_set("interpolation", np.full(n, _LINEAR, np.int32))
        fc.update()


def remove_bake(obj, tag: str) -> int:
    """Remove the tracks and actions a previous bake of this clip made; returns how many tracks went."""
    key = obj.data.shape_keys
    ad = key.animation_data if key else None
    if ad is None:
        return 0
    ours = [
        t
        for t in ad.nla_tracks
        if t.strips and all(s.action is not None and s.action.get(TAG) == tag for s in t.strips)
    ]
    actions = {s.action for t in ours for s in t.strips}
    for track in ours:
        ad.nla_tracks.remove(track)
    for action in actions:
        if action.users == 0:
            bpy.data.actions.remove(action)
    return len(ours)


def bake(obj, perf, audio_path: str, start_frame: int, combined: bool = False) -> BakeResult:
    """Write `perf` (a model.performance.Performance at the scene's frame rate) onto obj's shape keys."""
    check_target(obj)
    mapping = mapping_of(obj)
    if not mapping.pairs:
        raise BakeError(
            f"None of '{obj.name}''s shape keys match ARKit names - pick a name preset or edit the mapping table."
        )
    key = obj.data.shape_keys
    tag, name = clip_key(audio_path), clip_name(audio_path)
    remove_bake(obj, tag)
    ad = key.animation_data or key.animation_data_create()
    result = BakeResult(unmatched=mapping.unmatched, frames=len(perf.weights))
    for layer, values in perf.layers(combined).items():
        channels = performance.LAYER_CHANNELS[layer]
        columns = {
            target: values[:, rig.INDEX[arkit]] for arkit, target in mapping.pairs if rig.INDEX[arkit] in channels
        }
        if not columns:
            continue
        action, slot = _new_action(f"EET {name} {layer}", key, tag, layer)
        write_action(action, slot, columns, start_frame)
        track = ad.nla_tracks.new()
        track.name = f"EET {name} {layer}"
        strip = track.strips.new(action.name, start_frame, action)
        if slot is not None:
            strip.action_slot = slot
        strip.blend_type = "ADD"  # layers sum on top of whatever the user has below
        result.actions.append(action)
        result.tracks.append(track)
    return result


def bake_clip(scene, obj, perf, source_path: str, start_frame: int, combined: bool = False, sound: bool = True):
    """The one bake behind the Bake button, the CLI and batch: the performance on obj's shape keys, and the
    recording as a sound strip at the same start frame."""
    result = bake(obj, perf, source_path, start_frame, combined=combined)
    if sound:
        ensure_sound_strip(scene, source_path, start_frame)
    return result


def all_strips(scene) -> list:
    """Every sequencer strip (Blender 4.4 renamed `sequences_all` to `strips_all`)."""
    se = scene.sequence_editor
    if se is None:
        return []
    return list(se.strips_all if hasattr(se, "strips_all") else se.sequences_all)


def ensure_sound_strip(scene, audio_path: str, start_frame: int):
    """The clip's sound strip at start_frame: reused when it is already there, else added on a free channel."""
    path = clip_key(audio_path)
    for s in all_strips(scene):
        if s.type == "SOUND" and clip_key(s.sound.filepath) == path and int(s.frame_start) == start_frame:
            return s
    se = scene.sequence_editor or scene.sequence_editor_create()
    collection = se.strips if hasattr(se, "strips") else se.sequences
    used = {s.channel for s in all_strips(scene)}
    channel = next(c for c in range(1, 129) if c not in used)
    return collection.new_sound(clip_name(audio_path), bpy.path.abspath(audio_path), channel, start_frame)
