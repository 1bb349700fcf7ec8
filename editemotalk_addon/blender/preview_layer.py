"""The live-preview layer: the tracks a bake would make, under their own tag, over the clip's frames only.

While it plays, the clip's earlier bake (and any clip it overlaps) is muted; removing it unmutes them and gives
the shape keys it drove their earlier values back, so the scene evaluates exactly as it did without it.
"""

from __future__ import annotations

import bpy

from . import nla
from .shape_keys import check_target, layer_columns

PREVIEW = "editemotalk:preview"  # the tag of the live-preview layer (never a clip's path)

REST = "editemotalk_rest"  # on the preview's first action: the shape-key values from before the preview


def show_preview(obj, perf, start_frame: int, combined: bool = False, hold: bool = False) -> None:
    """The live-preview layer: the tracks a bake of `perf` would make, under the PREVIEW tag (replacing any
    earlier preview), remembering the shape-key values it will drive so that removing it gives them back."""
    check_target(obj)
    if _rewrite_preview(obj, layer_columns(obj, perf, combined), start_frame, hold):
        return
    remove_preview()
    rest = {kb.name: kb.value for kb in obj.data.shape_keys.key_blocks[1:]}
    result = nla.bake_layers(obj, perf, PREVIEW, "preview", start_frame, combined, hold)
    if result.actions:
        result.actions[0][REST] = rest


def _rewrite_preview(obj, layers: dict, start_frame: int, hold: bool) -> bool:
    """New values written into obj's preview layer in place, when it has the same tracks, keys and frames (a
    slider drag): one bulk write per curve instead of new actions. False when the layer must be rebuilt."""
    tracks = nla.clip_tracks(obj.data.shape_keys.animation_data, PREVIEW)
    if [t.strips[0].action.get(nla.LAYER) for t in tracks] != list(layers):
        return False
    work = []
    for track, columns in zip(tracks, layers.values()):
        strip, fcurves = track.strips[0], nla.strip_fcurves(track.strips[0])
        n = len(next(iter(columns.values())))
        same = strip.frame_start == start_frame and [fc.data_path for fc in fcurves] == list(
            map(nla.data_path, columns)
        )
        if not same or any(len(fc.keyframe_points) != n for fc in fcurves):
            return False
        work.append((strip, zip(fcurves, columns.values())))
    for strip, pairs in work:
        strip.extrapolation = "HOLD_FORWARD" if hold else "NOTHING"
        for fc, values in pairs:  # same frames, linear keys: only the values change, no re-sorting or handles
            fc.keyframe_points.foreach_set("co", nla.key_coordinates(values, start_frame))
        strip.action.update_tag()
    return True


def remove_preview() -> None:
    """Remove the live-preview layer wherever it is: what it muted plays again, and the shape keys it drove get
    back the values they had before it (Blender leaves the last evaluated value in keys nothing animates)."""
    for key in bpy.data.shape_keys:
        tracks = nla.clip_tracks(key.animation_data, PREVIEW)
        rest = next((dict(s.action[REST]) for t in tracks for s in t.strips if REST in s.action), {})
        nla.remove_bake(key, PREVIEW)
        for name, value in rest.items():
            if name in key.key_blocks:
                key.key_blocks[name].value = value
