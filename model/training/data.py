"""Training batches from the corpus: crops, augmentation, and emotion edits rendered by the teacher.

For the generator every example can be asked for another emotion: its phones and prosody are stored, so the
teacher renders the target expression for any slider setting on the example's own timing. A batch item is one of
  voice     e' = E(t), the voice's own emotion; target: the labelled emotion
  absolute  e' = c_neutral + sum_k alpha_k(t) s_k v_k; target: the sliders alpha(t) alone
  relative  e' = E(t) + sum_k alpha_k s_k v_k; target: the labelled emotion plus alpha
  pair      a relative edit from this rendering to its paired rendering in another emotion (synthetic speech)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from editemotalk_addon.core.network.encoders import RECOGNISER_CHANNELS
from editemotalk_addon.core.performance import compose
from editemotalk_addon.core.recogniser import BILABIAL
from editemotalk_addon.core.rig import EMOTION_INDEX, EMOTIONS, NUM_CHANNELS, SLIDERS
from editemotalk_addon.core.timebase import TRAIN_FPS, frame_count, resample_frames

from . import teacher
from .augment import augment
from .config import TrainConfig
from .corpus.store import Example, load_shard, read_manifest
from .features import RENDITIONS, rendition

HOP50 = 16000 // TRAIN_FPS  # samples per 50 Hz frame
RECOGNISER_LOG_PROBS = RECOGNISER_CHANNELS["log_probs"]
MODES = ("voice", "absolute", "relative", "pair")


def label_of(example: Example) -> int:
    """Class index for emotion training, or -1 (boredom, unlabelled capture)."""
    return EMOTION_INDEX.get(example.meta.emotion, -1)


def label_sliders(example: Example) -> np.ndarray:
    """(7,) the labelled emotion as slider intensities."""
    s = np.zeros(len(SLIDERS), np.float32)
    if example.meta.emotion in SLIDERS:
        s[SLIDERS.index(example.meta.emotion)] = example.meta.intensity
    return s


class Corpus:
    """Every example of one split, in memory (int16 on disk -> float32 here; 8 hours is about 2 GB)."""

    def __init__(self, root: str | Path, split: str = "train", sources: tuple[str, ...] | None = None):
        root = Path(root)
        metas = [m for m in read_manifest(root) if m.split == split and (sources is None or m.source in sources)]
        by_shard = defaultdict(list)
        for m in metas:
            by_shard[m.shard].append(m)
        self.examples: list[Example] = []
        for shard, group in sorted(by_shard.items()):
            self.examples += load_shard(root / "shards" / shard, group)
        self.pairs: dict[str, list[int]] = defaultdict(list)
        for i, ex in enumerate(self.examples):
            if ex.meta.pair:
                self.pairs[ex.meta.pair].append(i)

    def __len__(self) -> int:
        return len(self.examples)


def _fit(x: np.ndarray, n: int, axis: int = -1) -> np.ndarray:
    """Trim or zero-pad along `axis` to length n."""
    if x.shape[axis] >= n:
        return np.take(x, np.arange(n), axis=axis)
    pad = [(0, 0)] * x.ndim
    pad[axis] = (0, n - x.shape[axis])
    return np.pad(x, pad)


def sample_alphas(rng: np.random.Generator, frames: int, max_alpha: float) -> np.ndarray:
    """(T, 7) slider curves: one or two emotions, constant or ramping (keyframed sliders)."""
    alphas = np.zeros((frames, len(SLIDERS)), np.float32)
    for k in rng.choice(len(SLIDERS), size=1 if rng.random() < 0.7 else 2, replace=False):
        a, b = rng.uniform(0, max_alpha, 2)
        if rng.random() < 0.7:
            alphas[:, k] = a
        else:  # a keyframed change somewhere in the clip
            t0, t1 = np.sort(rng.integers(0, frames, 2))
            alphas[:, k] = np.interp(np.arange(frames), [t0, t1 + 1], [a, b])
    return alphas


@dataclass
class EditChoice:
    mode: str
    alphas: np.ndarray  # (T, 7) what is added to the base embedding
    sliders: np.ndarray  # (T, 7) what the teacher renders


def choose_edit(corpus: Corpus, index: int, rng: np.random.Generator, cfg: TrainConfig, frames: int) -> EditChoice:
    ex = corpus.examples[index]
    own = np.repeat(label_sliders(ex)[None], frames, 0)
    r = rng.random()
    partners = [j for j in corpus.pairs.get(ex.meta.pair, []) if j != index]
    if partners and r < cfg.p_pair:
        other = corpus.examples[partners[int(rng.integers(len(partners)))]]
        target = np.repeat(label_sliders(other)[None], frames, 0)
        return EditChoice("pair", target - own, target)
    if r < cfg.p_pair + cfg.p_absolute:
        alphas = sample_alphas(rng, frames, cfg.max_alpha)
        return EditChoice("absolute", alphas, alphas)
    if r < cfg.p_pair + cfg.p_absolute + cfg.p_relative:
        alphas = sample_alphas(rng, frames, 1.0)
        return EditChoice("relative", alphas, own + alphas)
    return EditChoice("voice", np.zeros_like(own), own)


def recognised_closure(features: np.ndarray) -> np.ndarray:
    """(T, 447) recogniser features -> (T,) closure target from its bilabial evidence. Its p/b/m spike comes near
    the phone's end (a median 60 ms after the aligned start, 20 ms before the end), so a frame is closed when a
    spike follows within 80 ms or came at most 20 ms before, as strongly as the spike is sure."""
    p = np.exp(features[:, RECOGNISER_LOG_PROBS][:, list(BILABIAL)]).sum(1)
    padded = np.pad(p, (1, 4))
    return np.max([padded[k : k + len(p)] for k in range(6)], axis=0).astype(np.float32)


def generator_item(corpus: Corpus, index: int, rng: np.random.Generator, cfg: TrainConfig) -> dict:
    ex = corpus.examples[index]
    frames = frame_count(len(ex.audio) / 16000, TRAIN_FPS)
    has_teacher = bool(ex.phones)
    if has_teacher:
        edit = choose_edit(corpus, index, rng, cfg, frames)
        perf = teacher.perform(
            ex.phones,
            ex.prosody,
            sliders=edit.sliders,
            seed=ex.meta.seed,
            fps=TRAIN_FPS,
            duration=len(ex.audio) / 16000,
        )
        tracks = {"articulation": perf.articulation, "expression": perf.expression, "closure": perf.closure[:, None]}
        target = compose(perf.articulation, perf.expression)
    else:  # real capture: only its own masked channels, the voice's own emotion
        edit = EditChoice("voice", np.zeros((frames, len(SLIDERS)), np.float32), None)
        tracks = {"articulation": np.zeros((frames, NUM_CHANNELS), np.float32)}
        tracks["expression"], tracks["closure"] = tracks["articulation"], np.zeros((frames, 1), np.float32)
        target = ex.targets
    tracks["target"], tracks["alphas"] = target, edit.alphas
    if ex.recogniser is None:
        raise ValueError(f"{ex.meta.id} has no recogniser features - run `python build.py corpus` to add them")
    # one of the renditions the features were computed on: the clean audio, or an augmented one regenerated
    r = int(rng.integers(RENDITIONS + 1)) if cfg.augment else 0
    audio, scale = rendition(ex.audio, ex.meta.seed, r)
    new_frames = frame_count(len(audio) / 16000, TRAIN_FPS)
    tracks = {
        k: resample_frames(v.astype(np.float32), TRAIN_FPS, TRAIN_FPS * scale, new_frames) for k, v in tracks.items()
    }
    tracks["recogniser"] = _fit(ex.recogniser[r].astype(np.float32), new_frames, 0)
    if ex.voice is not None:
        tracks["voice"] = _fit(ex.voice[r].astype(np.float32), new_frames, 0)
    if not has_teacher:  # no aligned phones: where the lips close comes from what the recogniser heard
        tracks["closure"] = recognised_closure(tracks["recogniser"])[:, None]
    crop = int(cfg.crop * TRAIN_FPS)
    start = int(rng.integers(0, max(1, new_frames - crop + 1)))
    audio = _fit(audio[start * HOP50 :], crop * HOP50)
    item = {k: _fit(v[start:].T, crop) for k, v in tracks.items()}  # (C, T)
    valid = _fit(np.ones(new_frames - start, np.float32), crop)
    item.update(
        audio=audio,
        valid=valid,
        mask=ex.mask.astype(np.float32),
        teacher=np.float32(has_teacher),
        absolute=np.float32(edit.mode == "absolute"),
        label=np.int64(label_of(ex)),
    )
    return item


def emotion_item(corpus: Corpus, index: int, rng: np.random.Generator, cfg: TrainConfig) -> dict:
    """A crop of a labelled clip: its audio (augmented as it loads) for an encoder on spectra, or the voice
    encoder's features of one of its renditions (the clean audio's crop alongside, for the frame count)."""
    ex = corpus.examples[index]
    n = int(cfg.emotion_crop * 16000)
    if cfg.model.emotion_features == "voice":
        r = int(rng.integers(RENDITIONS + 1)) if cfg.augment else 0
        voice = ex.voice[r]
        start = int(rng.integers(0, max(1, len(voice) - n // HOP50 + 1)))
        crop = _fit(voice[start:].T.astype(np.float32), n // HOP50)
        return {"audio": _fit(ex.audio[start * HOP50 :], n), "voice": crop, "label": np.int64(label_of(ex))}
    audio, _ = augment(ex.audio, rng) if cfg.augment else (ex.audio, 1.0)
    start = int(rng.integers(0, max(1, len(audio) - n + 1)))
    return {"audio": _fit(audio[start:], n), "label": np.int64(label_of(ex))}


def emotion_weights(corpus: Corpus, real_share: float, exclude: str = "") -> np.ndarray:
    """Sampling weights for emotion training: classes balanced within real emotional speech (Emo-DB) and within
    the rest, and `real_share` of the draws from the real speech (the only real emotion labels we have). Examples
    whose source or synthesizer family is in `exclude` (comma-separated) are never drawn."""
    left_out = {name.strip() for name in exclude.split(",") if name.strip()}
    labels = np.array([-1 if {ex.meta.source, ex.meta.family} & left_out else label_of(ex) for ex in corpus.examples])
    real = np.array([ex.meta.source == "emodb" for ex in corpus.examples])
    w = np.zeros(len(labels))
    for group, share in ((real, real_share), (~real, 1.0 - real_share)):
        keep = group & (labels >= 0)
        counts = np.bincount(labels[keep], minlength=len(EMOTIONS)).astype(float)
        w[keep] = share / (counts[labels[keep]] * np.count_nonzero(counts))
    return w / w.sum()


def generator_weights(corpus: Corpus, real_boost: float) -> np.ndarray:
    w = np.array([ex.meta.duration * (real_boost if ex.meta.real_speech else 1.0) for ex in corpus.examples])
    return w / w.sum()


class Batches(torch.utils.data.IterableDataset):
    """An endless, seeded stream of collated batches (one loader worker builds them while the model trains)."""

    def __init__(self, corpus: Corpus, make_item, weights: np.ndarray, batch: int, cfg: TrainConfig, seed: tuple):
        self.corpus, self.make_item, self.weights, self.batch, self.cfg, self.seed = (
            corpus,
            make_item,
            weights,
            batch,
            cfg,
            seed,
        )

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([*self.seed, info.id if info else 0])
        while True:
            idx = rng.choice(len(self.weights), size=self.batch, p=self.weights)
            items = [self.make_item(self.corpus, int(i), rng, self.cfg) for i in idx]
            yield {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}


def loader(dataset: Batches, workers: int):
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers else None,
    )
