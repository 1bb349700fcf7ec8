"""`python build.py corpus --hours H`: plan, build in parallel, resume, and write the manifest.

The plan is deterministic: real sources are taken in a fixed (hashed) order per split, synthetic sentences in index
order, and each shard records the items it was built from, so a rerun skips finished shards and a larger --hours
only adds work. Every source is represented at any size, and every split of every source.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..parallel import parallel
from . import emodb, english_read, facegood, synthetic
from .base import Item
from .splits import SPLITS
from .store import MANIFEST, shard_done, write_shard

REAL_SHARE = 0.6  # of the budget, at most; the rest (and whatever real data cannot fill) is synthetic
SOURCES = {  # name: (module, data folder, items per shard)
    "emodb": (emodb, "emodb", 60),
    "facegood": (facegood, "facegood", 6),
    "english_read": (english_read, "english_read", 40),
    "synthetic": (synthetic, None, 4),
}


@dataclass(frozen=True)
class Job:
    shard: str
    source: str
    items: tuple[Item, ...]

    @property
    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]


def _hashed(items: list[Item]) -> list[Item]:
    return sorted(items, key=lambda i: hashlib.sha1(i.id.encode()).hexdigest())


def plan(hours: float, data_root: Path) -> list[Job]:
    budget = hours * 3600
    real = {
        name: SOURCES[name][0].items(data_root / SOURCES[name][1]) for name in ("emodb", "facegood", "english_read")
    }
    real_seconds = sum(i.seconds for items in real.values() for i in items)
    fraction = min(1.0, REAL_SHARE * budget / real_seconds)
    jobs, used = [], 0.0
    for name, items in real.items():
        per_shard = SOURCES[name][2]
        for split in SPLITS:
            chosen = _hashed([i for i in items if i.split == split])
            chosen = chosen[: max(1, math.ceil(fraction * len(chosen)))]
            used += sum(i.seconds for i in chosen)
            for k in range(0, len(chosen), per_shard):
                jobs.append(Job(f"{name}-{split}-{k // per_shard:04d}.npz", name, tuple(chosen[k : k + per_shard])))
    # At least one sentence per synthesizer family and per split, whatever the budget.
    count = max(math.ceil(max(budget - used, 0) / synthetic.SECONDS_PER_ITEM), 12)
    items = synthetic.items(count)
    for split in ("validation", "test"):
        if not any(i.split == split for i in items):
            items += [i for i in synthetic.items(count + 64)[count:] if i.split == split][:3]
    per_shard = SOURCES["synthetic"][2]
    for k in range(0, len(items), per_shard):
        jobs.append(Job(f"synthetic-{k // per_shard:05d}.npz", "synthetic", tuple(items[k : k + per_shard])))
    return jobs


def _run(args) -> tuple[str, list[dict], list[str], float]:
    job, shards, data_root = args
    done = shard_done(shards / job.shard, job.item_ids)
    if done is not None:
        return job.shard, done, [], 0.0
    module, folder = SOURCES[job.source][0], SOURCES[job.source][1]
    examples, problems = [], []
    for item in job.items:
        ex, prob = module.build(item, data_root / folder if folder else None)
        examples += ex
        problems += prob
    rows = write_shard(shards / job.shard, examples, job.item_ids)
    return job.shard, rows, problems, sum(r["duration"] for r in rows)


def build_corpus(out: Path, hours: float, data_root: Path, workers: int = 2, progress: bool = True) -> dict:
    """Build (or finish) the corpus under `out`; returns a summary with counts and throughput."""
    from tqdm import tqdm

    out = Path(out)
    shards = out / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    jobs = plan(hours, Path(data_root))
    start = time.perf_counter()
    rows_by_shard, problems, built_seconds = {}, [], 0.0
    results = parallel(_run, [(j, shards, Path(data_root)) for j in jobs], workers)
    bar = tqdm(results, total=len(jobs), desc="corpus", unit="shard", disable=not progress)
    for shard, rows, probs, seconds in bar:
        rows_by_shard[shard] = rows
        problems += probs
        built_seconds += seconds
        bar.set_postfix(audio_h=f"{sum(r['duration'] for rs in rows_by_shard.values() for r in rs) / 3600:.2f}")
    wall = time.perf_counter() - start
    rows = [r for j in jobs for r in rows_by_shard[j.shard]]
    with open(out / MANIFEST, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    (out / "problems.txt").write_text("".join(p + "\n" for p in problems), encoding="utf-8")
    summary = {
        "examples": len(rows),
        "hours": round(sum(r["duration"] for r in rows) / 3600, 3),
        "built_seconds_of_audio": round(built_seconds, 1),
        "wall_seconds": round(wall, 1),
        "realtime_factor": round(built_seconds / wall, 1) if built_seconds else None,
        "skipped": len(problems),
        "by_source": dict(Counter(f"{r['source']}/{r['split']}" for r in rows)),
        "by_emotion": dict(Counter(r["emotion"] for r in rows)),
        "by_family": dict(Counter(r["family"] for r in rows if r["family"])),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
