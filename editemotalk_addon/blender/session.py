"""The session: one Animator, analyses cached per clip, slider curves -> EmotionEdit, and live preview.

Analysis (audio -> content, emotion) runs once per clip; every slider change or keyframe edit only re-runs the
generator (tens of milliseconds for a minute of audio). While the preview toggle is on, the edit plays on its own
temporary layer (preview_layer.py): the tracks a bake would make, over the clip's frames only, with the clip's
earlier bake (and any clip it overlaps) muted meanwhile. Nothing else is written: turning preview off (or baking)
removes the layer and unmutes what it muted, so the scene evaluates exactly as it did without it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import bpy
import numpy as np
from bpy.app.handlers import persistent

from ..core import audio, rig, validate
from ..core.animator import Animator, EmotionEdit
from ..core.character import Character
from ..core.emotion_keys import RAMP_S, heard_keys
from ..core.errors import UserError
from . import preferences, preview_layer, sound


@dataclass
class _Session:
    """What this Blender session keeps between operators and redraws (this module's, nothing saved): the Animator
    of the preferences it was loaded for, and caches that spare re-running the analysis, Heard and the generator."""

    animator: Animator | None = None
    animator_key: tuple | None = None  # (runtime, device, custom weights folder) the animator was loaded for
    analyses: dict = field(default_factory=dict)  # (clip path, size, mtime) -> the clip's own analysis
    characters: dict = field(default_factory=dict)  # a character as the .blend stores it (its JSON text) -> it
    as_heard: dict = field(default_factory=dict)  # (clip analysis, the character's JSON) -> read against it
    perf: object = None  # the last performance generated, for the edit `perf_key`
    perf_key: tuple | None = None
    curves_key: int | None = None  # the slider curves' signature the live preview last refreshed for

    def forget(self) -> None:
        """Every field back to its default (the extension unregistered)."""
        self.__init__()


_SESSION = _Session()


def scene_fps(scene) -> float:
    return scene.render.fps / scene.render.fps_base


def get_animator(context=None) -> Animator:
    prefs = preferences.get(context or bpy.context)
    runtime = prefs.runtime.lower() if prefs else "auto"
    device = prefs.device if prefs else "cpu"
    folder = prefs.custom_weights if prefs and prefs.weights_source == "CUSTOM" and prefs.custom_weights else None
    key = (runtime, device, folder)
    if _SESSION.animator is None or _SESSION.animator_key != key:
        _SESSION.animator = Animator.load(bpy.path.abspath(folder) if folder else None, runtime, device)
        _SESSION.animator_key, _SESSION.analyses, _SESSION.characters, _SESSION.as_heard = key, {}, {}, {}
    return _SESSION.animator


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
    return _SESSION.analyses.get(_cache_key(path))


def store_analysis(path: str, analysis) -> None:
    _SESSION.analyses[_cache_key(path)] = analysis
    _SESSION.perf_key = None


def clip_analysis(context, path: str):
    """The clip's own analysis (analysed once, then cached), not yet read against any character."""
    analysis = cached_analysis(path)
    if analysis is None:
        analysis = get_animator(context).analyze(path)
        store_analysis(path, analysis)
    elif not analysis.voice_heard:  # Analyze showed the lips and is still hearing the voice: hear it here
        analysis = get_animator(context).hear(analysis, path)
        store_analysis(path, analysis)
    return analysis


def analyze(context, path: str):
    """Synchronous analysis (scripts, background mode); the Analyze button runs this in a thread. The clip is read
    against the scene's character, when one is named."""
    return as_heard(context, clip_analysis(context, path))


def stored_character(scene):
    """The scene's Character's entry in the .blend (scene.editemotalk.characters), or None."""
    s = scene.editemotalk
    return s.characters.get(s.character.strip()) if s.character.strip() else None


def character(scene) -> Character | None:
    """The scene's named Character as the .blend stores it (parsed once per change; read it, do not change it), or
    None when no character is named or it holds nothing yet. Raises UserError when what is stored is unreadable."""
    stored = stored_character(scene)
    if stored is None or not stored.data:
        return None
    if stored.data not in _SESSION.characters:
        if len(_SESSION.characters) > 16:  # earlier states (before an edit, an undo): parsed again if needed
            _SESSION.characters.clear()
        _SESSION.characters[stored.data] = _parsed(stored)
    return _SESSION.characters[stored.data]


def _parsed(stored) -> Character:
    try:
        return Character.from_json(json.loads(stored.data))
    except ValueError as exc:
        raise UserError(
            f"The character {stored.name!r} stored in this file is unreadable ({exc}) - name a new character"
        ) from None


def editable_character(scene) -> Character:
    """A copy of the scene's named Character to change and keep (keep_character); a new one if it has none yet.
    Raises UserError when no character is named."""
    name = scene.editemotalk.character.strip()
    if not name:
        raise UserError("No character named - type the character's name in the Character field first")
    stored = stored_character(scene)
    return _parsed(stored) if stored is not None and stored.data else Character(name)


def keep_character(scene, voice: Character) -> None:
    """Store `voice` in the .blend as the scene's character: saved with the file, restored by undo."""
    stored = stored_character(scene) or scene.editemotalk.characters.add()
    stored.name = voice.name
    stored.data = json.dumps(voice.to_json())


def as_heard(context, analysis):
    """The analysis as the scene's character reads it (Animator.heard: each feature standardised over that
    voice's own clips); with no character named, as it is."""
    voice = character(context.scene)
    if voice is None:
        return analysis
    key = (id(analysis), stored_character(context.scene).data)
    if key not in _SESSION.as_heard:
        if len(_SESSION.as_heard) > 64:
            _SESSION.as_heard.clear()
        _SESSION.as_heard[key] = get_animator(context).heard(analysis, voice)
    return _SESSION.as_heard[key]


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
    return EmotionEdit(sliders, mode=s.mode.lower(), intensity=s.intensity)


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
    if _SESSION.perf_key != key:
        _SESSION.perf = get_animator(context).generate(analysis, edit, scene_fps(scene), scene.editemotalk.seed)
        _SESSION.perf_key = key
    return _SESSION.perf


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
    if signature != _SESSION.curves_key:
        _SESSION.curves_key = signature
        refresh(scene)


HEARD_KEYS = "editemotalk_heard_keys"  # on the scene: {slider: [frame, value, ...]} the keys Key Heard Emotion wrote


def _own_keys(scene) -> dict[str, list[tuple[float, float]]]:
    """The keys Key Heard Emotion wrote last time, per slider (saved in the .blend, undone with the keys)."""
    stored = scene.get(HEARD_KEYS) or {}
    return {name: list(zip(list(flat)[0::2], list(flat)[1::2])) for name, flat in stored.items()}


def _is_own(point, own: list[tuple[float, float]]) -> bool:
    """A key still as Key Heard Emotion wrote it: same frame, same value (co is float32). One the animator moved or
    changed is theirs from then on."""
    return any(abs(point.co[0] - f) < 1e-3 and abs(point.co[1] - v) < 1e-4 for f, v in own)


def _remove_keys(scene, fc, own: list[tuple[float, float]]) -> None:
    """Remove the keys `own` names from `fc` (highest index first, so the rest keep theirs), and the curve with them
    when nothing is left on it."""
    from bpy_extras import anim_utils

    points = fc.keyframe_points
    for i in reversed(range(len(points))):
        if _is_own(points[i], own):
            points.remove(points[i])
    if len(points) == 0:
        ad = scene.animation_data
        anim_utils.action_get_channelbag_for_slot(ad.action, ad.action_slot).fcurves.remove(fc)
    else:
        fc.update()


def animators_sliders(scene, first: float, last: float) -> dict[str, str]:
    """{slider: why} for the sliders the animator owns over frames first..last: keyed there by hand (any key Key
    Heard Emotion did not write, or one it wrote and the animator since moved or changed), or set by hand without
    keys. Key Heard Emotion leaves those alone."""
    own, curves, out = _own_keys(scene), slider_curves(scene), {}
    for name in rig.SLIDERS:
        fc = curves.get(name)
        if fc is None:
            if getattr(scene.editemotalk, name):
                out[name] = f"set by hand to {getattr(scene.editemotalk, name):.2f}"
        elif any(first <= p.co[0] <= last and not _is_own(p, own.get(name, [])) for p in fc.keyframe_points):
            out[name] = "keyed by hand over this clip"
    return out


def key_heard(scene, analysis) -> tuple[dict[str, tuple[int, float]], dict[str, str]]:
    """Key the sliders with what the voice sounds like (core.emotion_keys); linear keys, so the face moves between
    phrases as the ramps say. The keys it writes are its own, recorded on the scene (HEARD_KEYS): a second press
    replaces them as a group, wherever they are. A slider the animator keyed over the clip or set by hand is left
    as it is (animators_sliders), keys and value. Returns ({slider: (phrases, mean confidence)} of what was keyed,
    {slider: why it was left alone})."""
    s = scene.editemotalk
    fps, first = scene_fps(scene), s.start_frame
    last = first + int(np.ceil(analysis.duration * fps))
    ramp = RAMP_S * fps + 1  # a phrase's ramp in and out may reach past the clip's frames
    theirs = animators_sliders(scene, first - ramp, last + ramp)
    own = _own_keys(scene)
    for name, fc in slider_curves(scene).items():
        if name not in theirs and own.get(name):
            _remove_keys(scene, fc, own[name])
    written = {name: list(flat) for name, flat in (scene.get(HEARD_KEYS) or {}).items() if name in theirs}
    keyed = {}
    for name, track in heard_keys(analysis).items():
        if name in theirs:
            continue
        for seconds, value, _ in track:
            setattr(s, name, value)
            s.keyframe_insert(name, frame=first + seconds * fps)
        fc = slider_curves(scene)[name]
        frames = [first + seconds * fps for seconds, _, _ in track]
        flat = []
        for point in fc.keyframe_points:
            if any(abs(point.co[0] - f) < 1e-3 for f in frames):
                point.interpolation = "LINEAR"
                flat += [float(point.co[0]), float(point.co[1])]
        written[name] = flat
        keyed[name] = (sum(1 for _, v, _ in track if v > 0) // 2, float(np.mean([c for _, v, c in track if v > 0])))
    scene[HEARD_KEYS] = written
    return keyed, theirs


def register():
    bpy.app.handlers.depsgraph_update_post.append(_on_depsgraph_update)


def unregister():
    while _on_depsgraph_update in bpy.app.handlers.depsgraph_update_post:
        bpy.app.handlers.depsgraph_update_post.remove(_on_depsgraph_update)
    _SESSION.forget()
