"""The shipped phoneme recogniser's features beside the corpus, so training reads them instead of running it.

For every training example: the features of its clean audio and of RENDITIONS augmented renditions (the loader's
own augmentation, seeded per example and rendition, so training regenerates exactly the audio the features came
from and can follow its time scale). Stored as `<corpus>/recogniser/<shard>.npz`, key "<index>.<rendition>",
float16 (T, 447) at 50 Hz: the hidden layer (256) then the log-probabilities (191), core/recogniser.py's layout.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.files import atomic
from editemotalk_addon.core.recogniser import Recogniser

from .augment import augment
from .corpus.store import RECOGNISER, read_manifest, sidecar
from .parallel import parallel

RENDITIONS = 3  # augmented renditions per example, besides the clean audio


def rendition_rng(seed: int, rendition: int) -> np.random.Generator:
    """The augmentation of one rendition: the same audio every time it is asked for."""
    return np.random.default_rng([seed, 7919, rendition])


def rendition(audio: np.ndarray, seed: int, index: int) -> tuple[np.ndarray, float]:
    """(audio, time scale) of rendition `index` (0: the clean audio)."""
    return (audio, 1.0) if index == 0 else augment(audio, rendition_rng(seed, index))


@functools.cache
def _recogniser() -> Recogniser:
    return Recogniser(W.DEFAULT / "recogniser.onnx")


def features(audio: np.ndarray) -> np.ndarray:
    """(T, 447) float16: hidden layer and log-probabilities of the recogniser, T = N // 320 + 1."""
    log_probs, hidden = _recogniser()(audio)
    return np.concatenate([hidden, log_probs], 1).astype(np.float16)


def _label_shard(args) -> str:
    corpus, shard, seeds = args
    arrays = {}
    with np.load(Path(corpus) / "shards" / shard) as z:
        for index, seed in seeds.items():
            audio = z[f"{index}.audio"].astype(np.float32) / 32767
            for r in range(RENDITIONS + 1):
                arrays[f"{index}.{r}"] = features(rendition(audio, seed, r)[0])
    with atomic(sidecar(corpus, RECOGNISER, shard)) as tmp:
        np.savez(tmp, **arrays)
    return shard


def label_corpus(corpus: Path, workers: int = 2, progress: bool = True) -> int:
    """Add the features of every training shard that lacks them (resumable); returns the shards labelled."""
    from tqdm import tqdm

    corpus = Path(corpus)
    (corpus / RECOGNISER).mkdir(exist_ok=True)
    seeds: dict[str, dict[int, int]] = {}
    for meta in read_manifest(corpus):
        if meta.split == "train":
            seeds.setdefault(meta.shard, {})[meta.index] = meta.seed
    todo = sorted(s for s in seeds if not sidecar(corpus, RECOGNISER, s).exists())
    done = parallel(_label_shard, [(corpus, s, seeds[s]) for s in todo], workers)
    for _ in tqdm(done, total=len(todo), desc="recogniser features", unit="shard", disable=not progress):
        pass
    return len(todo)
