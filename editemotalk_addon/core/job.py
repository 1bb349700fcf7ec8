"""One job's settings, checked before anything runs: the bake flags (or one manifest line) -> typed values and
the emotion edit. The CLI checks before Blender and the model load, so bad values fail fast; run_job again."""

from __future__ import annotations

import os
from pathlib import Path

from . import validate
from .animator import Analysis, EmotionEdit
from .character import Character
from .emotion_keys import heard_keys
from .errors import InputError, UserError


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


def character_file(path: str, job: dict) -> Character:
    """`bake --character FILE`: the Character it holds, or a new one named after the file when there is none yet
    (written once the bake's outputs are). Raises errors.InputError when it is not a character file, is one of the
    job's inputs or outputs, or its folder does not exist."""
    path = validate.file_path("character", path)
    if not path.lower().endswith(".json"):
        raise InputError(f"character={validate.short(path)} must end in .json - name its file, e.g. ada.json")
    inputs, outputs = validate.job_paths(job)
    for key, real in (inputs | outputs).items():
        if real == os.path.realpath(path):
            raise InputError(f"character={validate.short(path)} is also the job's {key} - give it a file of its own")
    if os.path.lexists(path):
        if not os.path.isfile(path):
            raise InputError(f"character={validate.short(path)} is not a regular file - name a .json file")
        try:
            return Character.load(path)
        except UserError as exc:
            raise InputError(str(exc)) from None
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise InputError(f"character={validate.short(path)}: its folder does not exist - create it first")
    return Character(Path(path).name.removesuffix(".json").removesuffix(".character"))
