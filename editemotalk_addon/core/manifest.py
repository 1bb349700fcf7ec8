"""A batch manifest, bpy-free: its lines read and checked, its jobs' inputs hashed, what is already done, and the
lock that lets one batch run a manifest's shard at a time.

A job is up to date when all its outputs exist and its record (<first output>.eet.json) holds the same input
hash (job settings, the bytes of its audio, mesh and curves files, and the weights' manifest). A malformed line
fails its own job only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from . import files, validate
from .errors import InputError, UserError

OUTPUT_KEYS = tuple(validate.OUTPUT_SUFFIXES)


SIDECAR = ".eet.json"


OUTSIDE = "# editemotalk: allow-outside-paths"  # a manifest line that lets its jobs use paths outside its folder


def read_manifest(path: str | Path) -> list[dict | str]:
    """JSONL or CSV -> per job, the checked job with absolute paths, or the one-line reason its line is refused.

    Paths are relative to the manifest's folder and must stay inside it, unless the manifest holds the line
    `# editemotalk: allow-outside-paths`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest not found: {path} - check the path")
    try:
        lines = path.read_bytes().decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"manifest {path} is not UTF-8 text (UTF-16?) - save it as UTF-8") from None
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
                raise InputError(raw)
            entries.append(_resolve(validate.job(raw), base, outside))
        except InputError as exc:
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
            raise InputError(
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


def clean_record_partials(job: dict) -> None:
    """A killed record write's leftovers (the outputs' own are swept by exports.write_outputs)."""
    for stale in files.leftover_partials(sidecar(job)):
        stale.unlink(missing_ok=True)


class Busy(UserError):
    """Another batch holds this manifest's lock."""


@contextmanager
def lock(path: Path):
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


def job_source(job: dict | str) -> str:
    """What a summary line names a job by: its audio or capture (a refused line has neither)."""
    return job.get("audio") or job.get("csv_in") if isinstance(job, dict) else "manifest"


def weights_digest(weights: str | None) -> str:
    """The weights' manifest hash: a job baked with other weights is not up to date."""
    from . import weights as W

    folder = Path(weights) if weights else W.DEFAULT
    return _file_digest(str(folder / W.MANIFEST))
