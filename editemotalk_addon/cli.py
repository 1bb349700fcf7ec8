"""Headless baking for pipelines.

    python -m editemotalk_addon bake --audio line.wav --mesh head.blend:Face --emotion happy=0.8 \\
        --out line.blend --fbx line.fbx --abc line.abc --usd line.usdc --csv line.csv
    python -m editemotalk_addon batch jobs.jsonl --workers 2 --shard 0/4
    blender -b head.blend -P <extension folder>/cli.py -- bake --audio line.wav --mesh :Face --out line.blend

Emotion curves (--emotion-curves curves.json), times in seconds from the start of the clip:

    {"mode": "absolute", "intensity": 1.0,
     "sliders": {"happy": [[0.0, 0.0], [1.5, 1.0], [3.0, 0.2]], "sad": 0.3}}

A slider is a constant or a list of [seconds, value] keys (linear in between); --emotion NAME=VALUE sets a
constant and overrides the file. Exit status: 0 done, 1 a job failed (one line says why), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

MESH_HELP = (
    "'demo' (our demo head), FILE.blend:OBJECT (a mesh in a .blend; ':OBJECT' = the open file), or an "
    "ICT-FaceKit head (.npz or FaceXModel folder)"
)


class JobError(RuntimeError):
    """One line: what is wrong with a job and how to fix it."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m editemotalk_addon",
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
        help="shape-key name preset: auto, arkit, suffix_lr, cc4, vrm_perfect_sync, metahuman (default auto)",
    )
    b.add_argument(
        "--emotion",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="constant slider: happy, sad, angry, fearful, disgusted, surprised, contempt (repeatable)",
    )
    b.add_argument("--emotion-curves", help="JSON file of slider curves (format above)")
    b.add_argument(
        "--mode", choices=("voice", "absolute"), help="keep the voice's emotion (default) or start from a neutral face"
    )
    b.add_argument("--intensity", type=float, help="scales every slider (default 1)")
    b.add_argument("--fps", type=float, help="frame rate (default: the scene's)")
    b.add_argument("--start-frame", type=int, default=1, help="first frame of the clip (default 1)")
    b.add_argument("--seed", type=int, default=0, help="blinks and gaze (default 0)")
    b.add_argument(
        "--layers",
        choices=("separate", "combined"),
        default="separate",
        help="NLA tracks for articulation, expression and blinks, or one combined action",
    )
    b.add_argument("--capture-fps", type=float, default=60.0, help="frame rate of a --csv-in capture (default 60)")
    for flag, what in (
        ("--out", ".blend"),
        ("--fbx", "FBX"),
        ("--abc", "Alembic"),
        ("--usd", "USD (.usd/.usdc/.usda)"),
        ("--csv", "Live Link Face CSV"),
    ):
        b.add_argument(flag, help=f"write a {what} file")
    _engine_args(b)
    m = sub.add_parser(
        "batch",
        help="bake a manifest of jobs (JSONL or CSV), resumable and shardable",
        description=BATCH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    m.add_argument("manifest")
    m.add_argument("--workers", type=int, default=1, help="parallel worker processes (default 1)")
    m.add_argument(
        "--shard",
        default="0/1",
        metavar="I/N",
        help="run only jobs with index %% N == I (0-based), e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT",
    )
    m.add_argument("--force", action="store_true", help="re-bake jobs whose outputs are already up to date")
    m.add_argument("--no-progress", action="store_true")
    _engine_args(m)
    return p


BATCH_HELP = """One job per line (JSONL) or row (CSV with a header). Keys are the bake flags without dashes:
  {"audio": "lines/0001.wav", "mesh": "heads/hero.blend:Face", "emotion": {"happy": 0.8},
   "out": "out/0001.blend", "fbx": "out/0001.fbx", "csv": "out/0001.csv"}
In CSV, "emotion" is written happy=0.8;sad=0.2. Relative paths are relative to the manifest. A job whose outputs
exist and were made from the same inputs (hashes in <output>.eet.json) is skipped, so a rerun resumes; one failed
job never stops the others; the exit status is 1 if any job failed, with the failures listed."""


def _engine_args(p):
    p.add_argument("--weights", help="weights folder (default: the bundled model)")
    p.add_argument("--runtime", default="auto", choices=("auto", "onnx", "torch"))


def parse_emotions(items) -> dict[str, float]:
    """['happy=0.8', 'sad=0.2'] or 'happy=0.8;sad=0.2' or {'happy': 0.8} -> {'happy': 0.8, ...}"""
    if isinstance(items, dict):
        return {k: float(v) for k, v in items.items()}
    if isinstance(items, str):
        items = [x for x in items.replace(",", ";").split(";") if x.strip()]
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise JobError(f"bad emotion {item!r}: write NAME=VALUE, e.g. happy=0.8") from None
        if not sep:
            raise JobError(f"bad emotion {item!r}: write NAME=VALUE, e.g. happy=0.8")
    return out


def emotion_edit(job: dict):
    from .core import animator

    spec = {}
    if job.get("emotion_curves"):
        path = Path(job["emotion_curves"])
        try:
            spec = json.loads(path.read_text())
        except FileNotFoundError:
            raise JobError(f"emotion curves not found: {path}") from None
        except json.JSONDecodeError as exc:
            raise JobError(f"emotion curves {path} are not valid JSON (line {exc.lineno}): {exc.msg}") from None
    sliders = {**spec.get("sliders", {}), **parse_emotions(job.get("emotion") or [])}
    try:
        return animator.EmotionEdit(
            sliders,
            mode=job.get("mode") or spec.get("mode", "voice"),
            intensity=float(job.get("intensity") or spec.get("intensity", 1.0)),
        )
    except ValueError as exc:
        raise JobError(str(exc)) from None


def load_mesh(spec: str):
    """Open or build the target mesh; returns the object."""
    import bpy

    from . import bake, heads

    if spec == "demo":
        bpy.ops.wm.read_factory_settings(use_empty=True)
        return heads.add_demo_head(bpy.context)
    path, _, name = spec.rpartition(":") if ".blend:" in spec or spec.startswith(":") else (spec, "", "")
    if path.endswith(".blend"):
        if not Path(path).is_file():
            raise JobError(f"mesh file not found: {path}")
        bpy.ops.wm.open_mainfile(filepath=str(Path(path).resolve()), load_ui=False)
    elif path:
        if not Path(path).exists():
            raise JobError(f"mesh file not found: {path}")
        bpy.ops.wm.read_factory_settings(use_empty=True)
        try:
            return heads.import_ict_head(bpy.context, path)
        except (OSError, ValueError, KeyError) as exc:
            raise JobError(f"cannot read an ICT-FaceKit head from {path}: {exc}") from None
    if not name:
        raise JobError(f"which object? write --mesh {path or 'FILE.blend'}:OBJECT")
    obj = bpy.data.objects.get(name)
    if obj is None:
        meshes = ", ".join(o.name for o in bpy.data.objects if o.type == "MESH") or "none"
        raise JobError(f"no object {name!r} in {path or 'the open file'} (meshes: {meshes})")
    try:
        bake.check_target(obj)
    except bake.BakeError as exc:
        raise JobError(str(exc)) from None
    return obj


def run_job(job: dict, animator) -> dict:
    """Bake one job (a dict of bake flags) in this process's Blender; returns per-stage seconds."""
    import bpy
    import numpy as np

    from . import bake, exports
    from .core import audio, livelink

    t = {"start": time.perf_counter()}
    mark = lambda name: t.__setitem__(name, time.perf_counter())
    source = job.get("audio") or job.get("csv_in")
    if not source or not Path(source).is_file():
        raise JobError(f"{'audio' if job.get('audio') else 'capture'} file not found: {source}")
    obj = load_mesh(job.get("mesh") or "demo")
    scene = bpy.context.scene
    if job.get("fps"):
        scene.render.fps, scene.render.fps_base = round(float(job["fps"])), 1.0
    fps = scene.render.fps / scene.render.fps_base
    bake.update_mapping(obj, job.get("names") or "auto")
    edit = emotion_edit(job)
    start = int(job.get("start_frame") or 1)
    mark("load")
    if job.get("audio"):
        try:
            analysis = animator.analyze(job["audio"])
        except audio.AudioError as exc:
            raise JobError(str(exc)) from None
        mark("analyze")
        perf = animator.generate(analysis, edit, fps=fps, seed=int(job.get("seed") or 0))
        combined = job.get("layers") == "combined"
    else:
        try:
            times, weights = livelink.read_csv(job["csv_in"], float(job.get("capture_fps") or 60.0))
        except (ValueError, IndexError) as exc:
            raise JobError(str(exc)) from None
        mark("analyze")
        frames = np.arange(int(times[-1] * fps) + 1) / fps
        captured = np.stack([np.interp(frames, times, weights[:, c]) for c in range(weights.shape[1])], 1)
        perf = animator_performance(captured.astype(np.float32), fps)
        combined = True
    mark("generate")
    try:
        result = bake.bake(obj, perf, source, start, combined=combined)
        if job.get("audio"):
            bake.ensure_sound_strip(scene, job["audio"], start)
    except bake.BakeError as exc:
        raise JobError(str(exc)) from None
    end = start + result.frames - 1
    scene.frame_start, scene.frame_end = start, end
    mark("bake")
    try:
        for key, write in (
            ("out", lambda p: exports.save_blend(p)),
            ("fbx", lambda p: exports.export_fbx(p, obj, start, end)),
            ("abc", lambda p: exports.export_alembic(p, obj, start, end)),
            ("usd", lambda p: exports.export_usd(p, obj, start, end)),
            ("csv", lambda p: exports.export_csv(p, perf.weights, fps)),
        ):
            if job.get(key):
                write(job[key])
    except exports.ExportError as exc:
        raise JobError(str(exc)) from None
    mark("export")
    order = ["start", "load", "analyze", "generate", "bake", "export"]
    return {
        "frames": result.frames,
        "unmatched": result.unmatched,
        **{b: round(t[b] - t[a], 4) for a, b in zip(order, order[1:])},
    }


def animator_performance(weights, fps: float):
    """A captured performance (all channels in one layer) in the shape bake() expects."""
    import numpy as np

    from .core import animator

    zeros = np.zeros_like(weights)
    return animator.Performance(fps, weights, zeros, zeros)


def load_animator(args):
    from .core import animator, weights

    try:
        return animator.Animator.load(args.weights, runtime=args.runtime)
    except weights.WeightsError as exc:
        raise JobError(str(exc)) from None


def ensure_registered() -> None:
    import atexit

    import bpy

    if not hasattr(bpy.types.Scene, "editemotalk"):
        from . import register, unregister

        register()
        # The bpy module waits forever at interpreter exit while Python classes are still registered.
        atexit.register(unregister)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "batch":
        from .batch import run_batch

        return run_batch(args)
    job = {k: v for k, v in vars(args).items() if k not in ("command", "weights", "runtime")}
    try:
        ensure_registered()
        stats = run_job(job, load_animator(args))
    except JobError as exc:
        print(f"editemotalk: {exc}", file=sys.stderr)
        return 1
    written = [job[k] for k in ("out", "fbx", "abc", "usd", "csv") if job.get(k)]
    note = f"; unmatched channels: {', '.join(stats['unmatched'])}" if stats["unmatched"] else ""
    print(f"editemotalk: baked {stats['frames']} frames -> {', '.join(written) or 'nothing written'}{note}")
    return 0


if __name__ == "__main__":  # `blender -b file.blend -P cli.py -- bake ...`: import ourselves as a package first
    import importlib

    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here.parent))
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    sys.exit(importlib.import_module(f"{here.name}.cli").main(argv))
