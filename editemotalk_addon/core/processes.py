"""Child processes and the machine they share: a child that ends with its parent (batch workers, the Alembic
exporter), how a process that imported bpy ends, how Ctrl-C and SIGTERM stop it, and how many batch workers this
machine runs well (its cores and free memory)."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import time

WORKER_BYTES = 400 << 20  # one batch worker: Blender, the model and a job (about 340 MB measured)
PR_SET_PDEATHSIG = 1
LINUX = sys.platform.startswith("linux")
STOP_GRACE = 1.0  # seconds from Ctrl-C or SIGTERM to the end of the process, whatever runs
STOPPED: dict[str, int] = {}  # {"signal": number} once Ctrl-C or SIGTERM arrived
_LEAVING = threading.Lock()
_ON_LEAVE: dict = {}  # what `leave` runs first, in the order given (what the shutdown it skips would have done)


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


def leave(status: int, line: str | None = None) -> None:
    """End this process now with `status` (after printing `line` to stderr), its output flushed, without Python's
    or Blender's shutdown. bpy's own exit can wait forever (a rig with a Python driver: even `import bpy;
    open_mainfile(rig.blend)` never exits), and every file a command or worker writes is complete and closed before
    it returns. The first caller ends the process; another thread calling meanwhile waits for that."""
    _LEAVING.acquire()
    for tidy in _ON_LEAVE:
        with contextlib.suppress(Exception):  # leaving goes on whatever a tidy-up meets
            tidy()
    if line:
        print(line, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken pipe: nothing more to say
            stream.flush()
    os._exit(status)


def on_leave(tidy) -> None:
    """`tidy()` runs when this process leaves (see `leave`), once however often it is given."""
    _ON_LEAVE[tidy] = True


class Overdue(Exception):
    """A block ran past its deadline (see `deadline`)."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Raises Overdue in this thread when the block runs past `seconds`, a blocking read or wait included (the
    alarm interrupts it). The main thread of a POSIX process only (SIGALRM); elsewhere the block is unbounded."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise Overdue(f"ran past its deadline of {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def stop_on_signals() -> None:
    """Ctrl-C (SIGINT) and SIGTERM stop this process within STOP_GRACE seconds, whatever runs: KeyboardInterrupt
    at once, which unwinds the run (its temporaries removed; the command prints `stopped_line`), and should code
    swallow it (Blender's operators catch every exception their Python raises: an FBX export ran on for 45 s) the
    process ends when the grace is up, with the same line. Main thread only."""

    def handler(signum, frame):
        if STOPPED:  # stopping already: the first signal's grace ends the process
            return
        STOPPED["signal"] = signum
        timer = threading.Timer(STOP_GRACE, lambda: leave(stopped_status(), stopped_line()))
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)


def stopped_status() -> int:
    return 128 + STOPPED.get("signal", signal.SIGINT)  # what a shell reports for a process a signal ended


def stopped_line() -> str:
    how = "SIGTERM" if STOPPED.get("signal") == signal.SIGTERM else "Ctrl-C"
    return (
        f"editemotalk: interrupted ({how}) - outputs being written were left as they were, finished jobs kept; "
        "run again to go on"
    )


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
