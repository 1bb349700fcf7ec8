"""A batch manifest, bpy-free: its lines read and checked one by one, then as a whole; its jobs' inputs hashed;
what is already done, verified; and the locks that keep two runs off the same jobs.

A job is up to date when its record (<first output>.eet.json) holds the same input hash (job settings, the bytes
of its audio, capture, mesh and curves files, and the weights' manifest) and every output still has the size and
SHA-256 recorded when it was written. A malformed line fails its own job only, and so does a job whose output is
another job's input or output.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import json
import math
import os
import re
import socket
from contextlib import contextmanager
from pathlib import Path

from . import files, validate
from .errors import InputError, UserError

OUTPUT_KEYS = tuple(validate.OUTPUT_SUFFIXES)
SIDECAR = ".eet.json"
OUTSIDE = "# editemotalk: allow-outside-paths"  # a manifest line that lets its jobs use paths outside its folder
SHARD = re.compile(r"\s*([0-9]{1,9})\s*/\s*([0-9]{1,9})\s*")
MAX_SHARDS = 1_000_000
LOCK_NAME = re.compile(r"(.*)\.shard([0-9]+)of([0-9]+)\.lock", re.S)  # (manifest stem, I, N)


def read_manifest(path: str | Path) -> list[dict | str]:
    """JSONL or CSV -> per job, the checked job with absolute paths, or the one-line reason it is refused.

    Paths are relative to the manifest's folder and must stay inside it, unless the manifest holds the line
    `# editemotalk: allow-outside-paths`. Each line is read on its own: one that is not UTF-8 keeps its bytes as
    they are (a file name may be any bytes), one that is not JSON, nested too deep, or holds a number too large
    fails alone. Raises InputError only when the manifest itself cannot be read."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"manifest {path} is a folder - give the manifest file in it (.jsonl or .csv)")
    files.check_regular(path, "manifest")
    if not path.is_file():
        raise InputError(f"manifest not found: {path} - check the path")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"manifest {path} cannot be read ({exc.strerror or exc}) - check its permissions") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or data[:4096].count(0) > len(data[:4096]) // 4:
        raise InputError(f"manifest {path} is not UTF-8 text (UTF-16?) - save it as UTF-8")
    raw_lines = data.removeprefix(codecs.BOM_UTF8).split(b"\n")
    lines = [line.rstrip(b"\r").decode("utf-8", "surrogateescape") for line in raw_lines]
    outside = any(line.strip() == OUTSIDE for line in lines)
    body = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
    raws = _csv_rows(path, body) if path.suffix.lower() == ".csv" else [(n, _json_line(line)) for n, line in body]
    base = path.parent.resolve()
    entries: list[tuple[int, dict | str]] = []
    for n, raw in raws:
        try:
            if isinstance(raw, str):
                raise InputError(raw)
            job = _resolve(validate.job(raw), base, outside)
            validate.separate_paths(job)
            entries.append((n, job))
        except InputError as exc:
            entries.append((n, str(exc)))
    checked = _collisions(entries, _own_files(path))
    return [job if isinstance(job, dict) else f"{path.name} line {n}: {job}" for n, job in checked]


def _own_files(path: Path):
    """What a batch of this manifest reads and writes besides its jobs' files: real path -> what it is, or None
    (the manifest itself, its lock and summary files, by the name given and by the real one)."""
    names = {(os.path.realpath(p.parent), p.stem) for p in (path, Path(os.path.realpath(path)))}
    real_manifest = os.path.realpath(path)

    def own(real: str) -> str | None:
        if real == real_manifest:
            return "the manifest itself, which the batch reads"
        folder, name = os.path.split(real)
        for where, stem in names:
            if folder == where and re.fullmatch(rf"{re.escape(stem)}\.shard[0-9]+of[0-9]+\.(summary\.json|lock)", name):
                return (
                    f"this manifest's batch {'summary' if name.endswith('.json') else 'lock'}, which the batch writes"
                )
        return None

    return own


def _csv_rows(path: Path, body: list[tuple[int, str]]) -> list[tuple[int, dict | str]]:
    if not body:
        return []
    try:
        header = [k.strip() for k in next(csv.reader([body[0][1]]))]
    except csv.Error as exc:
        raise InputError(f"manifest {path} line {body[0][0]}: the header is not CSV ({exc}) - fix it") from None
    rows = []
    for n, line in body[1:]:
        try:
            values = next(csv.reader([line]))
        except csv.Error as exc:  # a cell beyond the csv module's size limit
            rows.append((n, f"not a CSV row ({exc}) - write one job per row"))
            continue
        if len(values) != len(header):
            rows.append((n, f"{len(values)} values for {len(header)} columns - give every row the header's columns"))
        else:
            rows.append((n, dict(zip(header, (v.strip() for v in values)))))
    return rows


def _json_line(line: str) -> dict | str:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg}) - write one JSON object per line"
    except RecursionError:
        return "not JSON this program reads (nested too deep) - write one flat JSON object per line"
    except ValueError as exc:  # an integer of thousands of digits
        return f"not JSON this program reads ({str(exc).split(':')[0]}) - write numbers as decimals"


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


def _collisions(entries: list[tuple[int, dict | str]], own) -> list[tuple[int, dict | str]]:
    """The manifest as a whole: a job whose output (or record) is another job's input or output, its own record,
    or a file of the batch itself (`own`: the manifest, its summary, its lock) fails, naming the other, so that a
    manifest never overwrites its own inputs or itself and two jobs never fight over one file."""
    paths = {}  # job index -> ({input key: real path}, {output key: real path})
    for i, (_, job) in enumerate(entries):
        if isinstance(job, dict):
            inputs, outs = validate.job_paths(job)
            paths[i] = inputs, outs | {"record": os.path.realpath(sidecar(job))}
    readers: dict[str, list[tuple[int, str]]] = {}
    writers: dict[str, list[tuple[int, str]]] = {}
    for i, (inputs, outs) in paths.items():
        for key, real in inputs.items():
            readers.setdefault(real, []).append((i, key))
        for key, real in outs.items():
            writers.setdefault(real, []).append((i, key))
    checked = list(entries)
    for i, (_, outs) in paths.items():
        for key, real in outs.items():
            writer = next(((j, k) for j, k in writers[real] if j != i), None)
            reader = next(((j, k) for j, k in readers.get(real, []) if j != i), None)
            itself = next((k for j, k in writers[real] if j == i and k != key), None)
            if own(real):
                problem = f"is {own(real)}"
            elif itself:
                problem = f"is also this job's {itself}"
            elif writer:
                problem = f"is also written by job {writer[0] + 1} (its {writer[1]})"
            elif reader:
                problem = f"is an input of job {reader[0] + 1} (its {reader[1]}), which it would overwrite"
            else:
                continue
            checked[i] = (entries[i][0], f"{key} {real} {problem} - give each job outputs of its own")
            break
    return checked


def _file_digest(key: str, path: str | None) -> str:
    try:
        if not path or not Path(path).is_file():
            return "-"
        st = os.stat(path)
        return _sha256(path, st.st_size, st.st_mtime_ns)
    except OSError as exc:
        raise InputError(f"{key} {path} cannot be read ({exc.strerror or exc}) - check its permissions") from None


@functools.lru_cache(maxsize=65536)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """A file's hash, once per run while it stays the same."""
    return files.sha256(path)


def job_hash(job: dict, weights_digest: str, speaker: str = "", base: str | Path = "/") -> str:
    """The hash of everything a job's outputs come from, its speaker's baseline included (`speaker`: the digest of
    the recordings it is built from, core/speakers.py), with its paths relative to `base` (the manifest's folder: a
    project moved whole is still up to date). Raises InputError naming an input that cannot be read."""
    mesh_file = files.split_mesh_spec(job.get("mesh") or "")[0]
    inputs = [_file_digest(k, job.get(k)) for k in validate.INPUT_KEYS] + [_file_digest("mesh", mesh_file), speaker]
    relative = {k: os.path.relpath(v, base) if k in validate.PATH_KEYS else v for k, v in job.items()}
    if os.path.isabs(mesh_file):  # not 'demo', nor ':OBJECT' (the open file)
        relative["mesh"] = os.path.relpath(mesh_file, base) + job["mesh"][len(mesh_file) :]
    blob = json.dumps({"job": relative, "inputs": inputs, "weights": weights_digest}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def outputs(job: dict) -> list[Path]:
    return [Path(job[k]) for k in OUTPUT_KEYS if job.get(k)]


def sidecar(job: dict) -> Path | None:
    outs = outputs(job)
    return outs[0].with_name(outs[0].name + SIDECAR) if outs else None


def write_record(job: dict, digest: str, stats: dict) -> None:
    """After all of a job's outputs are in place: its input hash, and each output's size and SHA-256 (its path
    relative to the record's folder: a project moved whole is still up to date)."""
    side = sidecar(job)
    made = [{"path": _beside(p, side), "bytes": p.stat().st_size, "sha256": files.sha256(p)} for p in outputs(job)]
    files.write_text_atomic(side, json.dumps({"hash": digest, "outputs": made, "stats": stats}))


def _beside(path: Path, record: Path) -> str:
    return os.path.relpath(path, record.parent)


def up_to_date(job: dict, digest: str) -> bool:
    """The job's record holds this input hash, and every output is still what was written (size and SHA-256)."""
    side = sidecar(job)
    try:
        record = json.loads(side.read_text(encoding="utf-8")) if side else None
        made = record["outputs"]
        if record["hash"] != digest or [m["path"] for m in made] != [_beside(p, side) for p in outputs(job)]:
            return False
        pairs = zip(outputs(job), made)
        return all(p.stat().st_size == m["bytes"] and files.sha256(p) == m["sha256"] for p, m in pairs)
    except (OSError, ValueError, KeyError, TypeError):  # no record, a broken one, a missing output
        return False


def sweep(job: dict) -> None:
    """What a killed run of this job left: moves it began are finished, its temporary files removed."""
    files.sweep([*outputs(job), sidecar(job)])


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N), whatever the spelling ('00/4' is 0/4; a plain run is 0/1)."""
    match = SHARD.fullmatch(text)
    index, count = (int(match[1]), int(match[2])) if match else (-1, 0)
    if not 0 <= index < count <= MAX_SHARDS:
        raise InputError(
            f"--shard must be I/N with 0 <= I < N <= {MAX_SHARDS}, not {validate.short(text)} - e.g. --shard 0/4"
        )
    return index, count


class Busy(UserError):
    """Another batch holds this manifest's lock, or one of a shard that shares jobs with this one."""


@contextmanager
def lock(manifest: str | Path, index: int, count: int):
    """One run per set of jobs. A run holds `<manifest>.shard<I>of<N>.lock` beside the manifest's real path (I/N
    as numbers; a plain run is 0/1) under an operating-system lock (files.hold), which the system drops when the
    run ends, however it ends: a lock file nobody holds is free, and no process id is ever checked (on Windows
    os.kill(pid, 0) would send the holder Ctrl+C). The file names its holder and the manifest's identity (device
    and inode), so that runs of one file under another name in its folder (a hard link) see each other. Holding
    its own, a run refuses to go on while another run holds a lock of the same manifest for a shard that shares
    jobs with it (I/N and J/M do when I = J modulo gcd(N, M): a plain run shares all).

    Raises Busy, or UserError when the lock cannot be written (a read-only folder)."""
    real = Path(os.path.realpath(manifest))
    path = real.with_name(f"{real.stem}.shard{index}of{count}.lock")
    me = {"pid": os.getpid(), "host": socket.gethostname(), "manifest": _identity(real)}
    try:
        fd = files.hold(path, json.dumps(me))
    except OSError as exc:
        raise UserError(
            f"Cannot create the lock {path}: {exc.strerror or exc} - make the manifest's folder writable (a batch "
            "writes its lock and summary there)"
        ) from None
    if fd is None:
        raise Busy(f"another batch ({_who(_holder(path))}) is running this manifest - wait for it to finish")
    try:
        for other in sorted(real.parent.glob("*.shard*of*.lock")):
            shard = LOCK_NAME.fullmatch(other.name)
            if other == path or not shard:
                continue
            holder = _holder(other)
            if holder.get("manifest") != me["manifest"] and shard[1] != real.stem:  # another manifest's
                continue
            j, m = int(shard[2]), int(shard[3])
            if (index - j) % math.gcd(count, m) == 0 and files.held(other):
                raise Busy(
                    f"another batch ({_who(holder)}) is running shard {j}/{m} of this manifest ({other.name}), "
                    f"which shares jobs with shard {index}/{count} - wait for it to finish"
                )
        yield
    finally:
        files.release(path, fd)


def _identity(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_dev, st.st_ino]


def _holder(path: Path) -> dict:
    """What a lock file says of its holder ({} while it is being written, or for a file that is not ours)."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {}


def _who(holder: dict) -> str:
    return f"pid {holder.get('pid')} on {holder.get('host')}" if holder.get("pid") else "a process being started"


def job_source(job: dict | str) -> str:
    """What a summary line names a job by: its audio or capture (a refused line has neither)."""
    return job.get("audio") or job.get("csv_in") if isinstance(job, dict) else "manifest"


def job_outputs(job: dict) -> list[str]:
    """The files a job writes, in the order of the bake flags."""
    return [job[k] for k in validate.OUTPUT_SUFFIXES if job.get(k)]


def weights_digest(weights: str | None) -> str:
    """The weights' manifest hash: a job baked with other weights is not up to date."""
    from . import weights as W

    folder = Path(weights) if weights else W.DEFAULT
    try:
        return files.sha256(folder / W.MANIFEST) if (folder / W.MANIFEST).is_file() else "-"
    except OSError as exc:
        raise UserError(f"Cannot read the weights' manifest in {folder}: {exc.strerror or exc} - check it") from None
