"""`python build.py demo`: the teacher picture, and the whole pipeline headless in Blender.

- teacher_demo: one synthesized sentence in three emotions, its phones, and the teacher's key curves.
- run_demo: the bundled realistic head and a real English voice, a CMU ARCTIC prompt held out from training
  (speaker slt, arctic_b0450; CMU's licence, notice in docs/CMU_ARCTIC_NOTICE.txt), or, without the shared data
  folder, a sentence our own code synthesizes. Analyze once, key an emotion sweep (neutral -> happy -> sad ->
  angry) on the sliders, bake, save a .blend, render a strip of frames with Workbench, the preview video with its
  sound, and a small animated GIF for the README.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DEMO_SENTENCE = "Maybe Bob brought the purple map to the museum."
DEMO_VOICE = ("flite", "slt")
KEY_CURVES = ("jawOpen", "mouthClose", "mouthSmileLeft", "browInnerUp", "eyeBlinkLeft")


def teacher_demo(out_dir: Path, emotions=("neutral", "happy", "sad"), fps: int = 30) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from editemotalk_addon.core.rig import INDEX

    from ..training import teacher
    from ..training.align import align
    from ..training.phones import SIL
    from ..training.prosody import analyze_prosody
    from ..training.synth import Voice, synthesize

    out_dir.mkdir(parents=True, exist_ok=True)
    audio = synthesize(DEMO_SENTENCE, Voice(*DEMO_VOICE), {e: 0.0 if e == "neutral" else 1.0 for e in emotions})
    fig, axes = plt.subplots(
        2, len(emotions), figsize=(6 * len(emotions), 6.5), sharey="row", gridspec_kw={"height_ratios": [1, 2]}
    )
    for col, emotion in enumerate(emotions):
        x = audio[emotion]
        phones = align(x, DEMO_SENTENCE)
        perf = teacher.perform(phones, analyze_prosody(x), emotion, 1.0, seed=3, fps=fps)
        t_audio = np.arange(len(x)) / 16000
        ax = axes[0, col]
        ax.plot(t_audio, x, lw=0.4, color="0.3")
        for seg in phones:
            if seg.phone != SIL:
                colour = "tab:red" if seg.phone in ("P", "B", "M") else "0.6"
                ax.axvspan(seg.start, seg.end, color=colour, alpha=0.15 if colour == "0.6" else 0.3, lw=0)
                ax.text(0.5 * (seg.start + seg.end), 0.92 * np.abs(x).max(), seg.phone, ha="center", fontsize=6)
        ax.set_title(f"{emotion}: \u201c{DEMO_SENTENCE}\u201d", fontsize=9)
        ax.set_yticks([])
        ax = axes[1, col]
        t = np.arange(len(perf.weights)) / fps
        for name in KEY_CURVES:
            ax.plot(t, perf.weights[:, INDEX[name]], label=name, lw=1.2)
        for seg in phones:
            if seg.phone in ("P", "B", "M"):
                ax.axvspan(seg.start, seg.end, color="tab:red", alpha=0.12, lw=0)
        ax.set_xlabel("seconds")
        ax.set_ylim(0, 1)
    axes[1, 0].set_ylabel("ARKit weight")
    axes[1, 0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Teacher performance (red bands: p/b/m, where the lips must seal)")
    fig.tight_layout()
    path = out_dir / "teacher.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


ARCTIC = Path("english_read") / "cmu_arctic" / "slt" / "arctic_b0450.flac"
ARCTIC_TEXT = "To my dearest and always appreciated friend, I submit myself."
SENTENCE = "Maybe Bob brought the purple map to my mother, but the baby bird flew home before the movie began."
SWEEP = ("neutral", "happy", "sad", "angry")
BACKGROUND = (0.22, 0.23, 0.26)


def _voice(out_dir: Path, data: Path) -> tuple[Path, str]:
    """The recording to animate, and what it says."""
    if (data / ARCTIC).exists():
        return data / ARCTIC, f"CMU ARCTIC slt, arctic_b0450: {ARCTIC_TEXT}"
    from editemotalk_addon.core import audio

    from ..training.synth import Voice, synthesize

    wav = out_dir / "demo_line.wav"
    audio.write_wav(wav, synthesize(SENTENCE, Voice("flite", "slt"), {"neutral": 0.0})["neutral"])
    return wav, f"flite slt (synthesized): {SENTENCE}"


def _stills(scene, obj, frames: list[int], size: int, out_dir: Path) -> list:
    """Workbench renders of `frames` (full anti-aliasing), as PIL images."""
    import bpy
    from PIL import Image

    from editemotalk_addon.blender import playblast

    blast = playblast.Playblast(scene, obj, (frames[0], frames[-1]), "", size)
    scene.render.image_settings.file_format, scene.display.render_aa = "PNG", "16"  # restored with the rest
    images = []
    try:
        for frame in frames:
            scene.frame_set(frame)
            scene.render.filepath = str(out_dir / f"frame_{size}_{frame:04d}.png")
            bpy.ops.render.render(write_still=True)
            images.append(Image.open(scene.render.filepath).convert("RGB"))
    finally:
        blast.restore()
    return images


def run_demo(out_dir: Path, docs: Path, data: Path, frames_in_strip: int = 8) -> list[Path]:
    import bpy
    from PIL import Image, ImageDraw

    from editemotalk_addon.blender import exports, playblast, session
    from editemotalk_addon.blender.jobs import ensure_registered

    out_dir.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    ensure_registered()
    voice, caption = _voice(out_dir, data)
    scene = bpy.context.scene
    scene.render.fps = 30
    scene.world = bpy.data.worlds.new("EET World")
    scene.world.color = BACKGROUND
    s = scene.editemotalk
    bpy.ops.editemotalk.add_demo_head()
    s.audio_path, s.start_frame, s.mode = str(voice), 1, "ABSOLUTE"
    bpy.ops.editemotalk.analyze()
    frames = int(session.cached_analysis(str(voice)).duration * 30)
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
    obj, first, last = s.target, *playblast.clip_frames(s.target, str(voice))
    emotion_at = lambda frame: SWEEP[min(int((frame - 1) / quarter), len(SWEEP) - 1)]

    strip_frames = [int(1 + (i + 0.5) * frames / frames_in_strip) for i in range(frames_in_strip)]
    tiles = _stills(scene, obj, strip_frames, 320, out_dir)
    for tile, frame in zip(tiles, strip_frames):
        ImageDraw.Draw(tile).text((8, 8), f"{emotion_at(frame)}  f{frame}", fill="white")
    strip = Image.new("RGB", (sum(t.width for t in tiles), tiles[0].height))
    for i, tile in enumerate(tiles):
        strip.paste(tile, (i * tile.width, 0))
    docs.mkdir(parents=True, exist_ok=True)
    png = docs / "demo_strip.png"
    strip.save(png, optimize=True)

    movie = docs / "demo_preview.mp4"
    exports.write_preview(movie, scene, obj, (first, last), progress=True)

    gif_frames = list(range(first, last + 1, 2))  # 15 frames a second
    images = _stills(scene, obj, gif_frames, 240, out_dir)
    for image, frame in zip(images, gif_frames):
        ImageDraw.Draw(image).text((6, 6), emotion_at(frame), fill="white")
    gif = docs / "demo_preview.gif"
    palette = [image.quantize(colors=96) for image in images]
    palette[0].save(gif, save_all=True, append_images=palette[1:], duration=1000 * 2 // 30, loop=0, optimize=True)
    (out_dir / "voice.txt").write_text(caption + "\n")
    return [blend, png, movie, gif]
