"""The shipped pretrained networks' features beside the corpus, so training reads them instead of running them.

Two kinds, each in its own folder `<corpus>/<kind>/<shard>.npz`, float16 at 50 Hz, key "<index>.<rendition>":
- "recogniser" (T, 447): the phoneme recogniser's hidden layer (256) then its log-probabilities (191), the layout
  of the analyze graph's input (core/recogniser.py);
- "voice" (T, 512): the voice encoder's middle layer (core/voice.py), what the emotion head reads.
For every training example: the features of its clean audio and of RENDITIONS augmented renditions (the loader's
own augmentation, seeded per example and rendition, so training regenerates exactly the audio the features came
from and can follow its time scale).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.files import atomic
from editemotalk_addon.core.recogniser import Recogniser
from editemotalk_addon.core.voice import VoiceEncoder

from .augment import augment
from .corpus.store import FEATURES, read_manifest, sidecar
from .parallel import parallel

RENDITIONS = 3  # augmented renditions per example, besides the clean audio
VOICE_LAYER = "layer3"  # chosen on validation (bench/experiments.jsonl)


def rendition_rng(seed: int, rendition: int) -> np.random.Generator:
    """The augmentation of one rendition: the same audio every time it is asked for."""
    return np.random.default_rng([seed, 7919, rendition])


def rendition(audio: np.ndarray, seed: int, index: int) -> tuple[np.ndarray, float]:
    """(audio, time scale) of rendition `index` (0: the clean audio)."""
    return (audio, 1.0) if index == 0 else augment(audio, rendition_rng(seed, index))


@functools.cache
def _recogniser() -> Recogniser:
    return Recogniser(W.DEFAULT / "recogniser.onnx")


@functools.cache
def _voice() -> VoiceEncoder:
    return VoiceEncoder(W.DEFAULT / "voice.onnx", VOICE_LAYER)


def recogniser_features(audio: np.ndarray) -> np.ndarray:
    log_probs, hidden = _recogniser()(audio)
    return np.concatenate([hidden, log_probs], 1)


KINDS = {"recogniser": recogniser_features, "voice": lambda audio: _voice()(audio)}
assert set(KINDS) == set(FEATURES)


def _label_shard(args) -> str:
    corpus, kind, shard, seeds = args
    arrays = {}
    with np.load(Path(corpus) / "shards" / shard) as z:
        for index, seed in seeds.items():
            audio = z[f"{index}.audio"].astype(np.float32) / 32767
            for r in range(RENDITIONS + 1):
                arrays[f"{index}.{r}"] = KINDS[kind](rendition(audio, seed, r)[0]).astype(np.float16)
    with atomic(sidecar(corpus, kind, shard)) as tmp:
        np.savez(tmp, **arrays)
    return shard


def label_corpus(corpus: Path, workers: int = 2, progress: bool = True) -> int:
    """Add each kind's features to every training shard that lacks them (resumable); returns the shards done."""
    from tqdm import tqdm

    corpus = Path(corpus)
    seeds: dict[str, dict[int, int]] = {}
    for meta in read_manifest(corpus):
        if meta.split == "train":
            seeds.setdefault(meta.shard, {})[meta.index] = meta.seed
    todo = []
    for kind in KINDS:
        (corpus / kind).mkdir(exist_ok=True)
        todo += [(corpus, kind, s, seeds[s]) for s in sorted(seeds) if not sidecar(corpus, kind, s).exists()]
    done = parallel(_label_shard, todo, workers)
    for _ in tqdm(done, total=len(todo), desc="network features", unit="shard", disable=not progress):
        pass
    return len(todo)
