"""`python -m model.evaluate`: held-out accuracy of a weights folder, beside the teacher and the baselines.

Everything here runs on the corpus's TEST split only: held-out synthetic voices and sentences, Emo-DB speakers
15/16, ARCTIC prompts b0400+, a third of the Common Voice speakers, FACEGOOD recordings 1114_3_15/16.
Rows: the teacher (oracle: phones from the transcript), the model (audio only), "phones" (pocketsphinx
recognition without transcript, then the teacher) and "mean pose" (the average training frame).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..runtime.animator import Animator, EmotionEdit
from ..runtime.ict import IctHead, lip_vertex_error
from ..runtime.rig import EMOTIONS, GROUPS, INDEX, LIFE_CHANNELS, SLIDERS
from ..runtime.timebase import TRAIN_FPS
from ..training import teacher
from ..training.corpus.store import Example
from ..training.data import Corpus
from .metrics import closure_hits, false_closures, jaw_correlation, pearson

FPS = 30
LIP_SETS = ("synthetic", "arctic", "common_voice", "emodb")
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
EMOTION_CHANNELS = np.array([i for i in range(52) if i not in LIFE_CHANNELS])  # blinks and gaze are procedural


def set_of(ex: Example) -> str:
    if ex.meta.source == "english_read":
        return "arctic" if ex.meta.sentence.startswith("arctic:") else "common_voice"
    return ex.meta.source


def perform(ex: Example, fps: int = FPS, phones=None, sliders=None, **kw) -> np.ndarray:
    """The teacher on an example: its label emotion unless sliders are given."""
    emotion = ex.meta.emotion if ex.meta.emotion in SLIDERS else "neutral"
    return teacher.perform(
        phones or ex.phones,
        ex.prosody,
        emotion,
        ex.meta.intensity,
        seed=ex.meta.seed,
        fps=fps,
        duration=len(ex.audio) / 16000,
        sliders=sliders,
        **kw,
    ).weights


# --- the independent motion -> emotion classifier (trained on teacher motion only) -------------------------------
def motion_features(weights: np.ndarray) -> np.ndarray:
    w = weights[:, EMOTION_CHANNELS]
    return np.concatenate([w.mean(0), w.std(0), np.percentile(w, 90, axis=0)])


@dataclass
class MotionClassifier:
    model: object = None

    @classmethod
    def train(cls, corpus: Corpus, clips: int = 800, seed: int = 0) -> MotionClassifier:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        rng = np.random.default_rng(seed)
        usable = [ex for ex in corpus.examples if ex.phones]
        feats, labels = [], []
        for i in rng.choice(len(usable), clips, replace=False):
            ex, label = usable[i], int(rng.integers(len(EMOTIONS)))
            frames = int(np.ceil(len(ex.audio) / 16000 * FPS))
            sliders = np.zeros((frames, len(SLIDERS)), np.float32)
            if label:
                sliders[:, label - 1] = rng.uniform(0.5, 1.5)
            feats.append(motion_features(perform(ex, sliders=sliders)))
            labels.append(label)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=3000))
        model.fit(np.array(feats), np.array(labels))
        return cls(model)

    def scores(self, weights: np.ndarray) -> np.ndarray:
        return self.model.decision_function(motion_features(weights)[None])[0]

    def predict(self, weights: np.ndarray) -> int:
        return int(np.argmax(self.scores(weights)))

    def margin(self, weights: np.ndarray, k: int) -> float:
        s = self.scores(weights)
        return float(s[k] - np.delete(s, k).max())


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic) if np.std(y) > 0 else 0.0


@dataclass
class Tally:
    hits: list = field(default_factory=list)
    shut: int = 0
    eligible: int = 0
    lve: list = field(default_factory=list)
    jaw: list = field(default_factory=list)

    def add(self, pred, truth, ex, head, lips, fps=FPS):
        self.hits += closure_hits(pred, ex.phones, fps)
        s, e = false_closures(pred, ex.phones, fps)
        self.shut, self.eligible = self.shut + s, self.eligible + e
        self.lve.append(lip_vertex_error(pred, truth, head, lips))
        j = jaw_correlation(pred, truth)
        if j is not None:
            self.jaw.append(j)

    def summary(self) -> dict:
        return {
            "closure_hit": round(100 * float(np.mean(self.hits)), 1) if self.hits else None,
            "false_closure": round(100 * self.shut / max(self.eligible, 1), 2),
            "lve_mm": round(float(np.mean(self.lve)), 3) if self.lve else None,
            "jaw_corr": round(float(np.mean(self.jaw)), 3) if self.jaw else None,
            "bilabials": len(self.hits),
            "clips": len(self.lve),
        }


def evaluate(
    weights: Path,
    corpus_root: Path,
    ict_path: Path,
    per_set: int = 150,
    emotion_clips: int = 40,
    phone_baseline: bool = True,
    runtime: str = "onnx",
    seed: int = 0,
    progress: bool = True,
) -> dict:
    from tqdm import tqdm

    start = time.time()
    animator = Animator.load(weights, runtime=runtime)
    head = IctHead.load(ict_path)
    lips = head.lip_vertices()
    train = Corpus(corpus_root, "train")
    test = Corpus(corpus_root, "test")
    mean_pose = np.concatenate([ex.targets for ex in train.examples if ex.phones]).mean(0)
    rng = np.random.default_rng(seed)
    by_set: dict[str, list[Example]] = {}
    for ex in test.examples:
        by_set.setdefault(set_of(ex), []).append(ex)
    for name, exs in by_set.items():  # a fixed, reproducible subset of the large sets
        if len(exs) > per_set:
            by_set[name] = [exs[i] for i in sorted(rng.choice(len(exs), per_set, replace=False))]
    results: dict = {"sets": {}, "counts": {k: len(v) for k, v in by_set.items()}}
    analyses = {}

    # --- lips: LVE, closures, jaw, per held-out set -----------------------------------------------------------
    for name in LIP_SETS:
        rows = {r: Tally() for r in ("teacher", "model", "phones", "mean_pose")}
        for ex in tqdm(by_set.get(name, []), desc=f"lips {name}", disable=not progress):
            truth = perform(ex)
            analyses[ex.meta.id] = analysis = animator.analyze(ex.audio)
            model = animator.generate(analysis, EmotionEdit(), fps=FPS, seed=ex.meta.seed).weights
            rows["teacher"].add(truth, truth, ex, head, lips)
            rows["model"].add(model, truth, ex, head, lips)
            rows["mean_pose"].add(np.repeat(mean_pose[None], len(truth), 0), truth, ex, head, lips)
            if phone_baseline:
                from ..training.align import recognize

                rows["phones"].add(perform(ex, phones=recognize(ex.audio)), truth, ex, head, lips)
        results["sets"][name] = {r: t.summary() for r, t in rows.items() if t.lve}

    # --- real capture (FACEGOOD, Mandarin: no phones, so no teacher) -----------------------------------------
    jaw, mouth = [], []
    for ex in by_set.get("facegood", []):
        pred = animator.generate(animator.analyze(ex.audio), EmotionEdit(), fps=TRAIN_FPS, life=False).weights
        n = min(len(pred), len(ex.targets))
        jaw.append(pearson(pred[:n, INDEX["jawOpen"]], ex.targets[:n, INDEX["jawOpen"]]))
        chans = [c for c in GROUPS["mouth"] if ex.mask[c] and ex.targets[:n, c].std() > 0.01]
        mouth += [r for c in chans if (r := pearson(pred[:n, c], ex.targets[:n, c])) is not None]
    jaw = [j for j in jaw if j is not None]
    results["real_capture"] = {
        "jaw_corr": round(float(np.mean(jaw)), 3) if jaw else None,
        "mouth_corr": round(float(np.mean(mouth)), 3) if mouth else None,
        "clips": len(jaw),
        "mean_pose_corr": 0.0,
    }

    # --- emotion: independent classifier, sliders, monotonicity, lip preservation ------------------------------
    classifier = MotionClassifier.train(train, seed=seed)
    pool = [ex for name in ("synthetic", "arctic", "emodb", "common_voice") for ex in by_set.get(name, [])]
    chosen = [pool[i] for i in sorted(rng.choice(len(pool), min(emotion_clips, len(pool)), replace=False))]
    acc = {"model": np.zeros(len(EMOTIONS)), "teacher": np.zeros(len(EMOTIONS)), "mean_pose": np.zeros(len(EMOTIONS))}
    rho = {k: [] for k in SLIDERS}
    hits = {k: {a: [] for a in ALPHAS} for k in SLIDERS}
    lve = {k: {a: [] for a in ALPHAS} for k in SLIDERS}
    for ex in tqdm(chosen, desc="emotion", disable=not progress):
        analysis = analyses.get(ex.meta.id) or animator.analyze(ex.audio)
        frames = int(np.ceil(len(ex.audio) / 16000 * FPS))
        mean = np.repeat(mean_pose[None], frames, 0)
        acc["mean_pose"] += [classifier.predict(mean) == label for label in range(len(EMOTIONS))]
        for label in range(len(EMOTIONS)):
            k = label - 1
            sliders = np.zeros((frames, len(SLIDERS)), np.float32)
            if label:
                sliders[:, k] = 1.0
            edit = EmotionEdit({SLIDERS[k]: 1.0} if label else {}, mode="absolute")
            pred = animator.generate(analysis, edit, fps=FPS, seed=ex.meta.seed).weights
            acc["model"][label] += classifier.predict(pred) == label
            acc["teacher"][label] += classifier.predict(perform(ex, sliders=sliders)) == label
        for k, name in enumerate(SLIDERS):
            margins = []
            for a in ALPHAS:
                sliders = np.zeros((frames, len(SLIDERS)), np.float32)
                sliders[:, k] = a
                pred = animator.generate(
                    analysis, EmotionEdit({name: a}, mode="absolute"), fps=FPS, seed=ex.meta.seed
                ).weights
                margins.append(classifier.margin(pred, k + 1))
                hits[name][a] += closure_hits(pred, ex.phones, FPS)
                lve[name][a].append(lip_vertex_error(pred, perform(ex, sliders=sliders), head, lips))
            rho[name].append(_spearman(ALPHAS, margins))
    n = len(chosen)
    results["emotion"] = {
        "accuracy": {
            row: {e: round(100 * float(v[i]) / n, 1) for i, e in enumerate(EMOTIONS)}
            | {"mean": round(100 * float(v.mean()) / n, 1)}
            for row, v in acc.items()
        },
        "monotonicity_rho": {k: round(float(np.mean(v)), 3) for k, v in rho.items()},
        "closure_hit_by_alpha": {
            k: {str(a): round(100 * float(np.mean(h)), 1) for a, h in v.items()} for k, v in hits.items()
        },
        "lve_by_alpha": {k: {str(a): round(float(np.mean(x)), 3) for a, x in v.items()} for k, v in lve.items()},
        "clips": n,
    }
    rhos = [v for v in results["emotion"]["monotonicity_rho"].values()]
    results["emotion"]["monotonicity_rho"]["mean"] = round(float(np.mean(rhos)), 3)
    results["emotion"]["monotonicity_rho"]["min"] = round(float(np.min(rhos)), 3)
    closure_change = max(max(v.values()) - min(v.values()) for v in results["emotion"]["closure_hit_by_alpha"].values())
    lve_change = max(max(v.values()) - min(v.values()) for v in results["emotion"]["lve_by_alpha"].values())
    results["emotion"]["closure_change_points"] = round(closure_change, 1)
    results["emotion"]["lve_change_mm"] = round(lve_change, 3)

    # --- speech emotion recognition on held-out Emo-DB speakers ------------------------------------------------
    recall: dict[str, list[bool]] = {}
    for ex in by_set.get("emodb", []):
        if ex.meta.emotion not in EMOTIONS:
            continue  # boredom has no slider
        analysis = analyses.get(ex.meta.id) or animator.analyze(ex.audio)
        guess = EMOTIONS[int(np.argmax(analysis.probabilities.mean(0)))]
        recall.setdefault(ex.meta.emotion, []).append(guess == ex.meta.emotion)
    results["speech_emotion"] = {
        "uar": round(100 * float(np.mean([np.mean(v) for v in recall.values()])), 1),
        "recall": {k: round(100 * float(np.mean(v)), 1) for k, v in sorted(recall.items())},
        "chance": round(100 / len(recall), 1),
        "clips": sum(map(len, recall.values())),
    }
    results["seconds"] = round(time.time() - start, 1)
    return results


def main() -> None:
    from ..runtime.weights import DEFAULT

    root = Path(__file__).resolve().parents[2]
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--weights", default=str(DEFAULT))
    p.add_argument("--corpus", default=str(root / "data" / "corpus"))
    p.add_argument("--ict", default=str(root.parent / "shared" / "data" / "ict_facekit" / "ict_face_model.npz"))
    p.add_argument("--per-set", type=int, default=150)
    p.add_argument("--no-phone-baseline", action="store_true")
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    args = p.parse_args()
    results = evaluate(
        Path(args.weights), Path(args.corpus), Path(args.ict), args.per_set, phone_baseline=not args.no_phone_baseline
    )
    text = json.dumps(results, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
