"""What the recogniser is sure it hears, as marks on the timeline: lip closures (p b m), rounded vowels (u o w) and
open vowels (a), so that an animator can check a closure by eye and key emotion on a syllable; and, where the
animator gives the line's text, where each of its words begins.

The recogniser (recogniser.py) gives, per 20 ms frame, log-probabilities over hama's IPA tokens; a group's
probability is the sum over its tokens. Each run of frames where that sum stays at SURE or above is one mark, on
its most probable frame. Words are placed without turning them into phones (the extension ships no pronouncing
dictionary): the recogniser also hears word boundaries, and a forced alignment of the line's words, separated by
boundaries, over its frames finds where each begins (word_starts).
"""

from __future__ import annotations

import re

import numpy as np

from .audio import SAMPLE_RATE
from .recogniser import BILABIAL, BLANK, HOP, WORD_BOUNDARY

# Token indices in hama's g2p_vocab.json "decoder" list (recogniser.py)
GROUPS = {
    "closure": BILABIAL,  # p b m pʰ p͈ ɓ
    "rounded": (48, 33, 34, 50, 51, 52, 53, 54, 56, 71, 72, 76, 77, 81, 83, 84, 111, 122, 123, 127),  # u o oʊ w ɔ ʊ y
    "open": (7, 8, 9, 62, 63, 64, 66, 79, 80),  # a aɪ aʊ æ ɐ ɑ
}
SURE = 0.8


def heard_groups(log_probs: np.ndarray) -> list[tuple[float, str]]:
    """(T, tokens) log-probabilities -> [(seconds, group)] in time order: one mark per run of sure frames."""
    probs = np.exp(log_probs)
    marks = []
    for group, tokens in GROUPS.items():
        p = probs[:, list(tokens)].sum(1)  # (T,)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], (p >= SURE).astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):
            marks.append((float(start + np.argmax(p[start:stop])) * HOP / SAMPLE_RATE, group))
    return sorted(marks)


def on_frames(marks, fps: float, start_frame: int, kind: str = "group") -> list[dict]:
    """The marks [(seconds, name)] on the timeline of a clip starting at `start_frame` at `fps`:
    [{"frame", "seconds", kind}] (kind: "group" or "word")."""
    return [{"frame": start_frame + round(t * fps), "seconds": round(t, 3), kind: name} for t, name in marks]


def timeline_marks(analysis, fps: float, start_frame: int, text: str = "") -> list[dict]:
    """What the timeline shows of a clip: the words of `text` where the animator gave the line, else the phone
    groups the recogniser is sure of."""
    words = words_of(text)
    if words and analysis.speech_columns is not None:
        return on_frames(word_starts(analysis.speech_columns, words), fps, start_frame, "word")
    return on_frames(analysis.phones, fps, start_frame)


def speech_columns(log_probs: np.ndarray) -> np.ndarray:
    """(T, tokens) -> (T, 3) float32: per frame the probability of silence (blank, space, padding), of a word
    boundary, and of any phone: all that placing the words of a line needs (word_starts)."""
    p = np.exp(log_probs)
    quiet = p[:, [BLANK, 4, 0]].sum(1)
    boundary = p[:, WORD_BOUNDARY]
    return np.stack([quiet, boundary, np.clip(1.0 - quiet - boundary, 0.0, 1.0)], 1).astype(np.float32)


def words_of(text: str) -> list[str]:
    return re.findall(r"[\w']+", text)


def word_starts(columns: np.ndarray, words: list[str]) -> list[tuple[float, str]]:
    """Where each of `words` (the line as spoken) begins: a forced alignment of the sequence word 1, boundary,
    word 2, ..., word N over the recogniser's frames (`columns` from speech_columns), found by Viterbi. A word is
    a run of frames of phones (and the blanks between its phones); a boundary, frames of the recogniser's
    word-boundary token (or blanks, where it heard none); silence may come before and after. Returns
    [(seconds, word)]: each word's first phone frame."""
    quiet, boundary, phone = np.log(columns.astype(np.float64) + 1e-6).T  # (T,) each
    frames, n = len(columns), len(words)
    if n == 0 or frames < 2 * n - 1:
        return []
    # states: 0 silence before, 1 + 2i word i, 2 + 2i the boundary after word i, 2n silence after
    word = np.logaddexp(phone, quiet)
    emit = np.empty((frames, 2 * n + 1))
    emit[:, 0] = emit[:, -1] = np.logaddexp(quiet, boundary)
    emit[:, 1:-1:2] = word[:, None]
    emit[:, 2:-1:2] = np.logaddexp(boundary, quiet)[:, None]
    score = np.full(2 * n + 1, -np.inf)
    score[:2] = emit[0, :2]
    advanced = np.zeros((frames, 2 * n + 1), bool)  # (T, S) whether the best way into a state came from before it
    for t in range(1, frames):
        step = np.concatenate([[-np.inf], score[:-1]])
        advanced[t] = step > score
        score = np.maximum(score, step) + emit[t]
    state = 2 * n if score[-1] >= score[-2] else 2 * n - 1
    path = np.empty(frames, np.int64)
    for t in range(frames - 1, -1, -1):
        path[t] = state
        state -= advanced[t, state]
    out = []
    for i, w in enumerate(words):
        span = np.flatnonzero(path == 1 + 2 * i)
        spoken = span[columns[span, 2] > 0.5]
        out.append((float(spoken[0] if len(spoken) else span[0]) * HOP / SAMPLE_RATE, w))
    return out
