"""One job's settings, checked before anything runs: the bake flags (or one manifest line) -> typed values and
the emotion edit. The CLI checks before Blender and the model load, so bad values fail fast; run_job again."""

from __future__ import annotations

from . import validate
from .animator import Analysis, EmotionEdit
from .emotion_keys import heard_keys
from .errors import InputError


def emotion_edit(job: dict) -> EmotionEdit:
    """The job's sliders: its curves file, overridden by its constant emotions (both checked by validate.job)."""
    spec = validate.curves_file(job["emotion_curves"]) if job.get("emotion_curves") else {}
    return EmotionEdit(
        {**spec.get("sliders", {}), **job.get("emotion", {})},
        mode=job.get("mode") or spec.get("mode", validate.DEFAULT_MODE),
        intensity=job["intensity"] if "intensity" in job else spec.get("intensity", 1.0),
    )


def keyed_from_voice(edit: EmotionEdit, analysis: Analysis) -> EmotionEdit:
    """emotion_from_voice=keys: the sliders keyed with what the voice sounds like (absolute mode, as the Key Heard
    Emotion button in Blender), the job's constant emotions and intensity on top."""
    keys = {name: [(t, v) for t, v, _ in track] for name, track in heard_keys(analysis).items()}
    return EmotionEdit({**keys, **edit.sliders}, mode="absolute", intensity=edit.intensity)


def checked(job: dict) -> tuple[dict, EmotionEdit]:
    """(the job with every value checked and typed, its emotion edit); raises errors.InputError."""
    job = validate.job(job)
    validate.separate_paths(job)
    edit = emotion_edit(job)
    if job.get("emotion_from_voice") and edit.mode == "voice":
        raise InputError(
            "mode voice does not go with emotion_from_voice keys: the keys already hold the voice's emotion (baked "
            "in absolute mode) - drop one of them"
        )
    return job, edit
