"""`python build.py train`: the default model, in three stages, seeded and resumable.

  1. emotion encoder  - emotion classification on labelled speech (synthetic, Emo-DB)
  2. emotion space    - linear classifier on its embeddings -> centroids, boundary normals, calibration;
     mapping network  - teacher motion -> emotion space (later the critic of the consistency loss)
  3. generator        - content encoder + articulation and expression channels, on voice, absolute, relative and
                        paired edits rendered by the teacher; reconstruction (mouth emphasised), layers, velocity,
                        closure, gate and emotional-consistency losses

Checkpoints after every `checkpoint_every` steps (weights_only-loadable: tensors and plain values only); curves
in <out>/log.jsonl. A GPU is used when present.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.emotion_space import EmotionSpace
from editemotalk_addon.core.files import atomic
from editemotalk_addon.core.network.lips import seal
from editemotalk_addon.core.network.load import read_safetensors
from editemotalk_addon.core.network.model import pad_audio
from editemotalk_addon.core.timebase import TRAIN_FPS, frame_count

from . import losses
from .config import TrainConfig
from .data import Batches, Corpus, emotion_item, emotion_weights, generator_item, generator_weights, label_of, loader
from .emotion_fit import decorrelated, fit_space
from .network import TrainingNetwork, consistency_loss

STAGES = ("emotion", "mapping", "generator")


def pick_device(name: str) -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = pick_device(cfg.device)
        self.model = TrainingNetwork(cfg.model).to(self.device)
        self.space: EmotionSpace | None = None
        self.state = {"stage": "emotion", "step": 0}
        self.corpus = Corpus(cfg.corpus, "train")
        if not any(ex.recogniser is not None for ex in self.corpus.examples):
            raise ValueError(f"{cfg.corpus} has no recogniser features: run `python build.py corpus` (it adds them)")
        (self.out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))

    # --- checkpoints ------------------------------------------------------------------------------------------
    @property
    def ckpt(self) -> Path:
        return self.out / "checkpoint.pt"

    def save(self, optimizer=None) -> None:
        blob = {
            "model": self.model.state_dict(),
            "state": dict(self.state),
            "space": self.space.to_json() if self.space else None,
            "optimizer": optimizer.state_dict() if optimizer else None,
        }
        with atomic(self.ckpt) as tmp:
            torch.save(blob, tmp)

    def resume(self):
        if not self.ckpt.exists():
            return None
        blob = torch.load(self.ckpt, map_location=self.device, weights_only=True)
        self.model.load_state_dict(blob["model"])
        self.state = blob["state"]
        self.space = EmotionSpace.from_json(blob["space"]) if blob["space"] else None
        print(f"resumed at stage {self.state['stage']}, step {self.state['step']}")
        return blob["optimizer"]

    def log(self, **values) -> None:
        with open(self.out / "log.jsonl", "a") as f:
            f.write(
                json.dumps(
                    {
                        "stage": self.state["stage"],
                        "step": self.state["step"],
                        "time": time.time(),
                        **{k: round(float(v), 5) for k, v in values.items()},
                    }
                )
                + "\n"
            )

    # --- shared loop ------------------------------------------------------------------------------------------
    def _loop(self, stage: str, params, steps: int, lr: float, batches: Batches, step_fn, opt_state) -> None:
        cfg = self.cfg
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
        if opt_state is not None and self.state["stage"] == stage:
            optimizer.load_state_dict(opt_state)
        if self.state["stage"] != stage:
            self.state = {"stage": stage, "step": 0}
        start = self.state["step"]
        schedule = lambda s: min(1.0, (s + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * min(s / steps, 1.0)))
        batches.seed = (cfg.seed, STAGES.index(stage), start)  # a resumed run draws fresh, reproducible batches
        bar = tqdm(range(start, steps), initial=start, total=steps, desc=stage, unit="step")
        running: dict[str, float] = {}
        for step, batch in zip(bar, loader(batches, cfg.loader_workers)):
            for g in optimizer.param_groups:
                g["lr"] = lr * schedule(step)
            batch = {k: v.to(self.device) for k, v in batch.items()}
            terms = step_fn(batch)
            total = sum(terms.values())
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            for k, v in terms.items():
                v = v.item()
                running[k] = 0.95 * running.get(k, v) + 0.05 * v
            self.state["step"] = step + 1
            if (step + 1) % cfg.log_every == 0:
                self.log(**running)
                bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()})
            if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == steps:
                self.save(optimizer)

    # --- stage 1 ----------------------------------------------------------------------------------------------
    def train_emotion(self, opt_state) -> None:
        cfg, model = self.cfg, self.model
        weights = emotion_weights(self.corpus, cfg.emotion_real_share, cfg.emotion_exclude)
        batches = Batches(self.corpus, emotion_item, weights, cfg.emotion_batch, cfg, (cfg.seed,))
        ce = torch.nn.CrossEntropyLoss()

        def step(batch):
            _, _, logits, clip_logits = model.encode_emotion(pad_audio(batch["audio"]), batch.get("voice"))
            label = batch["label"]
            frames = label[:, None].expand(-1, logits.shape[2])
            return {"clip_ce": ce(clip_logits, label), "window_ce": 0.5 * ce(logits, frames)}

        self._loop(
            "emotion", list(model.emotion.parameters()), cfg.emotion_steps, cfg.emotion_lr, batches, step, opt_state
        )

    # --- stage 2 ----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def fit_space(self) -> EmotionSpace:
        """Fit the space on windowed embeddings of every labelled training clip (no augmentation)."""
        self.model.eval()
        feats, labels = [], []
        for ex in tqdm(self.corpus.examples, desc="emotion space", unit="clip"):
            label = label_of(ex)
            if label < 0:
                continue
            audio = pad_audio(torch.from_numpy(ex.audio)[None].to(self.device))
            voice = torch.from_numpy(ex.voice[0].T.astype(np.float32))[None].to(self.device) if ex.voice else None
            windows, *_ = self.model.encode_emotion(audio, voice)
            frames = frame_count(len(ex.audio) / 16000, TRAIN_FPS)
            e = windows[0, :, :frames].T.cpu().numpy()[::12]  # one embedding per ~0.25 s
            feats.append(e)
            labels.append(np.full(len(e), label))
        self.model.train()
        return fit_space(np.concatenate(feats), np.concatenate(labels))

    @torch.no_grad()
    def voice_reference(self) -> list[float]:
        """(8,) the emotion head's mean clip scores over the labelled training clips: the typical speaker, against
        whom a speaker's own baseline is measured (core.emotion_space.speaker_baseline)."""
        self.model.eval()
        means = []
        for ex in self.corpus.examples:
            if label_of(ex) < 0:
                continue
            audio = pad_audio(torch.from_numpy(ex.audio)[None].to(self.device))
            voice = torch.from_numpy(ex.voice[0].T.astype(np.float32))[None].to(self.device) if ex.voice else None
            _, _, logits, _ = self.model.encode_emotion(audio, voice)
            frames = frame_count(len(ex.audio) / 16000, TRAIN_FPS)
            means.append(logits[0, :, :frames].mean(1).cpu().numpy())
        return np.mean(means, 0).round(4).tolist()

    def train_mapping(self, opt_state) -> None:
        """Mapping network: teacher motion of absolute edits -> the edited embedding that asked for it."""
        cfg, model, space = self.cfg, self.model, self.space
        dirs = torch.from_numpy(space.directions).to(self.device)
        neutral = torch.from_numpy(space.neutral).to(self.device)[None, :, None]
        origin = torch.from_numpy(space.origin).to(self.device)[None, :, None]
        mapping_cfg = TrainConfig(
            **{**cfg.__dict__, "p_absolute": 1.0, "p_pair": 0.0, "p_relative": 0.0, "augment": False}
        )
        teacher_only = generator_weights(self.corpus, 1.0) * np.array([bool(e.phones) for e in self.corpus.examples])
        batches = Batches(
            self.corpus, generator_item, teacher_only / teacher_only.sum(), cfg.mapping_batch, mapping_cfg, (cfg.seed,)
        )

        def step(batch):
            target = neutral + torch.einsum("bkt,ke->bet", batch["alphas"], dirs)
            mapped = model.mapping(batch["target"])
            keep = batch["valid"] > 0
            return {
                "consistency": consistency_loss(
                    (mapped - origin).transpose(1, 2)[keep], (target - origin).transpose(1, 2)[keep]
                )
            }

        self._loop("mapping", list(model.mapping.parameters()), cfg.mapping_steps, cfg.lr, batches, step, opt_state)

    # --- stage 3 ----------------------------------------------------------------------------------------------
    def train_generator(self, opt_state) -> None:
        cfg, model, space = self.cfg, self.model, self.space
        for frozen in (model.emotion, model.mapping):
            frozen.eval()  # no dropout in the critic and in the voice's embedding
            frozen.requires_grad_(False)
        dirs = torch.from_numpy(space.directions).to(self.device)
        neutral = torch.from_numpy(space.neutral).to(self.device)[None, :, None]
        origin = torch.from_numpy(space.origin).to(self.device)[None, :, None]
        channel_w = losses.channel_weights(cfg.mouth_weight).to(self.device)
        batches = Batches(
            self.corpus,
            generator_item,
            generator_weights(self.corpus, cfg.real_speech_boost),
            cfg.batch,
            cfg,
            (cfg.seed,),
        )

        def step(batch):
            audio = pad_audio(batch["audio"])
            logmel = model.frontend(audio)
            content = model.content(logmel, batch["recogniser"])
            raw, logit = model.articulation.raw(content)
            articulation, gate = model.articulation.seal(raw, logit)
            with torch.no_grad():
                heard, *_ = model.encode_emotion(audio, batch.get("voice"), logmel)
            absolute = batch["absolute"][:, None, None]
            edited = absolute * neutral + (1 - absolute) * heard + torch.einsum("bkt,ke->bet", batch["alphas"], dirs)
            expression = model.expression(content, edited, gate)
            pred = seal(articulation + expression, gate)  # unclamped while training: no gradient is ever cut
            valid, mask, teach = batch["valid"], batch["mask"], batch["teacher"]
            teacher_valid = valid * teach[:, None]
            keep = valid > 0
            mapped = model.mapping(pred)
            return {
                "rec": cfg.w_rec * losses.reconstruction(pred, batch["target"], channel_w, mask, valid),
                "layers": cfg.w_layers
                * (
                    losses.reconstruction(articulation, batch["articulation"], channel_w, mask, teacher_valid)
                    + losses.reconstruction(expression, batch["expression"], channel_w, mask, teacher_valid)
                ),
                "velocity": cfg.w_velocity * losses.velocity(pred, batch["target"], channel_w, mask, valid),
                "aperture": cfg.w_aperture * losses.aperture(pred, batch["target"], teacher_valid),
                # closures: aligned p/b/m where the teacher has phones, the recogniser's bilabial evidence on
                # captures without them (data.recognised_closure)
                "closure": cfg.w_closure * losses.closure(raw, gate, batch["closure"], valid),
                "gate": cfg.w_gate * losses.gate(logit, batch["closure"], valid),
                "consistency": cfg.w_consistency
                * consistency_loss((mapped - origin).transpose(1, 2)[keep], (edited - origin).transpose(1, 2)[keep]),
            }

        params = [*model.content.parameters(), *model.articulation.parameters(), *model.expression.parameters()]
        self._loop("generator", params, cfg.steps, cfg.lr, batches, step, opt_state)

    def start_from(self, folder: Path) -> None:
        """Fine-tuning: every parameter this network shares with a weights folder (same name and shape; of the
        parts cfg.init_parts names, or all), and with the emotion encoder its edit dictionary (the emotion stage is
        then done). Parts not taken start afresh, and are named."""
        own = self.model.state_dict()
        parts = {p.strip() for p in self.cfg.init_parts.split(",") if p.strip()} or {k.split(".")[0] for k in own}
        state = read_safetensors(W.verify(folder, W.TORCH_FILES) / "model.safetensors")
        kept = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape and k.split(".")[0] in parts}
        if not kept:
            raise ValueError(f"{folder} shares no parameter with this network - train from scratch instead")
        self.model.load_state_dict(kept, strict=False)
        fresh = sorted({".".join(k.split(".")[:2]) for k in own if k not in kept})
        print(f"starting from {folder}: {len(kept)} of {len(own)} tensors kept; afresh: {', '.join(fresh) or 'none'}")
        if "emotion" in parts:
            self.space = decorrelated(EmotionSpace.load(Path(folder) / "edit_dictionary.json"))
            self.state = {"stage": "mapping", "step": 0}

    def run(self) -> tuple[TrainingNetwork, EmotionSpace]:
        opt_state = self.resume()
        if opt_state is None and self.state["step"] == 0 and self.state["stage"] == "emotion" and self.cfg.init_from:
            self.start_from(Path(self.cfg.init_from))
        stage = STAGES.index(self.state["stage"])
        if stage <= 0:
            self.train_emotion(opt_state)
            opt_state = None
        if self.space is None:
            self.space = self.fit_space()
            self.save()
        if stage <= 1:
            self.train_mapping(opt_state)
            opt_state = None
        self.train_generator(opt_state)  # resumes, or runs on to a larger `steps` than last time
        self.model.eval()
        return self.model, self.space
