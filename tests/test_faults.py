"""Issue 26's failures, each tried as a careless or hostile user would, with faults injected: a manifest that
harms its own inputs, lines that would stop a batch, dead workers, broken curves and captures, locks and shards
that overlap, frame rates rounded, resumes that trust what they never checked, sets of outputs half moved, cut-off
MP3 and FLAC, file names that are not UTF-8, an Alembic exporter that outlives its bake, and one exit-status rule.
Each test is named after its failure (F1 ... F22)."""

import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import bpy
import numpy as np
import pytest
import soundfile as sf
from conftest import ROOT
from test_cli import _values, cli
from test_robust import _batch_folder, _running, _workers, one_line

from editemotalk_addon.blender.sound import all_strips
from editemotalk_addon.core import files, livelink, manifest, timebase, validate
from editemotalk_addon.core.errors import InputError
from editemotalk_addon.core.livelink import read_csv, write_csv
from editemotalk_addon.core.rig import INDEX


def without_root_override():
    """Permission bits bind the child even when the suite runs as root (which reads and writes anything): the
    capabilities that override them are dropped from its bounding set before it starts."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                os._exit(97)


def failed_lines(r) -> list[str]:
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    return [line for line in r.stderr.splitlines() if "FAILED" in line]


def capture(path, rows=30, fps=30):
    """A Live Link Face take, as our writer (the app's layout) writes it."""
    weights = np.random.default_rng(0).uniform(0, 1, (rows, 52)).astype(np.float32)
    write_csv(path, weights, fps)
    return path


# --- F1, F2: the manifest as a whole -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def collided(head, tmp_path_factory):
    """One manifest whose jobs 4 and 6 overwrite what jobs 3 and 5 read, and whose jobs 2 and 7 write one file;
    run twice."""
    folder = tmp_path_factory.mktemp("collide")
    (folder / "hero.blend").write_bytes((head / "head.blend").read_bytes())
    capture(folder / "cap.csv")
    lines = [
        {"audio": "line.wav", "csv": "out/1.csv"},
        {"audio": "line.wav", "csv": "out/same.csv"},
        {"csv_in": "cap.csv", "csv": "out/3.csv", "capture_fps": 30},
        {"audio": "line.wav", "csv": "cap.csv"},
        {"audio": "line.wav", "mesh": "hero.blend:EET Demo Head", "csv": "out/5.csv"},
        {"audio": "line.wav", "out": "hero.blend"},
        {"audio": "line.wav", "emotion": {"happy": 1}, "csv": "out/same.csv"},
    ]
    path = _batch_folder(folder, head, [json.dumps(line) for line in lines])
    before = {name: (folder / name).read_bytes() for name in ("hero.blend", "cap.csv")}
    first = cli("batch", path, "--no-progress", timeout=900)
    second = cli("batch", path, "--no-progress", timeout=900)
    return folder, before, first, second


def test_f1_no_job_overwrites_another_jobs_input(collided):
    folder, before, first, _ = collided
    assert first.returncode == 2 and "3 baked, 0 up to date, 4 failed" in first.stdout, first.stderr[-3000:]
    assert all((folder / name).read_bytes() == data for name, data in before.items())  # the user's files, intact
    failed = failed_lines(first)
    assert re.search(r"job 4 .*csv .*cap\.csv is an input of job 3 \(its csv_in\).* - give each job", failed[1])
    assert re.search(r"job 6 .*out .*hero\.blend is an input of job 5 \(its mesh\).* - give each job", failed[2])
    assert all((folder / "out" / f"{n}.csv").exists() for n in (1, 3, 5))  # the rest ran


def test_f2_two_jobs_writing_one_file_fail_and_a_rerun_is_done(collided):
    folder, _, first, second = collided
    failed = failed_lines(first)
    assert "job 2 " in failed[0] and "same.csv is also written by job 7" in failed[0]
    assert "job 7 " in failed[3] and "same.csv is also written by job 2" in failed[3]
    assert not (folder / "out" / "same.csv").exists()
    assert "0 baked, 3 up to date, 4 failed" in second.stdout, second.stdout + second.stderr[-2000:]


# --- F3, F4, F5: a line, a field, an input fails only its own job ------------------------------------------------


def test_f3_any_malformed_line_or_field_fails_only_its_job(head, tmp_path):
    good = b'{"audio": "line.wav", "csv": "out/good.csv"}'
    lines = [
        b"[" * 100_000,  # nested far deeper than any JSON reader recurses
        b'{"audio": "line.wav", "seed": ' + b"7" * 5000 + b', "csv": "out/a.csv"}',  # beyond int() on text
        b'{"audio": "line.wav", "intensity": ' + b"7" * 400 + b', "csv": "out/b.csv"}',  # beyond a float
        b'{"audio": "\\ud800.wav", "csv": "out/c.csv"}',  # a lone surrogate: no file name is made of it
        b'{"audio": "li\\u0000ne.wav", "csv": "out/d.csv"}',  # a NUL, escaped
        b'{"audio": "li\x00ne.wav", "csv": "out/e.csv"}',  # a NUL byte
        b'{"audio": ["line.wav"], "csv": "out/f.csv"}',  # a wrong type
        b'{"audio": "caf\xe9.wav", "csv": "out/g.csv"}',  # Latin-1: kept as the bytes of a file name (none here)
        good,
    ]
    _batch_folder(tmp_path, head, [])
    (tmp_path / "jobs.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    rows = [
        b"audio,csv,seed",
        b"line.wav,out/good2.csv,1",
        b"li\x00ne.wav,out/h.csv,1",
        b"line.wav,out/i.csv," + b"9" * 200_000,  # beyond the csv module's cell limit
        b"line.wav,out/j.csv," + b"9" * 5000,
        b"\xff\xfe.wav,out/k.csv,1",
    ]
    (tmp_path / "rows.csv").write_bytes(b"\n".join(rows) + b"\n")
    for name, baked, expected in (
        ("jobs.jsonl", "good.csv", ["nested too deep", "4300 digits", "intensity=", "broken character", "NUL",
                                    "not JSON", "audio must be a file path", "not found"]),
        ("rows.csv", "good2.csv", ["NUL", "field larger than field limit", "seed=", "not found"]),
    ):  # fmt: skip
        r = cli("batch", tmp_path / name, "--no-progress")
        assert r.returncode == 2 and f"1 baked, 0 up to date, {len(expected)} failed" in r.stdout, r.stderr[-3000:]
        failed = failed_lines(r)
        for text, line in zip(expected, failed, strict=True):
            assert text in line and " - " in line, line
        assert (tmp_path / "out" / baked).exists()


def test_f4_an_unreadable_input_fails_its_job_and_the_rest_run(head, tmp_path):
    lines = [json.dumps({"audio": a, "csv": f"out/{n}.csv"}) for n, a in enumerate(["line.wav", "locked.wav"] * 2)]
    manifest_path = _batch_folder(tmp_path, head, lines[:3])
    (tmp_path / "locked.wav").write_bytes((tmp_path / "line.wav").read_bytes())
    (tmp_path / "locked.wav").chmod(0)
    r = cli("batch", manifest_path, "--no-progress", preexec_fn=without_root_override)
    assert r.returncode == 2 and "2 baked, 0 up to date, 1 failed" in r.stdout, r.stdout + r.stderr[-3000:]
    (failed,) = failed_lines(r)
    assert "FAILED job 2" in failed and "locked.wav cannot be read (Permission denied) - check its" in failed


@pytest.mark.parametrize("flag", ["--audio", "--csv-in", "--emotion-curves", "--mesh"])
def test_f5_an_unreadable_input_is_one_line_with_its_reason(head, tmp_path, flag):
    source = {"--audio": head / "line.wav", "--csv-in": capture(tmp_path / "take.csv")}
    locked = tmp_path / {"--mesh": "locked.blend"}.get(flag, f"locked{source.get(flag, head / 'x.json').suffix}")
    locked.write_bytes(source[flag].read_bytes() if flag in source else b'{"sliders": {}}')
    locked.chmod(0)
    args = [flag, f"{locked}:Face" if flag == "--mesh" else locked]
    args += ["--audio", head / "line.wav"] if flag in ("--emotion-curves", "--mesh") else []
    r = cli("bake", *args, "--csv", tmp_path / "x.csv", preexec_fn=without_root_override)
    assert r.returncode == 2 and "cannot be read (Permission denied)" in one_line(r), r.stderr[-2000:]
    assert "free space" not in r.stderr and not (tmp_path / "x.csv").exists()


# --- F6, F14: workers ---------------------------------------------------------------------------------------------


def test_f6_a_dead_worker_fails_only_the_job_it_held(head, tmp_path):
    lines = [json.dumps({"audio": "line.wav", "csv": f"out/{i}.csv"}) for i in range(40)]
    path = _batch_folder(tmp_path, head, lines)
    driver = subprocess.Popen(
        [sys.executable, "-m", "editemotalk_addon", "batch", str(path), "--workers", "2", "--no-progress"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    records = lambda: len(list((tmp_path / "out").glob("*.eet.json")))
    killed = set()
    for at in (2, 8):  # once both workers bake, and again after the first one's replacement started
        deadline = time.time() + 300
        while records() < at:
            assert time.time() < deadline and driver.poll() is None
            time.sleep(0.05)
        victim = min(_workers(driver.pid) - killed)  # the older: it has been baking a while
        os.kill(victim, signal.SIGKILL)
        killed.add(victim)
    out, err = driver.communicate(timeout=600)
    baked, failed = (int(n) for n in re.search(r"(\d+) baked, 0 up to date, (\d+) failed", out).groups())
    assert driver.returncode == 1 and baked + failed == 40 and 1 <= failed <= 2, out + err[-3000:]
    died = [line for line in err.splitlines() if "FAILED" in line]
    assert len(died) == failed and all("worker process died while baking this job" in line for line in died)
    again = cli("batch", path, "--no-progress", timeout=600)
    assert f"{failed} baked, {baked} up to date, 0 failed" in again.stdout and again.returncode == 0


def test_f14_workers_are_capped_by_cores_and_memory_with_a_message(head, tmp_path):
    from editemotalk_addon.core import processes

    path = _batch_folder(tmp_path, head, [json.dumps({"audio": "line.wav", "csv": f"out/{i}.csv"}) for i in range(3)])
    r = cli("batch", path, "--workers", 64, "--no-progress", timeout=600)
    cap, _ = processes.worker_limit(64)
    assert cap <= processes.cores() and cap <= processes.free_memory() // processes.WORKER_BYTES + 1
    line = one_line(r)
    assert r.returncode == 0 and f"warning: --workers 64 is more than this machine runs well: using {cap} (" in line
    assert f"{processes.cores()} cores" in line and "GB a worker" in line
    assert json.loads((tmp_path / "jobs.shard0of1.summary.json").read_text())["workers"] == min(cap, 3)
    assert cli("batch", path, "--workers", 0).returncode == 2


# --- F7, F8, F9, F10/F18/F19: curves and captures checked like audio -------------------------------------------

CURVES = {
    "nested": '{"sliders": {"happy": ' + "[" * 100_000 + "]" * 100_000 + "}}",
    "a huge integer": '{"sliders": {"happy": ' + "9" * 5000 + "}}",
    "an integer beyond a float": '{"intensity": ' + "9" * 400 + "}",
    "a huge key time": '{"sliders": {"happy": [[' + "9" * 400 + ", 1]]}}",
    "ragged keys": '{"sliders": {"happy": [[1, 0.5], [2]]}}',
    "17 MB": '{"sliders": {"happy": [' + ", ".join(["[0.0, 0.5]"] * 1_600_000) + "]}}",
}


@pytest.mark.parametrize("case", list(CURVES))
def test_f7_curve_files_of_any_shape_or_size_are_one_line_exit_2(head, tmp_path, case):
    path = tmp_path / "curves.json"
    path.write_text(CURVES[case])
    start = time.perf_counter()
    r = cli("bake", "--audio", head / "line.wav", "--emotion-curves", path, "--csv", tmp_path / "x.csv")
    assert r.returncode == 2 and " - " in one_line(r), r.stderr[-2000:]
    assert ("larger than 16 MB" in one_line(r)) == (case == "17 MB") and not (tmp_path / "x.csv").exists()
    assert time.perf_counter() - start < 30  # refused before Blender, the model or the curves' keys are built


def _take(path, cells: dict, rows=12, fps=30):
    """A take with one changed cell per (row, column) in `cells` (row 2 is the first frame)."""
    capture(path, rows, fps)
    table = [line.split(",") for line in path.read_text().splitlines()]
    for (row, column), value in cells.items():
        table[row - 1][table[0].index(column)] = value
    path.write_text("\n".join(",".join(r) for r in table) + "\n")
    return path


def test_f8_nan_in_a_capture_is_refused_and_none_is_ever_written(head, tmp_path):
    one = _take(tmp_path / "one.csv", {(4, "JawOpen"): "nan"})
    every = _take(tmp_path / "every.csv", {(r, c): "NaN" for r in range(2, 14) for c in livelink.HEADER[2:54]})
    for take in (one, every):
        r = cli(
            "bake", "--csv-in", take, "--capture-fps", 30, "--csv", tmp_path / "x.csv", "--out", tmp_path / "x.blend"
        )
        line = one_line(r)
        assert r.returncode == 2 and f"capture {take.name} row " in line and "is not a finite number - " in line
        assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.blend").exists()
    csv = tmp_path / "y.csv"
    assert "row 4, column JawOpen: nan" in one_line(cli("bake", "--csv-in", one, "--capture-fps", 30, "--csv", csv))
    assert not csv.exists()
    # the last check, whatever the source: here the user's own animation holds a NaN key, exported whole
    bpy.ops.wm.open_mainfile(filepath=str(head / "head.blend"), load_ui=False)
    key = bpy.data.objects["EET Demo Head"].data.shape_keys.key_blocks["jawOpen"]
    key.value = 0.5
    key.keyframe_insert("value", frame=2)
    ad = key.id_data.animation_data
    fcurves = ad.action.layers[0].strips[0].channelbag(ad.action_slot).fcurves  # the shape keys' slot
    fcurves.find(key.path_from_id("value")).keyframe_points[0].co[1] = float("nan")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "nan.blend"))
    mesh = f"{tmp_path / 'nan.blend'}:EET Demo Head"
    r = cli("bake", "--audio", head / "line.wav", "--mesh", mesh, "--whole-timeline", "--csv", tmp_path / "w.csv")
    assert r.returncode == 1 and "NaN or infinite weights - nothing was written" in one_line(r)
    assert not (tmp_path / "w.csv").exists()


def test_f8_the_bake_refuses_non_finite_weights_before_keying_anything():
    code = (
        "import numpy as np, bpy, editemotalk_addon\n"
        "from editemotalk_addon.blender import bake, heads\n"
        "from editemotalk_addon.core.errors import UserError\n"
        "from editemotalk_addon.core.performance import Performance\n"
        "editemotalk_addon.register()\n"
        "obj = heads.add_demo_head(bpy.context)\n"
        "w = np.full((10, 52), np.nan, np.float32)\n"
        "try:\n"
        "    bake.bake_clip(bpy.context.scene, obj, Performance(30, w, 0 * w, 0 * w), 'x.wav', 1, with_sound=False)\n"
        "    print('baked')\n"
        "except UserError as exc:\n"
        "    print(exc)\n"
        "print(obj.data.shape_keys.animation_data is None, len(bpy.data.actions))\n"
        "editemotalk_addon.unregister()\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.stdout.splitlines()[-2:] == [
        "the performance of x holds NaN or infinite weights - nothing was written; check its inputs",
        "True 0",
    ], r.stdout + r.stderr[-2000:]


@pytest.mark.parametrize("far", ["99999999:00:00:00.000", "09:00:00:00.000"])
def test_f9_a_capture_spanning_hours_is_refused_before_anything_is_allocated(head, tmp_path, far):
    take = _take(tmp_path / "take.csv", {(3, "Timecode"): far}, rows=2)
    start = time.perf_counter()
    r = cli("bake", "--csv-in", take, "--capture-fps", 30, "--csv", tmp_path / "x.csv")
    assert r.returncode == 2 and "row 3: the take spans more than 30 minutes - split it" in one_line(r)
    assert time.perf_counter() - start < 30 and not (tmp_path / "x.csv").exists()


TAKES = {
    "a 200k-character cell": ({(3, "JawOpen"): "7" * 200_000}, "row 3: field larger than field limit"),
    "an empty cell": ({(5, "MouthClose"): ""}, "row 5, column MouthClose: an empty cell is not a number"),
    "a short row": (None, "row 4 has 20 cells where the header has 63 (no MouthClose)"),
    "a bad timecode": ({(6, "Timecode"): "00:00:xx:01.000"}, 'row 6, column Timecode: "00:00:xx:01.000" is not a'),
    "UTF-16": (None, "row 1 is not UTF-8 text (UTF-16 file?) - save it as UTF-8"),
    "timecodes going back": ({(7, "Timecode"): "00:00:00:01.000"}, "row 7, column Timecode: 00:00:00:01.000 does"),
    "one timecode throughout": ("constant", "row 3, column Timecode: 00:00:00:00.000 does not come after"),
}


@pytest.mark.parametrize("case", list(TAKES))
def test_f10_f18_f19_a_broken_capture_names_file_row_column_and_fix(tmp_path, case):
    cells, expected = TAKES[case]
    path = _take(tmp_path / "take.csv", cells if isinstance(cells, dict) else {})
    table = path.read_text().splitlines()
    if case == "a short row":
        table[3] = ",".join(table[3].split(",")[:20])
    if cells == "constant":
        table = [table[0]] + [",".join(["00:00:00:00.000", *line.split(",")[1:]]) for line in table[1:]]
    path.write_text("\n".join(table) + "\n", encoding="utf-16" if case == "UTF-16" else "utf-8")
    with pytest.raises(InputError) as err:
        read_csv(path, fps=30)
    assert str(err.value).startswith(f"capture take.csv {expected}") and " - " in str(err.value), err.value
    if case == "an empty cell":  # through the command line: one line, exit 2
        r = cli("bake", "--csv-in", path, "--capture-fps", 30, "--csv", tmp_path / "x.csv")
        assert r.returncode == 2 and one_line(r) == f"editemotalk: {err.value}"


# --- F11, F12, F16: locks and shards -----------------------------------------------------------------------------


def test_f11_a_read_only_manifest_folder_is_one_line(head, tmp_path):
    path = _batch_folder(tmp_path, head, [json.dumps({"audio": "line.wav", "csv": "/tmp/never.csv"})])
    tmp_path.chmod(0o555)
    try:
        r = cli("batch", path, "--no-progress", preexec_fn=without_root_override)
    finally:
        tmp_path.chmod(0o755)
    line = one_line(r)
    assert r.returncode == 1 and f"Cannot create the lock {tmp_path}/jobs.shard0of1.lock: Permission denied" in line
    assert "make the manifest's folder writable" in line


RACER = """
import sys, time
from pathlib import Path
from editemotalk_addon.core import manifest
folder, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
other = "1" if me == "0" else "0"
for r in range(rounds):
    while not (folder / f"go{r}").exists():
        time.sleep(0.0002)
    try:
        with manifest.lock(folder / "jobs.jsonl", 0, 1):
            (folder / f"holding{me}").touch()
            (folder / f"held{r}.{me}").touch()
            time.sleep(0.003)
            if (folder / f"holding{other}").exists():
                (folder / f"both{r}").touch()
            (folder / f"holding{me}").unlink()
    except manifest.Busy:
        pass
    (folder / f"done{r}.{me}").touch()
"""


def test_f12_two_processes_taking_over_a_stale_lock_never_both_hold_it(tmp_path):
    rounds = 200
    (tmp_path / "jobs.jsonl").write_text("")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = json.dumps({"pid": dead.pid, "host": socket.gethostname()})  # a batch that died on this host
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path), me, str(rounds)], cwd=ROOT, stderr=subprocess.PIPE
        )
        for me in "01"
    ]
    for r in range(rounds):
        (tmp_path / "jobs.shard0of1.lock").write_text(stale)
        (tmp_path / f"go{r}").touch()
        deadline = time.time() + 60
        while not all((tmp_path / f"done{r}.{me}").exists() for me in "01"):
            assert time.time() < deadline and all(p.poll() is None for p in racers), [p.stderr.read() for p in racers]
            time.sleep(0.001)
    assert [p.wait(timeout=60) for p in racers] == [0, 0], [p.stderr.read()[-2000:] for p in racers]
    assert not list(tmp_path.glob("both*"))  # never two holders
    taken = {int(p.name[4:].split(".")[0]) for p in tmp_path.glob("held*")}
    assert taken == set(range(rounds)) and not (tmp_path / "jobs.shard0of1.lock").exists()  # taken over each round


def test_f16_runs_over_the_same_jobs_never_overlap_whatever_the_spelling(head, tmp_path):
    assert [manifest.parse_shard(s) for s in ("00/4", " 0 / 4 ", "0/1", "3/4")] == [(0, 4), (0, 4), (0, 1), (3, 4)]
    for bad in ("4/4", "-1/4", "1/0", "1", "a/b", "9" * 5000 + "/1"):
        with pytest.raises(InputError, match="--shard must be I/N"):
            manifest.parse_shard(bad)
    path = _batch_folder(tmp_path, head, [json.dumps({"audio": "line.wav", "csv": f"out/{i}.csv"}) for i in range(8)])
    (tmp_path / "link.jsonl").symlink_to(path)
    with manifest.lock(path, 0, 4):  # another run holds shard 0/4
        for where, shard in ((path, "00/4"), (tmp_path / "link.jsonl", "0/4"), (path, "0/1"), (path, "4/8")):
            r = cli("batch", where, "--shard", shard, "--no-progress")
            assert r.returncode == 1 and f"another batch (pid {os.getpid()} on" in one_line(r), (shard, r.stderr)
        assert not (tmp_path / "out").exists()
        for shard, baked in (("1/4", "2 baked"), ("1/2", "2 baked, 2 up to date")):  # no job in common with 0/4
            r = cli("batch", path, "--shard", shard, "--no-progress")
            assert r.returncode == 0 and baked in r.stdout, r.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.glob("*.lock")) == []


# --- F13: frame rates --------------------------------------------------------------------------------------------


def test_f13_ntsc_rates_are_exact_in_the_scene_and_every_export(head, tmp_path):
    assert [timebase.blender_rate(validate.fps(f)) for f in ("23.976", 29.97, 59.94, 30)] == [
        (24, 1.001), (30, 1.001), (60, 1.001), (30, 1.0)]  # fmt: skip
    r = cli("bake", "--audio", head / "line.wav", "--fps", 1.4, "--csv", tmp_path / "x.csv")
    assert r.returncode == 2 and "fps=1.4 is not a rate Blender can hold exactly - use a whole rate" in one_line(r)
    outs = {k: tmp_path / f"ntsc.{k}" for k in ("blend", "csv", "fbx")}
    args = ["--out", outs["blend"], "--csv", outs["csv"], "--fbx", outs["fbx"]]
    r = cli("bake", "--audio", head / "line.wav", "--fps", 29.97, "--start-frame", 1, *args)
    assert r.returncode == 0, r.stderr[-2000:]
    bpy.ops.wm.open_mainfile(filepath=str(outs["blend"]), load_ui=False)
    render = bpy.context.scene.render
    assert (render.fps, render.fps_base) == (30, pytest.approx(1.001, abs=1e-6))
    rate = 30 / 1.001
    times, weights, _ = read_csv(outs["csv"], fps=rate)
    assert np.abs(times - np.arange(len(times)) / rate).max() < 5e-5  # frame k at k * 1.001 / 30 s, not k / 30
    assert abs(len(times) - sf.info(str(head / "line.wav")).duration * rate) <= 1
    names = ["jawOpen", "mouthSmileLeft", "eyeBlinkLeft"]
    frames = [1, len(times) // 2, len(times)]
    blend = _values(bpy.data.objects["EET Demo Head"], frames, names)
    assert np.abs(blend - weights[[f - 1 for f in frames]][:, [INDEX[n] for n in names]]).max() < 1e-4
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps, bpy.context.scene.render.fps_base = 30, 1.001
    bpy.ops.import_scene.fbx(filepath=str(outs["fbx"]))  # Blender's defaults: FBX time 0 on frame 1
    fbx = _values(next(o for o in bpy.data.objects if o.type == "MESH"), frames, names)
    assert np.abs(fbx - blend).max() < 1e-3  # FBX time = (frame - 1) * 1.001 / 30


# --- F15: resume verifies ----------------------------------------------------------------------------------------


def test_f15_resume_rebakes_outputs_that_are_no_longer_what_it_wrote(head, tmp_path):
    lines = [json.dumps({"audio": "line.wav", "csv": f"out/{i}.csv"}) for i in range(3)]
    path = _batch_folder(tmp_path, head, lines)
    assert "3 baked" in cli("batch", path, "--no-progress").stdout
    made = {i: (tmp_path / "out" / f"{i}.csv").read_bytes() for i in range(3)}
    corrupt = bytearray(made[0])
    corrupt[len(corrupt) // 2] ^= 1  # one bit, same size
    (tmp_path / "out" / "0.csv").write_bytes(bytes(corrupt))
    (tmp_path / "out" / "1.csv").write_bytes(b"")
    r = cli("batch", path, "--no-progress")
    assert r.returncode == 0 and "2 baked, 1 up to date, 0 failed" in r.stdout, r.stdout + r.stderr[-2000:]
    assert all((tmp_path / "out" / f"{i}.csv").read_bytes() == made[i] for i in range(3))
    record = json.loads((tmp_path / "out" / "0.csv.eet.json").read_text())["outputs"][0]
    assert record["bytes"] == len(made[0]) and record["sha256"] == files.sha256(tmp_path / "out" / "0.csv")


# --- F17, F21: audio -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mp3", "flac"])
def test_f17_a_cut_off_mp3_or_flac_bakes_what_it_holds_with_a_warning(head, tmp_path, fmt):
    samples, rate = sf.read(str(head / "line.wav"), dtype="float32")
    whole = tmp_path / f"whole.{fmt}"
    sf.write(str(whole), np.tile(samples, 3), rate)
    data = whole.read_bytes()
    (tmp_path / f"cut.{fmt}").write_bytes(data[: len(data) // 2])
    r = cli("bake", "--audio", tmp_path / f"cut.{fmt}", "--fps", 30, "--csv", tmp_path / "cut.csv")
    said = 3 * len(samples) / rate
    held = len(read_csv(tmp_path / "cut.csv", fps=30).weights) / 30
    assert r.returncode == 0 and 0.3 * said < held < 0.7 * said, r.stderr[-2000:]
    assert f"warning: cut.{fmt} is cut short: its header says {said:.1f} s but it holds " in one_line(r)
    assert "warning" not in cli("bake", "--audio", whole, "--csv", tmp_path / "whole.csv").stderr


def test_f21_file_names_that_are_not_utf8_work(head, tmp_path):
    name = os.fsdecode(b"l\xefne \xff.wav")  # Latin-1 and a byte no encoding maps: kept as bytes
    (tmp_path / name).write_bytes((head / "line.wav").read_bytes())
    csv = tmp_path / os.fsdecode(b"\xff.csv")
    r = cli("bake", "--audio", tmp_path / name, "--csv", csv, "--out", tmp_path / "x.blend")
    assert r.returncode == 0, r.stderr[-2000:]
    assert cli("bake", "--audio", head / "line.wav", "--csv", tmp_path / "utf8.csv").returncode == 0
    assert csv.read_bytes() == (tmp_path / "utf8.csv").read_bytes()
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "x.blend"), load_ui=False)
    (strip,) = all_strips(bpy.context.scene)  # the sound strip plays the file itself
    assert bpy.path.abspath(strip.sound.filepath) == str(tmp_path / name) and strip.frame_final_duration > 30
    (tmp_path / "jobs.jsonl").write_bytes(b'{"audio": "l\xefne \xff.wav", "csv": "out/\xff.csv"}\n')
    r = cli("batch", tmp_path / "jobs.jsonl", "--no-progress")
    assert r.returncode == 0 and "1 baked" in r.stdout, r.stderr[-2000:]
    assert (tmp_path / "out" / os.fsdecode(b"\xff.csv")).read_bytes() == (tmp_path / "utf8.csv").read_bytes()


# --- F22 and all-or-none: the Alembic child, the journal, the sweep ---------------------------------------------


def test_f22_the_alembic_exporter_dies_with_its_bake(head, tmp_path):
    samples, rate = sf.read(str(head / "line.wav"), dtype="float32")
    sf.write(str(tmp_path / "long.wav"), np.tile(samples, 4), rate)
    args = ["bake", "--audio", tmp_path / "long.wav", "--abc", tmp_path / "take.abc"]
    bake = subprocess.Popen([sys.executable, "-m", "editemotalk_addon", *map(str, args)], cwd=ROOT)
    deadline, child = time.time() + 300, None
    while child is None:
        assert time.time() < deadline and bake.poll() is None
        children = _children(bake.pid)
        child = next((pid for pid, command in children.items() if "alembic_child.py" in command), None)
        time.sleep(0.02)
    bake.send_signal(signal.SIGKILL)
    bake.wait()
    deadline = time.time() + 2
    while _running(child):
        assert time.time() < deadline, "the Alembic exporter outlived its bake"
        time.sleep(0.05)
    r = cli(*args)
    assert r.returncode == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["long.wav", "take.abc"]


def _children(parent: int) -> dict[int, str]:
    found = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f, open(f"/proc/{entry}/cmdline") as g:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                    found[int(entry)] = g.read()
        except OSError:
            continue
    return found


MOVER = """
import builtins, os, signal, sys
from pathlib import Path
from editemotalk_addon.core import files
folder, kill = Path(sys.argv[1]), sys.argv[2]
moves, journals = [], []
real_replace, real_open = os.replace, builtins.open
def replace(a, b):
    moves.append(b)
    if kill == f"move {len(moves)}":
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(a, b)
def open_(path, *args, **kwargs):
    if str(path).endswith(".eet-journal.json"):
        journals.append(path)
        if kill == "second journal" and len(journals) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    return real_open(path, *args, **kwargs)
os.replace, builtins.open = replace, open_
with files.atomic_all([folder / "a.csv", folder / "sub" / "b.fbx", folder / "c.usd"]) as tmps:
    for tmp in tmps:
        tmp.write_text("new")
    if kill == "writing":
        os.kill(os.getpid(), signal.SIGKILL)
"""
KILLS = {"writing": 0, "second journal": 0, "move 1": 0, "move 2": 1, "move 3": 2}  # -> files already moved


@pytest.mark.parametrize("kill", list(KILLS))
def test_all_or_none_a_kill_at_any_point_leaves_the_old_set_or_the_new(tmp_path, kill):
    """Killed while the outputs are written, between the journal's two copies (one per destination folder), or
    before the first, second or third move: the next run's sweep, a while later, finishes the moves (the new set)
    or finds none begun (the old set), and nothing of ours is left."""
    paths = [tmp_path / "a.csv", tmp_path / "sub" / "b.fbx", tmp_path / "c.usd"]
    paths[1].parent.mkdir()
    for p in paths:
        p.write_text("old")
    r = subprocess.run([sys.executable, "-c", MOVER, str(tmp_path), kill], cwd=ROOT, capture_output=True)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    moved = KILLS[kill]
    assert [p.read_text() for p in paths] == ["new"] * moved + ["old"] * (3 - moved)  # a mix, for now
    for left in tmp_path.rglob("*"):
        os.utime(left, (time.time() - 120,) * 2)
    files.sweep(paths)  # what the next run writing them does first
    assert [p.read_text() for p in paths] == ["new" if kill.startswith("move") else "old"] * 3
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.csv", "b.fbx", "c.usd"]


def test_all_or_none_the_next_bake_finishes_a_killed_set_even_when_it_fails(head, tmp_path):
    outs = {k: tmp_path / f"take.{k}" for k in ("blend", "fbx", "csv")}
    for p in outs.values():
        p.write_text("the user's previous file")
    code = (
        "import os, signal, sys\n"
        "real = os.replace\n"
        "def replace(a, b):\n"
        "    if str(b).endswith('take.fbx'):\n"  # the second of three moves
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    real(a, b)\n"
        "os.replace = replace\n"
        "from editemotalk_addon.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    args = ["bake", "--audio", head / "line.wav", "--out", outs["blend"], "--fbx", outs["fbx"], "--csv", outs["csv"]]
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True, timeout=300)
    assert r.returncode == -signal.SIGKILL and outs["blend"].read_bytes()[:7] == b"BLENDER"
    assert outs["fbx"].read_text() == "the user's previous file"  # a mix, for now
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEjunk" * 64)
    r = cli("bake", "--audio", tmp_path / "bad.wav", *args[3:])
    assert r.returncode == 2 and "Cannot decode" in one_line(r)
    assert all(b"the user's previous file" not in p.read_bytes() for p in outs.values())  # the new set, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav", "take.blend", "take.csv", "take.fbx"]


def test_the_sweep_deletes_only_what_this_program_made(head, tmp_path):
    theirs = [".take.notours.partial.csv", ".take.0123abcd.partial.csv", ".take.csv.swp", ".0123abcd.journal.json"]
    ours = [".take.0123abcd.eet-partial.csv", ".take.89abcdef.eet-partial.csv@"]
    for name in theirs + ours:
        (tmp_path / name).write_text("x")
    r = cli("bake", "--audio", head / "line.wav", "--csv", tmp_path / "take.csv")
    assert r.returncode == 0 and sorted(p.name for p in tmp_path.iterdir()) == sorted([*theirs, "take.csv"])


# --- one exit-status rule ----------------------------------------------------------------------------------------


def test_one_exit_status_rule_in_help_readme_and_batches(head, tmp_path):
    rule = "Exit status: 0 done; 2 the input is wrong"
    assert rule in cli("bake", "--help").stdout and "else 2 any job's input is wrong" in cli("batch", "--help").stdout
    readme = (ROOT / "README.md").read_text()
    assert "exit status 2 when the input is wrong" in readme and "1 when the run failed" in readme
    for number in ("16 MB", "128 MB", "30 minutes", "23.976", "size and SHA-256", "journal", "gcd"):
        assert number in readme, number  # the reliability paragraph says what these tests check
    bad = json.dumps({"audio": "missing.wav", "csv": "out/a.csv"})
    blocked = json.dumps({"audio": "line.wav", "csv": "out/blocked.csv"})
    path = _batch_folder(tmp_path, head, [bad])
    r = cli("batch", path, "--no-progress")
    assert r.returncode == 2 and "0 baked, 0 up to date, 1 failed" in r.stdout  # inputs wrong only: 2
    summary = json.loads((tmp_path / "jobs.shard0of1.summary.json").read_text())
    assert [f["status"] for f in summary["failures"]] == [2]
    (tmp_path / "out" / "blocked.csv.eet.json").mkdir(parents=True)  # that job's record cannot be written
    path.write_text(f"{bad}\n{blocked}\n")
    r = cli("batch", path, "--no-progress")
    assert r.returncode == 1 and "0 baked, 0 up to date, 2 failed" in r.stdout  # any run failed: 1
    summary = json.loads((tmp_path / "jobs.shard0of1.summary.json").read_text())
    assert [f["status"] for f in summary["failures"]] == [2, 1]
