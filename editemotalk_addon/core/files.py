"""Files, written once: SHA-256 of a file, atomic replacement (of one file or a set), the sweep of what a killed
write left, and the `FILE.blend:OBJECT` mesh spec.

Every output in the project (exports, batch records, corpus shards, checkpoints, weights manifests) is written
through `atomic` or `atomic_all`, so an interrupted or failed write never leaves a half file that looks finished.
A set of files moves into place under a journal (`.<token>.eet-journal.json` in each destination folder, listing
every temporary -> final move) written before the first move: a run killed between two moves is finished by the
next `sweep` of any of those folders, so readers see the old set or the new one, never a mix. Temporary names carry
the marker `.eet-partial`; the sweep deletes only names with that marker, never a user's file.
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

MARK = ".eet-partial"  # temporary files are named .<stem>.<8 hex digits>.eet-partial<suffix> beside their destination
PARTIAL_NAME = re.compile(rf"\.(.*)\.[0-9a-f]{{8}}({re.escape(MARK)}.*)", re.S)  # (stem, mark + suffix + additions)
JOURNAL = re.compile(r"\.[0-9a-f]{8}\.eet-journal\.json")
UNFINISHED_JOURNAL_SECONDS = 60  # an unreadable journal this old was cut off while written, before any move


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_readable(path: str | Path, what: str) -> None:
    """Raise InputError naming `what` when `path` cannot be opened and read (its permissions, a broken disk)."""
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be read ({exc.strerror or exc}) - check its permissions") from None


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}{MARK}{path.suffix}")


def sweep(paths: list[str | Path]) -> None:
    """Before writing `paths`: finish every set of moves a killed run left in their folders, then delete the
    temporary files killed writes of them left (one listing of each folder, however many paths it holds)."""
    paths = [Path(p) for p in paths]
    for folder in dict.fromkeys(p.parent for p in paths):
        finish_moves(folder)
    for stale in _leftovers(paths):
        stale.unlink(missing_ok=True)


def _leftovers(paths: list[Path]) -> list[Path]:
    found = []
    for folder in dict.fromkeys(p.parent for p in paths):
        suffixes: dict[str, list[str]] = {}
        for p in paths:
            if p.parent == folder:
                suffixes.setdefault(p.stem, []).append(p.suffix)
        names = [e.name for e in os.scandir(folder)] if folder.is_dir() else []
        for name in names:
            ours = PARTIAL_NAME.fullmatch(name)
            if ours and any(ours[2].startswith(MARK + suffix) for suffix in suffixes.get(ours[1], ())):
                found.append(folder / name)
    return sorted(found)


def finish_moves(folder: str | Path) -> None:
    """Settle every journal in `folder`. A set's journal is written whole in each of its destination folders, one
    after another, before its first move, and removed after its last. So: every copy whole -> the moves began, or
    may have: finish them (the temporaries were complete and checked), the new set. A copy missing or cut off
    while temporaries remain -> the writer was killed before any move: remove the temporaries, the old set (once
    it is old enough not to be a journal being written now). No temporary left -> the set was moved: the copies
    go."""
    folder = Path(folder)
    journals = [e.name for e in os.scandir(folder) if JOURNAL.fullmatch(e.name)] if folder.is_dir() else []
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


def _journal(moves: list[tuple[Path, Path]]) -> list[Path]:
    """The journal of a set of moves, written (and flushed to disk) in every destination folder."""
    token = uuid.uuid4().hex[:8]
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
    tmps = [partial_path(p) for p in paths]
    journaled: set[Path] = set()
    try:
        yield tmps
        moves = list(zip(tmps, paths))
        journals = _journal(moves) if len(moves) > 1 else []
        journaled.update(tmps if journals else ())
        _move(moves, journals)
    finally:
        for tmp in tmps:
            for leftover in tmp.parent.glob(f"{glob.escape(tmp.name)}*"):
                if leftover not in journaled:
                    leftover.unlink(missing_ok=True)


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
