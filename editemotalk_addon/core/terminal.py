"""What a terminal shows of a long run: one progress line, and Blender's own chatter kept off it when asked."""

from __future__ import annotations

import contextlib
import os
import sys


class Progress:
    """`label: done/total unit` on stderr: one line updated in place on a terminal, or, in a log (not a terminal),
    a line each time another tenth is done. update() takes the count done so far."""

    def __init__(self, label: str, total: int, unit: str, enabled: bool = True, stream=None):
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.done, self._tenths = 0, 0
        self._in_place = self.stream.isatty()

    def advance(self, count: int = 1) -> None:
        self.update(self.done + count)

    def update(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        line = f"{self.label}: {done}/{self.total} {self.unit}"
        if self._in_place:
            self.stream.write(f"\r{line}" + ("\n" if done >= self.total else ""))
        elif done * 10 // self.total > self._tenths or done >= self.total:
            self._tenths = done * 10 // self.total
            self.stream.write(line + "\n")
        self.stream.flush()


@contextlib.contextmanager
def progress_alone(label: str, total: int, unit: str):
    """A Progress on the terminal's stderr, while everything else the process writes goes nowhere."""
    with os.fdopen(os.dup(2), "w") as shown, quiet():
        yield Progress(label, total, unit, stream=shown)


@contextlib.contextmanager
def quiet():
    """What the process writes to stdout and stderr (Blender's C code included) goes nowhere while the block runs:
    an exporter's chatter, a failing one's whole traceback (the caller's one line says what went wrong), or a
    render's lines (a progress line says how far it is)."""
    fds = (1, 2)
    sys.stdout.flush(), sys.stderr.flush()
    saved = [os.dup(fd) for fd in fds]
    try:
        with open(os.devnull, "w") as sink:
            for fd in fds:
                os.dup2(sink.fileno(), fd)
        yield
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        for fd, copy in zip(fds, saved):
            os.dup2(copy, fd)
            os.close(copy)
