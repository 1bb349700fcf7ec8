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


OUTPUT_HELP = {  # what each output flag writes, after "write"
    "--out": "a .blend",
    "--fbx": "an FBX",
    "--abc": "an Alembic",
    "--usd": "a USD (.usd/.usdc/.usda)",
    "--csv": "a Live Link Face CSV",
    "--preview": "a preview video (.mp4: a Workbench playblast with the sound, H.264/AAC)",
    "--heard": "a curves JSON of the emotion heard in the voice, phrase by phrase (the --emotion-curves format)",
    "--phones": "a JSON of the lip closures, rounded and open vowels the recogniser is sure of ({frame, seconds, "
    "group} each), or with --text of where each word begins ({frame, seconds, word}): what Blender's markers show",
}


def parser(prog: str = "python -m editemotalk_addon") -> argparse.ArgumentParser:
    """The command line's parser: `bake` one clip, `batch` a manifest."""
    p = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    _bake_parser(sub)
    _batch_parser(sub)
    return p


def _bake_parser(sub) -> None:
    """The `bake` command: its flags in the order --help lists them."""
    b = sub.add_parser(
        "bake",
        help="bake one clip",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    _source_args(b)
    _emotion_args(b)
    _timing_args(b)
    _voice_args(b)
    _range_args(b)
    for flag, what in OUTPUT_HELP.items():
        b.add_argument(flag, help=f"write {what} file")
    _engine_args(b)


def _source_args(b) -> None:
    """What is baked onto what: the audio or capture, the mesh and its shape-key names."""
    from .core import validate

    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("--audio", help="voice recording (wav, flac, ogg, mp3; any rate and channel count)")
    src.add_argument("--csv-in", help="a Live Link Face CSV capture to bake instead of audio")
    b.add_argument("--mesh", default="demo", help=MESH_HELP)
    b.add_argument(
        "--names",
        default="auto",
        help=f"shape-key name preset: {', '.join(validate.NAMES)} (default auto)",
    )


def _emotion_args(b) -> None:
    """The emotion sliders: constants, curves, keyed from the voice, their mode and intensity."""
    from .core import validate
    from .core.rig import SLIDERS

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


def _timing_args(b) -> None:
    """Frames and the performance's make-up: the rate, first frame, blink seed and NLA layers."""
    from .core import validate

    b.add_argument("--fps", type=float, help="frame rate (default: the scene's)")
    b.add_argument("--start-frame", type=int, default=1, help="first frame of the clip (default 1)")
    b.add_argument("--seed", type=int, default=0, help="blinks and gaze (default 0)")
    b.add_argument(
        "--layers",
        choices=validate.LAYERS,
        default="separate",
        help="NLA tracks for articulation, expression and blinks, or one combined action",
    )


def _voice_args(b) -> None:
    """Whose voice it is, a capture's frame rate, and the line's words."""
    b.add_argument(
        "--character",
        metavar="FILE.json",
        help="whose voice this is: a character file (created if missing), the clip added to it, and what is heard "
        "read against that voice's clips (the file Blender's Character panel saves and a batch writes per speaker)",
    )
    b.add_argument(
        "--capture-fps",
        type=float,
        help="frame rate of a --csv-in capture (default: what its timecodes count; 60 for a take under a second)",
    )
    b.add_argument("--text", help="the line's words as spoken (from the script): --phones then places each word")


def _range_args(b) -> None:
    """Which frames the clip plays on and the exports carry."""
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


def _batch_parser(sub) -> None:
    """The `batch` command: the manifest, its workers and shard (the farm's flags)."""
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


BATCH_HELP = """One job per line (JSONL) or row (CSV with a header). Keys are the bake flags without dashes:
  {"audio": "lines/0001.wav", "mesh": "heads/hero.blend:Face", "emotion": {"happy": 0.8},
   "out": "out/0001.blend", "fbx": "out/0001.fbx", "csv": "out/0001.csv"}
In CSV, "emotion" is written happy=0.8;sad=0.2. Relative paths are relative to the manifest.
"speaker": "Ada" hears a job's voice against Ada's clips in the manifest: one character file per speaker beside
the manifest (<manifest>.Ada.character.json, what `bake --character` reads), each distinct clip analysed once and
reused by later runs; a clip that cannot be read is left out (the summary names it). A job whose outputs
are still those it wrote from the same inputs (hashes in <output>.eet.json) is skipped, so a rerun resumes; one
failed job never stops the others, and the failures are listed. Exit status: 0 all done, 1 any job's run failed
(a full disk, an exporter, a dead worker) or the manifest is busy, else 2 any job's input is wrong.

Fields: every bake flag, without dashes: audio, csv_in, mesh, names, emotion, emotion_curves, emotion_from_voice,
mode, intensity, fps, start_frame, seed, layers, capture_fps, hold_last, whole_timeline, text; the outputs out,
fbx, abc, usd, csv, preview, heard, phones; and speaker: a name shared by the jobs of one voice, whose clips are
then read against that voice's own baseline (a voice that always sounds tense shows its calm lines as calm).
The summary (<manifest>.shard<I>of<N>.summary.json) lists each job baked by its number (from 1) and outputs."""


def _engine_args(p):
    """The model: its weights folder and runtime (both commands)."""
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


def command(argv: list[str] | None = None, prog: str = "python -m editemotalk_addon") -> None:
    """`main`, then the process ends with its status without waiting on bpy's shutdown (processes.leave); Ctrl-C
    and SIGTERM stop it within a second, with one line (processes.stop_on_signals). What `python -m
    editemotalk_addon`, `blender -c editemotalk` and `-P cli.py` run."""
    from .core.processes import leave, stop_on_signals, stopped_line, stopped_status

    stop_on_signals()
    try:
        status = main(argv, prog)
    except SystemExit as exc:  # --help, or a flag argparse refuses (before bpy is imported)
        status = exc.code or 0
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, the run unwound
        leave(stopped_status(), stopped_line())
    except BaseException:  # a bug: its traceback, then the same exit
        import traceback

        traceback.print_exc()
        status = 1
    leave(status)


def _bake(args) -> int:
    from .core import validate
    from .core.animator import Animator
    from .core.errors import InputError
    from .core.job import character_file, checked

    job = {k: v for k, v in vars(args).items() if k not in ("command", "weights", "runtime", "character")}
    valid, _ = checked(job)  # before Blender and the model load: bad values fail fast
    if args.character and args.csv_in:
        raise InputError("a capture has no voice to hear - --character goes with --audio")
    if not any(job.get(k) for k in validate.OUTPUT_SUFFIXES):
        raise InputError(f"nothing to write - give at least one of {', '.join(OUTPUT_HELP)}")
    character = character_file(args.character, valid) if args.character else None
    from .blender import jobs

    jobs.ensure_registered()
    stats = jobs.run_job(job, Animator.load(args.weights, args.runtime), character, args.character)
    for warning in stats["warnings"]:
        print(f"editemotalk: warning: {warning}", file=sys.stderr)
    written = [job[k] for k in validate.OUTPUT_SUFFIXES if job.get(k)]
    note = f"; unmatched channels: {', '.join(stats['unmatched'])}" if stats["unmatched"] else ""
    if stats["missing_columns"]:
        note += f"; not in the capture (left at 0): {', '.join(stats['missing_columns'])}"
    print(f"editemotalk: baked {stats['frames']} frames -> {', '.join(written)}{note}")
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
    package.cli.command(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:])
