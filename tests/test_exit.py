"""A script that enables the add-on ends when its last line has run: on the bpy module, with or without
unregister(), after a bake too, whether the add-on came from a clone or from the installed zip.

Each script runs as its own process, prints the time after its last line, and the process must be gone within
5 seconds of it (Blender's exit included), with status 0.
"""

import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT

EXIT_SECONDS = 5.0

FROM_CLONE = """
import sys
sys.path.insert(0, {root!r})
import bpy
import editemotalk_addon
editemotalk_addon.register()
"""
FROM_ZIP = """
import bpy
bpy.ops.extensions.package_install_files(filepath={zip!r}, repo="user_default", enable_on_install=True)
"""
BAKE = """
scene = bpy.context.scene
bpy.ops.editemotalk.add_demo_head()
scene.editemotalk.audio_path = {wav!r}
assert bpy.ops.editemotalk.bake() == {{"FINISHED"}}
"""
UNREGISTER = """
editemotalk_addon.unregister()
"""
LAST = """
import time
print("LAST", time.time(), flush=True)
"""


def exit_delay(python, script: str, env=None) -> float:
    """Seconds from the script's last line to the end of its process."""
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=300, env=env)
    ended = time.time()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    last = [line for line in done.stdout.splitlines() if line.startswith("LAST ")]
    assert last, done.stdout[-2000:] + done.stderr[-2000:]
    return ended - float(last[0].split()[1])


@pytest.mark.parametrize("steps", [(), (BAKE,), (BAKE, UNREGISTER)], ids=["register", "bake", "bake-unregister"])
def test_a_script_that_registers_the_addon_exits_at_once(steps, speech_wav):
    script = FROM_CLONE.format(root=str(ROOT)) + "".join(s.format(wav=str(speech_wav)) for s in steps) + LAST
    assert exit_delay(sys.executable, script) < EXIT_SECONDS


@pytest.mark.parametrize("bpy_version", ["4.5", "5.2"])
def test_a_script_that_installs_and_enables_the_zip_exits_at_once(bpy_version, linux_zip, speech_wav, tmp_path):
    from model.blenders import tested_blender

    python = tested_blender(bpy_version)
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender"))
    script = FROM_ZIP.format(zip=str(linux_zip)) + BAKE.format(wav=str(speech_wav)) + LAST
    assert exit_delay(python, script, env) < EXIT_SECONDS
