"""Files, written once: SHA-256 of a file, atomic replacement (of one file or a set), the sweep of what a killed
write left, and the `FILE.blend:OBJECT` mesh spec.

Every output in the project (exports, batch records, corpus shards, checkpoints, weights manifests) is written
through `atomic` or `atomic_all`, so an interrupted or failed write never leaves a half file that looks finished.
A set of files moves into place under a journal (`.<token>.eet-journal.json` in each destination folder, listing
every temporary -> final move) written before the first move: a run killed between two moves is finished by the
next `sweep` of any of those folders, so readers see the old set or the new one, never a mix. Temporary names carry
the marker `.eet-partial`; the sweep deletes only names with that marker, never a user's file, and never those of a
write still running: a set's temporaries and journals carry its token, and while it runs its process holds an
operating-system lock on `.<token>.eet-live` in each destination folder (`hold`), which the system drops when the
process ends, however it ends.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .errors import InputError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

MARK = ".eet-partial"  # temporary files are named .<stem>.<token>.eet-partial<suffix> beside their destination
PARTIAL_NAME = re.compile(rf"\.(.*)\.([0-9a-f]{{8}})({re.escape(MARK)}.*)", re.S)  # (stem, token, mark + suffix...)
JOURNAL = re.compile(r"\.([0-9a-f]{8})\.eet-journal\.json")
LIVE = re.compile(r"\.([0-9a-f]{8})\.eet-live")  # held by the process whose set of writes has this token
LOCK_OFFSET = 1 << 30  # the byte Windows locks: past any text, which a lock there would hide from readers
UNFINISHED_JOURNAL_SECONDS = 60  # an unreadable journal this old was cut off while written, before any move


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_regular(path: str | Path, what: str) -> None:
    """Raise InputError naming `what` when `path` is there but is no file or folder: a pipe (`<(cat a.wav)`), a
    FIFO or a device, whose reading may wait forever and which cannot be read twice."""
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        raise InputError(f"{what} {path} is a pipe or device, not a file - save it to a file and give that file")


def check_readable(path: str | Path, what: str) -> None:
    """Raise InputError naming `what` when `path` cannot be opened and read (a pipe or device, its permissions, a
    broken disk)."""
    check_regular(path, what)
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be read ({exc.strerror or exc}) - check its permissions") from None


def partial_path(path: Path, token: str | None = None) -> Path:
    return path.with_name(f".{path.stem}.{token or uuid.uuid4().hex[:8]}{MARK}{path.suffix}")


def hold(path: str | Path, text: str | None = None) -> int | None:
    """An operating-system lock on `path`, taken without waiting: its open descriptor, or None while another
    process holds it. The system drops the lock when its holder ends, however it ends (killed, on any host the
    file system serves), so a file held is a file its holder still uses: no process id is ever checked. A missing
    file is created (holding `text` when given, written before the lock, so that whoever sees it held reads it
    whole); a file replaced or removed while it was being taken is taken again. Raises OSError when it cannot be
    created."""
    path = Path(path)
    while True:
        try:
            fd, made = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644), True
        except FileExistsError:
            try:
                fd, made = os.open(path, os.O_RDWR), False
            except FileNotFoundError:  # released meanwhile
                continue
        if made and text is not None:
            os.write(fd, text.encode())
        if not _lock(fd):
            os.close(fd)
            return None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            if not made and text is not None:  # left by a dead holder, or not yet locked by its maker: now ours
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, text.encode())
            return fd
        _unlock(fd)  # removed by its last holder while this one waited for it: a new file is made
        os.close(fd)


def release(path: str | Path, fd: int) -> None:
    """Let go of a lock `hold` gave, and remove its file (while still held, where the system allows it)."""
    if fcntl:
        with suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)  # the lock goes with the descriptor
        return
    _unlock(fd)
    os.close(fd)
    with suppress(OSError):  # Windows removes no open file: another process opening it now removes it later
        os.unlink(path)


def held(path: str | Path) -> bool:
    """Whether another process holds `path` (see `hold`); one that nobody holds is removed (its holder died)."""
    try:
        fd = os.open(path, os.O_RDONLY)  # a lock needs no write access: another user's file is checked too
    except FileNotFoundError:
        return False
    if not _lock(fd):
        os.close(fd)
        return True
    release(path, fd)
    return False


def _lock(fd: int) -> bool:
    try:
        if fcntl:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # held by another process (EWOULDBLOCK, EACCES)
        return False
    return True


def _unlock(fd: int) -> None:
    if fcntl:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        os.lseek(fd, LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def sweep(paths: list[str | Path]) -> None:
    """Before writing `paths`: finish every set of moves a killed run left in their folders, then delete the
    temporary files killed writes of them left (one listing of each folder, however many paths it holds)."""
    paths = [Path(p) for p in paths]
    for folder in dict.fromkeys(p.parent for p in paths):
        finish_moves(folder)
    for stale in _leftovers(paths):
        stale.unlink(missing_ok=True)


def _leftovers(paths: list[Path]) -> list[Path]:
    """The temporaries of `paths` that no running write holds."""
    found = []
    for folder in dict.fromkeys(p.parent for p in paths):
        suffixes: dict[str, list[str]] = {}
        for p in paths:
            if p.parent == folder:
                suffixes.setdefault(p.stem, []).append(p.suffix)
        names = [e.name for e in os.scandir(folder)] if folder.is_dir() else []
        for name in names:
            ours = PARTIAL_NAME.fullmatch(name)
            mine = ours and any(ours[3].startswith(MARK + suffix) for suffix in suffixes.get(ours[1], ()))
            if mine and not _running(folder, ours[2]):
                found.append(folder / name)
    return sorted(found)


def _running(folder: Path, token: str) -> bool:
    """Whether the set of writes with this token still runs: its process holds its mark in `folder`."""
    return held(folder / f".{token}.eet-live")


def finish_moves(folder: str | Path) -> None:
    """Settle every journal in `folder`. A set's journal is written whole in each of its destination folders, one
    after another, before its first move, and removed after its last. So: every copy whole -> the moves began, or
    may have: finish them (the temporaries were complete and checked), the new set. A copy missing or cut off
    while temporaries remain -> the writer was killed before any move: remove the temporaries, the old set (once
    it is old enough not to be a journal being written now). No temporary left -> the set was moved: the copies
    go."""
    folder = Path(folder)
    names = [e.name for e in os.scandir(folder)] if folder.is_dir() else []
    for mark in filter(LIVE.fullmatch, names):  # a mark whose writer died goes (held() removes it)
        held(folder / mark)
    journals = [n for n in names if JOURNAL.fullmatch(n) and not _running(folder, JOURNAL.fullmatch(n)[1])]
    for name in journals:
        try:
            text, age = (folder / name).read_text(encoding="utf-8"), time.time() - (folder / name).stat().st_mtime
        except FileNotFoundError:  # settled by another process meanwhile
            continue
        entry = _entry(text)
        moves = [(Path(a), Path(b)) for a, b in entry["moves"]] if entry else []
        copies = [Path(j) for j in entry["journals"]] if entry else [folder / name]
        if entry and all(_entry(_read(copy)) == entry for copy in copies):
            _move(moves, copies)
        elif not any(tmp.exists() for tmp, _ in moves) and entry:
            _move([], copies)
        elif age > UNFINISHED_JOURNAL_SECONDS:
            _move([], [tmp for tmp, _ in moves] + copies)


def _entry(text: str | None) -> dict | None:
    """A journal's moves and copies, or None for one cut off while it was written."""
    try:
        entry = json.loads(text)
        return entry if isinstance(entry["moves"], list) and isinstance(entry["journals"], list) else None
    except (TypeError, ValueError, KeyError):
        return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _move(moves: list[tuple[Path, Path]], remove: list[Path]) -> None:
    """Each temporary to its destination (one that another process already moved is skipped), then `remove`
    goes (the journals; the temporaries of a set rolled back)."""
    for tmp, final in moves:
        with suppress(FileNotFoundError):
            os.replace(tmp, final)
    for path in remove:
        path.unlink(missing_ok=True)


def _journal(moves: list[tuple[Path, Path]], token: str) -> list[Path]:
    """The journal of a set of moves, written (and flushed to disk) in every destination folder."""
    journals = [folder / f".{token}.eet-journal.json" for folder in dict.fromkeys(final.parent for _, final in moves)]
    entry = json.dumps({"moves": [[str(a), str(b)] for a, b in moves], "journals": [str(j) for j in journals]})
    for journal in journals:
        with open(journal, "x", encoding="utf-8") as f:
            f.write(entry)
            f.flush()
            os.fsync(f.fileno())
    return journals


@contextmanager
def atomic_all(paths: list[str | Path]) -> Iterator[list[Path]]:
    """Yields a temporary path beside each of `paths`; when the block succeeds they replace them all, else none is
    touched and every temporary file (and whatever a writer added beside it) is removed. A set of more than one
    moves under a journal: once it is written the temporaries belong to it, and a move that fails or is killed is
    finished by the next sweep."""
    paths = [Path(p) for p in paths]
    token = uuid.uuid4().hex[:8]
    tmps = [partial_path(p, token) for p in paths]
    journaled: set[Path] = set()
    marks: dict[Path, int] = {}  # while it runs, no sweep of another process takes its temporaries
    try:
        for folder in dict.fromkeys(p.parent for p in paths):
            marks[folder / f".{token}.eet-live"] = hold(folder / f".{token}.eet-live")
        yield tmps
        moves = list(zip(tmps, paths))
        journals = _journal(moves, token) if len(moves) > 1 else []
        journaled.update(tmps if journals else ())
        _move(moves, journals)
    finally:
        for tmp in tmps:
            for leftover in tmp.parent.glob(f"{glob.escape(tmp.name)}*"):
                if leftover not in journaled:
                    leftover.unlink(missing_ok=True)
        for mark, fd in marks.items():
            release(mark, fd)


@contextmanager
def atomic(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside `path`; when the block succeeds it replaces `path`, else it is removed."""
    with atomic_all([path]) as (tmp,):
        yield tmp


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def split_mesh_spec(spec: str) -> tuple[str, str]:
    """'hero.blend:Face' -> ('hero.blend', 'Face'); ':Face' -> ('', 'Face'); 'head.npz' -> ('head.npz', '')."""
    if ".blend:" in spec or spec.startswith(":"):
        path, _, name = spec.rpartition(":")
        return path, name
    return spec, ""
