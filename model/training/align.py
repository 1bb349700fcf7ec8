"""English phones from audio with pocketsphinx (offline, its bundled US-English model).

`align(audio, transcript)` is forced alignment against the known words; `recognize(audio)` first recognises the
words with the bundled language model, then aligns to that hypothesis. Both return PhoneSegments over the shared
inventory with 10 ms resolution (pocketsphinx's frame rate).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess

import numpy as np

from editemotalk_addon.core.audio import SAMPLE_RATE

from .phones import SIL, PhoneSegment, from_arpabet, merge_repeats

FRAME = 0.01  # pocketsphinx frame, seconds
# Tried in order: pocketsphinx's defaults, then wider beams for audio far from its acoustic model (synthetic voices).
_BEAMS = ({}, {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80})


class AlignmentError(RuntimeError):
    pass


@functools.cache
def _decoder(beams: int = 0):
    from pocketsphinx import Decoder

    # bestpath rescoring can hand the state aligner a 1-frame phone it cannot place ("impossible duration").
    return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", bestpath=False, **_BEAMS[beams])


def dictionary_path() -> str:
    from pocketsphinx import get_model_path

    return f"{get_model_path()}/en-us/cmudict-en-us.dict"


def words_of(transcript: str) -> list[str]:
    """'Not at this particular case, Tom - apologized Whittemore.' -> ['not', 'at', ..., 'whittemore']"""
    text = transcript.lower().replace("-", " ").replace("\u2019", "'")
    return [w.strip("'") for w in re.findall(r"[a-z0-9']+", text) if w.strip("'")]


def _pcm(audio: np.ndarray) -> bytes:
    # Synthesizers write exact digital silence, which breaks pocketsphinx's feature normalisation; a fixed,
    # inaudible (-80 dBFS) dither keeps it working and the result deterministic.
    dither = np.random.default_rng(0).standard_normal(len(audio)).astype(np.float32) * 1e-4
    return (np.clip(audio + dither, -1, 1) * 32767).astype(np.int16).tobytes()


def _pronounce_unknown(decoder, words: list[str]) -> None:
    """Words missing from the CMU dictionary get flite's letter-to-sound pronunciation."""
    for w in words:
        if decoder.lookup_word(w) is not None:
            continue
        if shutil.which("flite") is None:
            raise AlignmentError(f"word {w!r} is not in the dictionary and flite is not installed (build.py setup)")
        out = subprocess.run(["flite", "-ps", "-t", w, "-o", "none"], capture_output=True, text=True, check=True)
        phones = [from_arpabet(p) for p in out.stdout.split()]
        phones = [p for p in phones if p != SIL]
        if not phones:
            raise AlignmentError(f"no pronunciation for word {w!r}")
        decoder.add_word(w, " ".join(phones), True)


def _alignments(audio: np.ndarray, words: list[str]):
    """pocketsphinx's alignment of `words` to `audio` (its word entries, each iterating its phones), once per beam
    setting that aligns them, narrowest first."""
    if not words:
        raise AlignmentError("empty transcript")
    pcm = _pcm(audio)
    for beams in range(len(_BEAMS)):
        d = _decoder(beams)
        _pronounce_unknown(d, words)
        try:
            d.set_align_text(" ".join(words))
            d.start_utt()
            d.process_raw(pcm, full_utt=True)
            d.end_utt()
            if d.hyp() is None:
                continue
            d.set_alignment()
            d.start_utt()
            d.process_raw(pcm, full_utt=True)
            d.end_utt()
            alignment = d.get_alignment()
        except RuntimeError:
            continue
        yield alignment


def align(audio: np.ndarray, transcript: str) -> list[PhoneSegment]:
    """Forced alignment of 16 kHz mono `audio` against `transcript`. Raises AlignmentError when it does not fit."""
    words = words_of(transcript)
    for alignment in _alignments(audio, words):
        segments = _segments(alignment, len(audio) / SAMPLE_RATE)
        if sum(s.phone != SIL for s in segments) > 0:
            return segments
    raise AlignmentError(f"transcript does not align with the audio ({len(words)} words)")


def align_words(audio: np.ndarray, transcript: str) -> list[float]:
    """Where each word of `transcript` begins in `audio` (seconds), by the same forced alignment."""
    words = words_of(transcript)
    for alignment in _alignments(audio, words):
        starts = [w.start * FRAME for w in alignment if not w.name.startswith(("<", "[", "+"))]
        if len(starts) == len(words):
            return starts
    raise AlignmentError(f"transcript does not align with the audio ({len(words)} words)")


@functools.cache
def _recognizer():
    from pocketsphinx import Decoder

    return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")  # keeps its language-model search; never aligns


def recognize(audio: np.ndarray) -> list[PhoneSegment]:
    """Phones of English speech without a transcript: recognise words, then align to them."""
    d = _recognizer()
    d.start_utt()
    d.process_raw(_pcm(audio), full_utt=True)
    d.end_utt()
    hyp = d.hyp()
    words = [s.word for s in d.seg() if not s.word.startswith(("<", "[", "+"))] if hyp else []
    words = [re.sub(r"\(\d+\)$", "", w) for w in words]
    if not words:
        return [PhoneSegment(0.0, len(audio) / SAMPLE_RATE, SIL)]
    try:
        return align(audio, " ".join(words))
    except AlignmentError:
        return [PhoneSegment(0.0, len(audio) / SAMPLE_RATE, SIL)]


def _segments(alignment, duration: float) -> list[PhoneSegment]:
    out = []
    for word in alignment:
        for p in word:
            start = p.start * FRAME
            end = min((p.start + p.duration) * FRAME, duration)
            out.append(PhoneSegment(start, end, from_arpabet(p.name)))
    return merge_repeats(out)
