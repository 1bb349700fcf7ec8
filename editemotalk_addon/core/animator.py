"""The one inference API that the CLI, the benchmarks, the tests and the Blender add-on all use.

    animator = Animator.load()                           # bundled weights; runtime "auto" | "onnx" | "torch"
    analysis = animator.analyze("line.wav")              # once per clip (cached content and emotion)
    perf = animator.generate(analysis, EmotionEdit({"happy": 0.8}), fps=30)
    perf.weights                                         # (frames, 52) in rig.ARKIT_NAMES order

Only numpy is needed with ONNX Runtime; torch is imported only by the optional torch backend (network/backend.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import lips, validate
from . import weights as W
from .audio import SAMPLE_RATE, load_audio, validate_audio
from .character import Character, audio_key
from .emotion_space import EmotionSpace, voice_alphas
from .errors import InputError, UserError
from .heard import HeardHead, PhrasePooler, nearest_phrase, per_frame
from .life import live
from .onnx_sessions import cpu_session
from .performance import Performance
from .phone_marks import heard_groups, speech_columns
from .recogniser import HIDDEN, HOP, TOKENS, Recogniser, speech_activity
from .rig import EMOTIONS, SLIDERS
from .timebase import frame_count, frame_times, resample_frames
from .voice import WIDTH as VOICE_WIDTH
from .voice import VoiceEncoder

GENERATE_CHUNK = 3000  # frames at 50 frames/s: a minute of clip per generator run
CHUNK_FRAMES = 6000  # analyze: clips past two minutes in chunks of two minutes (an even count: whole blocks) ...
CHUNK_CONTEXT = 128  # ... each with 2.56 s of context a side, past the analyze graph's receptive fields (content
# and articulation 3 x 21 frames a side; emotion under 100 frames: kernel-7 blocks dilated 1, 2, 4 at 50 and at
# 25 Hz, and a 25-frame mean at 25 Hz)
Curve = float | Sequence[tuple[float, float]] | np.ndarray  # a constant, or keyframes (seconds, value)


@dataclass
class EmotionEdit:
    """Slider values per emotion: constants, or keyframed curves [(seconds, value), ...] (linear in between).

    mode "voice" adds the sliders to the emotion heard in the voice; "absolute" starts from a neutral face.
    `intensity` scales every slider at once.
    """

    sliders: dict[str, Curve] = field(default_factory=dict)
    mode: str = validate.DEFAULT_MODE
    intensity: float = 1.0

    def __post_init__(self):  # raises validate.InputError (a ValueError) naming the field, the value and the fix
        self.sliders = validate.sliders(self.sliders)
        self.mode = validate.mode(self.mode)
        self.intensity = validate.intensity(self.intensity)

    def alphas(self, times: np.ndarray) -> np.ndarray:
        """(T, 7) slider values at `times` (seconds)."""
        out = np.zeros((len(times), len(SLIDERS)), np.float32)
        for name, curve in self.sliders.items():
            k = SLIDERS.index(name)
            if np.ndim(curve) == 0:
                out[:, k] = float(curve)
            else:
                keys = curve[np.argsort(curve[:, 0])]
                out[:, k] = np.interp(times, keys[:, 0], keys[:, 1])
        return out


@dataclass
class Analysis:
    """What analyze() caches per clip, at the model's 50 frames/s."""

    duration: float
    content: np.ndarray  # (C, T)
    articulation: np.ndarray  # (52, T)
    gate: np.ndarray  # (1, T)
    emotion: np.ndarray  # (E, T)
    clip: np.ndarray  # (E,)
    logits: np.ndarray  # (T, 8) the analyze graph's own emotion head's scores (research: bench/loco); Heard is below
    probabilities: np.ndarray  # (T, 8) emotion heard in the voice over time, phrase by phrase: calibrated (heard.py)
    speech: np.ndarray  # (T,) 1 where someone speaks (or will within 50 ms), 0 in silence (recogniser.py)
    fps: int = 50
    key: str = ""  # character.audio_key of the decoded samples: the clip's identity in a Character
    phrase_spans: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))  # (P, 2) [first, end)
    phrase_features: np.ndarray = field(default_factory=lambda: np.zeros((0, 1024), np.float32))  # (P, 1024) heard.py
    phones: tuple = ()  # ((seconds, group), ...) the phone groups the recogniser is sure of (phone_marks.py)
    speech_columns: np.ndarray | None = None  # (T, 3) silence, word boundary, phone: to place a line's words
    voice_heard: bool = True  # False: analyzed without the voice (analyze(voice=False)); the emotion reads neutral

    @property
    def detected(self) -> dict[str, float]:
        """The voice's emotion over the whole clip (mean probability per label)."""
        return dict(zip(EMOTIONS, self.probabilities.mean(0).round(3).tolist()))

    def summary(self, top: int = 3) -> str:
        """The strongest emotions in the voice, e.g. 'happy 62%, neutral 21%, sad 9%'."""
        ranked = sorted(self.detected.items(), key=lambda kv: -kv[1])[:top]
        return ", ".join(f"{k} {100 * v:.0f}%" for k, v in ranked)


class Animator:
    def __init__(self, folder: Path, runtime: str, space: EmotionSpace, backend):
        self.folder, self.runtime, self.space, self._backend = folder, runtime, space, backend
        self.config = json.loads((folder / "config.json").read_text())
        self.recogniser = Recogniser(folder / "recogniser.onnx")
        model = self.config["model"]
        voice = model.get("emotion_features") == "voice"
        self.voice = VoiceEncoder(folder / "voice.onnx", model.get("voice_layer", "layer3")) if voice else None
        self.heard_head = HeardHead.load(folder / "heard.json")
        self.model_fps = self.config["fps"]
        self.block = self.config["block"]

    @classmethod
    def load(cls, path: str | Path | None = None, runtime: str = "auto", device: str = "cpu") -> Animator:
        """runtime "onnx" (bundled), "torch" (where torch is installed) or "auto" (ONNX on the CPU, torch on a
        GPU device: "cuda", "mps"). Raises UserError naming a missing, tampered or unusable model."""
        folder = W.verify(Path(path) if path else W.DEFAULT)
        space = EmotionSpace.load(folder / "edit_dictionary.json")
        backend = open_backend(folder, runtime, device)
        return cls(folder, "onnx" if isinstance(backend, OnnxBackend) else "torch", space, backend)

    def analyze(self, audio: str | Path | np.ndarray, voice: bool = True) -> Analysis:
        """A path or (samples,) float32 at 16 kHz -> cached analysis. The two pretrained networks run at once.

        voice False: what is said only (content, lips, gate, speech), for a face to edit as soon as possible; the
        voice's emotion reads neutral (voice_heard False) until hear() fills it in. A clip longer than CHUNK_FRAMES
        is analyzed in chunks, one network's features at a time (a 30-minute clip in bounded memory)."""
        x = load_audio(audio) if isinstance(audio, str | Path) else validate_audio(np.asarray(audio, np.float32))
        blocks = -(-len(x) // self.block) * self.block // HOP  # frames the analyze graph reads: whole blocks
        heard = voice and self.voice is not None
        at_once = heard and blocks <= CHUNK_FRAMES
        features = _feeder().submit(self.voice, x) if at_once else None  # its own thread while the recogniser runs
        duration, key = len(x) / SAMPLE_RATE, audio_key(x)
        frames = frame_count(duration, self.model_fps)
        recognised = self.recogniser(x)  # log-probabilities (T', 191), hidden (T', 256)
        speech = fit_frames(speech_activity(x, recognised[0])[None], frames)[0]
        phones, columns = tuple(heard_groups(recognised[0])), speech_columns(recognised[0])
        recognised = recognised[::-1]  # the graph reads hidden first (447 channels)
        if at_once:
            voice = features.result()
            *said, emotion, clip, logits = self._backend.analyze(
                self._audio(x, 0, blocks), frames_of(0, blocks, *recognised), frames_of(0, blocks, voice)
            )
            pooler = PhrasePooler(speech, self.model_fps)
            pooler.add(0, frames_of(0, frames, voice)[0].T)  # (frames, 512)
            del voice
        else:
            said = self._in_chunks(self._backend.content, x, blocks, reader(*recognised))
        del recognised
        content, articulation, gate = (a[0, :, :frames] for a in said)
        analysis = Analysis(
            duration,
            content,
            articulation,
            gate,
            *neutral_voice(frames, self.space),
            speech,
            self.model_fps,
            voice_heard=self.voice is None,
            key=key,
            phones=phones,
            speech_columns=columns,
        )
        if at_once:
            return self._heard(analysis, emotion, clip, logits, *pooler.pooled())
        return self.hear(analysis, x) if heard else analysis

    def hear(self, analysis: Analysis, audio: str | Path | np.ndarray) -> Analysis:
        """The analysis of `audio` made by analyze(audio, voice=False), with how it is said filled in: the voice
        encoder, then the emotion head (emotion, clip, logits, probabilities). The same values as analyze(audio)."""
        if self.voice is None or analysis.voice_heard:
            return analysis
        x = load_audio(audio) if isinstance(audio, str | Path) else validate_audio(np.asarray(audio, np.float32))
        blocks = -(-len(x) // self.block) * self.block // HOP
        pooler = PhrasePooler(analysis.speech, self.model_fps)

        def voice_frames(start: int, stop: int) -> np.ndarray:  # (1, 512, stop - start), pooled as they come
            states = self._voice_frames(x, start, stop)
            pooler.add(start, states[0, :, : max(0, len(analysis.speech) - start)].T)
            return states

        emotion, clip, logits = self._in_chunks(self._backend.emotion, x, blocks, voice_frames)
        return self._heard(analysis, emotion, clip, logits, *pooler.pooled())

    def _voice_frames(self, x: np.ndarray, start: int, stop: int) -> np.ndarray:
        """(1, 512, stop - start): the voice encoder's frames [start, stop) as frames_of lays them out, from only
        the windows that give them."""
        last = -(-len(x) // HOP) - 1  # the encoder's last frame: past it, its copy
        first = min(start, last)
        return frames_of(start - first, stop - first, self.voice(x, (first, min(stop, last + 1))))

    def _in_chunks(self, stage, x: np.ndarray, total: int, features) -> list[np.ndarray]:
        """`stage` (backend.content or backend.emotion) on the (N,) clip and `features(start, stop)`, the frames
        the stage reads (1, C, stop - start), over `total` frames, CHUNK_FRAMES at a time, each chunk with
        CHUNK_CONTEXT frames of context on both sides: the stages are convolutions and frame-wise norms, so each
        frame gets what one pass gives. Their outputs over time (1, C, T) are joined; the clip embedding (1, E), a
        softmax-weighted mean over the whole clip, becomes the chunks' frame-weighted mean (nothing downstream
        reads it)."""
        if total <= CHUNK_FRAMES:
            return stage(self._audio(x, 0, total), features(0, total))
        parts = []
        for first in range(0, total, CHUNK_FRAMES):
            last = min(total, first + CHUNK_FRAMES)
            start, stop = max(0, first - CHUNK_CONTEXT), min(total, last + CHUNK_CONTEXT)
            out = stage(self._audio(x, start, stop), features(start, stop))
            parts.append([o[:, :, first - start : last - start] if o.ndim == 3 else o * (last - first) for o in out])
        return [
            np.concatenate(p, axis=2) if p[0].ndim == 3 else (sum(p) / total).astype(np.float32) for p in zip(*parts)
        ]

    @staticmethod
    def _audio(x: np.ndarray, start: int, stop: int) -> np.ndarray:
        """(1, samples) of frames [start, stop) as the analyze graph reads them, zeros past the clip's end (whole
        blocks): a slice of a long clip, never a padded copy of all of it."""
        part = x[start * HOP : stop * HOP]
        return np.pad(part, (0, (stop - start) * HOP - len(part)))[None]

    def _heard(self, analysis: Analysis, emotion, clip, logits, spans, pooled) -> Analysis:
        """The analysis with how it is said: the analyze graph's own emotion, and Heard's reading of each phrase
        (spans (P, 2), pooled voice features (P, 1024): heard.py), which names the emotion and drives keep-voice
        mode."""
        frames = analysis.content.shape[1]
        return replace(
            analysis,
            emotion=emotion[0, :, :frames],
            clip=clip[0],
            logits=logits[0, :, :frames].T,
            probabilities=per_frame(spans, self.heard_head.probabilities(pooled), frames),
            phrase_spans=spans,
            phrase_features=pooled,
            voice_heard=True,
        )

    def heard(self, analysis: Analysis, character: Character | None = None) -> Analysis:
        """The analysis with the voice's emotion read against `character` (its voice features standardised over
        that character's clips, heard.py); None, or a character with too few phrases: against the training corpus."""
        p = self.heard_head.probabilities(analysis.phrase_features, character)
        return replace(analysis, probabilities=per_frame(analysis.phrase_spans, p, len(analysis.probabilities)))

    def slider_values(self, analysis: Analysis, edit: EmotionEdit, times: np.ndarray) -> np.ndarray:
        """(T, 7) the sliders at `times`, plus in "voice" mode the emotion heard in the voice as slider values
        (emotion_space.voice_alphas): what the idle layer (life.py) reads."""
        sliders = edit.intensity * edit.alphas(times)
        if edit.mode == "voice":
            idx = np.minimum((times * analysis.fps).astype(int), len(analysis.probabilities) - 1)
            sliders = sliders + voice_alphas(analysis.probabilities[idx])
        return sliders

    def edited_emotion(self, analysis: Analysis, edit: EmotionEdit) -> np.ndarray:
        """e'(t) (E, T) at the model's frame rate: e_voice + sum_k alpha_k s_k v_k, e_voice the heard emotion's
        projection into the learned space in "voice" mode, the neutral centroid in "absolute" (emotion_space.py)."""
        times = np.arange(analysis.emotion.shape[1]) / analysis.fps
        heard = analysis.probabilities[np.minimum(np.arange(len(times)), len(analysis.probabilities) - 1)]
        voice = self.space.voice_embedding(heard) if edit.mode == "voice" else None
        return self.space.edit(edit.intensity * edit.alphas(times), voice).T

    def generate(
        self, analysis: Analysis, edit: EmotionEdit | None = None, fps: float = 30, seed: int = 0, life: bool = True
    ) -> Performance:
        edit = edit or EmotionEdit()
        edited = self.edited_emotion(analysis, edit)
        gate = operating_gate(analysis.gate, self.config.get("gate_threshold"))
        expression = self.expression(held_content(analysis), analysis.articulation, gate, edited).T  # (T, 52)
        # on top of the seal: rest in silence, a bounded jaw, and no emotion closing the lips mid-word
        articulation, expression = lips.on_lips(analysis.articulation.T, expression, gate[0], analysis.speech)
        frames = frame_count(analysis.duration, fps)
        resample = lambda x: resample_frames(np.ascontiguousarray(x), analysis.fps, fps, frames)
        articulation, expression = lips.at_human_speed(resample(articulation), resample(expression), fps)
        times = frame_times(analysis.duration, fps)
        life_layer = (
            live(times, np.clip(self.slider_values(analysis, edit, times), *validate.SLIDER_RANGE), seed)
            if life
            else np.zeros_like(articulation)
        )
        return Performance(fps, articulation, expression, life_layer)

    def expression(self, content, articulation, gate, emotion) -> np.ndarray:
        """The generator's expression layer (52, T), run a minute at a time: each chunk carries the generator's
        receptive field of context on both sides (kernel-7 convolutions, 3 x dilation frames each), so a long clip
        takes bounded memory and gets the same values as one pass."""
        margin = 3 * sum(self.config["model"]["expression_dilations"])
        total, out = content.shape[1], []
        for start in range(0, total, GENERATE_CHUNK):
            lo, hi = max(0, start - margin), min(total, start + GENERATE_CHUNK + margin)
            _, x = self._backend.generate(*(a[None, :, lo:hi] for a in (content, articulation, gate, emotion)))
            out.append(x[0, :, start - lo : start - lo + min(GENERATE_CHUNK, total - start)])
        return np.concatenate(out, axis=1)


def held_content(analysis: Analysis) -> np.ndarray:
    """(C, T) what is said as the expression channel reads it: as analysed where someone speaks (speech 1), and in
    silence the speaking average of its nearest phrase (the phrase whose emotion Heard gives it, heard.per_frame),
    so a pause or a listening shot holds the emotion the sliders, or in keep-voice mode the voice, ask for. Fed the
    content of silence itself, the generator (trained on speech) let the face fade towards neutral: angry 1.5
    lowered the brows 1.0 while speaking and 0.35 in silence; fed a held speaking content it keeps 96-99 % of its
    speaking values, whichever clip that content came from. A clip with no speech at all holds the content's zero
    (against a spoken line's speaking values: 86-99 % on the channels each slider moves at 1.5, but disgust's brows
    26 %). The lips still rest in silence (lips.rest_in_silence); the articulation and its gate are as analysed."""
    x, weight = analysis.content, np.asarray(analysis.speech, np.float32)  # (C, T), (T,)
    if weight.sum() < 1.0:
        held = np.zeros((len(x), 1), np.float32)
    else:
        whole = (x * weight).sum(1) / weight.sum()  # (C,)
        spans = analysis.phrase_spans  # (P, 2) model frames
        means = [
            (x[:, a:b] * weight[a:b]).sum(1) / weight[a:b].sum() if weight[a:b].sum() >= 1.0 else whole
            for a, b in spans
        ]
        held = np.stack(means, 1)[:, nearest_phrase(spans, len(weight))] if means else whole[:, None]  # (C, T)
    return (weight * x + (1.0 - weight) * held).astype(np.float32)


def reader(*features: np.ndarray):
    """features(start, stop) for Animator._in_chunks: frames_of these features."""
    return lambda start, stop: frames_of(start, stop, *features)


def frames_of(start: int, stop: int, *features: np.ndarray) -> np.ndarray:
    """Frames [start, stop) of the networks' features (T', C1), (T', C2)... as the analyze graph reads them:
    (1, C1 + C2..., stop - start), past their last frame its copy (as fit_frames pads). Only these frames are
    copied: a long clip's features are never laid out twice."""
    index = np.minimum(np.arange(start, stop), len(features[0]) - 1)
    return np.concatenate([f[index].T for f in features])[None].astype(np.float32, copy=False)


def fit_frames(x: np.ndarray, frames: int) -> np.ndarray:
    """(C, T) cut or edge-padded to (C, frames): the recogniser's grid (N // 320 + 1) onto the model's."""
    if x.shape[1] >= frames:
        return np.ascontiguousarray(x[:, :frames])
    return np.pad(x, ((0, 0), (0, frames - x.shape[1])), mode="edge")


GATE_RAMP = 0.2  # the operating gate rises from 0 to 1 over threshold +- 0.1


def operating_gate(gate: np.ndarray, threshold: float | None) -> np.ndarray:
    """The closure gate at the model's operating point: the trained probability, re-centred on `threshold` (chosen
    on validation voices, stored in config.json) with a short ramp so the seal never pops. None: as trained."""
    if threshold is None:
        return gate
    return np.clip((gate - threshold) / GATE_RAMP + 0.5, 0.0, 1.0).astype(np.float32)


def open_backend(folder: Path, runtime: str, device: str):
    """ONNX Runtime (bundled, any CPU), or the PyTorch model where this Python has torch (CPU, CUDA, MPS)."""
    if runtime not in validate.RUNTIMES:
        raise InputError(f"runtime={runtime!r} is not a runtime - use auto, onnx or torch")
    if runtime == "onnx" or (runtime == "auto" and device == "cpu"):
        return OnnxBackend(folder)
    torch = torch_backend()
    if torch is None:
        raise UserError(
            "PyTorch is not installed in this Python - choose ONNX Runtime (Preferences > Runtime), or install torch"
        )
    return torch.TorchBackend(folder, device)


def torch_backend():
    """The optional PyTorch backend module (network/backend.py), or None where this Python has no torch: the one
    place the extension imports torch."""
    try:
        from .network import backend
    except ImportError as exc:
        if exc.name != "torch":
            raise
        return None
    return backend


class OnnxBackend:
    STUB_FRAMES = 50  # a second of silence: analyze.onnx is one graph and ONNX Runtime runs all of it

    def __init__(self, folder: Path):
        self.analyze_session = cpu_session(folder / "analyze.onnx", spinning=False)
        self.generate_session = cpu_session(folder / "generate.onnx")

    def analyze(self, audio: np.ndarray, recogniser: np.ndarray, voice: np.ndarray):
        feed = {"audio": audio, "recogniser": recogniser, "voice": voice}
        wanted = {i.name for i in self.analyze_session.get_inputs()}  # the graph keeps only the inputs it reads
        return self.analyze_session.run(
            None, {k: np.ascontiguousarray(v, np.float32) for k, v in feed.items() if k in wanted}
        )

    def content(self, audio: np.ndarray, recogniser: np.ndarray):
        """What is said only -> content, articulation, gate. The emotion branch reads its own input (the voice
        features) and nothing else: given a second of zeros it costs nothing, and the content is unchanged."""
        stub = np.zeros((1, VOICE_WIDTH, self.STUB_FRAMES), np.float32)
        return self.analyze(audio, recogniser, stub)[:3]

    def emotion(self, audio: np.ndarray, voice: np.ndarray):
        """How it is said only -> emotion, clip, logits (the emotion branch never reads the recogniser's input)."""
        frames = audio.shape[1] // HOP
        return self.analyze(audio, np.zeros((1, HIDDEN + TOKENS, frames), np.float32), voice)[3:]

    def generate(self, content, articulation, gate, emotion):
        feed = {"content": content, "articulation": articulation, "gate": gate, "emotion": emotion}
        return self.generate_session.run(None, {k: np.ascontiguousarray(v, np.float32) for k, v in feed.items()})


_feeder_thread: ThreadPoolExecutor | None = None


def _feeder() -> ThreadPoolExecutor:
    """One thread that feeds the voice encoder while the caller's feeds the recogniser (their windows share
    windows.pool())."""
    global _feeder_thread
    if _feeder_thread is None:
        _feeder_thread = ThreadPoolExecutor(1, thread_name_prefix="editemotalk-voice")
    return _feeder_thread


def neutral_voice(frames: int, space: EmotionSpace) -> tuple[np.ndarray, ...]:
    """emotion (E, T), clip (E,), logits (T, 8) and probabilities (T, 8) of a voice not heard yet: the neutral
    centroid, and every frame sure it is neutral (so "voice" mode adds nothing to the sliders)."""
    probabilities = np.zeros((frames, len(space.labels)), np.float32)
    probabilities[:, 0] = 1.0
    emotion = np.repeat(space.neutral[:, None], frames, 1).astype(np.float32)
    return emotion, space.neutral.copy(), np.log(np.maximum(probabilities, 1e-6)), probabilities
