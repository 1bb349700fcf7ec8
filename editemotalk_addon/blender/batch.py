"""`python -m editemotalk_addon batch jobs.jsonl`: many clips, resumable, shardable, fault-isolated.

The manifest's own logic (its lines, hashes, records, lock) is core/manifest.py; this is the driver and its
workers, each a Blender (the bpy module) baking jobs with blender/jobs.run_job. A job's outputs are written all
or none and its record only after them; leftovers of a killed write are removed before a job runs again.
Workers die with their driver.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..core import files, manifest, terminal
from ..core.errors import InputError, UserError

# --- worker side (one Blender per process) ----------------------------------------------------------------------
_ANIMATOR = None


def _die_with_parent(parent: int) -> None:
    """A worker ends when its driver does, even when the driver is killed (kill -9 leaves it no say)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the driver died before prctl took hold
            os._exit(1)
        return

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _init_worker(weights: str | None, runtime: str, parent: int | None = None) -> None:
    global _ANIMATOR
    if parent is not None:
        _die_with_parent(parent)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from ..core.animator import Animator
    from .jobs import ensure_registered

    ensure_registered()
    _ANIMATOR = Animator.load(weights, runtime)


def _run(job: dict, digest: str) -> dict:
    """Bake one job; its record is written only after all its outputs were written and checked."""
    from .jobs import run_job

    try:
        manifest.clean_record_partials(job)
        stats = run_job(job, _ANIMATOR)
        record = {"hash": digest, "outputs": [str(p) for p in manifest.outputs(job)], "stats": stats}
        files.write_text_atomic(manifest.sidecar(job), json.dumps(record))
    except UserError as exc:
        return {"ok": False, "error": str(exc)}
    except OSError as exc:
        where = manifest.sidecar(job)
        return {"ok": False, "error": f"Cannot write the record {where}: {exc.strerror or exc} - free space"}
    except Exception as exc:  # a bug or a Blender error: report it for this job, keep the batch going
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    return {"ok": True, "stats": stats}


def _workers_here(requested: int) -> int:
    """Worker processes this process can start. A spawned worker imports its modules along this process's
    import path, and once bpy is imported here (inside Blender, or a script that imported it) Blender's script folders
    lead it, where a worker would find Blender's pure-Python `bpy` package instead of the bpy module. The batch
    command itself never imports bpy before its workers start."""
    if requested > 1 and "bpy" in sys.modules:
        print(
            f"editemotalk: warning: --workers {requested} runs as 1 here: workers start only from a process that "
            "has not imported bpy - run `python -m editemotalk_addon batch` for parallel workers",
            file=sys.stderr,
        )
        return 1
    return requested


def run_batch(args) -> int:
    """The batch command: the manifest's shard, resumable, each job in a worker; returns the exit status.
    Raises InputError for a bad --shard or an unreadable manifest, manifest.Busy when another batch holds it."""
    try:
        index, count = (int(x) for x in args.shard.split("/"))
        assert 0 <= index < count
    except (ValueError, AssertionError):
        raise InputError(f"--shard must be I/N with 0 <= I < N, not {args.shard!r}") from None
    path = Path(args.manifest)
    jobs = manifest.read_manifest(path)
    with manifest.lock(path.with_name(path.stem + f".shard{index}of{count}.lock")):
        return _run_shard(args, jobs, index, count)


def _run_shard(args, jobs: list[dict | str], index: int, count: int) -> int:
    refused = {i: {"ok": False, "error": e} for i, e in enumerate(jobs) if i % count == index and isinstance(e, str)}
    mine = [(i, job) for i, job in enumerate(jobs) if i % count == index and i not in refused]
    digest = manifest.weights_digest(args.weights)
    hashes = {i: manifest.job_hash(job, digest) for i, job in mine}
    todo = [(i, job) for i, job in mine if args.force or not manifest.up_to_date(job, hashes[i])]
    skipped = len(mine) - len(todo)
    results: dict[int, dict] = dict(refused)
    start = time.perf_counter()
    bar = terminal.Progress("batch", len(mine) + len(refused), "jobs", enabled=not args.no_progress)
    bar.update(skipped + len(refused))  # every job of the shard counts, the up-to-date and refused ones too
    if _workers_here(args.workers) <= 1:  # in this process (also what runs inside a real Blender)
        _init_worker(args.weights, args.runtime)
        for i, job in todo:
            results[i] = _run(job, hashes[i])
            bar.advance()
    else:
        pending, crashed = dict(todo), {}
        while pending:
            with ProcessPoolExecutor(
                args.workers,
                initializer=_init_worker,
                initargs=(args.weights, args.runtime, os.getpid()),
                mp_context=multiprocessing.get_context("spawn"),
            ) as pool:
                futures = {pool.submit(_run, job, hashes[i]): i for i, job in pending.items()}
                for fut in as_completed(futures):
                    i = futures[fut]
                    try:
                        results[i] = fut.result()
                    except BrokenProcessPool:  # a worker died (killed, out of memory): retry its jobs once
                        crashed[i] = crashed.get(i, 0) + 1
                        if crashed[i] > 1:
                            results[i] = {"ok": False, "error": "the worker process died twice on this job"}
                        continue
                    pending.pop(i)
                    bar.advance()
            pending = {i: job for i, job in pending.items() if i not in results}
    failed = {i: r["error"] for i, r in results.items() if not r["ok"]}
    done = [r["stats"] for r in results.values() if r["ok"]]
    summary = {
        "jobs": len(mine) + len(refused),
        "done": len(done),
        "skipped": skipped,
        "failed": len(failed),
        "wall_seconds": round(time.perf_counter() - start, 2),
        "failures": [
            {"job": i + 1, "audio": manifest.job_source(jobs[i]), "error": e} for i, e in sorted(failed.items())
        ],
        "stats": done,
    }
    summary_path = Path(args.manifest).with_name(Path(args.manifest).stem + f".shard{index}of{count}.summary.json")
    try:
        files.write_text_atomic(summary_path, json.dumps(summary, indent=1))
        written = True
    except OSError as exc:
        print(f"editemotalk: cannot write {summary_path}: {exc.strerror or exc} - free space", file=sys.stderr)
        written = False
    print(
        f"editemotalk batch: {len(done)} baked, {skipped} up to date, {len(failed)} failed "
        f"({summary['wall_seconds']} s)"
    )
    for f in summary["failures"]:
        print(f"  FAILED job {f['job']} ({f['audio']}): {f['error']}", file=sys.stderr)
    return 1 if failed or not written else 0
