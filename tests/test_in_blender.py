"""What the extension must not do to the Blender it runs in: change the process's environment on loading ONNX
Runtime (telemetry stays off all the same)."""

import os
import subprocess
import sys

from conftest import ROOT

LOAD = """
import os
from editemotalk_addon.core.onnx_sessions import cpu_session
before = dict(os.environ)
cpu_session("weights/generate.onnx")
print(dict(os.environ) == before)
"""


def test_loading_onnx_runtime_leaves_the_environment_and_home_as_they_were(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"} | {"HOME": str(tmp_path)}
    env["TMPDIR"] = str(tmp_path)
    r = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "True", r.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no telemetry database, no session file
