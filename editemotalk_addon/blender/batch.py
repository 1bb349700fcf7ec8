"""`python -m editemotalk_addon batch jobs.jsonl`: many clips, resumable, shardable, fault-isolated.

The manifest's own logic (its lines, hashes, records, locks) is core/manifest.py; this is the driver and its
workers, each a Blender (the bpy module) baking one job at a time with blender/jobs.run_job. Jobs and results
travel between them as JSON over a pipe. A worker that dies (killed, out of memory) fails only the job it held,
and a fresh worker takes its place for the rest. A job's outputs are written all or none and its record only after
them; what a killed run left is finished or removed before the jobs run. Workers die with their driver.
"""

from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing
import os
import sys
import time
from multiprocessing.connection import wait
from pathlib import Path

from ..core import audio, files, manifest, processes, speakers, terminal
from ..core.errors import INPUT_STATUS, RUN_STATUS, InputError, UserError

# --- worker side (one Blender per process) ----------------------------------------------------------------------
DIED = "the worker process died while baking this job (killed, or out of memory?) - run the batch again to retry it"
JOB_SECONDS, JOB_SECONDS_A_CLIP_SECOND = 600, 30  # a job's deadline (job_deadline)


def _init_worker(parent: int | None = None) -> None:
    """This process made ready to bake: the Blender layer registered; a pool's worker also dies with its driver."""
    if parent is not None:  # a worker process of the pool: its own environment, one thread per worker
        processes.die_with_parent(parent)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    from .jobs import ensure_registered

    ensure_registered()


def _load_animator(weights: str | None, runtime: str):
    """The Animator of these weights and runtime (imported here: the driver needs it only for speakers or jobs)."""
    from ..core.animator import Animator

    return Animator.load(weights, runtime)


def _failure(error: str, status: int) -> dict:
    return {"ok": False, "error": error, "status": status}


def job_deadline(job: dict) -> float:
    """Seconds a job may run before it fails as hung: far beyond what baking and exporting its clip takes (a
    30-minute clip: hours); a clip whose length cannot be read counts as the longest, 30 minutes."""
    seconds = audio.MAX_SECONDS
    if job.get("audio") and os.path.isfile(job["audio"]):  # a pipe's header is never read: it may never come
        try:
            import soundfile

            seconds = soundfile.info(job["audio"]).duration
        except Exception:  # no soundfile (inside Blender), a file the job itself will refuse
            pass
    return JOB_SECONDS + JOB_SECONDS_A_CLIP_SECOND * min(seconds, audio.MAX_SECONDS)


def _run(job: dict, digest: str, animator, character: str | None = None) -> dict:
    """Bake one job within its deadline (heard against the `character` file of its speaker); its record is written
    only after all its outputs were written and checked."""
    from .jobs import read_character, run_job

    try:
        with processes.deadline(job_deadline(job)):
            stats = run_job(job, animator, read_character(character) if character else None)
    except processes.Overdue as exc:  # its temporaries were removed on the way out
        return _failure(f"the job {exc} (an input that never ends?) - check its inputs, then run again", RUN_STATUS)
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
    """A worker process: ready (or why it cannot start), then one job at a time until told to stop; then it ends
    without bpy's shutdown, which may never finish (processes.leave)."""
    try:
        _init_worker(parent)
        animator = _load_animator(weights, runtime)
    except UserError as exc:
        conn.send_bytes(json.dumps({"cannot_start": str(exc)}).encode())
        processes.leave(0)
    conn.send_bytes(json.dumps({"ready": True}).encode())
    while "job" in (message := json.loads(conn.recv_bytes())):
        result = _run(message["job"], message["digest"], animator, message["character"])
        conn.send_bytes(json.dumps({"index": message["index"], "result": result}).encode())
    processes.leave(0)


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
        try:
            return _run_shard(args, jobs, index, count)
        except (UserError, KeyboardInterrupt) as exc:  # stopped before its end (bad weights, Ctrl-C, SIGTERM)
            why = processes.stopped_line() if isinstance(exc, KeyboardInterrupt) else str(exc)
            _stopped(summary_path(path, index, count), why.removeprefix("editemotalk: "))
            raise


def summary_path(manifest_path: Path, index: int, count: int) -> Path:
    return manifest_path.with_name(manifest_path.stem + f".shard{index}of{count}.summary.json")


def _stopped(where: Path, why: str) -> None:
    """The summary of a run that stopped before its end says so and why (the jobs it finished have their records),
    so that an earlier run's summary never stands for it; where it cannot be written, the earlier one goes."""
    try:
        files.write_text_atomic(where, json.dumps({"stopped": why}, indent=1))
    except OSError:
        with contextlib.suppress(OSError):
            where.unlink(missing_ok=True)


def _run_shard(args, jobs: list[dict | str], index: int, count: int) -> int:
    """Bake the shard's jobs that are not up to date, write its summary; returns the exit status."""
    mine = [(i, job) for i, job in enumerate(jobs) if i % count == index]
    digest = manifest.weights_digest(args.weights)
    wanted = {job.get("speaker") for _, job in mine if isinstance(job, dict)}
    # The model, loaded (and verified) once per run when first needed: for the speakers' characters, or the jobs.
    model = functools.cache(lambda: _load_animator(args.weights, args.runtime))
    voices = speakers.build(Path(args.manifest), jobs, wanted, model, progress=not args.no_progress)
    todo, hashes, results = _to_bake(args, jobs, mine, voices, digest)
    skipped = len(mine) - len(todo) - len(results)
    workers, note = processes.worker_limit(args.workers)
    if note:
        print(f"editemotalk: warning: {note}", file=sys.stderr)
    workers = min(_workers_here(workers), len(todo))
    start = time.perf_counter()
    bar = terminal.Progress("batch", len(mine), "jobs", enabled=not args.no_progress)
    bar.update(len(mine) - len(todo))  # every job of the shard counts, the up-to-date and refused ones too
    if workers == 1:  # in this process (also what runs inside a real Blender)
        _init_worker()
        animator = model()
        for i, job in todo:
            results[i] = _run(job, hashes[i], animator, _character_file(voices, job))
            bar.advance()
    elif workers > 1:
        model.cache_clear()  # the speakers' model: the workers load their own
        results |= _Pool(args, todo, hashes, workers, bar, voices).run()
    failed = {i: r for i, r in results.items() if not r["ok"]}
    done = {i: r["stats"] for i, r in sorted(results.items()) if r["ok"]}
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
        "stats": [{"job": i + 1, "outputs": manifest.job_outputs(jobs[i]), **stats} for i, stats in done.items()],
        "speakers": {name: voice.summary() for name, voice in voices.items()},
    }
    written = _write_summary(summary_path(Path(args.manifest), index, count), summary)
    _print_outcome(summary, voices)
    statuses = {r["status"] for r in failed.values()} | (set() if written else {RUN_STATUS})
    return RUN_STATUS if RUN_STATUS in statuses else INPUT_STATUS if statuses else 0


def _to_bake(args, jobs, mine, voices, digest: str):
    """The shard's jobs to bake (those not up to date, or all with --force) and their hashes; the refused ones'
    failures (a bad line, an output another speaker owns, what a killed run left that cannot be cleaned)."""
    own = speakers.character_files(Path(args.manifest), jobs)
    base = Path(args.manifest).parent.resolve()  # what the jobs' paths are relative to (manifest.read_manifest)
    todo, hashes, refused = [], {}, {}
    for i, job in mine:
        try:
            if isinstance(job, str):
                raise InputError(job)
            speakers.check_outputs(job, own)
            manifest.sweep(job)
            voice = voices.get(job.get("speaker"))
            hashes[i] = manifest.job_hash(job, digest, voice.digest if voice else "", base)
        except UserError as exc:
            refused[i] = _failure(str(exc), exc.status)
            continue
        except OSError as exc:
            refused[i] = _failure(f"Cannot clean up what a killed run left: {exc} - check permissions", RUN_STATUS)
            continue
        if args.force or not manifest.up_to_date(job, hashes[i]):
            todo.append((i, job))
    return todo, hashes, refused


def _write_summary(where: Path, summary: dict) -> bool:
    """The shard's summary file written whole; False (and a line) where it cannot be."""
    try:
        files.write_text_atomic(where, json.dumps(summary, indent=1))
    except OSError as exc:
        print(f"editemotalk: cannot write {where}: {exc.strerror or exc} - free space", file=sys.stderr)
        return False
    return True


def _print_outcome(summary: dict, voices: dict[str, speakers.Speaker]) -> None:
    """The run's one line, then each failed job and each clip left out of a speaker's baseline."""
    print(
        f"editemotalk batch: {summary['done']} baked, {summary['skipped']} up to date, {summary['failed']} failed "
        f"({summary['wall_seconds']} s)"
    )
    for f in summary["failures"]:
        print(f"  FAILED job {f['job']} ({f['audio']}): {f['error']}", file=sys.stderr)
    for name, voice in voices.items():
        for clip, why in voice.left_out.items():
            print(f"  speaker {name}: left out of the baseline: {clip}: {why}", file=sys.stderr)


def _character_file(voices: dict[str, speakers.Speaker], job: dict) -> str | None:
    """The character file a job is heard against: its speaker's, the same whichever shard or worker bakes it."""
    voice = voices.get(job.get("speaker")) if job.get("audio") else None
    return str(voice.file) if voice else None


class _Worker:
    """One worker process of a pool: the driver's end of its pipe, the job it holds, whether it said it is ready."""

    def __init__(self, context, weights: str | None, runtime: str):
        self.conn, worker_end = context.Pipe()
        self.process = context.Process(target=_worker, args=(worker_end, weights, runtime, os.getpid()))
        self.process.start()
        worker_end.close()
        self.held, self.ready = None, False


class _Pool:
    """Bakes `todo` on `size` worker processes, one job each at a time. A worker that dies fails the job it held
    and is replaced while jobs remain; when workers keep dying before they take a job, the rest fail."""

    def __init__(self, args, todo, hashes: dict[int, str], size: int, bar, voices: dict[str, speakers.Speaker]):
        self.context = multiprocessing.get_context("spawn")
        self.args, self.hashes, self.size, self.bar, self.voices = args, hashes, size, bar, voices
        self.queue: list[tuple[int, dict]] = list(reversed(todo))
        self.results: dict[int, dict] = {}
        self.workers: dict = {}  # the driver's end of a worker's pipe -> _Worker
        self.deaths_before_ready = 0

    def run(self) -> dict[int, dict]:
        """Every job's result by its index, once all are baked or failed."""
        finished = False
        try:
            for _ in range(self.size):
                self._start_worker()
            while self.queue or any(w.held for w in self.workers.values()):
                if not self.workers:
                    for i, _ in self.queue:
                        self.results[i] = _failure(
                            "the batch workers die as they start - check free memory", RUN_STATUS
                        )
                    break
                sentinels = {w.process.sentinel: conn for conn, w in self.workers.items()}
                for ready in wait([*self.workers, *sentinels]):
                    conn = sentinels.get(ready, ready)
                    self._receive(conn, ended=ready is not conn)
            finished = True
        finally:
            self._stop(finished)
        return self.results

    def _start_worker(self) -> None:
        """One more worker process; it takes a job once it says it is ready."""
        worker = _Worker(self.context, self.args.weights, self.args.runtime)
        self.workers[worker.conn] = worker

    def _receive(self, conn, ended: bool) -> None:
        """What woke the driver for a worker: its message (ready, or a job's result; then the next job) or its end."""
        if conn not in self.workers:
            return  # its pipe and its sentinel both woke us: buried already
        if not conn.poll():
            if ended:  # the process ended with nothing left in its pipe
                self._bury(conn)
            return
        try:
            message = json.loads(conn.recv_bytes())
        except (EOFError, OSError):
            self._bury(conn)
            return
        if "cannot_start" in message:
            raise UserError(message["cannot_start"])
        if "index" in message:
            self.results[message["index"]] = message["result"]
            self.bar.advance()
        self.workers[conn].ready = True
        self._hand_out(conn)

    def _hand_out(self, conn) -> None:
        """The next job to a ready worker, or, when none is left, its stop."""
        worker = self.workers[conn]
        worker.held, message = (self.queue.pop(), None) if self.queue else (None, {"stop": True})
        if worker.held:
            i, job = worker.held
            message = {"index": i, "job": job, "digest": self.hashes[i], "character": _character_file(self.voices, job)}
        try:
            conn.send_bytes(json.dumps(message).encode())
        except OSError:  # it died meanwhile: the job goes back, the death is seen next
            self.queue.extend([worker.held] if worker.held else [])
            worker.held = None

    def _bury(self, conn) -> None:
        """A dead worker: the job it held fails, and a fresh worker takes its place while jobs remain."""
        worker = self.workers.pop(conn)
        worker.process.join()
        conn.close()
        if worker.held:
            self.results[worker.held[0]] = _failure(DIED, RUN_STATUS)
            self.bar.advance()
        self.deaths_before_ready = 0 if worker.ready else self.deaths_before_ready + 1
        if self.queue and self.deaths_before_ready <= self.size:
            self._start_worker()

    def _stop(self, finished: bool) -> None:
        """Every worker ended: told to stop after a finished run, killed while starting or when the run stopped."""
        for conn, worker in self.workers.items():
            if not (finished and worker.ready):  # still starting, or the run stopped: nothing of it to keep
                worker.process.kill()
            worker.process.join(timeout=60)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            conn.close()
