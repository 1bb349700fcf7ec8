"""Synthetic emotional speech: three synthesizer families, many voices, emotion through prosody.

Families: espeak-ng (formant synthesis; 8 accents x many voice variants), flite (CMU diphone and clustergen voices)
and festival (diphone and HTS voices), all Debian packages installed by `build.py setup`. Emotion is rendered by
rate, pitch level, pitch range and loudness (design.md section 3), scaled by intensity, so one sentence read by one
voice in all eight emotions gives paired examples whose only difference is how it was said.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from editemotalk_addon.core.audio import load_audio


@dataclass(frozen=True)
class EmotionProsody:
    rate: float  # speaking-rate multiplier
    pitch: float  # semitones
    range: float  # multiplier of the pitch range
    loudness: float  # dB

    def scaled(self, intensity: float) -> EmotionProsody:
        return EmotionProsody(
            1 + intensity * (self.rate - 1),
            intensity * self.pitch,
            max(0.2, 1 + intensity * (self.range - 1)),
            intensity * self.loudness,
        )


# Directions follow the vocal-emotion literature (Scherer 2003; Banse & Scherer 1996): high arousal (anger, fear,
# joy, surprise) is faster, higher, wider and louder; sadness slow, low, flat and soft.
EMOTION_PROSODY: dict[str, EmotionProsody] = {
    "neutral": EmotionProsody(1.00, 0.0, 1.0, 0.0),
    "happy": EmotionProsody(1.08, 3.0, 1.5, 3.0),
    "sad": EmotionProsody(0.80, -2.5, 0.55, -6.0),
    "angry": EmotionProsody(1.12, 2.0, 1.4, 7.0),
    "fearful": EmotionProsody(1.20, 5.0, 1.25, 1.0),
    "disgusted": EmotionProsody(0.86, -1.5, 1.1, 1.0),
    "surprised": EmotionProsody(1.00, 5.0, 1.8, 4.0),
    "contempt": EmotionProsody(0.90, -1.0, 0.85, -1.0),
}

# "en" is British English: espeak-ng 1.51 silently ignores voice variants on "en-gb" itself.
_ESPEAK_ACCENTS = (
    "en-us",
    "en",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
_ESPEAK_VARIANTS = (
    "",
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "m8",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "klatt",
    "klatt2",
    "klatt3",
    "klatt4",
    "adam",
    "Andy",
    "Annie",
    "aunty",
    "belinda",
    "benjamin",
    "caleb",
    "david",
    "ed",
    "edward",
    "Gene",
    "grandma",
    "grandpa",
    "iven",
    "Jacky",
    "john",
    "Lee",
    "linda",
    "max",
    "Michael",
    "Mike",
    "norbert",
    "paul",
    "quincy",
    "rob",
    "robert",
    "shelby",
    "steph",
    "travis",
    "victor",
    "zac",
    "anika",
)
# flite voice -> its typical F0 (Hz), used to move the pitch natively; None: the voice ignores F0 targets.
_FLITE_VOICES = {"kal": 105.0, "kal16": 105.0, "awb": 110.0, "slt": 175.0, "rms": None}
# festival voice -> typical F0; None: an HTS voice that ignores F0 targets and Duration_Stretch alike.
_FESTIVAL_VOICES = {"kal_diphone": 105.0, "ked_diphone": 110.0, "cmu_us_slt_arctic_hts": None}


@dataclass(frozen=True)
class Voice:
    family: str
    name: str
    variant: str = ""
    pitch: float = 0.0  # semitones added to every utterance: one base voice gives several speakers
    rate: float = 1.0

    @property
    def speaker(self) -> str:
        """The base voice; train/test splits keep all of a base voice's pitch/rate versions together."""
        return f"{self.family}:{self.name}" + (f"+{self.variant}" if self.variant else "")

    @property
    def id(self) -> str:
        return f"{self.speaker}@{self.pitch:+.0f}st,{self.rate:.2f}x"


def voices() -> list[Voice]:
    """Every voice available, in a fixed order."""
    out = [Voice("espeak", a, v) for a in _ESPEAK_ACCENTS for v in _ESPEAK_VARIANTS]
    offsets = ((0.0, 1.0), (-2.0, 0.93), (2.5, 1.07))
    out += [Voice("flite", n, "", p, r) for n in _FLITE_VOICES for p, r in offsets]
    out += [Voice("festival", n, "", p, r) for n in _FESTIVAL_VOICES for p, r in offsets]
    return out


def synthesize(text: str, voice: Voice, emotions: dict[str, float]) -> dict[str, np.ndarray]:
    """Render `text` with `voice` once per {emotion: intensity}; returns 16 kHz mono float32 audio per emotion."""
    with tempfile.TemporaryDirectory(prefix="eet-synth-") as tmp:
        paths = {e: Path(tmp) / f"{e}.wav" for e in emotions}
        prosody = {e: EMOTION_PROSODY[e].scaled(i) for e, i in emotions.items()}
        if voice.family == "festival":
            _festival(text, voice, prosody, paths, Path(tmp))
        else:
            for e in emotions:
                (_espeak if voice.family == "espeak" else _flite)(text, voice, prosody[e], paths[e])
        out = {}
        for e, path in paths.items():
            x = load_audio(path)
            out[e] = (x * 10 ** (prosody[e].loudness / 20)).astype(np.float32)
        return out


def _sox_prosody(path: Path, semitones: float, tempo: float = 1.0) -> None:
    """Pitch and tempo for voices without native controls (sox's WSOLA tempo and pitch effects)."""
    effects = (["pitch", f"{100 * semitones:.0f}"] if abs(semitones) >= 0.05 else []) + (
        ["tempo", "-s", f"{tempo:.3f}"] if abs(tempo - 1) >= 0.005 else []
    )
    if effects:
        tmp = path.with_suffix(".sox.wav")
        subprocess.run(["sox", str(path), str(tmp), *effects], check=True, capture_output=True)
        tmp.replace(path)


def _espeak(text: str, voice: Voice, p: EmotionProsody, path: Path) -> None:
    name = voice.name + (f"+{voice.variant}" if voice.variant else "")
    pitch = int(np.clip(50 + 4 * (p.pitch + voice.pitch), 0, 99))
    wpm = int(165 * p.rate * voice.rate)
    safe = text.replace("&", " and ").replace("<", " ").replace(">", " ")
    ssml = f'<speak><prosody range="{100 * p.range:.0f}%">{safe}</prosody></speak>'
    subprocess.run(
        ["espeak-ng", "-v", name, "-s", str(wpm), "-p", str(pitch), "-m", "-w", str(path), ssml],
        check=True,
        capture_output=True,
    )


def _flite(text: str, voice: Voice, p: EmotionProsody, path: Path) -> None:
    f0 = _FLITE_VOICES[voice.name]
    args = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={1 / (p.rate * voice.rate):.3f}"]
    if f0 is not None:
        args += [
            "--setf",
            f"int_f0_target_mean={f0 * 2 ** ((p.pitch + voice.pitch) / 12):.1f}",
            "--setf",
            f"int_f0_target_stddev={0.18 * f0 * p.range:.1f}",
        ]
    subprocess.run([*args, "-t", text, "-o", str(path)], check=True, capture_output=True)
    if f0 is None:
        _sox_prosody(path, p.pitch + voice.pitch)


def _festival(text: str, voice: Voice, prosody: dict[str, EmotionProsody], paths: dict[str, Path], tmp: Path):
    """One festival process renders all emotions (its start-up costs more than an utterance)."""
    f0 = _FESTIVAL_VOICES[voice.name]
    safe = text.replace('"', "").replace("\\", "")
    lines = [f"(voice_{voice.name})"]
    for e, p in prosody.items():
        lines.append(f"(Parameter.set 'Duration_Stretch {1 / (p.rate * voice.rate):.3f})")
        if f0 is not None:
            mean, std = f0 * 2 ** ((p.pitch + voice.pitch) / 12), 0.2 * f0 * p.range
            lines.append(
                f"(set! int_lr_params '((target_f0_mean {mean:.1f}) (target_f0_std {std:.1f}) "
                "(model_f0_mean 170) (model_f0_std 34)))"
            )
        lines.append(f'(utt.save.wave (SynthText "{safe}") "{paths[e]}" \'riff)')
    script = tmp / "render.scm"
    script.write_text("\n".join(lines) + "\n")
    subprocess.run(["festival", "-b", str(script)], check=True, capture_output=True)
    if f0 is None:
        for e, p in prosody.items():
            _sox_prosody(paths[e], p.pitch + voice.pitch, p.rate * voice.rate)
