"""The README's headless commands and scripts, run exactly as written, in a folder laid out as they assume.

`blender ...` runs through a stand-in for the Blender binary (there is none here, see blender_standin.py): a Python
holding only the bpy module and what Blender carries, with its own home, where the README's install command puts
the extension zip. `python -m editemotalk_addon ...` runs on the bpy module from this clone; the README's Python
scripts run in the Blender-only Python, each in its own process.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import bpy
import pytest
from conftest import ROOT

from editemotalk_addon.core.livelink import read_csv  # noqa: E402

TRACKS = ["EET line articulation", "EET line expression", "EET line life"]


def readme_blocks(heading: str, language: str = "bash") -> list[str]:
    """The code blocks of one README section: from its heading to the next heading of the same or a higher level."""
    text = (ROOT / "README.md").read_text()
    level = heading.split(" ")[0]
    body = text.split(f"\n{heading}\n", 1)[1]
    body = re.split(rf"\n#{{1,{len(level)}}} ", body)[0]
    return re.findall(rf"```{language}\n(.*?)```", body, re.S)


@pytest.fixture(scope="module")
def work(tmp_path_factory, speech_wav, linux_zip):
    """A home, a `blender` on PATH, and the files the commands name, in the folder they run in."""
    from model.blenders import tested_blender

    root = tmp_path_factory.mktemp("readme")
    home, cwd, bin_dir = root / "home", root / "work", root / "bin"
    for d in (home, cwd / "heads", cwd / "lines", bin_dir):
        d.mkdir(parents=True)
    python = tested_blender("4.5")  # the version the README's paths name
    env = dict(
        os.environ,
        HOME=str(home),
        PATH=f"{bin_dir}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=str(ROOT),  # `python -m editemotalk_addon` from a clone
    )
    env.pop("BLENDER_USER_RESOURCES", None)
    blender = bin_dir / "blender"
    blender.write_text(f'#!/bin/sh\nexec {python} {ROOT / "tests" / "blender_standin.py"} "$@"\n')
    blender.chmod(0o755)
    shutil.copy(linux_zip, cwd / linux_zip.name)
    for wav in (cwd / "line.wav", cwd / "lines" / "0001.wav"):
        wav.write_bytes(speech_wav.read_bytes())
    manifest = re.search(r"```json\n(\{\"audio\".*?)\n```", (ROOT / "README.md").read_text()).group(1)
    (cwd / "jobs.jsonl").write_text(manifest + "\n")
    from editemotalk_addon.blender import heads

    bpy.ops.wm.read_factory_settings(use_empty=True)
    heads.add_demo_head(bpy.context).name = "Face"
    bpy.ops.wm.save_as_mainfile(filepath=str(cwd / "heads" / "hero.blend"))
    return cwd, env, python


def run_block(block: str, work, *command) -> subprocess.CompletedProcess:
    cwd, env, _ = work
    env = dict(env, PWD=str(cwd))  # as a shell sets it: Blender reads relative paths against $PWD
    r = subprocess.run([*(command or ["bash", "-e", "-c"]), block], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=900)  # fmt: skip
    assert r.returncode == 0, f"{block}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def tracks(blend, face: str) -> list[str]:
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    return [t.name for t in bpy.data.objects[face].data.shape_keys.animation_data.nla_tracks]


@pytest.fixture(scope="module")
def installed(work):
    """The README's install command for a headless Blender: the extension in the home's user repository."""
    (install,) = readme_blocks("### Install for scripts")
    run_block(install, work)
    home = work[1]["HOME"]
    assert os.path.isfile(f"{home}/.config/blender/4.5/extensions/user_default/editemotalk/blender_manifest.toml")
    assert os.path.isfile(f"{home}/.config/blender/4.5/config/userpref.blend")  # enabled, and remembered
    return work


def test_the_command_line_blocks_run_as_written(installed):
    cwd = installed[0]
    command, module, in_place = readme_blocks("### Bake from the command line")
    r = run_block(command, installed)
    assert r.stdout.count("editemotalk: baked") == 2 and "usage: blender -c editemotalk bake" in r.stdout
    assert "--whole-timeline" in r.stdout  # the --help
    assert all((cwd / f"line.{ext}").stat().st_size > 0 for ext in ("blend", "fbx", "abc", "usdc", "csv", "mp4"))
    weights = read_csv(cwd / "line.csv", fps=24).weights
    assert len(weights) > 30 and weights.max() > 0.1
    assert tracks(cwd / "line.blend", "Face") == TRACKS and tracks(cwd / "demo.blend", "EET Demo Head") == TRACKS
    run_block(module, installed)
    assert len(read_csv(cwd / "sad.csv", fps=24).weights) == len(weights)
    run_block(in_place, installed)
    assert tracks(cwd / "hero_line.blend", "Face") == TRACKS


def test_the_batch_block_runs_as_written(installed):
    cwd = installed[0]
    batch = readme_blocks("### Thousands of lines")[0]
    r = run_block(batch, installed)
    assert "1 baked, 0 up to date, 0 failed" in r.stdout  # in Blender
    assert "0 baked, 1 up to date, 0 failed" in r.stdout  # then on the bpy module: nothing left to do
    assert (cwd / "out" / "0001.blend").exists() and (cwd / "out" / "0001.fbx").exists()
    summary = json.loads((cwd / "jobs.shard0of1.summary.json").read_text())
    assert summary["jobs"] == 1 and summary["failures"] == []


def test_the_bpy_module_scripts_run_as_written(work, tmp_path):
    """Install once, then a later script, each its own process, in a home of their own."""
    cwd, env, python = work
    env = dict(env, HOME=str(tmp_path))
    install, script = readme_blocks("### Install for scripts", "python")
    for block in (install, script):
        run_block(block, (cwd, env, python), str(python), "-c")
    assert tracks(cwd / "scripted.blend", "EET Demo Head") == TRACKS
