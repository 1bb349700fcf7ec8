"""The README's headless commands, run exactly as written, in a folder laid out as they assume.

`python -m editemotalk_addon ...` runs on the bpy module from this clone. `blender -b ... -P <extension>/cli.py -- ...`
runs through a stand-in for the Blender binary (there is none here): a Python holding only the bpy module and what
Blender carries, where the extension zip was installed into ~/.config/blender/4.5 as Blender installs it; the
stand-in does what `blender` does with those arguments (enable the installed extension, open the file, run the
script with sys.argv as Blender leaves it).
"""

import json
import os
import re
import subprocess
import sys

import bpy
import pytest
from conftest import ROOT

from editemotalk_addon.core.livelink import read_csv  # noqa: E402

MODULE = "bl_ext.user_default.editemotalk"
BLENDER = '''#!{python}
"""`blender [-b] [FILE.blend] -P SCRIPT -- ARGS` on the bpy module: extensions, then the file, then the script."""
import atexit
import runpy
import sys

import bpy

bpy.ops.preferences.addon_enable(module="{module}")  # what the user's preferences do at startup
atexit.register(lambda: bpy.ops.preferences.addon_disable(module="{module}"))  # else the bpy module hangs at exit
args = sys.argv[1 : sys.argv.index("--")] if "--" in sys.argv else sys.argv[1:]
blend = [a for a in args if a.endswith(".blend")]
if blend:
    bpy.ops.wm.open_mainfile(filepath=blend[0], load_ui=False)
runpy.run_path(args[args.index("-P") + 1], run_name="__main__")
'''


def readme_blocks(section: str) -> list[str]:
    """The ```bash blocks of one README section (up to the next '## ' heading)."""
    text = (ROOT / "README.md").read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", body, re.S)


@pytest.fixture(scope="module")
def work(tmp_path_factory, speech_wav, linux_zip):
    """A home with the extension installed, a `blender` on PATH, and the files the commands name."""
    from model.packaging import blender_only_venv

    root = tmp_path_factory.mktemp("readme")
    home, cwd, bin_dir = root / "home", root / "work", root / "bin"
    for d in (home, cwd / "heads", cwd / "lines", bin_dir):
        d.mkdir(parents=True)
    python = blender_only_venv(ROOT / "build" / "blender-only-venv")
    env = dict(
        os.environ,
        HOME=str(home),
        BLENDER_USER_RESOURCES=str(home / ".config" / "blender" / "4.5"),
        PATH=f"{bin_dir}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=str(ROOT),  # `python -m editemotalk_addon` from a clone
        SLURM_ARRAY_TASK_ID="0",
    )
    install = f"import bpy; bpy.ops.extensions.package_install_files(filepath={str(linux_zip)!r}, repo='user_default')"
    subprocess.run([str(python), "-c", install], env=env, check=True, capture_output=True, timeout=600)
    blender = bin_dir / "blender"
    blender.write_text(BLENDER.format(python=python, module=MODULE))
    blender.chmod(0o755)
    for wav in (cwd / "line.wav", cwd / "lines" / "0001.wav"):
        wav.write_bytes(speech_wav.read_bytes())
    manifest = re.search(r"```json\n(\{\"audio\".*?)\n```", (ROOT / "README.md").read_text()).group(1)
    (cwd / "jobs.jsonl").write_text(manifest + "\n")
    from editemotalk_addon.blender import heads

    bpy.ops.wm.read_factory_settings(use_empty=True)
    heads.add_demo_head(bpy.context).name = "Face"
    bpy.ops.wm.save_as_mainfile(filepath=str(cwd / "heads" / "hero.blend"))
    return cwd, env


def run_block(block: str, work) -> subprocess.CompletedProcess:
    cwd, env = work
    r = subprocess.run(["bash", "-e", "-c", block], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{block}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def test_every_readme_command_runs_as_written(work):
    cwd, _ = work
    bpy_module, in_blender = readme_blocks("Headless baking for pipelines")[:2]
    r = run_block(bpy_module, work)
    assert "--whole-timeline" in r.stdout  # the --help
    assert all((cwd / f"line.{ext}").stat().st_size > 0 for ext in ("blend", "fbx", "abc", "usdc", "csv"))
    weights = read_csv(cwd / "line.csv", fps=24).weights
    assert len(weights) > 30 and weights.max() > 0.1
    (cwd / "line.blend").unlink()
    r = run_block(in_blender, work)
    assert r.stdout.count("editemotalk: baked") == 2, r.stdout[-2000:]
    for blend, face in (("line.blend", "Face"), ("demo.blend", "EET Demo Head")):
        bpy.ops.wm.open_mainfile(filepath=str(cwd / blend), load_ui=False)
        tracks = bpy.data.objects[face].data.shape_keys.animation_data.nla_tracks
        assert [t.name for t in tracks] == ["EET line articulation", "EET line expression", "EET line life"]
    batch, slurm = readme_blocks("Headless baking for pipelines")[2:]
    r = run_block(batch, work)
    assert "1 baked, 0 up to date, 0 failed" in r.stdout
    assert (cwd / "out" / "0001.blend").exists() and (cwd / "out" / "0001.fbx").exists()
    r = run_block(slurm, work)  # task 0 of 16: the one job, already up to date
    assert "0 baked, 1 up to date, 0 failed" in r.stdout
    summary = json.loads((cwd / "jobs.shard0of16.summary.json").read_text())
    assert summary["jobs"] == 1 and summary["failures"] == []
