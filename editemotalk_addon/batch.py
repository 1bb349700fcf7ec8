"""`python -m editemotalk_addon batch jobs.jsonl`: many clips, resumable, shardable, fault-isolated.

A job is up to date when all its outputs exist and its sidecar (<first output>.eet.json) records the same input
hash (job settings, the bytes of its audio, mesh and curves files, and the weights' manifest); such jobs are
skipped, so rerunning an interrupted batch finishes it without redoing or duplicating anything. Outputs are
written atomically (exports.atomic), and leftovers of a killed write are removed before a job runs again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

from .core import files

OUTPUT_KEYS = ("out", "fbx", "abc", "usd", "csv", "preview")
PATH_KEYS = ("audio", "csv_in", "emotion_curves", *OUTPUT_KEYS)
SIDECAR = ".eet.json"


def read_manifest(path: str | Path) -> list[dict]:
    """JSONL or CSV -> jobs with paths made absolute (relative to the manifest's folder)."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"editemotalk: manifest not found: {path}")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        rows = [
            {k.strip().replace("-", "_"): v.strip() for k, v in row.items() if v and v.strip()}
            for row in csv.DictReader(text.splitlines())
        ]
    else:
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                try:
                    rows.append({k.replace("-", "_"): v for k, v in json.loads(line).items()})
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"editemotalk: {path} line {n} is not JSON: {exc.msg}") from None
    base = path.parent.resolve()
    for job in rows:
        for key in PATH_KEYS:
            if job.get(key):
                job[key] = str((base / job[key]).resolve())
        mesh = job.get("mesh")
        if mesh and mesh != "demo" and not mesh.startswith(":"):
            file, name = files.split_mesh_spec(mesh)
            job["mesh"] = str((base / file).resolve()) + (f":{name}" if name else "")
    return rows


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
    for out in outputs(job):
        for stale in files.leftover_partials(out):
            stale.unlink(missing_ok=True)


# --- worker side (one Blender per process) ----------------------------------------------------------------------
_ANIMATOR = None


def _init_worker(weights: str | None, runtime: str) -> None:
    global _ANIMATOR
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from argparse import Namespace

    from .jobs import ensure_registered, load_animator

    ensure_registered()
    _ANIMATOR = load_animator(Namespace(weights=weights, runtime=runtime))


def _run(job: dict, digest: str) -> dict:
    from .jobs import JobError, run_job

    _clean_partials(job)
    try:
        stats = run_job(job, _ANIMATOR)
    except JobError as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # a bug or a Blender error: report it for this job, keep the batch going
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    record = {"hash": digest, "outputs": [str(p) for p in outputs(job)], "stats": stats}
    files.write_text_atomic(sidecar(job), json.dumps(record))
    return {"ok": True, "stats": stats}


# --- driver -----------------------------------------------------------------------------------------------------
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


def run_batch(args) -> int:
    jobs = read_manifest(args.manifest)
    try:
        index, count = (int(x) for x in args.shard.split("/"))
        assert 0 <= index < count
    except (ValueError, AssertionError):
        print(f"editemotalk: --shard must be I/N with 0 <= I < N, not {args.shard!r}", file=sys.stderr)
        return 2
    mine = [(i, job) for i, job in enumerate(jobs) if i % count == index]
    digest = _weights_digest(args.weights)
    hashes = {i: job_hash(job, digest) for i, job in mine}
    todo = [(i, job) for i, job in mine if args.force or not up_to_date(job, hashes[i])]
    skipped = len(mine) - len(todo)
    results: dict[int, dict] = {}
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
                    initargs=(args.weights, args.runtime),
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
        "jobs": len(mine),
        "done": len(done),
        "skipped": skipped,
        "failed": len(failed),
        "wall_seconds": round(time.perf_counter() - start, 2),
        "failures": [
            {"job": i + 1, "audio": jobs[i].get("audio") or jobs[i].get("csv_in"), "error": e}
            for i, e in sorted(failed.items())
        ],
        "stats": done,
    }
    Path(args.manifest).with_name(Path(args.manifest).stem + f".shard{index}of{count}.summary.json").write_text(
        json.dumps(summary, indent=1)
    )
    print(
        f"editemotalk batch: {len(done)} baked, {skipped} up to date, {len(failed)} failed "
        f"({summary['wall_seconds']} s)"
    )
    for f in summary["failures"]:
        print(f"  FAILED job {f['job']} ({f['audio']}): {f['error']}", file=sys.stderr)
    return 1 if failed else 0
