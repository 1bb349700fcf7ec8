"""A batch's speakers: one character file per speaker beside its manifest, built from that speaker's distinct
clips, each analysed once, and reused by the next run.

Every job of a manifest with `"speaker": "Ada"` is heard against Ada's Character (core/character.py), the same
file that `bake --character` writes and reads and the Blender panel saves and loads: `<manifest stem>.Ada.character
.json`. Its clips are the distinct recordings among the speaker's jobs (one recording in four emotion variants
counts once). A clip that cannot be used (missing, unreadable, not audio, silent, no speech in it) is left out of
the baseline and named in the batch summary; its own job fails alone, the others bake. The file's entries are
reused while their recordings stay the same, so a clip is analysed once however many jobs, runs or shards read it;
entries for recordings no job of the speaker has any more are dropped.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import audio, terminal, validate
from .character import Character, Entry, audio_key
from .errors import InputError, UserError

SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class Speaker:
    """One speaker of a batch: its character file and what its baseline was built from."""

    name: str
    file: Path
    character: Character
    left_out: dict[str, str] = field(default_factory=dict)  # clip -> why it is not in the baseline
    analysed: int = 0  # clips analysed by this run; the others came from the file
    reused: int = 0

    @property
    def digest(self) -> str:
        """What a job's record hash covers of its speaker: the recordings its baseline is built from."""
        return hashlib.sha256(" ".join(sorted(e.key for e in self.character.clips)).encode()).hexdigest()

    def summary(self) -> dict:
        return {
            "character": str(self.file),
            "clips": len(self.character),
            "seconds": round(self.character.seconds, 2),
            "analysed": self.analysed,
            "reused": self.reused,
            "left_out": [{"audio": clip, "error": why} for clip, why in self.left_out.items()],
        }


def character_file(manifest: Path, name: str, names: list[str]) -> Path:
    """`<manifest stem>.<name>.character.json` beside the manifest; a name that is not a plain file name, or that
    only letter case tells from another speaker's, gets a short hash of itself instead (and a manifest name too
    long to take it, a hash of both)."""
    plain = SAFE_NAME.fullmatch(name) and sum(n.casefold() == name.casefold() for n in names) == 1
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    file = f"{manifest.stem}.{name if plain else 'speaker-' + digest[:12]}.character.json"
    if len(os.fsencode(file)) > validate.MAX_NAME_BYTES - 64:  # room for a temporary name beside it
        stem = hashlib.sha256(os.fsencode(manifest.stem)).hexdigest()
        file = f"speaker-{stem[:12]}-{digest[:12]}.character.json"
    return manifest.with_name(file)


def character_files(manifest: Path, jobs: list[dict | str]) -> dict[str, str]:
    """{real path: speaker} of every speaker's character file of the manifest (all shards)."""
    names = list(speaker_clips(jobs))
    return {os.path.realpath(character_file(manifest, name, names)): name for name in names}


def check_outputs(job: dict, own: dict[str, str]) -> None:
    """A job may not write over a speaker's character file (`own`: character_files). Raises InputError."""
    for key in validate.OUTPUT_SUFFIXES:
        if job.get(key) and os.path.realpath(job[key]) in own:
            raise InputError(
                f"{key}={validate.short(job[key])} is speaker {own[os.path.realpath(job[key])]}'s character file "
                "- choose another output path"
            )


def speaker_clips(jobs: list[dict | str]) -> dict[str, list[str]]:
    """{speaker: its jobs' distinct audio files, in manifest order}."""
    clips: dict[str, dict[str, None]] = {}
    for job in jobs:
        if isinstance(job, dict) and job.get("speaker") and job.get("audio"):
            clips.setdefault(job["speaker"], {})[job["audio"]] = None
    return {name: list(paths) for name, paths in clips.items()}


def build(
    manifest: Path, jobs: list[dict | str], wanted: set[str], animator: Callable, progress: bool = True
) -> dict[str, Speaker]:
    """The `wanted` speakers (those of a shard's jobs), each with its character file, from its clips in every shard,
    brought up to date and saved (`progress`: a progress line of the clips read). `animator()` gives the Animator,
    loaded only when a clip needs analysing. Raises UserError when a character file cannot be written or the model
    cannot be loaded."""
    clips = speaker_clips(jobs)
    names, todo = list(clips), {name: clips[name] for name in clips if name in wanted}
    bar = terminal.Progress("speakers", sum(map(len, todo.values())), "clips", enabled=progress)
    return {name: _speaker(manifest, name, paths, names, animator, bar) for name, paths in todo.items()}


def _speaker(
    manifest: Path, name: str, clips: list[str], names: list[str], animator: Callable, bar: terminal.Progress
) -> Speaker:
    file = character_file(manifest, name, names)
    try:
        kept = Character.load(file) if file.exists() else Character(name)
    except UserError:  # broken (a run killed mid-write cannot do it: saves are atomic), or not ours: built again
        kept = Character(name)
    speaker = Speaker(name, file, Character(name, kept.clips))
    voice, heard = speaker.character, set()  # heard: the keys of this speaker's readable clips
    for clip in clips:
        bar.advance()
        try:
            samples = audio.load_audio(clip)
        except UserError as exc:
            speaker.left_out[clip] = str(exc)
            continue
        except OSError as exc:
            speaker.left_out[clip] = f"cannot read {clip}: {exc.strerror or exc}"
            continue
        key = audio_key(samples)
        if key in heard:  # the same recording again, under this name or another
            continue
        heard.add(key)
        if key in voice:
            speaker.reused += 1
            continue
        model = animator()  # a model that cannot load stops the batch (raised), it is no clip's fault
        try:
            analysis = model.analyze(samples)
        except UserError as exc:
            speaker.left_out[clip] = str(exc)
            continue
        speaker.analysed += 1
        if len(analysis.phrase_features) == 0:
            speaker.left_out[clip] = f"no speech heard in {clip} - check the recording"
            continue
        voice.add(analysis, clip)
    for entry in voice.clips:
        if entry.key not in heard:  # re-recorded, or no job of the speaker has it any more
            voice.drop(entry.key)
    if [e.key for e in voice.clips] != [e.key for e in kept.clips] or not file.exists():
        try:
            voice.save(file)
        except OSError as exc:
            raise UserError(
                f"Cannot write the character file {file}: {exc.strerror or exc} - free space, or make the "
                "manifest's folder writable"
            ) from None
    return speaker


def condensed(character: Character) -> Character:
    """The character as one entry holding the sums of all its clips' (phrase count, sum, sum of squares): all that
    Heard reads of it, summed exactly as Character.normaliser sums them, so every clip is heard bit for bit the same.
    A worker reads a speaker's file once and then reads each of its jobs in time and memory that do not grow with
    the speaker's clips (5000 clips: 0.3 s and 80 MB a job otherwise)."""
    clips = character.clips
    total = np.sum([e.total for e in clips], 0) if clips else np.zeros(0)
    squares = np.sum([e.squares for e in clips], 0) if clips else np.zeros(0)
    whole = Entry("all", character.name, character.seconds, character.phrases, total, squares)
    return Character(character.name, [whole] if clips else [])
