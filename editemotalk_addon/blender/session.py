"""The session: one Animator, analyses cached per clip, slider curves -> EmotionEdit, and live preview.

Analysis (audio -> content, emotion) runs once per clip; every slider change or keyframe edit only re-runs the
generator (tens of milliseconds for a minute of audio). While the preview toggle is on, the edit plays on its own
temporary layer (preview_layer.py): the tracks a bake would make, over the clip's frames only, with the clip's
earlier bake (and any clip it overlaps) muted meanwhile. Nothing else is written: turning preview off (or baking)
removes the layer and unmutes what it muted, so the scene evaluates exactly as it did without it.
"""

from __future__ import annotations

import os

import bpy
import numpy as np
from bpy.app.handlers import persistent

from ..core import audio, rig, validate
from ..core.animator import Animator, EmotionEdit
from ..core.emotion_keys import heard_keys
from ..core.errors import UserError
from . import preferences, preview_layer, sound

_STATE: dict = {
    "animator": None,
    "animator_key": None,
    "analyses": {},
    "characters": {},  # character name -> {clip: its emotion scores}: the clips analysed as that voice
    "as_heard": {},  # (clip analysis, character, its clips) -> the analysis read against the character
    "perf": None,
    "perf_key": None,
    "curves_key": None,
}


def scene_fps(scene) -> float:
    return scene.render.fps / scene.render.fps_base


def get_animator(context=None) -> Animator:
    prefs = preferences.get(context or bpy.context)
    runtime = prefs.runtime if prefs else "auto"
    device = prefs.device if prefs else "cpu"
    folder = prefs.custom_weights if prefs and prefs.weights_source == "CUSTOM" and prefs.custom_weights else None
    key = (runtime, device, folder)
    if _STATE["animator"] is None or _STATE["animator_key"] != key:
        _STATE["animator"] = Animator.load(bpy.path.abspath(folder) if folder else None, runtime, device)
        _STATE.update(animator_key=key, analyses={}, characters={}, as_heard={})
    return _STATE["animator"]


def audio_path(scene) -> str:
    """The clip to animate: the chosen file, or the file behind the chosen sound strip."""
    s = scene.editemotalk
    if s.audio_source == "STRIP":
        strip = next((x for x in sound.all_strips(scene) if x.name == s.sound_strip and x.type == "SOUND"), None)
        if strip is None:
            raise UserError("No sound strip chosen - pick one, or switch the audio source to File.")
        path = strip.sound.filepath
    else:
        path = s.audio_path
    if not path:
        raise UserError("No audio file chosen - pick a wav/flac/ogg/mp3 recording.")
    full = bpy.path.abspath(path)
    audio.check_file(full)
    return full


def _cache_key(path: str) -> tuple:
    st = os.stat(path)
    return (os.path.normcase(os.path.abspath(path)), st.st_size, st.st_mtime)


def cached_analysis(path: str):
    return _STATE["analyses"].get(_cache_key(path))


def store_analysis(path: str, analysis, character: str = "") -> None:
    """Keep the clip's analysis; one whose voice is not heard yet (Analyze's lips first) joins no character."""
    _STATE["analyses"][_cache_key(path)] = analysis
    if character.strip() and analysis.voice_heard:
        _STATE["characters"].setdefault(character.strip(), {})[_cache_key(path)] = analysis.logits
    _STATE["perf_key"] = None


def analyze(context, path: str):
    """Synchronous analysis (scripts, background mode); the Analyze button runs this in a thread. The clip joins
    the scene's character (if one is named), whose voice it is read against."""
    analysis = cached_analysis(path)
    character = context.scene.editemotalk.character
    if analysis is None:
        analysis = get_animator(context).analyze(path)
        store_analysis(path, analysis, character)
    elif not analysis.voice_heard:  # Analyze showed the lips and is still hearing the voice: hear it here
        analysis = get_animator(context).hear(analysis, path)
        store_analysis(path, analysis, character)
    elif character.strip() and _cache_key(path) not in _STATE["characters"].get(character.strip(), {}):
        store_analysis(path, analysis, character)
    return as_heard(context, analysis)


def as_heard(context, analysis):
    """The analysis as the scene's character reads it: with two or more clips analysed under that character's
    name, the voice's emotion against the character's own baseline (Animator.against_speaker); else as it is."""
    clips = _STATE["characters"].get(context.scene.editemotalk.character.strip(), {})
    key = (id(analysis), tuple(clips))
    if len(clips) < 2:
        return analysis
    if key not in _STATE["as_heard"]:
        _STATE["as_heard"][key] = get_animator(context).against_speaker(analysis, list(clips.values()))
    return _STATE["as_heard"][key]


def _fcurves(idblock) -> list:
    """F-curves animating an ID, through its action slot."""
    from bpy_extras import anim_utils

    ad = idblock.animation_data
    if ad is None or ad.action is None:
        return []
    bag = anim_utils.action_get_channelbag_for_slot(ad.action, ad.action_slot)
    return list(bag.fcurves) if bag else []


def slider_curves(scene) -> dict:
    """Animated sliders: {emotion: F-curve}."""
    wanted = {f"editemotalk.{name}": name for name in rig.SLIDERS}
    return {wanted[fc.data_path]: fc for fc in _fcurves(scene) if fc.data_path in wanted}


def emotion_edit(scene, duration: float):
    """The scene's sliders as an EmotionEdit; keyframed sliders become curves alpha_k(t) sampled every frame."""
    s = scene.editemotalk
    fps = scene_fps(scene)
    curves = slider_curves(scene)
    frames = np.arange(int(np.ceil(duration * fps)) + 1)
    sliders = {}
    for name in rig.SLIDERS:
        fc = curves.get(name)
        if fc is None:
            value = getattr(s, name)
            if value:
                sliders[name] = value
        else:
            # a Bezier key overshoots; Blender clamps the animated property to its range, and so do we
            values = np.clip([fc.evaluate(s.start_frame + f) for f in frames], *validate.SLIDER_RANGE)
            sliders[name] = np.column_stack([frames / fps, values])
    return EmotionEdit(sliders, mode=s.mode, intensity=s.intensity)


def _curves_signature(scene) -> int:
    parts = []
    for name, fc in sorted(slider_curves(scene).items()):
        co = np.empty(2 * len(fc.keyframe_points), np.float32)
        fc.keyframe_points.foreach_get("co", co)
        parts.append(name.encode() + co.tobytes())
    return hash(b"".join(parts))


def performance(context, scene=None, analysis=None):
    """The performance for the scene's clip and sliders at the scene's frame rate (cached per edit)."""
    scene = scene or context.scene
    analysis = analyze(context, audio_path(scene)) if analysis is None else as_heard(context, analysis)
    edit = emotion_edit(scene, analysis.duration)
    arrays = tuple((k, np.asarray(v).tobytes()) for k, v in sorted(edit.sliders.items()))
    key = (id(analysis), arrays, edit.mode, edit.intensity, scene.editemotalk.seed, scene_fps(scene))
    if _STATE["perf_key"] != key:
        _STATE["perf"] = get_animator(context).generate(analysis, edit, scene_fps(scene), scene.editemotalk.seed)
        _STATE["perf_key"] = key
    return _STATE["perf"]


def refresh(scene) -> None:
    """The live-preview step: regenerate if an edit changed, and lay the result over the clip's frames."""
    context = bpy.context
    s = scene.editemotalk
    try:
        analysis = cached_analysis(audio_path(scene))
        if analysis is None:
            return  # nothing to preview before Analyze
        perf = performance(context, scene, analysis)
        preview_layer.show_preview(s.target, perf, s.start_frame, s.layers == "COMBINED", s.hold_last)
    except UserError as exc:
        s.status = str(exc)


def request_refresh(scene) -> None:
    """Show the preview while the toggle is on; with it off there is none."""
    if scene.editemotalk.live_preview:
        refresh(scene)
    else:
        preview_layer.remove_preview()


@persistent
def _on_depsgraph_update(scene, depsgraph=None):
    """Keyframe edits on the sliders (Graph Editor, Dope Sheet) do not call property updates: watch the curves."""
    if not scene.editemotalk.live_preview:
        return
    signature = _curves_signature(scene)
    if signature != _STATE["curves_key"]:
        _STATE["curves_key"] = signature
        refresh(scene)


def key_heard(scene, analysis) -> dict[str, tuple[int, float]]:
    """Key the sliders with what the voice sounds like (core.emotion_keys), replacing their keys over the clip's
    frames; linear keys, so the face moves between phrases as the ramps say. Returns {slider: (phrases, mean
    confidence)} of what was keyed."""
    s = scene.editemotalk
    fps, first = scene_fps(scene), s.start_frame
    last = first + int(np.ceil(analysis.duration * fps))
    for fc in slider_curves(scene).values():
        for point in [p for p in fc.keyframe_points if first <= p.co[0] <= last]:
            fc.keyframe_points.remove(point, fast=True)
        fc.update()
    keyed, keyed_last = {}, last  # a phrase's ramp out may end after the clip's last frame
    for name, track in heard_keys(analysis).items():
        for seconds, value, _ in track:
            setattr(s, name, value)
            s.keyframe_insert(name, frame=first + seconds * fps)
            keyed_last = max(keyed_last, first + seconds * fps)
        keyed[name] = (sum(1 for _, v, _ in track if v > 0) // 2, float(np.mean([c for _, v, c in track if v > 0])))
    for fc in slider_curves(scene).values():
        for point in fc.keyframe_points:
            if first <= point.co[0] <= keyed_last + 0.5:  # co is float32
                point.interpolation = "LINEAR"
    for name in rig.SLIDERS:  # between keys the curves decide; a slider nobody keyed goes back to 0
        if name not in keyed and name not in slider_curves(scene):
            setattr(s, name, 0.0)
    return keyed


def register():
    bpy.app.handlers.depsgraph_update_post.append(_on_depsgraph_update)


def unregister():
    while _on_depsgraph_update in bpy.app.handlers.depsgraph_update_post:
        bpy.app.handlers.depsgraph_update_post.remove(_on_depsgraph_update)
    _STATE.update(animator=None, animator_key=None, analyses={}, characters={}, as_heard={}, perf=None, perf_key=None)
    _STATE["curves_key"] = None
