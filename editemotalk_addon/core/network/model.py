"""EditEmoTalk's inference network as one torch module, split the way inference is used:

analyze(audio)                      once per clip: content, articulation + closure gate, emotion over time
generate(content, A, gate, e')      on every slider change: expression, and the composed weights, sealed on the
                                    real head's lip geometry wherever the gate closes (no edit can part them)

The two methods are the two ONNX graphs. What only training needs (the mapping network, the phoneme head) is
model/training/network.py.
"""

from __future__ import annotations

import torch
from torch import nn

from ..voice import WIDTH as VOICE_WIDTH
from .config import ModelConfig
from .encoders import ContentEncoder, EmotionEncoder
from .frontend import CONTENT_HOP, AudioFrontEnd, PitchSpectrum
from .generator import ArticulationChannel, ExpressionChannel
from .lips import seal
from .prosody import ProsodyFeatures

BLOCK = 2 * CONTENT_HOP  # audio is padded to whole 25 Hz emotion frames (640 samples)
EMOTION_FEATURES = ("spectra", "spectra+prosody", "voice")  # ModelConfig.emotion_features


def pad_audio(audio: torch.Tensor) -> torch.Tensor:
    """(B, N) -> (B, N') with N' a multiple of BLOCK (zeros at the end)."""
    return nn.functional.pad(audio, (0, (-audio.shape[1]) % BLOCK))


class EditEmoTalk(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.frontend = AudioFrontEnd(cfg.n_mels)
        self.pitch = PitchSpectrum()
        bins = self.pitch.dft.shape[0] // 2
        if cfg.emotion_features not in EMOTION_FEATURES:
            raise ValueError(f"emotion_features={cfg.emotion_features!r}: one of {', '.join(EMOTION_FEATURES)}")
        self.prosody = (
            ProsodyFeatures(cfg.n_mels, PitchSpectrum.BINS[0], bins, PitchSpectrum.N_FFT)
            if cfg.emotion_features == "spectra+prosody"
            else None
        )
        self.content = ContentEncoder(cfg)
        extra = ProsodyFeatures.CHANNELS if self.prosody else 0
        if cfg.emotion_features == "voice":
            self.emotion = EmotionEncoder(cfg, VOICE_WIDTH, rate=50)
        else:
            self.emotion = EmotionEncoder(cfg, cfg.n_mels + bins + extra)
        self.articulation = ArticulationChannel(cfg)
        self.expression = ExpressionChannel(cfg)

    def encode_emotion(self, audio: torch.Tensor, voice: torch.Tensor, logmel: torch.Tensor | None = None):
        """(B, N) padded audio and the voice encoder's features (B, 512, T'), T' >= N / 320 (read only with
        emotion_features "voice") -> emotion embeddings at 50 Hz, clip embedding, logits over time and per clip."""
        frames = audio.shape[1] // CONTENT_HOP
        if self.cfg.emotion_features == "voice":
            windows, clip, logits, clip_logits = self.emotion(voice[:, :, :frames])
        else:
            logmel = self.frontend(audio) if logmel is None else logmel
            spectrum, power = self.pitch(audio)  # (B, bins, 4T') each
            features = [logmel, spectrum, *([self.prosody(logmel, power)] if self.prosody else [])]
            windows, clip, logits, clip_logits = self.emotion(torch.cat(features, dim=1))
        up = lambda x: nn.functional.interpolate(x, scale_factor=2.0, mode="linear")[:, :, :frames]
        return up(windows), clip, up(logits), clip_logits

    def analyze(self, audio: torch.Tensor, recogniser: torch.Tensor, voice: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(B, N) audio at 16 kHz, N a multiple of BLOCK (see pad_audio), the pretrained recogniser's features
        (B, 447, T') and the voice encoder's (B, 512, T') at 50 Hz, T' >= N / 320 (core/recogniser.py, core/voice.py;
        each read only where the config asks for it) -> what analyze.onnx returns: content (B, C, T),
        articulation (B, 52, T), gate (B, 1, T), emotion (B, E, T), clip embedding (B, E), emotion logits over
        time (B, 8, T). core.animator.Analysis holds them per clip."""
        logmel = self.frontend(audio)
        content, articulation, gate = self.analyze_content(audio, recogniser, logmel)
        emotion, clip, logits, _ = self.encode_emotion(audio, voice, logmel)
        return content, articulation, gate, emotion, clip, logits

    def analyze_content(self, audio: torch.Tensor, recogniser: torch.Tensor, logmel: torch.Tensor | None = None):
        """What is said only (analyze's first three outputs): content, articulation, gate."""
        logmel = self.frontend(audio) if logmel is None else logmel
        content = self.content(logmel, recogniser)
        articulation, gate = self.articulation(content)
        return content, articulation.clamp(0.0, 1.0), gate

    def generate(self, content, articulation, gate, emotion):
        """-> composed weights (B, 52, T) without the life layer, and the expression layer (B, 52, T) that sums
        with `articulation` to them (negative where the seal takes back what the expression would open)."""
        expression = self.expression(content, emotion, gate).clamp(0.0, 1.0)
        weights = seal((articulation + expression).clamp(0.0, 1.0), gate)
        return weights, weights - articulation
