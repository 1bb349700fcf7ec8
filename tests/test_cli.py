"""Headless pipelines: the CLI on the bpy module, every export re-imported, batches that fail and resume."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import bpy  # installed by `build.py setup`; a missing bpy fails the suite, never skips it
import numpy as np
import pytest
from bpy_extras import anim_utils
from conftest import ROOT, mp4_tracks

from editemotalk_addon.core.livelink import ROTATIONS, read_csv  # noqa: E402
from editemotalk_addon.core.rig import ARKIT_NAMES, INDEX  # noqa: E402


def cli(*args, timeout=300, **kw):
    return subprocess.run(
        [sys.executable, "-m", "editemotalk_addon", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


@pytest.fixture(scope="module")
def baked_run(tmp_path_factory, speech_wav):
    """One bake of everything: the output folder and the finished process."""
    out = tmp_path_factory.mktemp("cli")
    curves = out / "curves.json"
    curves.write_text(json.dumps({"mode": "absolute", "sliders": {"happy": [[0.0, 0.0], [1.0, 1.0]], "sad": 0.2}}))
    r = cli(
        "bake",
        "--audio",
        speech_wav,
        "--mesh",
        "demo",
        "--emotion-curves",
        curves,
        "--emotion",
        "sad=0.4",
        "--fps",
        30,
        "--start-frame",
        10,
        "--out",
        out / "line.blend",
        "--fbx",
        out / "line.fbx",
        "--abc",
        out / "line.abc",
        "--usd",
        out / "line.usdc",
        "--csv",
        out / "line.csv",
        "--preview",
        out / "line.mp4",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "baked" in r.stdout
    return out, r


@pytest.fixture(scope="module")
def baked(baked_run):
    return baked_run[0]


def _values(obj, frames, names):
    scene = bpy.context.scene
    out = []
    for f in frames:
        scene.frame_set(f)
        out.append([obj.data.shape_keys.key_blocks[n].value for n in names])
    return np.array(out)


def _open_reference(baked):
    bpy.ops.wm.open_mainfile(filepath=str(baked / "line.blend"), load_ui=False)
    return bpy.data.objects["EET Demo Head"]


HEAD_NAMES = [n for n in ARKIT_NAMES if n != "tongueOut"]  # the bundled head's shape keys


def _import(kind, path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = 30
    {
        "fbx": lambda: bpy.ops.import_scene.fbx(filepath=str(path)),  # Blender's defaults
        "abc": lambda: bpy.ops.wm.alembic_import(filepath=str(path)),
        "usd": lambda: bpy.ops.wm.usd_import(filepath=str(path)),
    }[kind]()
    return next(o for o in bpy.data.objects if o.type == "MESH")


FRAMES = [10, 11, 25, 40, 55]


def test_help_documents_every_flag():
    """Every argument the parser takes has help of its own (a few words, not its name), printed by --help."""
    import argparse

    from editemotalk_addon.cli import parser

    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(commands) == {"bake", "batch"}
    for command, sub in commands.items():
        printed = " ".join(cli(command, "--help").stdout.split())
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            name = action.option_strings[0] if action.option_strings else action.dest
            words = (action.help or "").replace("%%", "%").split()
            assert len(words) >= 3, f"{command} {name}: help {action.help!r}"
            assert name in printed and " ".join(words[:3]) in printed, f"{command} {name} missing from --help"
    assert '"sliders"' in cli("bake", "--help").stdout  # the curves format, in the epilog
    assert "--shard" in cli("batch", "--help").stdout


def test_blend_and_csv_hold_the_performance(baked):
    obj = _open_reference(baked)
    assert bpy.context.scene.frame_start == 10 and bpy.context.scene.render.fps == 30
    ref = _values(obj, FRAMES, HEAD_NAMES)
    times, weights, _ = read_csv(baked / "line.csv", fps=30)
    assert np.allclose(times[:3], [0, 1 / 30, 2 / 30])
    assert np.abs(weights[[f - 10 for f in FRAMES]][:, [INDEX[n] for n in HEAD_NAMES]] - ref).max() < 1e-4
    # the keyframed happy slider ramps up over the first second; sad stays at the --emotion override
    assert ref[-1, INDEX["mouthSmileLeft"]] > ref[0, INDEX["mouthSmileLeft"]] + 0.1


def test_fbx_reimports_with_blenders_defaults_on_the_clips_own_frames(baked):
    ref = _values(_open_reference(baked), FRAMES, ["jawOpen", "mouthSmileLeft", "mouthFrownLeft", "eyeBlinkLeft"])
    obj = _import("fbx", baked / "line.fbx")
    ad = obj.data.shape_keys.animation_data
    keys = anim_utils.action_get_channelbag_for_slot(ad.action, ad.action_slot).fcurves[0].keyframe_points
    frames = len(read_csv(baked / "line.csv", fps=30).weights)
    assert (keys[0].co.x, keys[-1].co.x, len(keys)) == (10, 10 + frames - 1, frames)  # baked at --start-frame 10
    got = _values(obj, FRAMES, ["jawOpen", "mouthSmileLeft", "mouthFrownLeft", "eyeBlinkLeft"])
    assert np.abs(got - ref).max() < 1e-3


def test_alembic_vertices_move_at_the_scene_rate(baked):
    obj = _import("abc", baked / "line.abc")
    scene = bpy.context.scene

    def verts(frame):
        scene.frame_set(frame)
        mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh()
        co = np.empty(len(mesh.vertices) * 3, np.float32)
        mesh.vertices.foreach_get("co", co)
        return co.reshape(-1, 3)

    moved = [np.abs(verts(f) - verts(10)).max() for f in (11, 25, 40)]
    assert min(moved) > 1e-4
    cache = obj.modifiers[0].cache_file
    assert cache is not None and abs(cache.frame_offset) < 1e-6


def test_usd_reimports_with_shape_keys(baked):
    ref = _values(_open_reference(baked), FRAMES, ["jawOpen", "mouthSmileLeft"])
    obj = _import("usd", baked / "line.usdc")
    assert len(obj.data.shape_keys.key_blocks) == 52
    got = _values(obj, FRAMES, ["jawOpen", "mouthSmileLeft"])
    assert np.abs(got - ref).max() < 1e-3


def test_preview_is_the_clip_with_its_sound_at_the_scene_rate(baked_run):
    out, r = baked_run
    frames = len(read_csv(out / "line.csv", fps=30).weights)
    clip = bpy.data.movieclips.load(str(out / "line.mp4"))
    assert clip.frame_duration == frames and clip.fps == 30 and tuple(clip.size) == (480, 480)
    assert mp4_tracks(out / "line.mp4") == ["vide", "soun"]
    progress = [line for line in r.stderr.splitlines() if "preview:" in line]
    assert progress[-1] == f"preview: {frames}/{frames} frames" and len(progress) == 10  # a line per tenth in a log
    assert all(line.startswith("preview: ") for line in progress)  # nothing of Blender's glued to it
    for blender_line in ("Append frame", "Fra:", "Time:", "EGL"):  # what Blender prints while it renders: none
        assert blender_line not in r.stdout + r.stderr


def test_live_link_face_capture_bakes_onto_any_mapped_mesh(baked, data_root, tmp_path):
    """A capture as the iPhone app writes it: 'BlendshapeCount', no rotation block, here without TongueOut."""
    with open(baked / "line.csv") as f:
        rows = [line.rstrip("\n").split(",") for line in f]
    keep = [i for i, name in enumerate(rows[0]) if name not in ROTATIONS and name != "TongueOut"]
    rows[0][1] = "BlendshapeCount"
    (tmp_path / "take.csv").write_text("".join(",".join(r[i] for i in keep) + "\n" for r in rows))
    r = cli(
        "bake",
        "--csv-in",
        tmp_path / "take.csv",
        "--capture-fps",
        30,
        "--fps",
        30,
        "--mesh",
        data_root / "ict_facekit" / "ict_face_model.npz",
        "--out",
        tmp_path / "ict.blend",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "unmatched channels: tongueOut" in r.stdout and "not in the capture (left at 0): tongueOut" in r.stdout
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "ict.blend"), load_ui=False)
    obj = bpy.data.objects["ICT Head"]
    weights = read_csv(baked / "line.csv", fps=30).weights
    got = _values(obj, [1, 15, 30], ["browInnerUp_L", "browInnerUp_R", "mouthSmile_L", "jawOpen"])
    want = weights[[0, 14, 29]][
        :, [INDEX["browInnerUp"], INDEX["browInnerUp"], INDEX["mouthSmileLeft"], INDEX["jawOpen"]]
    ]
    assert np.abs(got - want).max() < 1e-3


@pytest.mark.parametrize(
    "case, status",
    [("corrupt audio", 2), ("folder as audio", 2), ("missing mesh file", 2), ("missing object", 2)]
    + [("unwritable output", 1), ("disk full", 1)],
)
def test_failures_give_one_clear_line(case, status, speech_wav, baked, tmp_path):
    """The input is wrong: exit status 2; the run failed: 1."""
    args = ["bake", "--audio", speech_wav, "--mesh", "demo", "--out", tmp_path / "out.blend"]
    kw = {}
    if case == "corrupt audio":
        (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEjunk" * 64)
        args[2], expected = tmp_path / "bad.wav", "Cannot decode"
    elif case == "folder as audio":
        args[2], expected = tmp_path, "is a folder, not a file"
    elif case == "missing mesh file":
        args[4], expected = f"{tmp_path / 'nowhere.blend'}:Face", "mesh file not found"
    elif case == "missing object":
        args[4], expected = f"{baked / 'line.blend'}:Nobody", "no object 'Nobody'"
    elif case == "unwritable output":
        (tmp_path / "a_file").write_text("x")
        args[-1], expected = tmp_path / "a_file" / "out.blend", "is a file, not a folder"
    else:  # a file-size limit makes the disk "full" for this process only: writes fail with EFBIG

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

        kw, expected = {"preexec_fn": limit}, "Cannot write"
    r = cli(*args, **kw)
    assert r.returncode == status, r.stdout[-1000:] + r.stderr[-1000:]
    message = [line for line in r.stderr.splitlines() if line.startswith("editemotalk:")]
    assert len(message) == 1 and expected in message[0], r.stderr[-2000:]
    assert not (tmp_path / "out.blend").exists()
    assert not list(tmp_path.glob(".*partial*"))  # no half-written file left behind


def _manifest(tmp_path, speech_wav, n, broken=()):
    lines = []
    for i in range(n):
        audio = tmp_path / f"line{i:02d}.wav"
        if i in broken:
            audio.write_bytes(b"not audio at all" * 10) if i == broken[0] else None  # the other one is missing
        else:
            audio.write_bytes(speech_wav.read_bytes())
        lines.append(
            json.dumps(
                {
                    "audio": audio.name,
                    "mesh": "demo",
                    "emotion": {"happy": 0.1 * (i % 5)},
                    "csv": f"out/line{i:02d}.csv",
                }
            )
        )
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_batch_with_broken_jobs_completes_the_rest_and_resumes(tmp_path, speech_wav):
    manifest = _manifest(tmp_path, speech_wav, 20, broken=(4, 13))
    r = cli("batch", manifest, "--workers", 2, "--no-progress", timeout=900)
    assert r.returncode == 2  # the failed jobs' inputs are wrong
    assert "18 baked, 0 up to date, 2 failed" in r.stdout
    failed = [line for line in r.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 2 and "line04.wav" in failed[0] and "Cannot decode" in failed[0]
    assert "line13.wav" in failed[1] and "not found" in failed[1]
    assert "FAILED job 5 (" in failed[0] and "FAILED job 14 (" in failed[1]  # numbered as the manifest's lines
    assert len(list((tmp_path / "out").glob("*.csv"))) == 18
    again = cli("batch", manifest, "--workers", 2, "--no-progress", timeout=900)
    assert "0 baked, 18 up to date, 2 failed" in again.stdout and again.returncode == 2
    shard = cli("batch", manifest, "--shard", "1/2", "--force", "--no-progress", timeout=900)
    assert "9 baked, 0 up to date, 1 failed" in shard.stdout  # odd jobs only: 1, 3, ..., 19 (13 is broken)


def test_a_killed_batch_resumes_with_nothing_lost_or_duplicated(tmp_path, speech_wav):
    manifest = _manifest(tmp_path, speech_wav, 6)
    proc = subprocess.Popen(
        [sys.executable, "-m", "editemotalk_addon", "batch", str(manifest), "--no-progress"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while len(list((tmp_path / "out").glob("*.eet.json"))) < 2 and time.time() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list((tmp_path / "out").glob("*.eet.json")))
    assert 2 <= finished < 6
    r = cli("batch", manifest, "--no-progress", timeout=900)
    assert r.returncode == 0 and f"{6 - finished} baked, {finished} up to date, 0 failed" in r.stdout
    outs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert outs == sorted([f"line{i:02d}.csv" for i in range(6)] + [f"line{i:02d}.csv.eet.json" for i in range(6)])
    for i in range(6):
        assert len(read_csv(tmp_path / "out" / f"line{i:02d}.csv", fps=24).weights) > 30


@pytest.mark.parametrize("flag", ["--emotion=joyful=1", "--emotion=happy", "--emotion-curves=nowhere.json"])
def test_bad_slider_arguments_exit_2_with_one_line(flag, speech_wav, tmp_path):
    r = cli("bake", "--audio", speech_wav, flag, "--out", tmp_path / "out.blend")
    assert r.returncode == 2, r.stderr[-2000:]
    assert [line for line in r.stderr.splitlines() if line.strip()] == [r.stderr.strip()]
    assert r.stderr.startswith("editemotalk: ") and not (tmp_path / "out.blend").exists()


def test_an_export_of_one_clip_carries_that_clip_alone(speech_wav, tmp_path):
    """Two clips in one file, at the same start frame and apart: each clip's FBX equals its own CSV, and
    --whole-timeline exports what the scene plays: each clip in its own frames."""
    other = tmp_path / "other.wav"
    other.write_bytes(speech_wav.read_bytes())
    first = ["bake", "--audio", speech_wav, "--mesh", "demo", "--fps", 30, "--emotion", "happy=1", "--mode", "absolute"]
    assert cli(*first, "--csv", tmp_path / "a.csv", "--out", tmp_path / "a.blend").returncode == 0
    mesh = f"{tmp_path / 'a.blend'}:EET Demo Head"
    second = ["bake", "--audio", other, "--mesh", mesh, "--emotion", "sad=1", "--mode", "absolute"]
    r = cli(*second, "--fbx", tmp_path / "b.fbx", "--csv", tmp_path / "b.csv")
    assert r.returncode == 0, r.stderr[-2000:]
    a = read_csv(tmp_path / "a.csv", fps=30).weights
    b = read_csv(tmp_path / "b.csv", fps=30).weights
    assert np.abs(a - b).max() > 0.3
    names = [n for n in ARKIT_NAMES if n != "tongueOut"]  # every shape key of the demo head
    keys = [INDEX[n] for n in names]
    a, b = a[:, keys], b[:, keys]
    got = _values(_import("fbx", tmp_path / "b.fbx"), range(1, len(b) + 1), names)
    assert np.abs(got - b).max() < 1e-3  # every key, every frame: b alone, although a shares its frames
    later = 1 + len(a) + 10
    r = cli(*second, "--start-frame", later, "--whole-timeline", "--csv", tmp_path / "whole.csv")
    assert r.returncode == 0, r.stderr[-2000:]
    whole = read_csv(tmp_path / "whole.csv", fps=30).weights[:, keys]
    assert len(whole) == later + len(b) - 1
    assert np.abs(whole[: len(a)] - a).max() < 1e-4 and np.abs(whole[len(a) : later - 1]).max() == 0
    assert np.abs(whole[later - 1 :] - b).max() < 1e-4


def test_an_fbx_cannot_start_at_frame_0(speech_wav, tmp_path):
    """Blender reads FBX time 0 as frame 1: a clip at frame 0 could not come back on its frames."""
    r = cli("bake", "--audio", speech_wav, "--start-frame", 0, "--fbx", tmp_path / "x.fbx", "--csv", tmp_path / "x.csv")
    assert r.returncode == 2 and [line for line in r.stderr.splitlines() if line.strip()] == [r.stderr.strip()]
    assert "--fbx from frame 0" in r.stderr and not list(tmp_path.iterdir())


def test_batch_progress_counts_every_job_of_the_manifest(tmp_path, speech_wav):
    """Two jobs already baked, one malformed line and two to bake: five jobs, the first three counted at once."""
    manifest = _manifest(tmp_path, speech_wav, 4)
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(lines[:2]) + "\n")
    assert cli("batch", manifest, "--no-progress").returncode == 0
    manifest.write_text("\n".join([*lines[:2], "{not json", *lines[2:]]) + "\n")
    r = cli("batch", manifest, timeout=600)
    assert "2 baked, 2 up to date, 1 failed" in r.stdout
    assert [line for line in r.stderr.splitlines() if line.startswith("batch:")] == [
        "batch: 3/5 jobs",
        "batch: 4/5 jobs",
        "batch: 5/5 jobs",
    ]


def test_on_a_terminal_the_preview_is_one_line_updated_in_place(speech_wav, tmp_path):
    main, child = os.openpty()
    args = ["bake", "--audio", str(speech_wav), "--fps", "10", "--preview", str(tmp_path / "p.mp4")]
    proc = subprocess.Popen([sys.executable, "-m", "editemotalk_addon", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=child, stderr=child)  # fmt: skip
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0, shown.decode()[-2000:]
    (line,) = [line for line in shown.decode().split("\r\n") if "preview:" in line]  # a terminal ends lines \r\n
    total = int(line.rsplit("/", 1)[1].split()[0])
    assert total > 10 and line.split("\r") == ["", *(f"preview: {d}/{total} frames" for d in range(1, total + 1))]


def test_after_import_bpy_a_batch_bakes_in_its_own_process(tmp_path, speech_wav):
    """Inside Blender, or in a script that imported bpy, workers could not find the bpy module: one line says so
    and the jobs bake here."""
    manifest = _manifest(tmp_path, speech_wav, 2)
    code = f"import bpy, sys; from editemotalk_addon.cli import main; sys.exit(main(['batch', {str(manifest)!r}, "
    code += "'--workers', '2', '--no-progress']))"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "2 baked, 0 up to date, 0 failed" in r.stdout, r.stderr[-2000:]
    assert [line for line in r.stderr.splitlines() if "warning" in line] == [
        "editemotalk: warning: --workers 2 runs as 1 here: workers start only from a process that has not imported "
        "bpy - run `python -m editemotalk_addon batch` for parallel workers"
    ]


def test_a_bake_writes_its_outputs_and_the_extensions_own_folder_only(speech_wav, tmp_path):
    """Nothing in the temporary folder, nothing elsewhere in the home: the demo head kept for the next job lives
    in the folder Blender gives the extension (extension_path_user), which the second bake reads."""
    home, temp, out = tmp_path / "home", tmp_path / "tmp", tmp_path / "out"
    for folder in (home, temp, out):
        folder.mkdir()
    env = dict(os.environ, HOME=str(home), TMPDIR=str(temp))
    for name in ("a", "b"):
        r = cli("bake", "--audio", speech_wav, "--mesh", "demo", "--csv", out / f"{name}.csv", env=env)
        assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv"] and list(temp.iterdir()) == []
    written = [p.relative_to(home) for p in home.rglob("*") if p.is_file()]
    assert len(written) == 1 and written[0].parent == Path(
        ".config/blender/4.5/extensions/.user/user_default/editemotalk/cache"
    ), written
    assert "Read blend" not in r.stdout  # the second bake reopened it, quietly


def test_emotion_from_voice_keys_bakes_the_heard_keys_and_writes_them(tmp_path, speech_wav):
    """--emotion-from-voice keys bakes the sliders keyed with what was heard (absolute mode); --heard writes those
    curves in the --emotion-curves format, which bakes the same face again."""
    heard = tmp_path / "heard.json"
    r = cli(
        "bake", "--audio", speech_wav, "--emotion-from-voice", "keys", "--heard", heard, "--csv", tmp_path / "a.csv"
    )
    assert r.returncode == 0, r.stderr[-2000:]
    spec = json.loads(heard.read_text())
    assert spec["mode"] == "absolute" and set(spec["sliders"]) == set(spec["confidence"])
    r = cli("bake", "--audio", speech_wav, "--emotion-curves", heard, "--csv", tmp_path / "b.csv")
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = read_csv(tmp_path / "a.csv", 30).weights, read_csv(tmp_path / "b.csv", 30).weights
    assert np.abs(a - b).max() < 1e-4
    r = cli("bake", "--csv-in", tmp_path / "a.csv", "--heard", tmp_path / "c.json")
    assert r.returncode == 2 and "a capture has no voice to hear" in r.stderr


def test_a_batchs_speaker_reads_its_clips_against_that_voice(tmp_path, data_root):
    """Jobs with one speaker: each clip's emotion read against the voice's baseline from all of them; the
    record's hash covers the other clips, so changing one re-bakes its whole speaker."""
    import shutil

    lines = []
    for n, name in enumerate(("03a01Wa", "03a01Nc", "03a02Fc")):
        shutil.copy(data_root / "emodb" / "audio" / f"{name}.flac", tmp_path / f"{name}.flac")
        for speaker in ("", "Ada"):
            job = {"audio": f"{name}.flac", "mode": "voice", "csv": f"out/{speaker or 'plain'}{n}.csv"}
            lines.append(json.dumps(job | ({"speaker": speaker} if speaker else {})))
    (tmp_path / "jobs.jsonl").write_text("\n".join(lines) + "\n")
    r = cli("batch", tmp_path / "jobs.jsonl", "--no-progress")
    assert r.returncode == 0 and "6 baked" in r.stdout, r.stderr[-2000:]
    plain = [read_csv(tmp_path / "out" / f"plain{n}.csv", 30).weights for n in range(3)]
    ada = [read_csv(tmp_path / "out" / f"Ada{n}.csv", 30).weights for n in range(3)]
    assert all(np.abs(p - a).max() > 1e-3 for p, a in zip(plain, ada))  # the baseline changed what voice mode shows
    shutil.copy(data_root / "emodb" / "audio" / "03a04Wc.flac", tmp_path / "03a01Nc.flac")  # one clip changes
    r = cli("batch", tmp_path / "jobs.jsonl", "--no-progress")
    assert r.returncode == 0 and "4 baked, 2 up to date" in r.stdout, r.stdout
