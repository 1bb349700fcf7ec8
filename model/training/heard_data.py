"""The voice features Heard reads, extracted once per real labelled clip and cached under data/heard/.

Training reads Emo-DB (boredom dropped: no slider); the evaluation lists its own clips (model/evaluation/heard_eval.py)
and caches them the same way. Per clip: the voice encoder's layer-3 states (T, 512) at 50 Hz and the speech
activity (T,), exactly as Animator.analyze computes them, so phrase pooling (core/heard.phrase_features) can be
re-run without the networks.

    python -m model.training.heard_data            # writes data/heard/emodb.npz
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.animator import fit_frames
from editemotalk_addon.core.audio import SAMPLE_RATE, load_audio
from editemotalk_addon.core.files import atomic
from editemotalk_addon.core.recogniser import HOP, Recogniser, speech_activity
from editemotalk_addon.core.timebase import frame_count
from editemotalk_addon.core.voice import VoiceEncoder

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "data" / "heard"
EMODB = {"W": "angry", "E": "disgusted", "A": "fearful", "F": "happy", "T": "sad", "N": "neutral"}  # L: boredom


@dataclass
class Clip:
    path: Path
    speaker: str  # "emodb/03"
    emotion: str
    strong: bool  # a strong take (Emo-DB's all count as strong)


def emodb_clips(root: Path = DATA / "emodb") -> list[Clip]:
    out = []
    for p in sorted((root / "audio").glob("*.flac")):
        if p.stem[5] in EMODB:
            out.append(Clip(p, f"emodb/{p.stem[:2]}", EMODB[p.stem[5]], True))
    return out


def features(wave: np.ndarray, recogniser: Recogniser, voice: VoiceEncoder) -> tuple[np.ndarray, np.ndarray]:
    """(N,) 16 kHz -> voice states (T, 512) and speech activity (T,) on Animator.analyze's 50 Hz grid."""
    frames = frame_count(len(wave) / SAMPLE_RATE, 50)
    log_probs, _ = recogniser(wave)
    speech = fit_frames(speech_activity(wave, log_probs)[None], frames)[0]
    states = fit_frames(voice(wave).T, (len(wave) + (-len(wave)) % HOP) // HOP)
    return fit_frames(states, frames).T, speech


def extract(corpus: str, clips_of: Callable[[], list[Clip]] = emodb_clips, folder: Path = W.DEFAULT) -> dict:
    """The clips `clips_of()` lists, cached as data/heard/<corpus>.npz: {path, speaker, emotion, strong, voice
    (object array of (T, 512) float16), speech (object array)}."""
    path = CACHE / f"{corpus}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return _unpacked(dict(z))
    recogniser, voice = Recogniser(folder / "recogniser.onnx"), VoiceEncoder(folder / "voice.onnx")
    clips = clips_of()
    states, speech = [], []
    for i, c in enumerate(clips):
        v, s = features(load_audio(c.path), recogniser, voice)
        states.append(v.astype(np.float16))
        speech.append(s.astype(np.float16))
        if i % 100 == 0:
            print(f"{corpus}: {i}/{len(clips)}", flush=True)
    lengths = np.array([len(s) for s in speech])
    packed = {
        "path": np.array([c.path.name for c in clips]),
        "speaker": np.array([c.speaker for c in clips]),
        "emotion": np.array([c.emotion for c in clips]),
        "strong": np.array([c.strong for c in clips]),
        "lengths": lengths,
        "voice": np.concatenate(states),
        "speech": np.concatenate(speech),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **packed)
    return _unpacked(packed)


def _unpacked(z: dict) -> dict:
    cuts = np.cumsum(z["lengths"])[:-1]
    return {
        "path": z["path"],
        "speaker": z["speaker"],
        "emotion": z["emotion"],
        "strong": z["strong"],
        "voice": np.split(z["voice"], cuts),
        "speech": np.split(z["speech"], cuts),
    }


if __name__ == "__main__":
    extract("emodb")
