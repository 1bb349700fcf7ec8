"""Headless baking for pipelines.

    blender -c editemotalk bake --audio line.wav --mesh demo --out line.blend
    python -m editemotalk_addon bake --audio line.wav --mesh head.blend:Face --emotion happy=0.8 \\
        --out line.blend --fbx line.fbx --abc line.abc --usd line.usdc --csv line.csv --preview line.mp4
    python -m editemotalk_addon batch jobs.jsonl --workers 2 --shard 0/4
    blender -b head.blend -P <extension folder>/cli.py -- bake --audio line.wav --mesh :Face --out line.blend

Emotion curves (--emotion-curves curves.json), times in seconds from the start of the clip:

    {"mode": "absolute", "intensity": 1.0,
     "sliders": {"happy": [[0.0, 0.0], [1.5, 1.0], [3.0, 0.2]], "sad": 0.3}}

A slider is a constant or a list of [seconds, value] keys (linear in between); --emotion NAME=VALUE sets a
constant and overrides the file. Sliders run from 0 to 1.5, intensity from 0 to 2, fps from 1 to 1000 (whole, or
NTSC: 23.976, 29.97, 59.94). Outputs are written all or none, never over an input.

Exit status: 0 done; 2 the input is wrong (a value, the audio, capture, curves, mesh or manifest: fix it, then
run again); 1 the run failed (a full disk, an exporter, a dead worker, a busy lock). One line says why. A batch
exits 1 when any job's run failed, else 2 when any job's input is wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MESH_HELP = (
    "'demo' (the bundled realistic head), FILE.blend:OBJECT (a mesh in a .blend; ':OBJECT' = the open file), or an "
    "ICT-FaceKit head (.npz or FaceXModel folder)"
)


def parser(prog: str = "python -m editemotalk_addon") -> argparse.ArgumentParser:
    from .core import validate
    from .core.rig import SLIDERS

    p = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser(
        "bake",
        help="bake one clip",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("--audio", help="voice recording (wav, flac, ogg, mp3; any rate and channel count)")
    src.add_argument("--csv-in", help="a Live Link Face CSV capture to bake instead of audio")
    b.add_argument("--mesh", default="demo", help=MESH_HELP)
    b.add_argument(
        "--names",
        default="auto",
        help=f"shape-key name preset: {', '.join(validate.NAMES)} (default auto)",
    )
    b.add_argument(
        "--emotion",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"constant slider: {', '.join(SLIDERS)} (repeatable)",
    )
    b.add_argument("--emotion-curves", help="JSON file of slider curves (format above)")
    b.add_argument(
        "--emotion-from-voice",
        choices=("keys",),
        help="keys: key the sliders with the emotion heard in the voice, phrase by phrase, and bake them in absolute "
        "mode (what Blender's Key Heard Emotion button does; --heard FILE.json keeps them for editing)",
    )
    b.add_argument(
        "--mode",
        choices=validate.MODES,
        help="absolute (the default): start from a neutral face; voice: add the sliders to the voice's emotion",
    )
    b.add_argument("--intensity", type=float, help="scales every slider (default 1)")
    b.add_argument("--fps", type=float, help="frame rate (default: the scene's)")
    b.add_argument("--start-frame", type=int, default=1, help="first frame of the clip (default 1)")
    b.add_argument("--seed", type=int, default=0, help="blinks and gaze (default 0)")
    b.add_argument(
        "--layers",
        choices=validate.LAYERS,
        default="separate",
        help="NLA tracks for articulation, expression and blinks, or one combined action",
    )
    b.add_argument("--capture-fps", type=float, default=60.0, help="frame rate of a --csv-in capture (default 60)")
    b.add_argument(
        "--hold-last",
        action="store_true",
        help="keep the clip's last pose after it ends (default: the clip plays on its own frames only)",
    )
    b.add_argument(
        "--whole-timeline",
        action="store_true",
        help="export the scene's whole frame range as it plays (other clips, your own animation), not this clip alone",
    )
    for flag, what in (
        ("--out", ".blend"),
        ("--fbx", "FBX"),
        ("--abc", "Alembic"),
        ("--usd", "USD (.usd/.usdc/.usda)"),
        ("--csv", "Live Link Face CSV"),
        ("--preview", "preview video (.mp4: a Workbench playblast with the sound, H.264/AAC)"),
        ("--heard", "curves JSON of the emotion heard in the voice, phrase by phrase (the --emotion-curves format)"),
    ):
        b.add_argument(flag, help=f"write a {what} file")
    _engine_args(b)
    m = sub.add_parser(
        "batch",
        help="bake a manifest of jobs (JSONL or CSV), resumable and shardable",
        description=BATCH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    m.add_argument("manifest", help="the jobs: a JSONL or CSV file (format above)")
    m.add_argument(
        "--workers", type=int, default=1, help="parallel worker processes (default 1; at most the cores and memory)"
    )
    m.add_argument(
        "--shard",
        default="0/1",
        metavar="I/N",
        help="run only jobs with index %% N == I (0-based), e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; "
        "runs of shards that share jobs never overlap",
    )
    m.add_argument("--force", action="store_true", help="re-bake jobs whose outputs are already up to date")
    m.add_argument("--no-progress", action="store_true", help="no progress bar (logs, farms)")
    _engine_args(m)
    return p


BATCH_HELP = """One job per line (JSONL) or row (CSV with a header). Keys are the bake flags without dashes:
  {"audio": "lines/0001.wav", "mesh": "heads/hero.blend:Face", "emotion": {"happy": 0.8},
   "out": "out/0001.blend", "fbx": "out/0001.fbx", "csv": "out/0001.csv"}
In CSV, "emotion" is written happy=0.8;sad=0.2. Relative paths are relative to the manifest. A job whose outputs
are still those it wrote from the same inputs (hashes in <output>.eet.json) is skipped, so a rerun resumes; one
failed job never stops the others, and the failures are listed. Exit status: 0 all done, 1 any job's run failed
(a full disk, an exporter, a dead worker) or the manifest is busy, else 2 any job's input is wrong."""


def _engine_args(p):
    from .core.validate import RUNTIMES

    p.add_argument("--weights", help="weights folder (default: the bundled model)")
    p.add_argument(
        "--runtime",
        default="auto",
        choices=RUNTIMES,
        help="auto and onnx: the bundled ONNX Runtime on the CPU; torch: PyTorch, where this Python has it",
    )


def main(argv: list[str] | None = None, prog: str = "python -m editemotalk_addon") -> int:
    """The command line; returns the exit status. The one place an error becomes a line and a status: 2 when the
    user's input is wrong (errors.InputError), 1 when the run failed. `prog` names the command in its help."""
    from .core.errors import UserError  # imports inside: `-P cli.py` runs this file outside its package

    args = parser(prog).parse_args(argv)
    sys.stdout.reconfigure(errors="backslashreplace")  # a file name that is not UTF-8 is printed, not fatal
    try:
        if args.command == "batch":
            from .blender.batch import run_batch

            return run_batch(args)
        return _bake(args)
    except UserError as exc:
        print(f"editemotalk: {exc}", file=sys.stderr)
        return exc.status


def _bake(args) -> int:
    from .core import validate
    from .core.animator import Animator
    from .core.job import checked

    job = {k: v for k, v in vars(args).items() if k not in ("command", "weights", "runtime")}
    checked(job)  # before Blender and the model load: bad values fail fast
    from .blender import jobs

    jobs.ensure_registered()
    stats = jobs.run_job(job, Animator.load(args.weights, args.runtime))
    for warning in stats["warnings"]:
        print(f"editemotalk: warning: {warning}", file=sys.stderr)
    written = [job[k] for k in validate.OUTPUT_SUFFIXES if job.get(k)]
    note = f"; unmatched channels: {', '.join(stats['unmatched'])}" if stats["unmatched"] else ""
    if stats["missing_columns"]:
        note += f"; not in the capture (left at 0): {', '.join(stats['missing_columns'])}"
    print(f"editemotalk: baked {stats['frames']} frames -> {', '.join(written) or 'nothing written'}{note}")
    return 0


if __name__ == "__main__":  # `blender -b file.blend -P <extension>/cli.py -- bake ...`
    # The enabled extension (bl_ext.<repo>.editemotalk) has imported this module as its own: run that one.
    init = Path(__file__).resolve().with_name("__init__.py")
    package = next(
        (m for m in list(sys.modules.values()) if getattr(m, "__file__", None) and Path(m.__file__).resolve() == init),
        None,
    )
    if package is None or not hasattr(package, "cli"):
        print("editemotalk: the extension is not enabled in this Blender - enable it in Preferences", file=sys.stderr)
        sys.exit(2)
    sys.exit(package.cli.main(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]))
