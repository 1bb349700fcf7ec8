"""Leave-one-corpus-out (`python build.py loco`): does the voice's emotion carry over to a corpus, a language or a
voice family that training never heard?

Each fold trains the emotion encoder alone (training stage 1, Trainer.train_emotion) without a part of the corpus
(TrainConfig.emotion_exclude), then scores the left-out part's VALIDATION split, which chooses the emotion
encoder's input (ModelConfig.emotion_features), and its TEST split, reported beside and never used to choose.
Scores are unweighted average recall over the emotions both sides have (argmax among them); the in-domain fold
(everything -> Emo-DB 15/16, argmax over all eight classes) is the shipped model's speech-emotion figure.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from editemotalk_addon.core.audio import SAMPLE_RATE
from editemotalk_addon.core.network.model import pad_audio
from editemotalk_addon.core.rig import EMOTIONS
from editemotalk_addon.core.timebase import TRAIN_FPS, frame_count

from ..training.config import TrainConfig
from ..training.corpus.store import Example
from ..training.data import Corpus, emotion_weights, label_of
from ..training.train import Trainer
from .evaluate import unweighted_recall
from .report import loco_table

VARIANTS = ("spectra", "spectra+prosody")  # ModelConfig.emotion_features, the baseline first


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
def clip_probabilities(model, audio: np.ndarray) -> np.ndarray:
    """(8,) class probabilities averaged over the clip's frames, as Animator.analyze reports them."""
    _, _, logits, _ = model.encode_emotion(pad_audio(torch.from_numpy(audio)[None]))
    frames = frame_count(len(audio) / SAMPLE_RATE, TRAIN_FPS)
    return torch.softmax(logits[0, :, :frames], dim=0).mean(1).numpy()


def score(model, examples: list[Example], classes: list[int]) -> dict:
    guesses = []
    for ex in examples:
        if label_of(ex) in classes:
            p = clip_probabilities(model, ex.audio)
            guesses.append((ex.meta.emotion, EMOTIONS[classes[int(np.argmax(p[classes]))]]))
    return unweighted_recall(guesses)


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
    for split in ("validation", "test"):
        examples = held_out(corpus_root, fold, split)
        classes = sorted(set(trained) & {label_of(ex) for ex in examples}) if fold.shared_only else sorted(set(trained))
        result[split] = score(model, examples, classes)
    done.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result), flush=True)
    return result


def select(runs: list[dict]) -> dict:
    """The variant with the best mean VALIDATION UAR over the leave-out folds (the in-domain fold excluded)."""
    means = {
        v: round(
            float(np.mean([r["validation"]["uar"] for r in runs if r["variant"] == v and r["fold"] != FOLDS[0].name])),
            1,
        )
        for v in VARIANTS
    }
    return {"mean_leave_out_validation_uar": means, "chosen": max(means, key=means.get)}


def main(corpus_root: Path, out: Path, bench: Path, steps: int, threads: int) -> Path:
    runs = [run_fold(corpus_root, out, fold, v, steps, threads) for fold in FOLDS for v in VARIANTS]
    loco = {"steps": steps, "folds": [asdict(f) for f in FOLDS], "runs": runs, **select(runs)}
    (bench / "loco.json").write_text(json.dumps(loco, indent=1) + "\n")
    (bench / "loco.md").write_text(loco_table(loco) + "\n")
    return bench / "loco.json"
