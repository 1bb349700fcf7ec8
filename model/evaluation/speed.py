"""Model-side figures for `python build.py bench`: corpus and teacher throughput, inference speed and memory.

Timings are wall-clock on this machine (2 cores); every figure is printed and written to bench/results.json.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLIP_SECONDS = 60.0


def corpus_throughput(data_root: Path, hours: float = 0.1, workers: int = 2) -> dict:
    """Build a fresh small corpus: seconds of audio per wall-clock second (synthesis, alignment, teacher, write)."""
    from ..training.corpus.builder import build_corpus

    with tempfile.TemporaryDirectory(prefix="eet-bench-corpus-") as tmp:
        s = build_corpus(Path(tmp), hours, data_root, workers=workers, progress=False)
    return {
        "hours_built": s["hours"],
        "wall_seconds": s["wall_seconds"],
        "realtime_factor": s["realtime_factor"],
    }


def teacher_speed(corpus_root: Path, clips: int = 200) -> dict:
    """The teacher alone (phones and prosody given), and with pitch/loudness analysis included."""
    from ..training import teacher
    from ..training.data import Corpus
    from ..training.prosody import analyze_prosody

    exs = [ex for ex in Corpus(corpus_root, "test").examples if ex.phones][:clips]
    seconds = sum(len(ex.audio) for ex in exs) / 16000
    start = time.perf_counter()
    for ex in exs:
        teacher.perform(ex.phones, ex.prosody, "happy", 1.0, seed=1, fps=30)
    alone = time.perf_counter() - start
    start = time.perf_counter()
    for ex in exs:
        teacher.perform(ex.phones, analyze_prosody(ex.audio), "happy", 1.0, seed=1, fps=30)
    with_prosody = time.perf_counter() - start
    return {
        "audio_seconds": round(seconds, 1),
        "realtime_factor": round(seconds / alone),
        "realtime_factor_with_prosody": round(seconds / with_prosody),
    }


BEFORE_RELEASE = "d09413f"  # main before the merge of issues 23 and 24: the release before the pretrained networks
ROUNDS = 3  # the release before and this one take turns, each in a fresh process; each figure is the minimum


def speed_run(weights: str, runtime: str, seconds: float) -> dict:
    """One runtime on one clip length, through the pipeline every user path takes; run in its own process, on the
    Animator API that both this release and the one before the pretrained networks have (a stage one lacks is
    left out). The machine's 1-minute load average is recorded beside the figures."""
    import inspect
    import os
    import resource

    from editemotalk_addon.core.animator import Animator, EmotionEdit

    audio = (0.1 * np.random.default_rng(0).standard_normal(int(16000 * seconds))).astype(np.float32)
    start = time.perf_counter()
    animator = Animator.load(weights, runtime=runtime)
    out = {"load_s": time.perf_counter() - start}
    animator.generate(animator.analyze(audio[:32000]))  # warm-up
    stages = {"analyze_s": lambda: animator.analyze(audio)}
    if "voice" in inspect.signature(animator.analyze).parameters:  # lips first: what is said only
        stages["lips_s"] = lambda: animator.analyze(audio, voice=False)
    networks = {name: getattr(animator, name, None) for name in ("recogniser", "voice")}
    for name, network in networks.items():  # the pretrained networks' share of analyze
        if network is not None:
            stages[f"{name}_s"] = functools.partial(network, audio)
    for name, stage in stages.items():
        out[name] = _fastest(stage, 3)
    analysis = animator.analyze(audio)
    animator.generate(analysis, EmotionEdit({"happy": 0.7, "sad": [(0.0, 0.0), (30.0, 1.0)]}))
    values = iter(np.linspace(0.0, 1.0, 10))
    out["generate_s"] = _fastest(lambda: animator.generate(analysis, EmotionEdit({"happy": next(values)}), fps=30), 10)
    out = {k: round(v, 4) for k, v in out.items()}
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["load_average"] = round(os.getloadavg()[0], 2)
    return out


def _fastest(stage, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        stage()
        times.append(time.perf_counter() - start)
    return min(times)


def _speed_in_process(tree: Path, weights: Path, runtime: str, seconds: float) -> dict:
    """speed_run of this file, on the editemotalk_addon of `tree` (this checkout, or the release before)."""
    here = Path(__file__).resolve()
    run = f"import sys, runpy; sys.path.insert(0, {str(tree)!r}); runpy.run_path({str(here)!r}, run_name='__main__')"
    cmd = [sys.executable, "-c", run, str(weights), runtime, str(seconds)]
    res = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def release_before(folder: Path) -> Path:
    """A checkout of BEFORE_RELEASE in `folder`: a git worktree, which the caller removes."""
    root = Path(__file__).resolve().parents[2]
    tree = folder / "before"
    add = ["git", "worktree", "add", "--detach", str(tree), BEFORE_RELEASE]
    subprocess.run(add, cwd=root, check=True, capture_output=True)
    return tree


def inference_speed(weights: Path, seconds: float = CLIP_SECONDS) -> dict:
    """A 60 s clip, this release beside the one before the pretrained networks, in one run: the two take turns
    (ROUNDS times, each runtime in a fresh process so peak memory is its own); each figure is the fastest turn,
    with the load average of every turn beside it (the machine is shared)."""
    root = Path(__file__).resolve().parents[2]
    out = {"clip_seconds": seconds, "before_release": BEFORE_RELEASE}
    with tempfile.TemporaryDirectory(prefix="eet-bench-before-") as tmp:
        before = release_before(Path(tmp))
        try:
            turns = {(rt, name): [] for rt in ("onnx", "torch") for name in ("now", "before")}
            for _ in range(ROUNDS):
                for (rt, name), runs in turns.items():
                    tree, folder = (root, weights) if name == "now" else (before, before / "weights")
                    runs.append(_speed_in_process(tree, folder, rt, seconds))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=root, capture_output=True)
    for (rt, name), runs in turns.items():
        figures = {k: min(r[k] for r in runs) for k in runs[0] if k != "load_average"}
        figures["load_average"] = [r["load_average"] for r in runs]
        if name == "now":
            out[rt] = figures
        else:
            out.setdefault("before", {})[rt] = figures
    # cost is linear in clip length: a ten-minute clip should cost about ten one-minute clips
    out["onnx_10x"] = _speed_in_process(root, weights, "onnx", 10 * seconds)
    return out


def weights_size(weights: Path) -> dict:
    files = {p.name: p.stat().st_size for p in Path(weights).iterdir() if p.is_file()}
    return {
        "total_mb": round(sum(files.values()) / 1e6, 2),
        "files_mb": {k: round(v / 1e6, 2) for k, v in sorted(files.items())},
    }


def speech_clips(corpus_root: Path, out_dir: Path, seconds: float, count: int) -> list[Path]:
    """`count` WAV files of `seconds` of real held-out speech (ARCTIC, Common Voice, Emo-DB test clips, joined)."""
    from editemotalk_addon.core.audio import write_wav

    from ..training.data import Corpus

    speech = np.concatenate([ex.audio for ex in Corpus(corpus_root, "test", ("english_read", "emodb")).examples])
    n = int(seconds * 16000)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        start = (i * n) % max(1, len(speech) - n)
        path = out_dir / f"speech_{i:03d}.wav"
        write_wav(path, speech[start : start + n])
        paths.append(path)
    return paths


def model_figures(weights: Path, corpus_root: Path, data_root: Path) -> dict:
    """Every model-side figure, each printed as it is measured."""
    results = {}
    for key, label, measure in (
        ("corpus", "corpus build throughput", lambda: corpus_throughput(data_root)),
        ("teacher", "teacher speed", lambda: teacher_speed(corpus_root)),
        ("speed", "inference speed and memory", lambda: inference_speed(weights)),
        ("size", "weights size", lambda: weights_size(weights)),
    ):
        print(f"{label} ...", flush=True)
        results[key] = measure()
        print(json.dumps(results[key]), flush=True)
    return results


if __name__ == "__main__":  # python -m model.evaluation.speed WEIGHTS RUNTIME SECONDS: one speed run, as JSON
    print(json.dumps(speed_run(sys.argv[1], sys.argv[2], float(sys.argv[3]))))
