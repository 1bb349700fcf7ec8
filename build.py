#!/usr/bin/env python
"""EditEmoTalk task runner: each task is a few lines calling the code that does it.

python build.py setup                 install everything: Debian packages, .venv built from requirements.lock, and a
                                      Blender-only venv per tested Blender (bpy 4.5 and 5.2)
python build.py test                  the whole test suite (what CI runs)
python build.py lock                  refresh requirements.lock from pyproject.toml, and requirements-bpy52.lock
                                      (pip-tools, with hashes)
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

from model import blenders, head_asset, packaging, pretrained
from model.packaging import JUDGE_WHEEL, LOCK, PLATFORM_MARKS, ROOT, run

DATA = ROOT.parent / "shared" / "data"
CORPUS = ROOT / "data" / "corpus"
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
TORCH_WHEELS = "/opt/wheels"  # where this image keeps the CPU build of torch (PyPI's default is a CUDA build)
DEBIAN_PACKAGES = [
    "espeak-ng",
    "flite",
    "festival",
    "festvox-kallpc16k",
    "festvox-kdlpc16k",
    "festvox-us-slt-hts",
    "sox",
    "libsox-fmt-all",
    "slurm-wlm",  # the farm test runs a one-node Slurm (tests/test_slurm.py)
    "munge",
]


def lock(args) -> None:
    """requirements.lock: every package of the development/CI environment, exact versions and hashes; and the lock of
    each other Blender the zip is tested on (requirements-bpy52.lock), by pip-compile in that Blender's Python.

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
    for version, (_, pins) in blenders.BLENDERS.items():
        if pins != LOCK:
            blenders.lock_blender(version)


def _venv_is_current() -> bool:
    stamp = VENV / "requirements.lock.sha256"
    return VENV_PYTHON.exists() and stamp.exists() and stamp.read_text().strip() == packaging.sha256(LOCK)


def setup(args) -> None:
    """Debian packages, then .venv holding exactly requirements.lock (rebuilt whenever the lock changes), and a
    Blender-only venv for each Blender the zip is tested on (bpy 4.5 on Python 3.11, 5.2 on 3.13)."""
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
            "to build a corpus, and Slurm and munge for the farm test; inference and the Blender add-on need none."
        )
    if args.fresh or not _venv_is_current():
        shutil.rmtree(VENV, ignore_errors=True)
        run(sys.executable, "-m", "venv", str(VENV))
        run(str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps", "-r", str(LOCK))
        # librosa's numba kernels compile on first use and cache beside the package; parallel first uses (corpus
        # workers, pytest-xdist) race to write that cache and can leave it corrupt (every later call segfaults),
        # so one process compiles them now.
        run(str(VENV_PYTHON), "-c", "from model.training.prosody import compile_kernels; compile_kernels()", cwd=ROOT)
        (VENV / "requirements.lock.sha256").write_text(packaging.sha256(LOCK) + "\n")
    packaging.extension_wheels(list(PLATFORM_MARKS))
    packaging.fetch_wheel(JUDGE_WHEEL)
    for wheel in (pretrained.RECOGNISER_WHEEL, *pretrained.VOICE_WHEELS):
        packaging.fetch_wheel(wheel)
    for version in blenders.BLENDERS:
        print(f"setup: bpy {version} in {blenders.tested_blender(version).parent.parent}")
    print(f"setup: {VENV} matches {LOCK.name}")


def extension(args) -> None:
    for zip_path in packaging.build_extension(Path(args.out), Path(args.weights), args.platforms):
        print(f"extension: {zip_path.name} {zip_path.stat().st_size / 1e6:.1f} MB")


def test(args) -> None:
    run(sys.executable, "-m", "pytest", "-n", str(args.workers), "-q", *args.pytest_args)


def lint(args) -> None:
    run(sys.executable, "-m", "ruff", "check", ".")
    run(sys.executable, "-m", "ruff", "format", "--check", ".")


def demo(args) -> None:
    """The teacher picture, then the real pipeline headless: the realistic head, a held-out CMU ARCTIC prompt,
    analyze, emotion sweep, bake; the README's strip, preview video and GIF under docs/."""
    from model.evaluation.demo import run_demo, teacher_demo

    out = ROOT / "build" / "demo"
    print(f"demo: wrote {teacher_demo(out)}")
    for path in run_demo(out, ROOT / "docs", DATA):
        print(f"demo: wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


def head(args) -> None:
    """editemotalk_addon/core/assets/: the compact ICT-FaceKit head the extension bundles, and its MIT licence."""
    out = head_asset.write_head_asset(Path(args.data) / "ict_facekit" / "ict_face_model.npz")
    print(f"head: wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and its licence")


def corpus(args) -> None:
    from model.training.corpus.builder import build_corpus
    from model.training.features import label_corpus

    summary = build_corpus(Path(args.out), args.hours, Path(args.data), workers=args.workers)
    summary["network_feature_shards"] = label_corpus(Path(args.out), workers=args.workers)
    for key, value in summary.items():
        print(f"{key}: {value}")


def train(args) -> None:
    from model.training.run import train_default

    print(f"train: wrote {train_default(args.corpus, args.run, args.weights, args.device, args.set)}")


def export(args) -> None:
    """The ONNX graphs again from the folder's safetensors: for a change to the network's parameter-free structure
    (such as the lip seal), which needs no retraining. Rewrites the manifest."""
    from model.training.export import reexport

    folder = reexport(Path(args.weights))
    print(f"export: wrote {folder / 'analyze.onnx'}, {folder / 'generate.onnx'} and the manifest")


def calibrate(args) -> None:
    """The seal's operating point (closure gate threshold), chosen on the validation voices, into config.json."""
    from model.evaluation.evaluate import calibrate as choose_operating_point

    point = choose_operating_point(Path(args.weights), Path(args.corpus), log=args.log)
    print(json.dumps(point, indent=1))
    print(f"calibrate: gate threshold {point['chosen']} written to {Path(args.weights) / 'config.json'}")


def bench(args) -> None:
    from model.evaluation.bench import run as run_bench

    parts = {"model", "blender", "judge"} - {p for p in ("model", "blender", "judge") if getattr(args, f"skip_{p}")}
    run_bench(Path(args.weights), Path(args.corpus), Path(args.data), parts, args.per_set, args.batch_clips)


def loco(args) -> None:
    """The emotion encoder trained without a corpus, language or voice family and scored on it, per input variant."""
    from model.evaluation.loco import main as leave_one_corpus_out

    weights = Path(args.weights) if args.weights else None
    path = leave_one_corpus_out(
        Path(args.corpus), Path(args.run), ROOT / "bench", args.steps, args.threads, weights, tuple(args.variants)
    )
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
    p.add_argument("--steps", type=int, default=800, help="emotion-encoder steps per run")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    p.add_argument("--weights", help="write the fitted voice temperature into this weights folder's config")
    p.add_argument("--variants", nargs="+", default=["spectra", "voice"], help="emotion-encoder inputs to compare")
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
