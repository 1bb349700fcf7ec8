"""Long clips through a network that attends to its whole input (and may cap its length): overlapping windows,
each frame taken from the window where it lies furthest from a cut edge (the pretrained networks' feeders)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def stitched(total: int, window: int, context: int, run: Callable[[int, int], tuple]) -> tuple[np.ndarray, ...]:
    """The frames 0..total of every output of `run(start, stop)`, which runs the network on window frames
    [start, stop) and returns its outputs with that window's frame 0 first. Windows hold `window` frames and
    overlap by 2 x `context`; the last one ends with the clip."""
    parts, first = [], 0  # first: the first frame the next window contributes
    while first < total:
        start = max(0, first - context)
        stop = min(total, start + window)
        if stop == total:  # the last window: full length, ending with the clip
            start, last = max(0, total - window), total
        else:
            last = stop - context
        parts.append([out[first - start : last - start] for out in run(start, stop)])
        first = last
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(len(parts[0])))
