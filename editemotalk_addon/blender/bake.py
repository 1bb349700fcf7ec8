"""The one bake behind the Bake button, the CLI and batch: the performance as NLA tracks on the target's shape
keys (nla.py) and the recording as a sound strip at the same start frame (sound.py); and its undoing."""

from __future__ import annotations

import bpy

from ..core.performance import check_finite
from . import nla, sound


def bake_clip(
    scene, obj, perf, source_path: str, start_frame: int, combined: bool = False, with_sound: bool = True, hold=False
) -> nla.BakeResult:
    """The performance on obj's shape keys, and the recording as a sound strip at the same start frame (the
    clip's previous strip moves with it). A bake ends the live preview."""
    for layer in perf.layers(combined).values():
        check_finite(layer, f"the performance of {nla.clip_name(source_path)}")
    if scene.editemotalk.live_preview:
        scene.editemotalk.live_preview = False  # its update removes the preview layer
    frames = (start_frame, start_frame + len(perf.weights) - 1)
    channel = sound.free_channel(scene, source_path, frames) if with_sound else None  # a full sequencer: refused now
    tag = nla.clip_key(source_path)
    result = nla.bake_layers(obj, perf, tag, nla.clip_name(source_path), start_frame, combined, hold)
    if with_sound:
        sound.ensure_sound_strip(scene, source_path, start_frame, channel)
    nla.export_range(obj)
    return result


def clear_clip(scene, obj, source_path: str) -> int:
    """Undo what baking this clip made: its tracks, actions and sound strip; returns how many tracks went."""
    sound.remove_sound_strips(scene, nla.clip_key(source_path))
    removed = nla.remove_bake(obj.data.shape_keys, nla.clip_key(source_path))
    nla.export_range(obj)
    return removed


def fit_scene_range(scene, obj) -> None:
    """The scene's frame range after a bake on obj: the frames of the clips baked on it when nothing else in the
    file is animated (Bake was the first thing done: the range fits the clips, shrinking the startup's 1-250),
    else only widened to take them in: never shrunk under the user's own animation."""
    frames = nla.baked_frames(obj.data.shape_keys)
    if frames is None:
        return
    theirs = [a for a in bpy.data.actions if a.users and a.get(nla.TAG) is None and not a.get(nla.EXPORT_RANGE)]
    if theirs:
        frames = min(frames[0], scene.frame_start), max(frames[1], scene.frame_end)
    scene.frame_start, scene.frame_end = frames
