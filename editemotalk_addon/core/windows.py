"""Long clips through a network that attends to its whole input (and may cap its length): overlapping windows,
each frame taken from the window where it lies furthest from a cut edge (the pretrained networks' feeders).

Windows are independent, so they run side by side: RUNNING at a time on the shared pool, each on its own share of
the cores (onnx_sessions.shared_cores). One session serves every thread (ONNX Runtime's run is thread-safe and
releases the GIL); the recogniser's and the voice encoder's windows share the pool, so the two networks also run at
once (core/animator.py).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

RUNNING = 2  # windows at once: two cores on the smallest machine we support, and two networks per clip
_pool: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """The threads that run windows, made on first use."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(RUNNING, thread_name_prefix="editemotalk-window")
    return _pool


def plan(total: int, window: int, context: int) -> list[tuple[int, int, int, int]]:
    """(start, stop, first, last) per window: it runs frames [start, stop) and gives the clip frames [first, last).
    Windows hold `window` frames and overlap by 2 x `context`; the last one ends with the clip."""
    out, first = [], 0  # first: the first frame the next window contributes
    while first < total:
        start = max(0, first - context)
        stop = min(total, start + window)
        if stop == total:  # the last window: full length, ending with the clip
            start, last = max(0, total - window), total
        else:
            last = stop - context
        out.append((start, stop, first, last))
        first = last
    return out


def stitched(
    total: int, window: int, context: int, run: Callable[[int, int], tuple], span: tuple[int, int] | None = None
) -> tuple[np.ndarray, ...]:
    """The frames 0..total (or `span`, [first, last) of them) of every output of `run(start, stop)`, which runs
    the network on window frames [start, stop) and returns its outputs with that window's frame 0 first; the
    windows that give the frames wanted run on the pool, and a span gets what the whole clip would."""
    begin, end = span or (0, total)
    windows = [w for w in plan(total, window, context) if w[2] < end and w[3] > begin]
    if windows == [(0, total, 0, total)] and span is None:
        return tuple(run(0, total))
    stitched = None  # filled window by window as they finish: a long clip's outputs are held once, not twice
    for (start, _, first, last), outputs in zip(windows, pool().map(lambda w: run(w[0], w[1]), windows)):
        if stitched is None:
            stitched = tuple(np.empty((end - begin, *out.shape[1:]), out.dtype) for out in outputs)
        first, last = max(first, begin), min(last, end)
        for whole, out in zip(stitched, outputs):
            whole[first - begin : last - begin] = out[first - start : last - start]
    return stitched
