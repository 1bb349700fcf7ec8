"""Baking a performance into shape-key animation: bulk F-curve writes, one Action per layer, NLA tracks.

Nothing of the user's is touched: our actions and sound strips carry an `editemotalk_clip` tag, re-baking a clip
removes only what the previous bake of that clip made, and the user's active action and their own tracks and strips
stay as they were. A clip lives in its own time: its strips extrapolate NOTHING (HOLD_FORWARD only when asked), and
baking a clip over frames another clip covers mutes that clip's tracks (clearing the new clip unmutes them).
Slotted actions are used where Blender has them (4.4+), the legacy F-curve API on 4.2/4.3.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field

import bpy
import numpy as np

from .core import name_mapping, performance, rig

TAG = "editemotalk_clip"
MUTED_BY = "editemotalk_muted_by"  # on a clip's actions: the clip whose bake muted that clip's tracks
PREVIEW = "editemotalk:preview"  # the tag of the live-preview layer (never a clip's path)
LAYER = "editemotalk_layer"  # on a bake's actions: which layer (articulation, expression, life, combined)
REST = "editemotalk_rest"  # on the preview's first action: the shape-key values from before the preview
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
    action[LAYER] = layer
    slot = action.slots.new(id_type="KEY", name=key.name) if hasattr(action, "slots") else None
    if slot is None:
        action.id_root = "KEY"
    return action, slot


def _data_path(shape_key: str) -> str:
    return f'key_blocks["{bpy.utils.escape_identifier(shape_key)}"].value'


def _keys(values: np.ndarray, start_frame: int) -> np.ndarray:
    """(frame, value) pairs, flat, for foreach_set("co")."""
    co = np.empty(2 * len(values), np.float32)
    co[0::2] = start_frame + np.arange(len(values))
    co[1::2] = values
    return co


def write_action(action, slot, columns: dict[str, np.ndarray], start_frame: int) -> None:
    """Every column becomes one F-curve of linear keys at start_frame, start_frame + 1, ... (bulk foreach_set)."""
    for shape_key, values in columns.items():
        fc = _new_fcurve(action, slot, _data_path(shape_key))
        n = len(values)
        fc.keyframe_points.add(n)
        fc.keyframe_points.foreach_set("co", _keys(values, start_frame))
        fc.keyframe_points.foreach_set("interpolation", np.full(n, _LINEAR, np.int32))
        fc.update()


def _strip_fcurves(strip) -> list:
    """The F-curves an NLA strip plays (through its action slot on Blender 4.4+)."""
    slot = getattr(strip, "action_slot", None)
    if slot is None:
        return list(strip.action.fcurves)
    return list(strip.action.layers[0].strips[0].channelbag(slot).fcurves)


def layer_columns(obj, perf, combined: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """{layer: {shape key: values}}: what each NLA track of a bake of `perf` writes on obj's mapped keys."""
    mapping = mapping_of(obj)
    if not mapping.pairs:
        raise BakeError(
            f"None of '{obj.name}''s shape keys match ARKit names - pick a name preset or edit the mapping table."
        )
    out = {}
    for layer, values in perf.layers(combined).items():
        channels = performance.LAYER_CHANNELS[layer]
        columns = {
            target: values[:, rig.INDEX[arkit]] for arkit, target in mapping.pairs if rig.INDEX[arkit] in channels
        }
        if columns:
            out[layer] = columns
    return out


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
    result = BakeResult(unmatched=mapping_of(obj).unmatched, frames=len(perf.weights))
    first, last = start_frame, start_frame + result.frames - 1
    for track in clip_tracks(ad):
        if not track.mute and any(s.frame_start <= last and s.frame_end >= first for s in track.strips):
            track.mute = True
            for s in track.strips:
                s.action[MUTED_BY] = tag
    for layer, columns in layers.items():
        action, slot = _new_action(f"EET {name} {layer}", key, tag, layer)
        write_action(action, slot, columns, start_frame)
        track = ad.nla_tracks.new()
        track.name = f"EET {name} {layer}"
        strip = track.strips.new(action.name, start_frame, action)
        if slot is not None:
            strip.action_slot = slot
        strip.blend_type = "ADD"  # layers sum on top of whatever the user has below
        strip.extrapolation = "HOLD_FORWARD" if hold else "NOTHING"
        result.actions.append(action)
        result.tracks.append(track)
    return result


def show_preview(obj, perf, start_frame: int, combined: bool = False, hold: bool = False) -> None:
    """The live-preview layer: the tracks a bake of `perf` would make, under the PREVIEW tag (replacing any
    earlier preview), remembering the shape-key values it will drive so that removing it gives them back."""
    check_target(obj)
    if _rewrite_preview(obj, layer_columns(obj, perf, combined), start_frame, hold):
        return
    remove_preview()
    rest = {kb.name: kb.value for kb in obj.data.shape_keys.key_blocks[1:]}
    result = bake_layers(obj, perf, PREVIEW, "preview", start_frame, combined, hold)
    if result.actions:
        result.actions[0][REST] = rest


def _rewrite_preview(obj, layers: dict, start_frame: int, hold: bool) -> bool:
    """New values written into obj's preview layer in place, when it has the same tracks, keys and frames (a
    slider drag): one bulk write per curve instead of new actions. False when the layer must be rebuilt."""
    tracks = clip_tracks(obj.data.shape_keys.animation_data, PREVIEW)
    if [t.strips[0].action.get(LAYER) for t in tracks] != list(layers):
        return False
    work = []
    for track, columns in zip(tracks, layers.values()):
        strip, fcurves = track.strips[0], _strip_fcurves(track.strips[0])
        n = len(next(iter(columns.values())))
        same = strip.frame_start == start_frame and [fc.data_path for fc in fcurves] == list(map(_data_path, columns))
        if not same or any(len(fc.keyframe_points) != n for fc in fcurves):
            return False
        work.append((strip, zip(fcurves, columns.values())))
    for strip, pairs in work:
        strip.extrapolation = "HOLD_FORWARD" if hold else "NOTHING"
        for fc, values in pairs:  # same frames, linear keys: only the values change, no re-sorting or handles
            fc.keyframe_points.foreach_set("co", _keys(values, start_frame))
        strip.action.update_tag()
    return True


def remove_preview() -> None:
    """Remove the live-preview layer wherever it is: what it muted plays again, and the shape keys it drove get
    back the values they had before it (Blender leaves the last evaluated value in keys nothing animates)."""
    for key in bpy.data.shape_keys:
        tracks = clip_tracks(key.animation_data, PREVIEW)
        rest = next((dict(s.action[REST]) for t in tracks for s in t.strips if REST in s.action), {})
        remove_bake(key, PREVIEW)
        for name, value in rest.items():
            if name in key.key_blocks:
                key.key_blocks[name].value = value


def bake_clip(
    scene, obj, perf, source_path: str, start_frame: int, combined: bool = False, sound: bool = True, hold=False
):
    """The one bake behind the Bake button, the CLI and batch: the performance on obj's shape keys, and the
    recording as a sound strip at the same start frame (the clip's previous strip moves with it)."""
    if scene.editemotalk.live_preview:
        scene.editemotalk.live_preview = False  # a bake ends the preview (its update removes the layer)
    tag, name = clip_key(source_path), clip_name(source_path)
    result = bake_layers(obj, perf, tag, name, start_frame, combined, hold)
    if sound:
        ensure_sound_strip(scene, source_path, start_frame)
    return result


def clear_clip(scene, obj, source_path: str) -> int:
    """Undo what baking this clip made: its tracks, actions and sound strip; returns how many tracks went."""
    remove_sound_strips(scene, clip_key(source_path))
    return remove_bake(obj.data.shape_keys, clip_key(source_path))


@contextmanager
def solo(obj, source_path: str):
    """Evaluate obj's shape keys with this clip's tracks alone (exports of one clip): every other track is muted
    and the active action silenced while the block runs, then all is put back as it was."""
    ad = obj.data.shape_keys.animation_data
    mine = set(clip_tracks(ad, clip_key(source_path)))
    saved = [(t, t.mute) for t in ad.nla_tracks]
    action, slot = ad.action, getattr(ad, "action_slot", None)
    try:
        for track, _ in saved:
            track.mute = track not in mine
        ad.action = None
        yield
    finally:
        for track, mute in saved:
            track.mute = mute
        ad.action = action
        if slot is not None:
            ad.action_slot = slot


def sample_weights(scene, obj, frames) -> np.ndarray:
    """(F, 52) ARKit weights as the scene plays them on obj's mapped shape keys (a whole-timeline CSV)."""
    blocks = obj.data.shape_keys.key_blocks
    pairs = mapping_of(obj).pairs
    out = np.zeros((len(frames), rig.NUM_CHANNELS), np.float32)
    for i, frame in enumerate(frames):
        scene.frame_set(frame)
        for arkit, target in pairs:
            out[i, rig.INDEX[arkit]] = blocks[target].value
    return out


def all_strips(scene) -> list:
    """Every sequencer strip (Blender 4.4 renamed `sequences_all` to `strips_all`)."""
    se = scene.sequence_editor
    if se is None:
        return []
    return list(se.strips_all if hasattr(se, "strips_all") else se.sequences_all)


def _top_strips(se):
    return se.strips if hasattr(se, "strips") else se.sequences


def remove_sound_strips(scene, tag: str, keep_start: int | None = None) -> None:
    """The sound strips a bake of clip `tag` added (except one at `keep_start`); the user's own are never ours."""
    for s in all_strips(scene):
        if s.get(TAG) == tag and int(s.frame_start) != keep_start:
            _top_strips(scene.sequence_editor).remove(s)


def ensure_sound_strip(scene, audio_path: str, start_frame: int):
    """The clip's sound strip at start_frame: reused when it is already there, else added on a free channel; the
    strip an earlier bake of this clip added elsewhere goes."""
    path = clip_key(audio_path)
    remove_sound_strips(scene, path, keep_start=start_frame)
    for s in all_strips(scene):
        if s.type == "SOUND" and clip_key(s.sound.filepath) == path and int(s.frame_start) == start_frame:
            return s
    se = scene.sequence_editor or scene.sequence_editor_create()
    used = {s.channel for s in all_strips(scene)}
    channel = next(c for c in range(1, 129) if c not in used)
    strip = _top_strips(se).new_sound(clip_name(audio_path), bpy.path.abspath(audio_path), channel, start_frame)
    strip[TAG] = path
    return strip
