"""Fit Heard (core/heard.py) on real acted speech: Emo-DB, boredom dropped, every speaker.

    python -m model.training.heard_fit            # writes weights/heard.json and the weights manifest

Phrases of each clip (core/heard.phrase_features) carry the clip's label. Training standardises every phrase's
features over its own speaker's phrases (what a Character does at runtime) and fits one multinomial logistic
regression (L2, balanced classes). Its two temperatures (read against a character / against the corpus) are fitted
on out-of-fold scores of Emo-DB's speakers, each scored by a classifier trained without that speaker, and kept at
1 or above (HeardConfig.least_temperature). Only Emo-DB is read here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.files import write_text_atomic
from editemotalk_addon.core.heard import HeardHead, Normaliser, per_frame, phrase_features

from .heard_data import extract

CLASSES = ("neutral", "happy", "sad", "angry", "fearful", "disgusted")  # the classes Emo-DB holds


@dataclass
class HeardConfig:
    strength: float = 0.01  # inverse L2 penalty (sklearn's C) on standardised features
    floor: float = 0.1  # a character's feature std is at least this fraction of the corpus's
    min_character_phrases: int = 3  # fewer: a per-feature std of 2 values only says which is larger
    temperatures: tuple[float, ...] = tuple(np.round(np.exp(np.linspace(np.log(0.25), np.log(8.0), 61)), 4))
    # Held-out Emo-DB speakers are still Emo-DB (same room, sentences, actors' school): fitted there, a temperature
    # sharpens (about 0.4), and a corpus never heard is then read surer than it is recognised. A choice between two
    # recipes, "as fitted" and "never below 1", made on the evaluation's calibration (bench/heard.md): no value is
    # fitted there.
    least_temperature: float = 1.0


@dataclass
class Phrases:
    """Every clip's phrases, flattened: features (N, 1024) and for each row its clip and speaker."""

    features: np.ndarray  # (N, 1024)
    clip: np.ndarray  # (N,) index into the clip arrays
    spans: list[np.ndarray]  # per clip (P, 2)
    frames: np.ndarray  # (clips,) frames per clip
    speaker: np.ndarray  # (clips,)
    emotion: np.ndarray  # (clips,)
    strong: np.ndarray  # (clips,)


def phrases_of(data: dict) -> Phrases:
    feats, owner, spans = [], [], []
    for i, (voice, speech) in enumerate(zip(data["voice"], data["speech"])):
        s, f = phrase_features(voice.astype(np.float32), speech.astype(np.float32))
        feats.append(f)
        owner += [i] * len(f)
        spans.append(s)
    return Phrases(
        np.concatenate(feats),
        np.array(owner),
        spans,
        np.array([len(v) for v in data["voice"]]),
        data["speaker"],
        data["emotion"],
        data["strong"],
    )


def corpus_normaliser(features: np.ndarray) -> Normaliser:
    return Normaliser(features.mean(0).astype(np.float32), (features.std(0) + 1e-6).astype(np.float32))


def speaker_normalised(ph: Phrases, rows: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """(len(rows), 1024): each phrase standardised over its speaker's phrases among `rows` (as a Character)."""
    out = np.zeros((len(rows), ph.features.shape[1]), np.float32)
    speakers = ph.speaker[ph.clip[rows]]
    for s in np.unique(speakers):
        mine = rows[speakers == s]
        x = ph.features[mine].astype(np.float64)
        norm = Normaliser.of(len(x), x.sum(0), (x**2).sum(0), floor)
        out[speakers == s] = norm(ph.features[mine])
    return out


def fit_classifier(x: np.ndarray, labels: np.ndarray, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression over CLASSES -> weight (K, 1024), bias (K,)."""
    from sklearn.linear_model import LogisticRegression

    y = np.array([CLASSES.index(e) for e in labels])
    model = LogisticRegression(C=strength, class_weight="balanced", max_iter=2000).fit(x, y)
    return model.coef_.astype(np.float32), model.intercept_.astype(np.float32)


def fit_temperature(logits: np.ndarray, labels: np.ndarray, grid: tuple[float, ...]) -> float:
    """The temperature minimising the negative log-likelihood of `labels` (N,) under softmax(logits / T)."""
    y = np.array([CLASSES.index(e) for e in labels])

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean())

    return float(min(grid, key=nll))


def train_head(ph: Phrases, rows: np.ndarray, cfg: HeardConfig) -> HeardHead:
    """A head fitted on the phrases `rows` (temperatures 1: calibrate() sets them)."""
    corpus = corpus_normaliser(ph.features[rows])
    floor = (cfg.floor * corpus.std).astype(np.float32)
    x = speaker_normalised(ph, rows, floor)
    weight, bias = fit_classifier(x, ph.emotion[ph.clip[rows]], cfg.strength)
    return HeardHead(CLASSES, weight, bias, corpus, floor, 1.0, 1.0, cfg.min_character_phrases)


def out_of_fold_logits(ph: Phrases, cfg: HeardConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per phrase, the logits of a head trained without its speaker: read against the corpus, and against its
    speaker's phrases (N, K) each."""
    clip_mode = np.zeros((len(ph.features), len(CLASSES)), np.float32)
    character_mode = np.zeros_like(clip_mode)
    speakers = ph.speaker[ph.clip]
    for s in np.unique(speakers):
        held = np.flatnonzero(speakers == s)
        head = train_head(ph, np.flatnonzero(speakers != s), cfg)
        clip_mode[held] = head.logits(head.corpus(ph.features[held]))
        character_mode[held] = head.logits(speaker_normalised(ph, held, head.floor))
    return clip_mode, character_mode


def fit(cfg: HeardConfig | None = None) -> tuple[HeardHead, dict]:
    cfg = cfg or HeardConfig()
    ph = phrases_of(extract("emodb"))
    head = train_head(ph, np.arange(len(ph.features)), cfg)
    clip_mode, character_mode = out_of_fold_logits(ph, cfg)
    labels = ph.emotion[ph.clip]
    fitted = [fit_temperature(x, labels, cfg.temperatures) for x in (clip_mode, character_mode)]
    head.temperature_clip, head.temperature_character = (max(t, cfg.least_temperature) for t in fitted)
    info = {"phrases": len(ph.features), "clips": len(ph.frames), "speakers": len(np.unique(ph.speaker))}
    return head, info | {"fitted_temperatures": fitted}


def head_without(speakers: set[str], shipped: HeardHead, cfg: HeardConfig | None = None) -> HeardHead:
    """The shipped recipe fitted on Emo-DB without `speakers` ("emodb/15"), at the shipped head's temperatures:
    what scores those speakers as held out (the shipped head heard every Emo-DB speaker)."""
    ph = phrases_of(extract("emodb"))
    head = train_head(ph, np.flatnonzero(~np.isin(ph.speaker[ph.clip], sorted(speakers))), cfg or HeardConfig())
    head.temperature_clip, head.temperature_character = shipped.temperature_clip, shipped.temperature_character
    return head


def clip_probabilities(head: HeardHead, ph: Phrases, character_of=None) -> np.ndarray:
    """(clips, 8) each clip's mean per-frame probability, as Analysis.detected reads it. `character_of`:
    speaker -> Character-like object (with .normaliser(head)), or None for no character."""
    rows = np.arange(len(ph.features))
    out = np.zeros((len(ph.frames), 8), np.float32)
    for i in range(len(ph.frames)):
        mine = rows[ph.clip == i]
        character = character_of(ph.speaker[i]) if character_of else None
        p = head.probabilities(ph.features[mine], character)
        out[i] = per_frame(ph.spans[i], p, int(ph.frames[i])).mean(0)
    return out


def write(head: HeardHead, folder: Path = W.DEFAULT) -> Path:
    from model.training.export import write_manifest

    path = Path(folder) / "heard.json"
    write_text_atomic(path, json.dumps(head.to_json()) + "\n")
    write_manifest(Path(folder))
    return path


if __name__ == "__main__":
    head, info = fit()
    print(info, "temperatures", head.temperature_clip, head.temperature_character)
    print(write(head))
