"""Child processes and the machine they share: a batch worker that ends with its parent, and how many batch
workers this machine runs well (its cores and free memory)."""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time

WORKER_BYTES = 400 << 20  # one batch worker: Blender, the model and a job (about 340 MB measured)
PR_SET_PDEATHSIG = 1
LINUX = sys.platform.startswith("linux")


def die_with_parent(parent: int) -> None:
    """This process ends when `parent` does, even when the parent is killed (kill -9 leaves it no say). On Linux
    the kernel sends the signal; elsewhere a thread watches the parent."""
    if LINUX:
        _prctl()(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took hold
            os._exit(1)
        return

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


@functools.cache
def _prctl():
    import ctypes

    return ctypes.CDLL(None, use_errno=True).prctl


def cores() -> int:
    """The cores this process may run on (a Slurm or container limit included where the system applies it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def free_memory() -> int | None:
    """Bytes of memory available to new processes, or None where the system does not say."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def worker_limit(requested: int) -> tuple[int, str | None]:
    """(the workers to start, a warning when that is fewer than requested): at most one per core, and as many as
    the free memory holds at WORKER_BYTES each; at least one."""
    have, memory = cores(), free_memory()
    fit = min(have, memory // WORKER_BYTES) if memory is not None else have
    workers = max(1, min(requested, fit))
    if workers == requested:
        return workers, None
    room = f", {memory / 2**30:.1f} GB free memory at about {WORKER_BYTES / 2**30:.1f} GB a worker" if memory else ""
    return workers, f"--workers {requested} is more than this machine runs well: using {workers} ({have} cores{room})"
