"""One spawned process per core for the corpus and its labels: results as they finish, and a crashed worker
fails the run with one line instead of hanging it (as multiprocessing.Pool would)."""

from __future__ import annotations

import os


def _init_worker():
    os.environ["OMP_NUM_THREADS"] = "1"  # one process per core; numpy must not oversubscribe


def parallel(fn, args: list, workers: int):
    """fn(a) for each a in one spawned process per core, results as they finish. A worker that dies (a native
    crash) fails the run with one line instead of hanging it, as multiprocessing.Pool would; finished shards stay."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        try:
            for done in as_completed([pool.submit(fn, a) for a in args]):
                yield done.result()
        except BrokenProcessPool:
            raise RuntimeError(
                "a worker process crashed; run `python build.py setup --fresh` and run the command again "
                "(it resumes where it stopped)"
            ) from None
