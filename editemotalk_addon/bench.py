"""Blender-side benchmarks for `python build.py bench`: bake, live preview, extension, batch throughput."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bpy
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _median_time(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)), 4)


def bake_speed(frames: int = 1800) -> float:
    """52 channels x 1800 frames (a minute at 30 fps) written as one combined action on the stylised head."""
    from . import bake, heads
    from .core import pipeline

    bpy.ops.wm.read_factory_settings(use_empty=True)
    obj = heads.add_demo_head(bpy.context, stylised=True)
    bake.update_mapping(obj, "arkit")
    weights = np.random.default_rng(0).uniform(0, 1, (frames, 52)).astype(np.float32)
    perf = pipeline.captured(np.arange(frames) / 30, weights, 30)
    return _median_time(lambda: bake.bake_clip(bpy.context.scene, obj, perf, "/bench/clip.wav", 1, True, False))


def preview_speed(audio_path: Path) -> float:
    """One slider change on a 60 s clip: regenerate (cached analysis) and show the current frame."""
    from . import live

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = 30
    s = scene.editemotalk
    bpy.ops.editemotalk.add_demo_head()
    s.audio_path = str(audio_path)
    bpy.ops.editemotalk.analyze()
    scene.frame_set(900)
    values = iter(np.linspace(0.0, 1.0, 50))

    def change():
        s.happy = float(next(values))  # property update -> regenerate -> apply the frame
        live.refresh(scene)

    s.live_preview = True
    result = _median_time(change, 10)
    s.live_preview = False
    return result


def extension_figures(out: Path, speech_wav: Path) -> dict:
    """All four zips (sizes), and enabling the linux one in a fresh Blender."""
    subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "extension", "--out", str(out)], check=True, capture_output=True
    )
    sizes = {z.name: round(z.stat().st_size / 1e6, 1) for z in sorted(out.glob("*.zip"))}
    linux = next(out.glob("*linux_x64.zip"))
    sys.path.insert(0, str(ROOT))
    from build import blender_only_venv

    python = blender_only_venv(ROOT / "build" / "blender-only-venv")
    with tempfile.TemporaryDirectory() as home:
        env = {**__import__("os").environ, "BLENDER_USER_RESOURCES": home}
        res = subprocess.run(
            [str(python), str(ROOT / "tests" / "extension_session.py"), "--", str(linux), str(speech_wav)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    report = json.loads(next(line[7:] for line in res.stdout.splitlines() if line.startswith("REPORT ")))
    return {
        "zips_mb": sizes,
        "enable_s": round(report["enable_s"], 3),
        "install_and_enable_s": round(report["install_enable_s"], 3),
        "bake_s": round(report["bake_s"], 3),
    }


def batch_throughput(clips: list[Path], out: Path, workers=(1, 2)) -> dict:
    """Clips per minute for a manifest of clips baked to .blend + FBX + CSV, and the per-clip cost split."""
    result = {"clips": len(clips), "clip_seconds": 5, "clips_per_minute": {}, "per_clip_s": {}}
    for n in workers:
        folder = out / f"w{n}"
        folder.mkdir(parents=True, exist_ok=True)
        manifest = folder / "jobs.jsonl"
        manifest.write_text(
            "".join(
                json.dumps(
                    {
                        "audio": str(c),
                        "mesh": "demo",
                        "emotion": {"happy": 0.5},
                        "out": f"out/{c.stem}.blend",
                        "fbx": f"out/{c.stem}.fbx",
                        "csv": f"out/{c.stem}.csv",
                    }
                )
                + "\n"
                for c in clips
            )
        )
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "editemotalk_addon", "batch", str(manifest), "--workers", str(n), "--no-progress"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - start
        result["clips_per_minute"][n] = round(60 * len(clips) / wall, 1)
        summary = json.loads(next(folder.glob("*.summary.json")).read_text())
        if n == 1:
            for stage in ("load", "analyze", "generate", "bake", "export"):
                result["per_clip_s"][stage] = round(float(np.mean([s[stage] for s in summary["stats"]])), 3)
    return result
