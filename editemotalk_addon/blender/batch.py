"""`python -m editemotalk_addon batch jobs.jsonl`: many clips, resumable, shardable, fault-isolated.

The manifest's own logic (its lines, hashes, records, locks) is core/manifest.py; this is the driver and its
workers, each a Blender (the bpy module) baking one job at a time with blender/jobs.run_job. Jobs and results
travel between them as JSON over a pipe. A worker that dies (killed, out of memory) fails only the job it held,
and a fresh worker takes its place for the rest. A job's outputs are written all or none and its record only after
them; what a killed run left is finished or removed before the jobs run. Workers die with their driver.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from multiprocessing.connection import wait
from pathlib import Path

from ..core import files, manifest, processes, terminal
from ..core.errors import INPUT_STATUS, RUN_STATUS, InputError, UserError

# --- worker side (one Blender per process) ----------------------------------------------------------------------
_ANIMATOR = None
DIED = "the worker process died while baking this job (killed, or out of memory?) - run the batch again to retry it"


def _init_worker(weights: str | None, runtime: str, parent: int | None = None) -> None:
    global _ANIMATOR
    if parent is not None:  # a worker process of the pool: its own environment, one thread per worker
        processes.die_with_parent(parent)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    from ..core.animator import Animator
    from .jobs import ensure_registered

    ensure_registered()
    _ANIMATOR = Animator.load(weights, runtime)


def _failure(error: str, status: int) -> dict:
    return {"ok": False, "error": error, "status": status}


def _run(job: dict, digest: str, speaker_clips: list[str] = ()) -> dict:
    """Bake one job; its record is written only after all its outputs were written and checked."""
    from .jobs import run_job

    try:
        stats = run_job(job, _ANIMATOR, speaker_clips)
    except UserError as exc:
        return _failure(str(exc), exc.status)
    except Exception as exc:  # a bug or a Blender error: report it for this job, keep the batch going
        return _failure(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", RUN_STATUS)
    try:
        manifest.write_record(job, digest, stats)
    except OSError as exc:
        where = manifest.sidecar(job)
        return _failure(f"Cannot write the record {where}: {exc.strerror or exc} - free space", RUN_STATUS)
    return {"ok": True, "stats": stats}


def _worker(conn, weights: str | None, runtime: str, parent: int) -> None:
    """A worker process: ready (or why it cannot start), then one job at a time until told to stop."""
    try:
        _init_worker(weights, runtime, parent)
    except UserError as exc:
        conn.send_bytes(json.dumps({"cannot_start": str(exc)}).encode())
        return
    conn.send_bytes(json.dumps({"ready": True}).encode())
    while "job" in (message := json.loads(conn.recv_bytes())):
        result = _run(message["job"], message["digest"], message["speaker_clips"])
        conn.send_bytes(json.dumps({"index": message["index"], "result": result}).encode())


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
    """The batch command: the manifest's shard, resumable, each job in a worker; returns the exit status: 0 all
    done, 1 when any job's run failed (or the summary could not be written), else 2 when any job's input is wrong.
    Raises InputError for a bad --shard or --workers or an unreadable manifest, manifest.Busy when another batch
    runs any of these jobs, UserError when the lock cannot be written or the model cannot be loaded."""
    index, count = manifest.parse_shard(args.shard)
    if args.workers < 1:
        raise InputError(f"--workers must be 1 or more, not {args.workers} - e.g. --workers 2")
    path = Path(args.manifest)
    jobs = manifest.read_manifest(path)
    with manifest.lock(path, index, count):
        return _run_shard(args, jobs, index, count)


def _run_shard(args, jobs: list[dict | str], index: int, count: int) -> int:
    results: dict[int, dict] = {}
    voices = speakers(jobs)
    mine = [(i, job) for i, job in enumerate(jobs) if i % count == index]
    digest = manifest.weights_digest(args.weights)
    hashes, todo = {}, []
    for i, job in mine:
        try:
            if isinstance(job, str):
                raise InputError(job)
            manifest.sweep(job)
            hashes[i] = manifest.job_hash(job, digest, voices.get(job.get("speaker"), []))
        except UserError as exc:
            results[i] = _failure(str(exc), exc.status)
            continue
        except OSError as exc:
            results[i] = _failure(f"Cannot clean up what a killed run left: {exc} - check permissions", RUN_STATUS)
            continue
        if args.force or not manifest.up_to_date(job, hashes[i]):
            todo.append((i, job))
    skipped = len(mine) - len(todo) - len(results)
    workers, note = processes.worker_limit(args.workers)
    if note:
        print(f"editemotalk: warning: {note}", file=sys.stderr)
    workers = min(_workers_here(workers), len(todo))
    start = time.perf_counter()
    bar = terminal.Progress("batch", len(mine), "jobs", enabled=not args.no_progress)
    bar.update(len(mine) - len(todo))  # every job of the shard counts, the up-to-date and refused ones too
    if workers == 1:  # in this process (also what runs inside a real Blender)
        _init_worker(args.weights, args.runtime)
        for i, job in todo:
            results[i] = _run(job, hashes[i], voices.get(job.get("speaker"), []))
            bar.advance()
    elif workers > 1:
        results |= _pool(args, todo, hashes, workers, bar, voices)
    failed = {i: r for i, r in results.items() if not r["ok"]}
    done = [r["stats"] for r in results.values() if r["ok"]]
    summary = {
        "jobs": len(mine),
        "done": len(done),
        "skipped": skipped,
        "failed": len(failed),
        "workers": workers,
        "wall_seconds": round(time.perf_counter() - start, 2),
        "failures": [
            {"job": i + 1, "audio": manifest.job_source(jobs[i]), "error": r["error"], "status": r["status"]}
            for i, r in sorted(failed.items())
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
    statuses = {r["status"] for r in failed.values()} | (set() if written else {RUN_STATUS})
    return RUN_STATUS if RUN_STATUS in statuses else INPUT_STATUS if statuses else 0


def speakers(jobs: list[dict | str]) -> dict[str, list[str]]:
    """{speaker: the audio of every job of the manifest (all shards) with that speaker}: each of them is read
    against that voice's own baseline, the same whichever shard or worker bakes it."""
    voices: dict[str, list[str]] = {}
    for job in jobs:
        if isinstance(job, dict) and job.get("speaker") and job.get("audio"):
            voices.setdefault(job["speaker"], []).append(job["audio"])
    return voices


def _pool(
    args, todo: list[tuple[int, dict]], hashes: dict[int, str], size: int, bar, voices: dict[str, list[str]]
) -> dict[int, dict]:
    """Bake `todo` on `size` worker processes, one job each at a time. A worker that dies fails the job it held
    and is replaced while jobs remain; when workers keep dying before they take a job, the rest fail."""
    context = multiprocessing.get_context("spawn")
    queue, results = list(reversed(todo)), {}
    workers: dict = {}  # the driver's end of a worker's pipe -> Worker
    deaths_before_ready = 0

    class Worker:
        def __init__(self):
            driver_end, worker_end = context.Pipe()
            self.process = context.Process(target=_worker, args=(worker_end, args.weights, args.runtime, os.getpid()))
            self.process.start()
            worker_end.close()
            self.held, self.ready = None, False
            workers[driver_end] = self

    def hand_out(conn):
        worker = workers[conn]
        worker.held, message = (queue.pop(), None) if queue else (None, {"stop": True})
        if worker.held:
            i, job = worker.held
            message = {"index": i, "job": job, "digest": hashes[i], "speaker_clips": voices.get(job.get("speaker"), [])}
        try:
            conn.send_bytes(json.dumps(message).encode())
        except OSError:  # it died meanwhile: the job goes back, the death is seen next
            queue.extend([worker.held] if worker.held else [])
            worker.held = None

    def bury(conn):
        nonlocal deaths_before_ready
        worker = workers.pop(conn)
        worker.process.join()
        conn.close()
        if worker.held:
            results[worker.held[0]] = _failure(DIED, RUN_STATUS)
            bar.advance()
        deaths_before_ready = 0 if worker.ready else deaths_before_ready + 1
        if queue and deaths_before_ready <= size:
            Worker()

    finished = False
    try:
        for _ in range(size):
            Worker()
        while queue or any(w.held for w in workers.values()):
            if not workers:
                for i, _ in queue:
                    results[i] = _failure("the batch workers die as they start - check free memory", RUN_STATUS)
                break
            sentinels = {w.process.sentinel: conn for conn, w in workers.items()}
            for ready in wait([*workers, *sentinels]):
                conn = sentinels.get(ready, ready)
                if conn not in workers:
                    continue  # its pipe and its sentinel both woke us: buried already
                if not conn.poll():
                    if ready is not conn:  # the process ended with nothing left in its pipe
                        bury(conn)
                    continue
                try:
                    message = json.loads(conn.recv_bytes())
                except (EOFError, OSError):
                    bury(conn)
                    continue
                if "cannot_start" in message:
                    raise UserError(message["cannot_start"])
                if "index" in message:
                    results[message["index"]] = message["result"]
                    bar.advance()
                workers[conn].ready = True
                hand_out(conn)
        finished = True
    finally:
        for conn, worker in workers.items():
            if not (finished and worker.ready):  # still starting, or the run stopped: nothing of it to keep
                worker.process.kill()
            worker.process.join(timeout=60)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            conn.close()
    return results
