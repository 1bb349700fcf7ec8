"""Files, written once: SHA-256 of a file, atomic replacement, and the `FILE.blend:OBJECT` mesh spec.

Every output in the project (exports, batch records, corpus shards, checkpoints, weights manifests) is written
through `atomic`, so an interrupted or failed write never leaves a half file that looks finished.
"""

from __future__ import annotations

import glob
import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL = ".partial"  # temporary files are named .<stem>.<random>.partial<suffix> beside their destination


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}{PARTIAL}{path.suffix}")


def leftover_partials(path: str | Path) -> list[Path]:
    """Temporary files that a killed write of `path` left behind (with what writers add to them, like Blender's
    `.partial.blend@`)."""
    path = Path(path)
    pattern = f".{glob.escape(path.stem)}.*{PARTIAL}{glob.escape(path.suffix)}*"
    return sorted(path.parent.glob(pattern)) if path.parent.is_dir() else []


@contextmanager
def atomic_all(paths: list[str | Path]) -> Iterator[list[Path]]:
    """Yields a temporary path beside each of `paths`; when the block succeeds they replace them all, else none is
    touched and every temporary file (and whatever a writer added beside it) is removed."""
    paths = [Path(p) for p in paths]
    tmps = [partial_path(p) for p in paths]
    try:
        yield tmps
        for tmp, path in zip(tmps, paths):
            os.replace(tmp, path)
    finally:
        for tmp in tmps:
            for leftover in tmp.parent.glob(f"{glob.escape(tmp.name)}*"):
                leftover.unlink()


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
