"""The clip's sound strip in the sequencer: tagged with its clip, moved when the clip is re-baked elsewhere,
removed with it. The user's own strips are never ours."""

from __future__ import annotations

import os
import tempfile

import bpy

from ..core.errors import InputError
from .nla import TAG, clip_key, clip_name

CHANNELS = 128  # the sequencer's channels; strips share one as long as their frames do not overlap


def all_strips(scene) -> list:
    """Every sequencer strip, in meta strips too."""
    se = scene.sequence_editor
    return list(se.strips_all) if se is not None else []


def remove_sound_strips(scene, tag: str, keep_start: int | None = None) -> None:
    """The sound strips a bake of clip `tag` added (except one at `keep_start`); the user's own are never ours."""
    for s in all_strips(scene):
        if s.get(TAG) == tag and int(s.frame_start) != keep_start:
            scene.sequence_editor.strips.remove(s)


def free_channel(scene, audio_path: str, frames: tuple[int, int]) -> int:
    """The lowest channel with no strip over `frames` (first, last), this clip's own strips left out (a re-bake
    replaces them); raises InputError, before anything is changed, when every channel holds one there."""
    first, last = frames
    path = clip_key(audio_path)
    used = {
        s.channel
        for s in all_strips(scene)
        if s.get(TAG) != path and s.frame_final_start <= last and s.frame_final_end > first
    }
    channel = next((c for c in range(1, CHANNELS + 1) if c not in used), None)
    if channel is None:
        raise InputError(
            f"every one of the sequencer's {CHANNELS} channels holds a strip at frames {first}-{last}, where the "
            f"sound of {clip_name(audio_path)} would go - start the clip elsewhere, or remove strips there"
        )
    return channel


def ensure_sound_strip(scene, audio_path: str, start_frame: int, channel: int):
    """The clip's sound strip at start_frame: reused when it is already there, else added on `channel` (see
    free_channel); the strip an earlier bake of this clip added elsewhere goes."""
    path = clip_key(audio_path)
    remove_sound_strips(scene, path, keep_start=start_frame)
    for s in all_strips(scene):
        if s.type == "SOUND" and clip_key(s.sound.filepath) == path and int(s.frame_start) == start_frame:
            return s
    se = scene.sequence_editor or scene.sequence_editor_create()
    strip = _new_sound(se.strips, clip_name(audio_path), bpy.path.abspath(audio_path), channel, start_frame)
    strip[TAG] = path
    return strip


def _new_sound(strips, name: str, filepath: str, channel: int, start_frame: int):
    """A sound strip of `filepath`. Blender's function arguments are UTF-8 text while its file paths hold any
    bytes: a file whose name is not UTF-8 is opened through a UTF-8 link, then the strip's sound points at it."""
    try:
        filepath.encode("utf-8")
    except UnicodeEncodeError:
        with tempfile.TemporaryDirectory(prefix="editemotalk-") as folder:
            link = os.path.join(folder, "clip")
            os.symlink(filepath, link)
            strip = strips.new_sound(name, link, channel, start_frame)
        strip.sound.filepath = filepath
        return strip
    return strips.new_sound(name, filepath, channel, start_frame)
