"""`python build.py demo`: the whole pipeline headless, on our demo head and a sentence our code synthesizes.

Analyze once, key an emotion sweep (neutral -> happy -> sad -> angry) on the sliders, bake, save a .blend and
render a strip of frames with Workbench.
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy

SENTENCE = "Maybe Bob brought the purple map to my mother, but the baby bird flew home before the movie began."
SWEEP = ("neutral", "happy", "sad", "angry")


def _camera(scene, target):
    cam = bpy.data.objects.new("EET Camera", bpy.data.cameras.new("EET Camera"))
    scene.collection.objects.link(cam)
    cam.location = (target.location.x, target.location.y - 0.55, target.location.z)
    cam.rotation_euler = (math.radians(90), 0, 0)
    cam.data.lens = 60
    scene.camera = cam
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "MATERIAL"
    scene.render.resolution_x, scene.render.resolution_y = 320, 360
    scene.world = scene.world or bpy.data.worlds.new("EET World")
    scene.world.color = (0.22, 0.23, 0.26)


def run_demo(out_dir: Path, frames_in_strip: int = 8) -> tuple[Path, Path]:
    from PIL import Image, ImageDraw

    from . import register
    from .core import audio

    try:
        from model.training.synth import Voice, synthesize
    except ImportError as exc:  # the synthesizers live in the repository, not in the extension
        raise SystemExit(f"the demo needs a repository checkout: {exc}") from None

    out_dir.mkdir(parents=True, exist_ok=True)
    wav = out_dir / "demo_line.wav"
    audio.write_wav(wav, synthesize(SENTENCE, Voice("flite", "slt"), {"neutral": 0.0})["neutral"])
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if not hasattr(bpy.types.Scene, "editemotalk"):
        register()
    scene = bpy.context.scene
    scene.render.fps = 30
    s = scene.editemotalk
    bpy.ops.editemotalk.add_demo_head()
    s.audio_path, s.start_frame, s.mode = str(wav), 1, "absolute"
    bpy.ops.editemotalk.analyze()
    from . import live

    frames = int(live.cached_analysis(str(wav)).duration * 30)
    quarter = frames / len(SWEEP)
    for k, emotion in enumerate(SWEEP):  # hold each emotion for most of its quarter, ramp between
        for name in ("happy", "sad", "angry"):
            value = 1.0 if name == emotion else 0.0
            for frame in (1 + k * quarter + 0.2 * quarter, 1 + (k + 1) * quarter - 0.2 * quarter):
                setattr(s, name, value)
                s.keyframe_insert(name, frame=frame)
    bpy.ops.editemotalk.bake()
    blend = out_dir / "demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    _camera(scene, s.target)
    tiles = []
    for i in range(frames_in_strip):
        frame = int(1 + (i + 0.5) * frames / frames_in_strip)
        scene.frame_set(frame)
        scene.render.filepath = str(out_dir / f"frame_{frame:04d}.png")
        bpy.ops.render.render(write_still=True)
        tile = Image.open(scene.render.filepath).convert("RGB")
        ImageDraw.Draw(tile).text((8, 8), f"{SWEEP[min(int((frame - 1) / quarter), 3)]}  f{frame}", fill="white")
        tiles.append(tile)
    strip = Image.new("RGB", (sum(t.width for t in tiles), tiles[0].height))
    for i, tile in enumerate(tiles):
        strip.paste(tile, (i * tile.width, 0))
    png = out_dir / "demo_strip.png"
    strip.save(png)
    return blend, png
