"""Leave-one-corpus-out (`python build.py loco`): does the voice's emotion carry over to a corpus, a language or a
voice family that training never heard?

Each fold trains the emotion encoder alone (training stage 1, Trainer.train_emotion) without a part of the corpus
(TrainConfig.emotion_exclude), then scores the left-out part's VALIDATION split, which chooses the emotion
encoder's input (ModelConfig.emotion_features), and its TEST split, reported beside and never used to choose.
Scores are unweighted average recall over the emotions both sides have (argmax among them); the in-domain fold
(everything -> Emo-DB 15/16, argmax over all eight classes) is the shipped model's speech-emotion figure.

Per clip, and speaker-relative (each clip read against its speaker's baseline in the same split, speaker_baseline
below: the score shift the runtime used before Heard, core/heard.py). The voice's confidence is calibrated here: one
temperature fitted on the leave-out folds' VALIDATION clips (corpora the head never heard), its expected calibration
error reported per fold on TEST; `--weights` writes it into a weights folder (config "voice_temperature").
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.animator import fit_frames
from editemotalk_addon.core.audio import SAMPLE_RATE
from editemotalk_addon.core.emotion_space import calibrated
from editemotalk_addon.core.network.model import pad_audio
from editemotalk_addon.core.recogniser import HOP
from editemotalk_addon.core.rig import EMOTIONS
from editemotalk_addon.core.timebase import TRAIN_FPS, frame_count
from editemotalk_addon.core.voice import VoiceEncoder

from ..training.config import TrainConfig
from ..training.corpus.store import Example
from ..training.data import Corpus, emotion_weights, label_of
from ..training.train import Trainer
from .evaluate import unweighted_recall
from .report import loco_table

VARIANTS = ("spectra", "voice")  # ModelConfig.emotion_features, the baseline first


@dataclass(frozen=True)
class Fold:
    name: str
    exclude: str  # TrainConfig.emotion_exclude: what stage 1 never hears
    source: str  # the scored clips: this manifest source ...
    family: str = ""  # ... and synthesizer family
    shared_only: bool = True  # argmax among the classes both sides have (else among all eight)


FOLDS = (
    Fold("in-domain: all corpora -> Emo-DB (val 03/09, test 15/16)", "", "emodb", shared_only=False),
    Fold("no German: without Emo-DB -> Emo-DB", "emodb", "emodb"),
    Fold(
        "no English: Emo-DB only -> synthetic (val awb + espeak, test rms + ked)", "synthetic,english_read", "synthetic"
    ),
    Fold("no flite: without flite voices -> flite (val awb, test rms)", "flite", "synthetic", "flite"),
)


def held_out(corpus_root: Path, fold: Fold, split: str) -> list[Example]:
    examples = Corpus(corpus_root, split, (fold.source,)).examples
    return [ex for ex in examples if label_of(ex) >= 0 and fold.family in ("", ex.meta.family)]


@torch.no_grad()
def clip_logits(model, audio: np.ndarray, voice: VoiceEncoder | None) -> np.ndarray:
    """(T, 8) the emotion head's scores over the clip's frames, as Animator.analyze computes them."""
    padded = pad_audio(torch.from_numpy(audio)[None])
    features = None
    if voice is not None:
        features = torch.from_numpy(fit_frames(voice(audio).T, padded.shape[1] // HOP))[None]
    _, _, logits, _ = model.encode_emotion(padded, features)
    frames = frame_count(len(audio) / SAMPLE_RATE, TRAIN_FPS)
    return logits[0, :, :frames].T.numpy()


def predictions(model, examples: list[Example], voice: VoiceEncoder | None) -> list[dict]:
    """Per labelled clip: its label, speaker and frame scores."""
    return [
        {
            "id": ex.meta.id,
            "label": label_of(ex),
            "speaker": ex.meta.speaker,
            "logits": clip_logits(model, ex.audio, voice),
        }
        for ex in examples
        if label_of(ex) >= 0
    ]


SHRINK_CLIPS = 5.0  # a speaker's baseline counts fully only with many clips: n / (n + 5) of it


def speaker_baseline(clip_logits: list[np.ndarray], reference: np.ndarray) -> np.ndarray:
    """(8,) the mean of a speaker's clips' mean scores minus the corpus's, shrunk towards 0 for few clips."""
    n = len(clip_logits)
    return (n / (n + SHRINK_CLIPS)) * (np.mean([c.mean(0) for c in clip_logits], axis=0) - reference)


def score(clips: list[dict], classes: list[int], temperature: float = 1.0, reference=None) -> dict:
    """UAR per clip (the mean calibrated probabilities' argmax among `classes`), speaker-relative UAR (each clip
    against its speaker's baseline), and the expected calibration error of the per-clip probabilities."""
    kept = [c for c in clips if c["label"] in classes]
    by_speaker: dict[str, list[np.ndarray]] = {}
    for c in kept:
        by_speaker.setdefault(c["speaker"], []).append(c["logits"])
    reference = np.mean([c["logits"].mean(0) for c in kept], 0) if reference is None else reference
    guesses, relative, confidences = [], [], []
    for c in kept:
        p = calibrated(c["logits"], temperature).mean(0)[classes]
        baseline = speaker_baseline(by_speaker[c["speaker"]], reference)
        q = calibrated(c["logits"], temperature, baseline).mean(0)[classes]
        guesses.append((EMOTIONS[c["label"]], EMOTIONS[classes[int(p.argmax())]]))
        relative.append((EMOTIONS[c["label"]], EMOTIONS[classes[int(q.argmax())]]))
        confidences.append((float(p.max() / p.sum()), classes[int(p.argmax())] == c["label"]))
    out = unweighted_recall(guesses)
    out["speaker_relative_uar"] = unweighted_recall(relative)["uar"]
    out["ece"] = expected_calibration_error(confidences)
    return out


def expected_calibration_error(confidences: list[tuple[float, bool]], bins: int = 10) -> float:
    """The gap between how sure the guesses are and how often they are right, averaged over confidence bins, %."""
    conf = np.array([c for c, _ in confidences])
    right = np.array([r for _, r in confidences], float)
    edges = np.linspace(0, 1, bins + 1)
    gap = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            gap += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return round(100 * gap, 1)


def fit_temperature(clips: list[dict]) -> float:
    """The temperature that best predicts the labels of clips from corpora the head never heard (least negative
    log-likelihood of the frames' calibrated probabilities), on a grid."""
    grid = np.exp(np.linspace(np.log(0.5), np.log(20.0), 60))
    frames = [(c["logits"], c["label"]) for c in clips]
    nll = [-np.mean([np.log(calibrated(logits, t)[:, label] + 1e-9).mean() for logits, label in frames]) for t in grid]
    return round(float(grid[int(np.argmin(nll))]), 3)


def run_fold(corpus_root: Path, out: Path, fold: Fold, variant: str, steps: int, threads: int) -> dict:
    """Train (or resume) one fold's emotion encoder and score it; the result is kept in its run folder."""
    run = out / variant / fold.name.split(":")[0].replace(" ", "-")
    done = run / "result.json"
    if done.exists() and json.loads(done.read_text())["steps"] == steps:
        return json.loads(done.read_text())
    cfg = TrainConfig(corpus=str(corpus_root), out=str(run), threads=threads, emotion_steps=steps)
    cfg = cfg.overridden([f"emotion_exclude={fold.exclude}", f"model.emotion_features={variant}"])
    start = time.time()
    trainer = Trainer(cfg)
    trainer.train_emotion(trainer.resume())
    seconds = time.time() - start
    model = trainer.model.eval()
    trained = np.array([label_of(ex) for ex in trainer.corpus.examples])[
        emotion_weights(trainer.corpus, cfg.emotion_real_share, cfg.emotion_exclude) > 0
    ]
    result = {"fold": fold.name, "variant": variant, "steps": steps, "train_seconds": round(seconds)}
    voice = VoiceEncoder(W.DEFAULT / "voice.onnx", cfg.model.voice_layer) if variant == "voice" else None
    for split in ("validation", "test"):
        examples = held_out(corpus_root, fold, split)
        shared = set(trained) & {label_of(ex) for ex in examples} if fold.shared_only else set(trained)
        classes = [int(c) for c in sorted(shared)]
        clips = predictions(model, examples, voice)
        result[split] = score(clips, classes)
        result[split]["classes"] = classes
        columns = {k: np.array([c[k] for c in clips]) for k in ("id", "label", "speaker")}
        logits = {f"{i}": c["logits"] for i, c in enumerate(clips)}
        np.savez(
            run / f"{split}_logits.npz",
            ids=columns["id"],
            labels=columns["label"],
            speakers=columns["speaker"],
            **logits,
        )
    done.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result), flush=True)
    return result


def select(runs: list[dict], variants: tuple[str, ...] = VARIANTS) -> dict:
    """The variant with the best mean VALIDATION UAR over the leave-out folds (the in-domain fold excluded)."""
    means = {
        v: round(
            float(np.mean([r["validation"]["uar"] for r in runs if r["variant"] == v and r["fold"] != FOLDS[0].name])),
            1,
        )
        for v in variants
    }
    return {"mean_leave_out_validation_uar": means, "chosen": max(means, key=means.get)}


def load_clips(run: Path, split: str) -> list[dict]:
    with np.load(run / f"{split}_logits.npz") as z:
        return [
            {"label": int(z["labels"][i]), "speaker": str(z["speakers"][i]), "logits": z[f"{i}"]}
            for i in range(len(z["labels"]))
        ]


def calibrate(out: Path, runs: list[dict], variant: str) -> dict:
    """One temperature for the chosen variant, fitted on the leave-out folds' VALIDATION clips together; each
    fold's TEST scored again with it (UAR, speaker-relative UAR, calibration error before and after)."""
    leave_out = [r for r in runs if r["variant"] == variant and r["fold"] != FOLDS[0].name]
    folder = lambda r: out / variant / r["fold"].split(":")[0].replace(" ", "-")
    temperature = fit_temperature([c for r in leave_out for c in load_clips(folder(r), "validation")])
    folds = {}
    for r in leave_out:
        test = score(load_clips(folder(r), "test"), r["test"]["classes"], temperature)
        folds[r["fold"]] = {"ece_before": r["test"]["ece"], "ece_after": test["ece"], "uar": test["uar"]}
    return {"temperature": temperature, "folds": folds}


def main(
    corpus_root: Path,
    out: Path,
    bench: Path,
    steps: int,
    threads: int,
    weights: Path | None = None,
    variants: tuple[str, ...] = VARIANTS,
) -> Path:
    runs = [run_fold(corpus_root, out, fold, v, steps, threads) for v in variants for fold in FOLDS]
    loco = {"steps": steps, "folds": [asdict(f) for f in FOLDS], "runs": runs, **select(runs, variants)}
    loco["calibration"] = calibrate(out, runs, loco["chosen"])
    (bench / "loco.json").write_text(json.dumps(loco, indent=1) + "\n")
    (bench / "loco.md").write_text(loco_table(loco) + "\n")
    if weights is not None:  # the shipped voice confidence: as sure as it is right on corpora it never heard
        from ..training.export import set_config

        set_config(weights, voice_temperature=loco["calibration"]["temperature"])
    return bench / "loco.json"
