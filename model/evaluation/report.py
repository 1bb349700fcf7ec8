"""Benchmark results -> Markdown tables, and the model card that quotes them (nothing else)."""

from __future__ import annotations

import json
from pathlib import Path

from ..runtime.rig import EMOTIONS, SLIDERS

SET_NAMES = {
    "synthetic": "synthetic (held-out voices and sentences)",
    "arctic": "CMU ARCTIC prompts b0400+",
    "common_voice": "Common Voice held-out speakers",
    "emodb": "Emo-DB speakers 15, 16 (German)",
}
ROW_NAMES = {
    "teacher": "teacher (oracle, transcript)",
    "model": "**model (audio only)**",
    "phones": "phones: pocketsphinx recognition + teacher",
    "mean_pose": "mean pose",
}


def _fmt(v, unit: str = "") -> str:
    return "-" if v is None else f"{v}{unit}"


def lips_table(ev: dict) -> str:
    lines = [
        "| held-out set | method | closure hit | false closures | lip vertex error | jawOpen corr. |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in ev["sets"].items():
        for row, r in rows.items():
            lines.append(
                f"| {SET_NAMES.get(name, name)} ({r['clips']} clips, {r['bilabials']} p/b/m) | "
                f"{ROW_NAMES.get(row, row)} | {_fmt(r['closure_hit'], ' %')} | {_fmt(r['false_closure'], ' %')} | "
                f"{_fmt(r['lve_mm'], ' mm')} | {_fmt(r['jaw_corr'])} |"
            )
    return "\n".join(lines)


def transfer_table(ev: dict) -> str:
    """Issue 6's transfer report: closures on each held-out real set beside held-out synthetic voices."""
    lines = [
        "| held-out set | teacher (oracle) hit / false | model hit / false | phones baseline hit / false |",
        "|---|---|---|---|",
    ]
    for name in ("arctic", "common_voice", "emodb", "synthetic"):
        rows = ev["sets"].get(name)
        if not rows:
            continue

        def cell(r, rows=rows):
            if r not in rows:
                return "-"
            return f"{_fmt(rows[r]['closure_hit'], ' %')} / {_fmt(rows[r]['false_closure'], ' %')}"

        lines.append(f"| {SET_NAMES[name]} | {cell('teacher')} | {cell('model')} | {cell('phones')} |")
    return "\n".join(lines)


def emotion_tables(ev: dict) -> str:
    e = ev["emotion"]
    acc = e["accuracy"]
    lines = [
        "| motion classifier accuracy (absolute mode, alpha = 1; neutral at alpha = 0) | "
        + " | ".join(EMOTIONS)
        + " | mean |",
        "|---|" + "---|" * (len(EMOTIONS) + 1),
    ]
    for row in ("model", "teacher", "mean_pose"):
        lines.append(
            f"| {ROW_NAMES[row]} | " + " | ".join(f"{acc[row][k]} %" for k in EMOTIONS) + f" | {acc[row]['mean']} % |"
        )
    rho = e["monotonicity_rho"]
    lines += [
        "",
        "| slider monotonicity (Spearman rho, alpha 0 to 1.5 vs classifier margin) | "
        + " | ".join(SLIDERS)
        + " | mean | min |",
        "|---|" + "---|" * (len(SLIDERS) + 2),
        "| model | " + " | ".join(str(rho[k]) for k in SLIDERS) + f" | {rho['mean']} | {rho['min']} |",
    ]
    lines += [
        "",
        "| lip preservation under edits (absolute mode) | " + " | ".join(SLIDERS) + " |",
        "|---|" + "---|" * len(SLIDERS),
    ]
    for alpha in e["closure_hit_by_alpha"][SLIDERS[0]]:
        lines.append(
            f"| closure hit at alpha = {alpha} | "
            + " | ".join(f"{e['closure_hit_by_alpha'][k][alpha]} %" for k in SLIDERS)
            + " |"
        )
    for alpha in e["lve_by_alpha"][SLIDERS[0]]:
        lines.append(
            f"| lip vertex error at alpha = {alpha} | "
            + " | ".join(f"{e['lve_by_alpha'][k][alpha]} mm" for k in SLIDERS)
            + " |"
        )
    lines.append(
        f"\nLargest change across alpha: closure hit {e['closure_change_points']} points, "
        f"lip vertex error {e['lve_change_mm']} mm ({e['clips']} held-out clips)."
    )
    se = ev["speech_emotion"]
    lines += [
        "",
        f"Speech-emotion recognition on held-out Emo-DB speakers 15 and 16: unweighted average recall "
        f"**{se['uar']} %** over {len(se['recall'])} classes (chance {se['chance']} %; {se['clips']} clips; "
        "recall " + ", ".join(f"{k} {v} %" for k, v in se["recall"].items()) + ").",
    ]
    rc = ev["real_capture"]
    lines += [
        "",
        f"Real capture (FACEGOOD held-out recordings, {rc['clips']} chunks of up to 10 s): correlation "
        f"with the captured jawOpen **{rc['jaw_corr']}**, mean over the captured mouth channels "
        f"{rc['mouth_corr']} (mean pose: {rc['mean_pose_corr']}).",
    ]
    return "\n".join(lines)


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
        s = res["speed"]
        for rt in ("onnx", "torch"):
            name = "ONNX Runtime" if rt == "onnx" else "PyTorch"
            lines.append(f"| analyze a {s['clip_seconds']:.0f} s clip, {name} | {s[rt]['analyze_s']} s | <= 0.5 s |")
            lines.append(
                f"| re-generate after a slider change, {s['clip_seconds']:.0f} s clip, {name} | "
                f"{s[rt]['generate_s']} s | <= 0.1 s |"
            )
            lines.append(f"| peak memory, {name} | {s[rt]['peak_rss_mb']} MB | <= 1536 MB |")
        if "onnx_10x" in s:
            long = s["onnx_10x"]
            lines.append(
                f"| analyze / re-generate a {10 * s['clip_seconds']:.0f} s clip, ONNX Runtime (linear cost) | "
                f"{long['analyze_s']} s / {long['generate_s']} s, {long['peak_rss_mb']} MB | - |"
            )
    if "size" in res:
        lines.append(f"| weights folder | {res['size']['total_mb']} MB | <= 30 MB |")
    for key, label, target in (
        ("bake_s", "bake 52 channels x 1800 frames", "<= 0.1 s"),
        ("preview_s", "live-preview update, 60 s clip", "<= 0.1 s"),
        ("enable_s", "extension enable", "-"),
    ):
        if key in res.get("blender", {}):
            lines.append(f"| {label} | {res['blender'][key]} s | {target} |")
    for name, mb in res.get("blender", {}).get("zips_mb", {}).items():
        lines.append(f"| extension zip {name} | {mb} MB | <= 80 MB |")
    b = res.get("batch")
    if b:
        for w, cpm in b["clips_per_minute"].items():
            lines.append(
                f"| batch bake, {b['clips']} clips of {b['clip_seconds']} s, {w} worker(s) | {cpm} clips/min | - |"
            )
        lines.append("| per-clip cost: " + ", ".join(f"{k} {v} s" for k, v in b["per_clip_s"].items()) + " | | |")
    return "\n".join(lines)


def markdown(res: dict) -> str:
    parts = [
        "# Benchmark results",
        "",
        f"Measured by `python build.py bench` on {res.get('machine', 'this machine')}.",
        "",
    ]
    if "evaluation" in res:
        ev = res["evaluation"]
        parts += [
            "## Lip sync on held-out data (30 fps)",
            "",
            lips_table(ev),
            "",
            "## Transfer to real voices (closure hit / false closures)",
            "",
            transfer_table(ev),
            "",
            "## Emotion",
            "",
            emotion_tables(ev),
            "",
        ]
    parts += ["## Speed and size", "", speed_table(res), ""]
    return "\n".join(parts)


def model_card(res: dict, weights: Path) -> str:
    config = json.loads((Path(weights) / "config.json").read_text())
    train = config.get("train", {})
    corpus = train.get("corpus", {})
    tc = train.get("config", {})
    recipe = (
        (
            f"{tc.get('emotion_steps')} steps of emotion-encoder training (batch {tc.get('emotion_batch')}, "
            f"{tc.get('emotion_crop')} s crops), the emotion space fitted on its windowed embeddings, "
            f"{tc.get('mapping_steps')} steps of mapping-network training on teacher motion, then "
            f"{tc.get('steps')} steps of content encoder + generator training (batch {tc.get('batch')}, "
            f"{tc.get('crop')} s crops, AdamW lr {tc.get('lr')}, cosine schedule), seed {tc.get('seed')}; "
            f"{round(train.get('wall_seconds', 0) / 3600, 2)} h wall-clock on "
            f"{train.get('device', 'a 2-core CPU')} for the invocation that finished the run (a resumed run counts "
            "only its own time)."
        )
        if tc
        else "not recorded"
    )
    return "\n".join(
        [
            "# EditEmoTalk default model - model card",
            "",
            "Speech (16 kHz) -> 52 ARKit blendshape weights, with emotion editable along learned boundary normals. "
            "Files: `model.safetensors` (PyTorch), `analyze.onnx` and `generate.onnx` (ONNX Runtime), "
            "`edit_dictionary.json` (centroids, unit normals, calibration, label names), `config.json`, "
            "`manifest.json` (SHA-256 of each file, checked on load).",
            "",
            "## Data and credits",
            "",
            f"Trained only on the TRAIN split of a corpus built by `python build.py corpus` "
            f"({corpus.get('hours', '?')} h, {corpus.get('examples', '?')} examples: {corpus.get('by_source', {})}).",
            "- Synthetic speech: our own generated sentences read by espeak-ng, flite and festival voices (Debian "
            "packages), each in all eight emotions through prosody. Targets from our procedural teacher.",
            '- Emo-DB: F. Burkhardt, A. Paeschke, M. Rolfes, W. Sendlmeier, B. Weiss, "A Database of German Emotional '
            'Speech", Interspeech 2005 (speakers 15 and 16 held out).',
            "- CMU ARCTIC bdl and slt (Kominek & Black, 2003; CMU licence; this copy modified: peak-normalised), "
            "prompts b0400 and later held out; Mozilla Common Voice 6.1 English, 100 clips (CC0), a third of the "
            "speakers held out.",
            "- FACEGOOD Audio2Face captured mouth animation (MIT), recordings 1114_3_15/16 held out.",
            "- ICT-FaceKit (Li et al., CVPR 2020, MIT) for the lip vertex error.",
            "- pocketsphinx and its US-English model (CMU) for forced alignment.",
            "",
            "## Training recipe",
            "",
            recipe,
            "",
            "## Results (from `python build.py bench`, held-out data only)",
            "",
            markdown(res).split("\n", 3)[3],
            "",
            "## Targets missed",
            "",
            *(f"- {line}" for line in missed_targets(res) or ["none"]),
            "",
            "What was tried:",
            "",
            *(f"- {line}" for line in TRIED),
            "",
            "## Known limits",
            "",
            "- Training targets come from a procedural teacher, not from facial capture (except FACEGOOD's mouth "
            "channels), so the model's style is the teacher's style.",
            "- Emotion in speech is learned from acted German (Emo-DB) and from prosody-rendered synthetic speech; "
            "there is no real emotional English speech in training. Surprise and contempt exist only in synthetic "
            "speech.",
            "- Blinks and gaze are procedural (seeded, emotion-dependent), not predicted from audio.",
            "- No head motion.",
            "",
        ]
    )


# The issues' targets, once: the README summary prints them, `missed_targets` checks them.
HIT_TARGET = {"synthetic": 95.0}  # closure hit, %; every real held-out set: HIT_TARGET_REAL
HIT_TARGET_REAL = 90.0
FALSE_CLOSURE_TARGET = 3.0  # %, on real held-out sets
EMOTION_TARGETS = {  # key: (label, op, target, unit)
    "accuracy": ("emotion accuracy of generated motion", ">=", 90.0, " %"),
    "rho": ("slider monotonicity, worst slider", ">=", 0.95, ""),
    "closure_change": ("closure hit change across edits", "<=", 3.0, " points"),
    "uar": ("speech-emotion UAR on Emo-DB 15/16", ">=", 70.0, " %"),
    "jaw_corr": ("jawOpen correlation with real capture", ">=", 0.6, ""),
}


def _emotion_figures(ev: dict) -> dict:
    e = ev["emotion"]
    return {
        "accuracy": e["accuracy"]["model"]["mean"],
        "rho": e["monotonicity_rho"]["min"],
        "closure_change": e["closure_change_points"],
        "uar": ev["speech_emotion"]["uar"],
        "jaw_corr": ev["real_capture"]["jaw_corr"],
    }


def _target(key: str) -> str:
    _, op, target, unit = EMOTION_TARGETS[key]
    return f"{op} {target:g}{unit.replace(' points', '')}"


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
        hit_target = HIT_TARGET.get(name, HIT_TARGET_REAL)
        if m["closure_hit"] < hit_target:
            missed.append(f"closure hit on {SET_NAMES[name]}: {m['closure_hit']} % (target >= {hit_target:.0f} %)")
        if name != "synthetic" and m["false_closure"] > FALSE_CLOSURE_TARGET:
            missed.append(
                f"false closures on {SET_NAMES[name]}: {m['false_closure']} % (target <= {FALSE_CLOSURE_TARGET:g} %)"
            )
    for key, value in _emotion_figures(ev).items():
        label, op, target, unit = EMOTION_TARGETS[key]
        if (value < target) if op == ">=" else (value > target):
            missed.append(f"{label}: {value}{unit} (target {op} {target:g}{unit})")
    return missed


TRIED = [
    "Closures: an early closure loss on all mouth channels made mouthClose broad (68 % false closures); it was "
    "replaced by a dedicated seal gate trained with BCE on bilabial frames, a gate-only closure term, a sharpened "
    "seal and a lip-aperture loss, which brought false closures to 7-13 %. Most remaining false closures are the seal "
    "gate firing next to, not on, a p/b/m.",
    "Transfer: real English (ARCTIC, Common Voice) and Emo-DB in training with a doubled sampling share and "
    "speaker-diversity augmentation (pitch/tempo/tract-length, reverb, noise, band-limiting, level); the synthetic "
    "augmentation was made milder after it hurt held-out synthetic voices.",
    "Budget: the generator was trained for 5 000 steps (about 45 min on 2 CPU cores) within the 3-hour limit; "
    "a 700-step run had 80-100 % hits with 13 % false closures, so the curve was still improving with training.",
]


def summary(res: dict) -> str:
    """The headline figures, each beside its target (the README quotes this table)."""
    rows = ["| measure | figure | target |", "|---|---|---|"]
    ev = res.get("evaluation")
    if ev:
        for name in ("synthetic", "arctic", "common_voice", "emodb"):
            m = ev["sets"].get(name, {}).get("model")
            if m:
                target = f">= {HIT_TARGET.get(name, HIT_TARGET_REAL):g} %"
                rows.append(
                    f"| closure hit / false closures, {SET_NAMES[name]}, audio only | "
                    f"{m['closure_hit']} % / {m['false_closure']} % | {target} / <= {FALSE_CLOSURE_TARGET:g} % |"
                )
        for name in ("arctic", "emodb"):
            m = ev["sets"].get(name, {})
            if "model" in m:
                rows.append(
                    f"| lip vertex error, {SET_NAMES[name]} (mean pose: {m['mean_pose']['lve_mm']} mm) | "
                    f"{m['model']['lve_mm']} mm | - |"
                )
        e = ev["emotion"]
        rows.append(
            f"| emotion accuracy of generated motion (independent classifier), mean of 8 | "
            f"{e['accuracy']['model']['mean']} % | {_target('accuracy')} |"
        )
        rows.append(
            f"| slider monotonicity, Spearman rho (mean / worst slider) | {e['monotonicity_rho']['mean']} / "
            f"{e['monotonicity_rho']['min']} | {_target('rho')} |"
        )
        rows.append(
            f"| closure hit change across edits alpha 0 to 1.5 | {e['closure_change_points']} points | "
            f"{_target('closure_change')} |"
        )
        rows.append(
            f"| speech-emotion UAR, Emo-DB speakers 15 and 16 | {ev['speech_emotion']['uar']} % | {_target('uar')} |"
        )
        rows.append(
            f"| jawOpen correlation with real capture (FACEGOOD held out) | {ev['real_capture']['jaw_corr']} | "
            f"{_target('jaw_corr')} |"
        )
    sp = res.get("speed")
    if sp:
        rows.append(
            f"| analyze / re-generate a {sp['clip_seconds']:.0f} s clip, ONNX Runtime, CPU | "
            f"{sp['onnx']['analyze_s']} s / {sp['onnx']['generate_s']} s | <= 0.5 s / <= 0.1 s |"
        )
    bl = res.get("blender")
    if bl:
        rows.append(
            f"| bake 52 x 1800 frames / live preview update (60 s clip) | {bl['bake_s']} s / "
            f"{bl['preview_s']} s | <= 0.1 s / <= 0.1 s |"
        )
    if "corpus" in res:
        rows.append(
            f"| corpus build / teacher alone | {res['corpus']['realtime_factor']}x / "
            f"{res['teacher']['realtime_factor']}x real time | >= 20x / >= 1000x |"
        )
    return "\n".join(rows)
