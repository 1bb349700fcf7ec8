"""Heard: the emotion in a voice, phrase by phrase, from the pretrained voice features (numpy only).

    head = HeardHead.load(weights / "heard.json")
    spans, pooled = phrase_features(voice, speech)     # voice (T, 512) VoiceEncoder states, speech (T,) 0..1
    p = head.probabilities(pooled, character)          # (P, 8): one calibrated row per phrase
    frames = per_frame(spans, p, T)                    # (T, 8): Analysis.probabilities

A phrase is speech between pauses (emotion_keys.phrases: speech > 0.5, joined across pauses shorter than 0.25 s).
Its feature is the mean and the standard deviation of the voice's layer-3 states over the phrase's frames (1024).
Speakers differ more than emotions do, so each feature is standardised before the linear classifier reads it:
against the speaker's own phrases when a Character (character.py) holds that voice's clips, else against the
training corpus's phrases. The classifier is a multinomial logistic regression over the classes that real
training speech holds (heard.json "classes"; Emo-DB: neutral, happy, sad, angry, fearful, disgusted): classes
without real training data (surprised, contempt) get probability 0. Its temperatures (one per normalisation) were
fitted on Emo-DB speakers the classifier was not trained on, kept at 1 or above (model/training/heard_fit.py).
Frames outside every phrase carry the probabilities of the nearest phrase; a clip with no phrase at all is neutral.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .emotion_keys import phrases
from .errors import UserError
from .rig import EMOTIONS

MIN_FRAMES = 5  # a phrase shorter than 0.1 s has no std worth reading: it joins the nearest phrase's reading
FEATURES = 1024  # mean and std of the 512 voice states


def phrase_features(voice: np.ndarray, speech: np.ndarray, fps: float = 50) -> tuple[np.ndarray, np.ndarray]:
    """voice (T, 512), speech (T,) -> spans (P, 2) [first, end) frames and pooled features (P, 1024) float32.
    Phrases shorter than MIN_FRAMES are dropped (their frames take the nearest phrase's reading). The same sums as
    a long clip's pieces give (PhrasePooler), so a clip reads alike whole or in chunks."""
    pooler = PhrasePooler(speech[: len(voice)], fps, voice.shape[1])
    pooler.add(0, voice)
    return pooler.pooled()


class PhrasePooler:
    """Phrase features over voice states given piece by piece, in time order (a long clip analysed in chunks, whose
    states for the whole clip are never held at once): per phrase, the mean and std of its frames from float64
    sums. Pieces may overlap (a chunk's context): frames already counted are skipped."""

    def __init__(self, speech: np.ndarray, fps: float = 50, width: int = FEATURES // 2):
        self.spans = np.asarray([(a, b) for a, b in phrases(speech, fps) if b - a >= MIN_FRAMES], np.int64).reshape(
            -1, 2
        )  # (P, 2)
        self.total = np.zeros((len(self.spans), width))  # (P, 512) float64
        self.squares = np.zeros_like(self.total)
        self.seen = 0  # frames before this were counted

    def add(self, start: int, voice: np.ndarray) -> None:
        """voice (n, 512): the states of frames [start, start + n)."""
        end = start + len(voice)
        for i, (a, b) in enumerate(self.spans):
            lo, hi = max(a, start, self.seen), min(b, end)
            if lo < hi:
                x = voice[lo - start : hi - start].astype(np.float64)
                self.total[i] += x.sum(0)
                self.squares[i] += (x * x).sum(0)
        self.seen = max(self.seen, end)

    def pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """spans (P, 2) and pooled features (P, 1024) float32, as phrase_features gives them."""
        count = (self.spans[:, 1] - self.spans[:, 0])[:, None].astype(np.float64)
        mean = self.total / np.maximum(count, 1)
        std = np.sqrt(np.maximum(self.squares / np.maximum(count, 1) - mean**2, 0.0))
        return self.spans, np.concatenate([mean, std], 1).astype(np.float32)


@dataclass
class Normaliser:
    """Per-feature mean and std (1024,) that standardise pooled features."""

    mean: np.ndarray
    std: np.ndarray

    def __call__(self, pooled: np.ndarray) -> np.ndarray:
        return (pooled - self.mean) / self.std

    @classmethod
    def of(cls, count: int, total: np.ndarray, squares: np.ndarray, floor: np.ndarray) -> Normaliser:
        """From sufficient statistics (phrase count, sum, sum of squares); `floor` (1024,) keeps a std from
        vanishing on few phrases (a fraction of the training corpus's std)."""
        mean = total / count
        var = np.maximum(squares / count - mean**2, 0.0)
        return cls(mean.astype(np.float32), np.maximum(np.sqrt(var), floor).astype(np.float32))


@dataclass
class HeardHead:
    classes: tuple[str, ...]  # the labels it can name, a subset of rig.EMOTIONS
    weight: np.ndarray  # (K, 1024)
    bias: np.ndarray  # (K,)
    corpus: Normaliser  # the training corpus's phrase statistics: a voice with no character
    floor: np.ndarray  # (1024,) least std of a character's features
    temperature_clip: float  # calibration, read against the corpus
    temperature_character: float  # calibration, read against its character
    min_character_phrases: int  # fewer phrases than this: a character is read as a voice with none

    def logits(self, standardised: np.ndarray) -> np.ndarray:
        """(P, 1024) standardised -> (P, K)."""
        return standardised @ self.weight.T + self.bias

    def probabilities(self, pooled: np.ndarray, character=None) -> np.ndarray:
        """(P, 1024) pooled phrase features -> (P, 8) calibrated probabilities over rig.EMOTIONS (0 for classes the
        head has no data for). `character`: a character.Character of this voice, or None."""
        normaliser = character.normaliser(self) if character is not None else None
        if normaliser is None:
            x, temperature = self.corpus(pooled), self.temperature_clip
        else:
            x, temperature = normaliser(pooled), self.temperature_character
        z = self.logits(x) / temperature
        p = np.exp(z - z.max(-1, keepdims=True))
        out = np.zeros((len(pooled), len(EMOTIONS)), np.float32)
        out[:, [EMOTIONS.index(c) for c in self.classes]] = p / p.sum(-1, keepdims=True)
        return out

    def to_json(self) -> dict:
        return {
            "classes": list(self.classes),
            "weight": self.weight.tolist(),
            "bias": self.bias.tolist(),
            "corpus_mean": self.corpus.mean.tolist(),
            "corpus_std": self.corpus.std.tolist(),
            "floor": self.floor.tolist(),
            "temperature_clip": self.temperature_clip,
            "temperature_character": self.temperature_character,
            "min_character_phrases": self.min_character_phrases,
        }

    @classmethod
    def from_json(cls, d: dict) -> HeardHead:
        arr = lambda k: np.asarray(d[k], np.float32)
        classes = tuple(d["classes"])
        if not set(classes) <= set(EMOTIONS):
            raise ValueError(f"heard classes {classes} are not all in {EMOTIONS}")
        return cls(
            classes,
            arr("weight"),
            arr("bias"),
            Normaliser(arr("corpus_mean"), arr("corpus_std")),
            arr("floor"),
            float(d["temperature_clip"]),
            float(d["temperature_character"]),
            int(d["min_character_phrases"]),
        )

    @classmethod
    def load(cls, path: Path) -> HeardHead:
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{path} is not a Heard head ({exc}) - reinstall the add-on's weights") from None


def per_frame(spans: np.ndarray, probabilities: np.ndarray, frames: int) -> np.ndarray:
    """Phrase rows (P, 8) -> (frames, 8): each frame the row of its phrase, or of the nearest phrase outside them
    (the voice's emotion holds through pauses); all neutral when there is no phrase."""
    if len(spans) == 0:
        out = np.zeros((frames, len(EMOTIONS)), np.float32)
        out[:, 0] = 1.0
        return out
    return probabilities[nearest_phrase(spans, frames)]


def nearest_phrase(spans: np.ndarray, frames: int) -> np.ndarray:
    """(frames,) the index of each frame's phrase, or of the nearest phrase outside them; spans (P, 2), P >= 1."""
    first, end, t = spans[:, 0], spans[:, 1], np.arange(frames)
    before = np.searchsorted(first, t, side="right") - 1  # the last phrase starting at or before each frame
    after = before + 1
    last = len(spans) - 1
    to_before = np.where(before >= 0, np.maximum(t - (end[np.clip(before, 0, last)] - 1), 0), np.inf)  # 0 inside
    to_after = np.where(after <= last, first[np.clip(after, 0, last)] - t, np.inf)
    return np.where(to_before <= to_after, np.clip(before, 0, last), np.clip(after, 0, last))
