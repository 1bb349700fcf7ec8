"""What is said: a pretrained multilingual phoneme recogniser, run with ONNX Runtime and this small feeder.

The network is hama's waveform CTC recogniser (PyPI hama 1.3.13, Apache-2.0; weights/recogniser.onnx, pinned by
SHA-256 in the weights manifest; provenance and notice in weights/RECOGNISER-NOTICE.txt). Its input is the
16 kHz waveform as it is (hama itself does no gain, normalisation or dither); its outputs per 20 ms frame are
log-probabilities over 191 multilingual IPA tokens and the 256-wide last hidden layer, which model/pretrained.py
(write_recogniser) exposes as an output when it writes the file into a weights folder. Frame t is centred on
sample 320 t; a clip of N samples has N // 320 + 1 frames.

The graph reads at most 30 s (it silently cuts the rest) and its squeeze-excitation means and self-attention see
its whole input, so a longer clip runs in overlapping windows, each frame taken from the window where it lies
furthest from a cut edge. Windows cannot equal one long pass exactly (every frame depends on all the input);
they agree on what the lips need (tests/test_recogniser.py states the tolerance).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .onnx_sessions import cpu_session, shared_cores
from .windows import stitched

HOP = 320  # samples per output frame: 50 frames/s, the model's own grid
MIN_SAMPLES = 201  # the graph reflect-pads by 200 samples
WINDOW_S, CONTEXT_S = 20.0, 3.0  # long clips: 20 s windows, each keeping the frames 3 s from its cut edges
OUTPUTS = ("log_probs", "hidden")
HIDDEN = 256
TOKENS = 191

# Token indices (hama's g2p_vocab.json "decoder" list, then "<wb>", "<blank>").
BILABIAL = (35, 10, 31, 36, 37, 82)  # p b m, and pʰ p͈ ɓ: the lips close
BLANK, WORD_BOUNDARY = 190, 189
NON_SPEECH = (BLANK, WORD_BOUNDARY, 4, 0)  # blank, word boundary, space, padding


def frame_count(samples: int) -> int:
    return samples // HOP + 1


class Recogniser:
    def __init__(self, path: Path):
        self.session = cpu_session(path, spinning=False, threads=shared_cores())

    def _run(self, wave: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(wave)
        if n < MIN_SAMPLES:  # keep the frames of the real audio after zero padding
            wave = np.concatenate([wave, np.zeros(MIN_SAMPLES - n, np.float32)])
        feed = {"waveform": wave[None], "waveform_lengths": np.array([len(wave)], np.int64)}
        log_probs, hidden = self.session.run(list(OUTPUTS), feed)
        t = frame_count(n)
        return log_probs[0, :t], hidden[0, :t]

    def __call__(self, wave16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) float32 at 16 kHz -> log-probabilities (T, 191) and hidden features (T, 256), T = N // 320 + 1."""
        wave = np.asarray(wave16k, np.float32).reshape(-1)  # clipped window by window: no copy of a long clip
        window, context = int(WINDOW_S * SAMPLE_RATE / HOP), int(CONTEXT_S * SAMPLE_RATE / HOP)  # frames
        total = frame_count(len(wave))
        if len(wave) <= window * HOP:
            return self._run(np.clip(wave, -1.0, 1.0))
        # a window of frames [start, stop) is the audio that gives exactly those frames (N // 320 + 1 of them)
        cut = lambda start, stop: wave[start * HOP : (stop - 1) * HOP + 1 if stop < total else None]
        return stitched(total, window, context, lambda start, stop: self._run(np.clip(cut(start, stop), -1.0, 1.0)))


def speech_frames(log_probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(T,) bool: frames where the recogniser hears a phone (any token but blank, boundaries and padding)."""
    return np.exp(log_probs[:, list(NON_SPEECH)]).sum(1) < threshold


ACTIVE_DB = 35.0  # a frame speaks when it is within this of the clip's loud frames ...
ABOVE_FLOOR_DB = 8.0  # ... and this far above its quiet ones (the room's noise)
NEAR_PHONE_S = 0.3  # ... and a phone was heard this close: a cough or a door is not speech
FULL_S, NONE_S = 0.05, 0.15  # activity 1 within 50 ms of speech, 0 from 150 ms on, a ramp between


def speech_activity(audio: np.ndarray, log_probs: np.ndarray) -> np.ndarray:
    """(T,) in [0, 1] on the 50 Hz grid: 1 where someone speaks or will within 50 ms, 0 in silence more than
    150 ms away from speech (where the mouth rests: lips.rest_in_silence)."""
    frames = len(log_probs)
    power = np.empty(frames, np.float32)  # frame t: the samples from 320 t - 160, zeros outside the clip
    block = 1 << 14  # frames at a time: a long clip's squares are never all held
    for start in range(0, frames, block):
        stop = min(frames, start + block)
        first, last = start * HOP - HOP // 2, stop * HOP - HOP // 2
        part = np.zeros((stop - start) * HOP, np.float32)
        got = audio[max(0, first) : max(0, min(len(audio), last))]
        part[max(0, -first) : max(0, -first) + len(got)] = got
        power[start:stop] = (part.reshape(-1, HOP) ** 2).mean(1)
    level = 10 * np.log10(power + 1e-10)
    loud, quiet = np.percentile(level, 99), np.percentile(level, 10)
    voiced = (level > loud - ACTIVE_DB) & (level > quiet + ABOVE_FLOOR_DB)
    near = _within(speech_frames(log_probs), int(NEAR_PHONE_S * SAMPLE_RATE / HOP))
    distance = _distance(voiced & near) * HOP / SAMPLE_RATE  # s to the nearest speaking frame
    return np.clip((NONE_S - distance) / (NONE_S - FULL_S), 0.0, 1.0).astype(np.float32)


def _within(mask: np.ndarray, frames: int) -> np.ndarray:
    return _distance(mask) <= frames


def _distance(mask: np.ndarray) -> np.ndarray:
    """Frames from each frame to the nearest True frame (a large number when there is none)."""
    far = np.full(len(mask), 1e9)
    where = np.flatnonzero(mask)
    if len(where) == 0:
        return far
    index = np.searchsorted(where, np.arange(len(mask)))
    before = np.abs(np.arange(len(mask)) - where[np.clip(index - 1, 0, len(where) - 1)])
    after = np.abs(where[np.clip(index, 0, len(where) - 1)] - np.arange(len(mask)))
    return np.minimum(before, after).astype(np.float64)
