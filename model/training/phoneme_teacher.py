"""A pretrained phoneme recogniser as a TRAINING-TIME teacher for the content encoder (distillation).

hama (PyPI, Apache-2.0/MIT) ships a 4.7 MB CTC phoneme recogniser over IPA tokens that runs on numpy alone,
one frame per 320 samples (the content encoder's 50 Hz grid). Its 191 tokens are folded into 6 lip classes and
stored beside the corpus (`<corpus>/phonemes/<shard>.npz`, float16, ~2.4 MB per hour). During training a 1x1
head on the content features predicts them; the head never reaches the ONNX graphs, so the add-on stays
self-contained and cross-platform.

Measured on this corpus's held-out sets (docs in the model card): CTC emits each phone at its END, and p/b/m mass
peaks ~40 ms after the middle of the closure, so the student learns the teacher moved SHIFT_FRAMES earlier. The
engine silently cuts input at 30 s and attends globally, so long audio runs as overlapping 16 s windows.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from editemotalk_addon.core.audio import SAMPLE_RATE
from editemotalk_addon.core.files import atomic
from editemotalk_addon.core.timebase import TRAIN_FPS, frame_count

from .corpus.store import PHONEMES, sidecar
from .parallel import parallel

FPS = TRAIN_FPS  # the recogniser's frame rate is the training grid's: one frame per HOP samples
HOP = SAMPLE_RATE // FPS
MAX_FRAMES = 1500  # the engine's input limit (30 s)
SHIFT_FRAMES = 2  # 40 ms: teacher frame f + 2 supervises student frame f
LIP_CLASSES = ("blank", "bilabial", "labiodental", "rounded", "open", "other")
BILABIAL = LIP_CLASSES.index("bilabial")

# hama's IPA tokens by what the lips do; every other token that names a phone is "other", and blank, <wb>,
# diacritics, tones and punctuation are "blank". ɱ is /m/ but labiodental: the lips do not seal.
_LIP_TOKENS = {
    "bilabial": "p pʰ p͈ b ɓ ʙ m",
    "labiodental": "f v ɱ ɸ β ʋ",
    "rounded": "u ũ ʉ ʊ ɵ o oʊ õ ɔ ɔɪ ɒ å y ʏ ø œ w wa we wi wʌ ɥ jo ju ʷ",
    "open": "a ä à ã ɑ ɐ æ aɪ aʊ ʌ ja",
}
_OTHER_PHONES = (
    "ə ɘ ɤ ᵊ e eɪ ẽ eə ɛ i ì ǐ ĩ ɪ ɪə ɨ ɯ ɯi ɚ ɜ ɝ θ ð t tʰ t͈ ʈ ɾ d ɖ ɗ n ɲ ñ ŋ ɴ l ɫ ɮ ʎ s s͈ z ẑ ʃ ɕ ʂ ʒ ʐ ʑ "
    "t͡ʃ t͡ɕ t͡ɕʰ t͡ɕ͈ d͡ʒ k kʰ k͈ c g ɡ ɟ ɣ h ɦ x χ ç ħ ʔ r ɹ ɻ ɽ ʀ ʁ j je jʌ ʝ ɰ"
)


@functools.cache
def _recogniser():
    import hama

    return hama.ASRModel()


@functools.cache
def class_matrix() -> np.ndarray:
    """(191, 6): token -> lip class, one-hot."""
    tokens = list(_recogniser().decoder_tokens)
    by_token = {t: LIP_CLASSES.index(c) for c, text in _LIP_TOKENS.items() for t in text.split()}
    by_token.update({t: LIP_CLASSES.index("other") for t in _OTHER_PHONES.split()})
    m = np.zeros((len(tokens), len(LIP_CLASSES)), np.float32)
    m[np.arange(len(tokens)), [by_token.get(t, 0) for t in tokens]] = 1.0
    return m


def _run(x: np.ndarray) -> np.ndarray:
    """One engine call on <= 30 s of audio: (N // 320 + 1, 191) log-probabilities."""
    lp, n = _recogniser().session.run(
        ["log_probs", "out_lengths"], {"waveform": x[None], "waveform_lengths": np.array([len(x)])}
    )
    return lp[0, : int(np.asarray(n).reshape(-1)[0])]


def log_posteriors(audio: np.ndarray, window_s: float = 16.0, context_s: float = 2.0) -> np.ndarray:
    """(N // 320 + 1, 191) for audio of any length: windows of `window_s` overlapping by 2 x `context_s`, each
    frame taken from a window where it has `context_s` of audio on both sides (except at the clip's ends)."""
    x = np.clip(np.asarray(audio, np.float32).reshape(-1), -1.0, 1.0)
    total = len(x) // HOP + 1
    win, ctx = min(int(window_s * FPS), MAX_FRAMES - 1), int(context_s * FPS)
    if total <= win:
        return _run(x)[:total]
    out = np.empty((total, class_matrix().shape[0]), np.float32)
    filled, start = 0, 0
    while filled < total:
        end = min(start + win, total)
        lp = _run(x[start * HOP : (end - 1) * HOP + 1])
        keep = total if end == total else end - ctx
        out[filled:keep] = lp[filled - start : keep - start]
        filled, start = keep, keep - ctx
    return out


def teacher_targets(audio: np.ndarray) -> np.ndarray:
    """(ceil(N / 320), 6) float16 lip-class probabilities; frame f at f x 20 ms, the TRAIN_FPS grid."""
    p = np.exp(log_posteriors(audio)) @ class_matrix()
    frames = frame_count(len(audio) / SAMPLE_RATE, FPS)
    p = p[:frames] if len(p) >= frames else np.concatenate([p, np.repeat(p[-1:], frames - len(p), 0)])
    return p.astype(np.float16)


def _label_shard(args) -> str:
    corpus, shard = args
    with np.load(Path(corpus) / "shards" / shard) as z:
        arrays = {
            k[: -len(".audio")]: teacher_targets(z[k].astype(np.float32) / 32767) for k in z if k.endswith(".audio")
        }
    with atomic(sidecar(corpus, PHONEMES, shard)) as tmp:
        np.savez(tmp, **arrays)
    return shard


def label_corpus(corpus: Path, workers: int = 2, progress: bool = True) -> int:
    """Add the teacher's targets for every shard that lacks them (resumable); returns the shards labelled."""
    from tqdm import tqdm

    corpus = Path(corpus)
    (corpus / PHONEMES).mkdir(exist_ok=True)
    todo = sorted(p.name for p in (corpus / "shards").glob("*.npz") if not sidecar(corpus, PHONEMES, p.name).exists())
    done = parallel(_label_shard, [(corpus, s) for s in todo], workers)
    for _ in tqdm(done, total=len(todo), desc="phoneme teacher", unit="shard", disable=not progress):
        pass
    return len(todo)
