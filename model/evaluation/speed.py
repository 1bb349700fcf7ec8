"""Model-side figures for `python build.py bench`: corpus and teacher throughput, inference speed and memory.

Timings are wall-clock on this machine (2 cores); every figure is printed and written to bench/results.json.
"""

from __future__ import annotations

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


def speed_run(weights: str, runtime: str, seconds: float) -> dict:
    """One runtime on one clip length, through the pipeline every user path takes; run in its own process."""
    import resource

    from editemotalk_addon.core.animator import Animator, EmotionEdit

    audio = (0.1 * np.random.default_rng(0).standard_normal(int(16000 * seconds))).astype(np.float32)
    animator = Animator.load(weights, runtime=runtime)
    animator.generate(animator.analyze(audio[:32000]))  # warm-up
    t = []
    for _ in range(3):
        start = time.perf_counter()
        analysis = animator.analyze(audio)
        t.append(time.perf_counter() - start)
    parts = {}  # the pretrained networks' share of analyze
    for name, network in (("recogniser", animator.recogniser), ("voice", animator.voice)):
        if network is not None:
            start = time.perf_counter()
            network(audio)
            parts[f"{name}_s"] = round(time.perf_counter() - start, 4)
    animator.generate(analysis, EmotionEdit({"happy": 0.7, "sad": [(0.0, 0.0), (30.0, 1.0)]}))
    g = []
    for i in range(10):
        start = time.perf_counter()
        animator.generate(analysis, EmotionEdit({"happy": 0.05 * i}), fps=30)
        g.append(time.perf_counter() - start)
    return {
        "analyze_s": round(float(np.median(t)), 4),
        **parts,
        "generate_s": round(float(np.median(g)), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _speed_in_process(weights: Path, runtime: str, seconds: float) -> dict:
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "model.evaluation.speed", str(weights), runtime, str(seconds)]
    res = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def inference_speed(weights: Path, seconds: float = CLIP_SECONDS) -> dict:
    """A 60 s clip, each runtime in its own process so peak memory is its own."""
    out = {runtime: _speed_in_process(weights, runtime, seconds) for runtime in ("onnx", "torch")}
    out["clip_seconds"] = seconds
    # cost is linear in clip length: a ten-minute clip should cost about ten one-minute clips
    out["onnx_10x"] = _speed_in_process(weights, "onnx", 10 * seconds)
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
