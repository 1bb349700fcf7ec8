"""`python -m model.evaluation.evaluate`: accuracy of a weights folder on held-out data, beside its controls.

Test sets are read once, for the report; the lip seal's operating point is chosen on VALIDATION (`operating_point`).
What each set holds out is in training.corpus.splits.SET_LABELS, printed with every figure.
Lip rows: the teacher (oracle: phones from the transcript), the model (audio only), "phones" (pocketsphinx
recognition without transcript, then the teacher - no learning) and the mean training pose. "Closed" is the
ICT-FaceKit head's inner-lip gap (core.lips), never a proxy the network is trained on.
Emotion rows: a classifier trained on teacher motion can only say "consistent with the teacher", so it is printed
beside a lookup-table control (mean pose + the teacher's prototype, constant in time: no model, no audio).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from editemotalk_addon.core.animator import Analysis, Animator, EmotionEdit
from editemotalk_addon.core.ict import IctHead
from editemotalk_addon.core.rig import EMOTIONS, GROUPS, INDEX, LIFE_CHANNELS, SLIDERS
from editemotalk_addon.core.timebase import TRAIN_FPS

from ..training import teacher
from ..training.corpus.store import Example
from ..training.data import Corpus
from ..training.teacher.expression import EXPRESSIONS
from .metrics import closure_hits, false_closures, jaw_correlation, lip_vertex_error, pearson, resting_in_silence
from .targets import TARGET

FPS = 30
LIP_SETS = ("synthetic", "arctic", "common_voice", "emodb")
REAL_SETS = ("arctic", "common_voice", "emodb")
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
GATE_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
OPERATING_HIT = TARGET["closure_hit"].limit  # the operating point: fewest false closures keeping it, on validation
EMOTION_CHANNELS = np.array([i for i in range(52) if i not in LIFE_CHANNELS])  # blinks and gaze are procedural


def set_of(ex: Example) -> str:
    if ex.meta.source == "english_read":
        return "arctic" if ex.meta.sentence.startswith("arctic:") else "common_voice"
    return ex.meta.source


VALIDATION_PER_SET = 50  # validation clips per set: calibrate chooses the operating point on them, bench prints it


def examples_by_set(corpus_root: Path, split: str, per_set: int, seed: int = 0) -> dict[str, list[Example]]:
    """A fixed, reproducible subset of each evaluation set of one split."""
    rng = np.random.default_rng(seed)
    by_set: dict[str, list[Example]] = {}
    for ex in Corpus(corpus_root, split).examples:
        by_set.setdefault(set_of(ex), []).append(ex)
    for name, exs in by_set.items():
        if len(exs) > per_set:
            by_set[name] = [exs[i] for i in sorted(rng.choice(len(exs), per_set, replace=False))]
    return by_set


def perform(ex: Example, fps: int = FPS, phones=None, sliders=None) -> np.ndarray:
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
    ).weights


def slider_frames(frames: int, k: int | None, alpha: float = 1.0) -> np.ndarray:
    """(F, 7) one slider at alpha (k None: all zero)."""
    sliders = np.zeros((frames, len(SLIDERS)), np.float32)
    if k is not None:
        sliders[:, k] = alpha
    return sliders


# --- lips ---------------------------------------------------------------------------------------------------------
@dataclass
class Tally:
    hits: list = field(default_factory=list)
    shut: int = 0
    eligible: int = 0
    lve: list = field(default_factory=list)
    jaw: list = field(default_factory=list)
    resting: int = 0
    silent: int = 0

    def add(self, pred, ex, truth=None, head=None, lips=None, fps=FPS):
        self.hits += closure_hits(pred, ex.phones, fps)
        s, e = false_closures(pred, ex.phones, fps)
        self.shut, self.eligible = self.shut + s, self.eligible + e
        r, n = resting_in_silence(pred, ex.phones, fps)
        self.resting, self.silent = self.resting + r, self.silent + n
        if truth is not None:
            self.lve.append(lip_vertex_error(pred, truth, head, lips))
            j = jaw_correlation(pred, truth)
            if j is not None:
                self.jaw.append(j)

    @property
    def hit_rate(self) -> float | None:
        return round(100 * float(np.mean(self.hits)), 1) if self.hits else None

    @property
    def false_rate(self) -> float:
        return round(100 * self.shut / max(self.eligible, 1), 2)

    def summary(self) -> dict:
        return {
            "closure_hit": self.hit_rate,
            "false_closure": self.false_rate,
            "lve_mm": round(float(np.mean(self.lve)), 3) if self.lve else None,
            "jaw_corr": round(float(np.mean(self.jaw)), 3) if self.jaw else None,
            "rest_in_silence": round(100 * self.resting / self.silent, 1) if self.silent else None,
            "bilabials": len(self.hits),
            "clips": len(self.lve),
        }


def labelled_edit(ex: Example) -> EmotionEdit:
    """The clip's acted emotion on the sliders (absolute mode): what the teacher's truth and the phones baseline
    are given, so the lip figures compare the audio -> mouth path alone."""
    sliders = {ex.meta.emotion: ex.meta.intensity} if ex.meta.emotion in SLIDERS else {}
    return EmotionEdit(sliders, mode="absolute")


def lips(animator, by_set, head, lips_idx, mean_pose, analyses, phone_baseline=True, progress=True) -> dict:
    """Per set: closure hit, false closures, lip vertex error and jaw correlation against the teacher on the
    aligned phones, for the model, the teacher itself, the phones baseline and the mean pose. Every row knows the
    clip's acted emotion (labelled_edit)."""
    from tqdm import tqdm

    out = {}
    for name in LIP_SETS:
        rows = {r: Tally() for r in ("teacher", "model", "model_voice", "phones", "mean_pose")}
        for ex in tqdm(by_set.get(name, []), desc=f"lips {name}", disable=not progress):
            truth = perform(ex)
            analyses[ex.meta.id] = analysis = animator.analyze(ex.audio)
            model = animator.generate(analysis, labelled_edit(ex), fps=FPS, seed=ex.meta.seed).weights
            rows["teacher"].add(truth, ex, truth, head, lips_idx)
            rows["model"].add(model, ex, truth, head, lips_idx)
            voice = animator.generate(analysis, EmotionEdit(mode="voice"), fps=FPS, seed=ex.meta.seed).weights
            rows["model_voice"].add(voice, ex, truth, head, lips_idx)  # the face in keep-voice mode
            rows["mean_pose"].add(np.repeat(mean_pose[None], len(truth), 0), ex, truth, head, lips_idx)
            if phone_baseline:
                from ..training.align import recognize

                rows["phones"].add(perform(ex, phones=recognize(ex.audio)), ex, truth, head, lips_idx)
        out[name] = {r: t.summary() for r, t in rows.items() if t.lve}
    return out


def generate_with_gate(animator: Animator, analysis: Analysis, threshold: float | None, seed: int) -> np.ndarray:
    """The model's weights with the closure gate at another operating point (the trained gate when None)."""
    saved = animator.config.get("gate_threshold")
    animator.config["gate_threshold"] = threshold
    try:
        return animator.generate(analysis, EmotionEdit(mode="voice"), fps=FPS, seed=seed).weights
    finally:
        animator.config["gate_threshold"] = saved


def operating_curve(animator: Animator, by_set: dict, progress: bool = True) -> dict:
    """Closure hit / false closures over the real validation voices, per gate threshold ("trained": as trained)."""
    from tqdm import tqdm

    tallies = {str(t): Tally() for t in (None, *GATE_THRESHOLDS)}
    for name in REAL_SETS:
        for ex in tqdm(by_set.get(name, []), desc=f"operating point {name}", disable=not progress):
            analysis = animator.analyze(ex.audio)
            for key, tally in tallies.items():
                tally.add(generate_with_gate(animator, analysis, None if key == "None" else float(key), 0), ex)
    curve = {("trained" if k == "None" else k): {"hit": t.hit_rate, "false": t.false_rate} for k, t in tallies.items()}
    return {
        "curve": curve,
        "chosen": choose_operating_point(curve),
        "clips": sum(len(by_set.get(n, [])) for n in REAL_SETS),
    }


def choose_operating_point(curve: dict) -> str:
    """The fewest false closures among thresholds that keep OPERATING_HIT; else the best hit rate."""
    keep = [k for k, v in curve.items() if v["hit"] is not None and v["hit"] >= OPERATING_HIT]
    if keep:
        return min(keep, key=lambda k: curve[k]["false"])
    return max(curve, key=lambda k: curve[k]["hit"] or 0)


def calibrate(weights: Path, corpus_root: Path, per_set: int = VALIDATION_PER_SET, log: str | None = None) -> dict:
    """Choose the seal's operating point on the validation voices and store it in the weights' config.json.
    `log`: the name of a model choice's candidate; its validation curve goes on the record the model card quotes
    (bench/experiments.jsonl)."""
    import time

    from ..packaging import ROOT
    from ..training.export import set_config

    point = operating_curve(Animator.load(weights), examples_by_set(corpus_root, "validation", per_set))
    set_config(weights, gate_threshold=None if point["chosen"] == "trained" else float(point["chosen"]))
    if log:
        entry = {"date": time.strftime("%Y-%m-%d"), "split": "validation", "candidate": log}
        entry |= {"seal_operating_curve": point["curve"], "chosen_gate_threshold": point["chosen"]}
        with open(ROOT / "bench" / "experiments.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
    return point


# --- real capture -------------------------------------------------------------------------------------------------
def real_capture(animator: Animator, examples: list[Example]) -> dict:
    """FACEGOOD (Mandarin capture, no phones, so no teacher): correlation with the captured mouth channels."""
    jaw, mouth = [], []
    for ex in examples:
        analysis = animator.analyze(ex.audio)
        pred = animator.generate(analysis, EmotionEdit(mode="voice"), fps=TRAIN_FPS, life=False).weights
        n = min(len(pred), len(ex.targets))
        jaw.append(pearson(pred[:n, INDEX["jawOpen"]], ex.targets[:n, INDEX["jawOpen"]]))
        chans = [c for c in GROUPS["mouth"] if ex.mask[c] and ex.targets[:n, c].std() > 0.01]
        mouth += [r for c in chans if (r := pearson(pred[:n, c], ex.targets[:n, c])) is not None]
    jaw = [j for j in jaw if j is not None]
    return {
        "jaw_corr": round(float(np.mean(jaw)), 3) if jaw else None,
        "mouth_corr": round(float(np.mean(mouth)), 3) if mouth else None,
        "clips": len(jaw),
    }


# --- emotion: consistency with the teacher, beside a control that has no model and no audio ------------------------
def motion_features(weights: np.ndarray) -> np.ndarray:
    w = weights[:, EMOTION_CHANNELS]
    return np.concatenate([w.mean(0), w.std(0), np.percentile(w, 90, axis=0)])


@dataclass
class MotionClassifier:
    """Teacher motion -> emotion label. Trained on the teacher, so it measures consistency with the teacher."""

    model: object = None

    @classmethod
    def train(cls, corpus: Corpus, clips: int = 800, seed: int = 0) -> MotionClassifier:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        rng = np.random.default_rng(seed)
        usable = [ex for ex in corpus.examples if ex.phones]
        feats, labels = [], []
        for i in rng.choice(len(usable), min(clips, len(usable)), replace=False):
            ex, label = usable[i], int(rng.integers(len(EMOTIONS)))
            frames = int(np.ceil(len(ex.audio) / 16000 * FPS))
            sliders = slider_frames(frames, label - 1 if label else None, rng.uniform(0.5, 1.5))
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


def lookup_control(mean_pose: np.ndarray, frames: int, k: int | None, alpha: float = 1.0) -> np.ndarray:
    """The control: the training mean pose plus the teacher's prototype at alpha, constant in time."""
    pose = mean_pose + (alpha * EXPRESSIONS[k] if k is not None else 0.0)
    return np.repeat(np.clip(pose, 0.0, 1.0)[None], frames, 0).astype(np.float32)


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic) if np.std(y) > 0 else 0.0


def emotion(animator, chosen, analyses, classifier, mean_pose, head, lips_idx, progress=True) -> dict:
    from tqdm import tqdm

    rows = ("model", "teacher", "control", "mean_pose")
    acc = {r: np.zeros(len(EMOTIONS)) for r in rows}
    rho = {r: {k: [] for k in SLIDERS} for r in ("model", "control")}
    hits = {m: {k: {a: [] for a in ALPHAS} for k in SLIDERS} for m in ("absolute", "voice")}
    false = {m: {k: {a: [0, 0] for a in ALPHAS} for k in SLIDERS} for m in ("absolute", "voice")}
    lve = {k: {a: [] for a in ALPHAS} for k in SLIDERS}
    for ex in tqdm(chosen, desc="emotion", disable=not progress):
        analysis = analyses.get(ex.meta.id) or animator.analyze(ex.audio)
        frames = int(np.ceil(len(ex.audio) / 16000 * FPS))
        for label in range(len(EMOTIONS)):
            k = label - 1 if label else None
            edit = EmotionEdit({SLIDERS[k]: 1.0} if label else {}, mode="absolute")
            faces = {
                "model": animator.generate(analysis, edit, fps=FPS, seed=ex.meta.seed).weights,
                "teacher": perform(ex, sliders=slider_frames(frames, k)),
                "control": lookup_control(mean_pose, frames, k),
                "mean_pose": lookup_control(mean_pose, frames, None),
            }
            for r, face in faces.items():
                acc[r][label] += classifier.predict(face) == label
        for k, name in enumerate(SLIDERS):
            margins = {"model": [], "control": []}
            for a in ALPHAS:
                for mode in ("absolute", "voice"):
                    pred = animator.generate(analysis, EmotionEdit({name: a}, mode=mode), fps=FPS, seed=ex.meta.seed)
                    hits[mode][name][a] += closure_hits(pred.weights, ex.phones, FPS)
                    shut, eligible = false_closures(pred.weights, ex.phones, FPS)
                    false[mode][name][a][0] += shut
                    false[mode][name][a][1] += eligible
                    if mode == "absolute":
                        margins["model"].append(classifier.margin(pred.weights, k + 1))
                        truth = perform(ex, sliders=slider_frames(frames, k, a))
                        lve[name][a].append(lip_vertex_error(pred.weights, truth, head, lips_idx))
                margins["control"].append(classifier.margin(lookup_control(mean_pose, frames, k, a), k + 1))
            for r in rho:
                rho[r][name].append(_spearman(ALPHAS, margins[r]))
    n = len(chosen)
    pct = lambda v: (
        {e: round(100 * float(v[i]) / n, 1) for i, e in enumerate(EMOTIONS)}
        | {"mean": round(100 * float(v.mean()) / n, 1)}
    )
    hit_table = {
        m: {k: {str(a): round(100 * float(np.mean(h)), 1) for a, h in v.items()} for k, v in t.items()}
        for m, t in hits.items()
    }
    rho_table = {r: {k: round(float(np.mean(v)), 3) for k, v in t.items()} for r, t in rho.items()}
    for t in rho_table.values():
        t["mean"], t["min"] = round(float(np.mean(list(t.values()))), 3), round(float(np.min(list(t.values()))), 3)
    change = {m: round(max(max(v.values()) - min(v.values()) for v in t.values()), 1) for m, t in hit_table.items()}
    false_table = {
        m: {k: {str(a): round(100 * s / max(e, 1), 2) for a, (s, e) in v.items()} for k, v in t.items()}
        for m, t in false.items()
    }
    false_change = {
        m: round(max(max(v.values()) - min(v.values()) for v in t.values()), 2) for m, t in false_table.items()
    }
    return {
        "consistency_with_teacher": {r: pct(v) for r, v in acc.items()},
        "monotonicity_rho": rho_table,
        "closure_hit_by_alpha": hit_table,
        "closure_change_points": change,
        "false_closure_by_alpha": false_table,
        "false_closure_change_points": false_change,
        "lve_by_alpha": {k: {str(a): round(float(np.mean(x)), 3) for a, x in v.items()} for k, v in lve.items()},
        "clips": n,
    }


def speech_emotion(animator: Animator, examples: list[Example], analyses: dict) -> dict:
    """UAR per clip, and speaker-relative (each clip read against its speaker's other test clips, as a batch
    manifest's speaker field does: Animator.against_speaker)."""
    labelled = [ex for ex in examples if ex.meta.emotion in EMOTIONS]  # boredom has no slider
    found = {ex.meta.id: analyses.get(ex.meta.id) or animator.analyze(ex.audio) for ex in labelled}
    by_speaker: dict[str, list[np.ndarray]] = {}
    for ex in labelled:
        by_speaker.setdefault(ex.meta.speaker, []).append(found[ex.meta.id].logits)
    guesses, relative = [], []
    for ex in labelled:
        a = found[ex.meta.id]
        guesses.append((ex.meta.emotion, EMOTIONS[int(np.argmax(a.probabilities.mean(0)))]))
        r = animator.against_speaker(a, by_speaker[ex.meta.speaker])
        relative.append((ex.meta.emotion, EMOTIONS[int(np.argmax(r.probabilities.mean(0)))]))
    return unweighted_recall(guesses) | {"speaker_relative_uar": unweighted_recall(relative)["uar"]}


def unweighted_recall(guesses: list[tuple[str, str]]) -> dict:
    """(label, guess) per clip -> UAR (the mean of the per-class recalls), each recall, chance, clips."""
    recall: dict[str, list[bool]] = {}
    for label, guess in guesses:
        recall.setdefault(label, []).append(guess == label)
    return {
        "uar": round(100 * float(np.mean([np.mean(v) for v in recall.values()])), 1),
        "recall": {k: round(100 * float(np.mean(v)), 1) for k, v in sorted(recall.items())},
        "chance": round(100 / len(recall), 1),
        "clips": sum(map(len, recall.values())),
    }


def evaluate(
    weights: Path,
    corpus_root: Path,
    ict_path: Path,
    per_set: int = 120,
    emotion_clips: int = 40,
    phone_baseline: bool = True,
    runtime: str = "onnx",
    seed: int = 0,
    progress: bool = True,
) -> dict:
    start = time.time()
    animator = Animator.load(weights, runtime=runtime)
    head = IctHead.load(ict_path)
    lips_idx = head.lip_vertices()
    train = Corpus(corpus_root, "train")
    mean_pose = np.concatenate([ex.targets for ex in train.examples if ex.phones]).mean(0)
    test = examples_by_set(corpus_root, "test", per_set, seed)
    validation = examples_by_set(corpus_root, "validation", VALIDATION_PER_SET, seed)  # the clips calibrate chose on
    results: dict = {
        "counts": {k: len(v) for k, v in test.items()},
        "gate_threshold": animator.config.get("gate_threshold"),
    }
    analyses: dict[str, Analysis] = {}
    results["operating_point"] = operating_curve(animator, validation, progress)
    results["sets"] = lips(animator, test, head, lips_idx, mean_pose, analyses, phone_baseline, progress)
    results["real_capture"] = real_capture(animator, test.get("facegood", []))
    rng = np.random.default_rng(seed)
    pool = [ex for name in LIP_SETS for ex in test.get(name, [])]
    chosen = [pool[i] for i in sorted(rng.choice(len(pool), min(emotion_clips, len(pool)), replace=False))]
    classifier = MotionClassifier.train(train, seed=seed)
    results["emotion"] = emotion(animator, chosen, analyses, classifier, mean_pose, head, lips_idx, progress)
    results["speech_emotion"] = speech_emotion(animator, test.get("emodb", []), analyses)
    results["seconds"] = round(time.time() - start, 1)
    return results


def main() -> None:
    from editemotalk_addon.core.weights import DEFAULT

    root = Path(__file__).resolve().parents[2]
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--weights", default=str(DEFAULT))
    p.add_argument("--corpus", default=str(root / "data" / "corpus"))
    p.add_argument("--ict", default=str(root.parent / "shared" / "data" / "ict_facekit" / "ict_face_model.npz"))
    p.add_argument("--per-set", type=int, default=120)
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
