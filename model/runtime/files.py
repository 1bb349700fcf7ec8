"""Files, written once: SHA-256 of a file, atomic replacement, and the `FILE.blend:OBJECT` mesh spec.

Every output in the project (exports, batch records, corpus shards, checkpoints, weights manifests) is written
through `atomic`, so an interrupted or failed write never leaves a half file that looks finished.
"""

from __future__ import annotations

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
    """Temporary files that a killed write of `path` left behind."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.stem}.*{PARTIAL}{path.suffix}")) if path.parent.is_dir() else []


@contextmanager
def atomic(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside `path`; when the block succeeds it replaces `path`, else it is removed."""
    path = Path(path)
    tmp = partial_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def split_mesh_spec(spec: str) -> tuple[str, str]:
    """'hero.blend:Face' -> ('hero.blend', 'Face'); ':Face' -> ('', 'Face'); 'head.npz' -> ('head.npz', '')."""
    if ".blend:" in spec or spec.startswith(":"):
        path, _, name = spec.rpartition(":")
        return path, name
    return spec, ""
