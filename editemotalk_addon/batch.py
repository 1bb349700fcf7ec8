"""`python -m editemotalk_addon batch jobs.jsonl`: many clips, resumable, shardable, fault-isolated.

A job is up to date when all its outputs exist and its sidecar (<first output>.eet.json) records the same input
hash (job settings, the bytes of its audio, mesh and curves files, and the weights' manifest); such jobs are
skipped, so rerunning an interrupted batch finishes it without redoing or duplicating anything. A job's outputs
are written all or none (exports.write_outputs) and its record only after them; leftovers of a killed write are
removed before a job runs again. A malformed manifest line fails its own job only. One batch runs a manifest's
shard at a time (a lock file beside the manifest), and workers die with their driver.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

from .core import files, validate

OUTPUT_KEYS = tuple(validate.OUTPUT_SUFFIXES)
SIDECAR = ".eet.json"
OUTSIDE = "# editemotalk: allow-outside-paths"  # a manifest line that lets its jobs use paths outside its folder


class ManifestError(RuntimeError):
    """One line: why the manifest as a whole cannot be read (exit status 2)."""


def read_manifest(path: str | Path) -> list[dict | str]:
    """JSONL or CSV -> per job, the checked job with absolute paths, or the one-line reason its line is refused.

    Paths are relative to the manifest's folder and must stay inside it, unless the manifest holds the line
    `# editemotalk: allow-outside-paths`."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path} - check the path")
    try:
        lines = path.read_bytes().decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise ManifestError(f"manifest {path} is not UTF-8 text (UTF-16?) - save it as UTF-8") from None
    outside = any(line.strip() == OUTSIDE for line in lines)
    body = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
    base = path.parent.resolve()
    if path.suffix.lower() == ".csv":
        header = [k.strip() for k in next(csv.reader([body[0][1]]))] if body else []
        rows = [(n, next(csv.reader([line]))) for n, line in body[1:]]
        raws = [
            (n, dict(zip(header, (v.strip() for v in values))))
            if len(values) == len(header)
            else (n, f"{len(values)} values for {len(header)} columns - give every row the header's columns")
            for n, values in rows
        ]
    else:
        raws = [(n, _json_line(line)) for n, line in body]
    entries = []
    for n, raw in raws:
        try:
            if isinstance(raw, str):
                raise validate.InputError(raw)
            entries.append(_resolve(validate.job(raw), base, outside))
        except validate.InputError as exc:
            entries.append(f"{path.name} line {n}: {exc}")
    return entries


def _json_line(line: str) -> dict | str:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg}) - write one JSON object per line"


def _resolve(job: dict, base: Path, outside: bool) -> dict:
    """Paths made absolute against the manifest's folder, and kept inside it unless the manifest opts out."""

    def inside(key: str, value: str) -> str:
        full = (base / value).resolve()
        if not outside and not full.is_relative_to(base):
            raise validate.InputError(
                f"{key}={value!r} is outside the manifest's folder {base} - move it inside, or add the line "
                f"'{OUTSIDE}' to the manifest"
            )
        return str(full)

    for key in validate.PATH_KEYS:
        if job.get(key):
            job[key] = inside(key, job[key])
    mesh = job.get("mesh")
    if mesh and mesh != "demo" and not mesh.startswith(":"):
        file, name = files.split_mesh_spec(mesh)
        job["mesh"] = inside("mesh", file) + (f":{name}" if name else "")
    return job


def _file_digest(path: str | None) -> str:
    return files.sha256(path) if path and Path(path).is_file() else "-"


def job_hash(job: dict, weights_digest: str) -> str:
    mesh_file = files.split_mesh_spec(job.get("mesh") or "")[0]
    inputs = [_file_digest(job.get(k)) for k in ("audio", "csv_in", "emotion_curves")] + [_file_digest(mesh_file)]
    blob = json.dumps({"job": job, "inputs": inputs, "weights": weights_digest}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def outputs(job: dict) -> list[Path]:
    return [Path(job[k]) for k in OUTPUT_KEYS if job.get(k)]


def sidecar(job: dict) -> Path | None:
    outs = outputs(job)
    return outs[0].with_name(outs[0].name + SIDECAR) if outs else None


def up_to_date(job: dict, digest: str) -> bool:
    side = sidecar(job)
    if side is None or not side.exists() or not all(p.exists() for p in outputs(job)):
        return False
    try:
        return json.loads(side.read_text()).get("hash") == digest
    except json.JSONDecodeError:
        return False


def _clean_partials(job: dict) -> None:
    """A killed record write's leftovers (the outputs' own are swept by exports.write_outputs)."""
    for stale in files.leftover_partials(sidecar(job)):
        stale.unlink(missing_ok=True)


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
    from argparse import Namespace

    from .jobs import ensure_registered, load_animator

    ensure_registered()
    _ANIMATOR = load_animator(Namespace(weights=weights, runtime=runtime))


def _run(job: dict, digest: str) -> dict:
    """Bake one job; its record is written only after all its outputs were written and checked."""
    from .jobs import JobError, run_job

    try:
        _clean_partials(job)
        stats = run_job(job, _ANIMATOR)
        record = {"hash": digest, "outputs": [str(p) for p in outputs(job)], "stats": stats}
        files.write_text_atomic(sidecar(job), json.dumps(record))
    except (JobError, validate.InputError) as exc:
        return {"ok": False, "error": str(exc)}
    except OSError as exc:
        return {"ok": False, "error": f"Cannot write the record {sidecar(job)}: {exc.strerror or exc} - free space"}
    except Exception as exc:  # a bug or a Blender error: report it for this job, keep the batch going
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    return {"ok": True, "stats": stats}


# --- driver -----------------------------------------------------------------------------------------------------
def _source(job: dict | str) -> str:
    return job.get("audio") or job.get("csv_in") if isinstance(job, dict) else "manifest"


def _weights_digest(weights: str | None) -> str:
    from .core import weights as W

    folder = Path(weights) if weights else W.DEFAULT
    return _file_digest(str(folder / W.MANIFEST))


def _progress(total: int, enabled: bool):
    try:
        from tqdm import tqdm

        return tqdm(total=total, desc="batch", unit="clip", disable=not enabled)
    except ImportError:  # inside Blender

        class Plain:
            n = 0

            def update(self, k=1):
                self.n += k
                if enabled:
                    print(f"batch: {self.n}/{total}", flush=True)

            def close(self):
                pass

        return Plain()


@contextmanager
def _clean_path_for_children():
    """Spawned workers inherit sys.path; importing bpy put Blender's script folders at its front, where a child
    would find the pure-Python `bpy` package before the bpy module itself. Hide them while workers start."""
    saved = list(sys.path)
    sys.path[:] = [p for p in saved if f"{os.sep}scripts{os.sep}" not in p or "bpy" not in p]
    try:
        yield
    finally:
        sys.path[:] = saved


class Busy(RuntimeError):
    """Another batch holds this manifest's lock."""


@contextmanager
def _lock(path: Path):
    """One batch per manifest and shard: a lock file naming its holder (pid and host). A lock whose holder died on
    this host is stale and taken over."""
    me = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                holder = json.loads(path.read_text())
                pid, host = int(holder["pid"]), str(holder["host"])
            except (OSError, ValueError, KeyError, TypeError):
                if time.time() - path.stat().st_mtime < 5:  # being written by its new holder
                    raise Busy(f"{path} is being taken by another batch - wait for it to finish") from None
                pid, host = 0, socket.gethostname()  # unreadable and old: left by a batch that died
            if host != socket.gethostname() or _alive(pid):
                raise Busy(
                    f"another batch (pid {pid} on {host}) is running this manifest - wait for it to finish, or "
                    f"delete {path} if that process is gone"
                ) from None
            path.unlink(missing_ok=True)  # stale: its holder died
    with os.fdopen(fd, "w") as f:
        f.write(me)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return pid > 0


def run_batch(args) -> int:
    try:
        index, count = (int(x) for x in args.shard.split("/"))
        assert 0 <= index < count
    except (ValueError, AssertionError):
        print(f"editemotalk: --shard must be I/N with 0 <= I < N, not {args.shard!r}", file=sys.stderr)
        return 2
    manifest = Path(args.manifest)
    try:
        jobs = read_manifest(manifest)
        with _lock(manifest.with_name(manifest.stem + f".shard{index}of{count}.lock")):
            return _run_shard(args, jobs, index, count)
    except ManifestError as exc:
        print(f"editemotalk: {exc}", file=sys.stderr)
        return 2
    except Busy as exc:
        print(f"editemotalk: {exc}", file=sys.stderr)
        return 1


def _run_shard(args, jobs: list[dict | str], index: int, count: int) -> int:
    refused = {i: {"ok": False, "error": e} for i, e in enumerate(jobs) if i % count == index and isinstance(e, str)}
    mine = [(i, job) for i, job in enumerate(jobs) if i % count == index and i not in refused]
    digest = _weights_digest(args.weights)
    hashes = {i: job_hash(job, digest) for i, job in mine}
    todo = [(i, job) for i, job in mine if args.force or not up_to_date(job, hashes[i])]
    skipped = len(mine) - len(todo)
    results: dict[int, dict] = dict(refused)
    start = time.perf_counter()
    bar = _progress(len(todo), not args.no_progress)
    if args.workers <= 1:  # in this process (also what runs inside a real Blender)
        _init_worker(args.weights, args.runtime)
        for i, job in todo:
            results[i] = _run(job, hashes[i])
            bar.update()
    else:
        pending, crashed = dict(todo), {}
        while pending:
            with (
                ProcessPoolExecutor(
                    args.workers,
                    initializer=_init_worker,
                    initargs=(args.weights, args.runtime, os.getpid()),
                    mp_context=__import__("multiprocessing").get_context("spawn"),
                ) as pool,
                _clean_path_for_children(),
            ):
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
                    bar.update()
            pending = {i: job for i, job in pending.items() if i not in results}
    bar.close()
    failed = {i: r["error"] for i, r in results.items() if not r["ok"]}
    done = [r["stats"] for r in results.values() if r["ok"]]
    summary = {
        "jobs": len(mine) + len(refused),
        "done": len(done),
        "skipped": skipped,
        "failed": len(failed),
        "wall_seconds": round(time.perf_counter() - start, 2),
        "failures": [{"job": i + 1, "audio": _source(jobs[i]), "error": e} for i, e in sorted(failed.items())],
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
