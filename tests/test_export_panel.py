"""The panel's Export and Blender's own File > Export after a Bake, on each Blender tested (4.5 and 5.2): every file
re-imported with Blender's default importers plays the bake's values on the bake's frames."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.parametrize("bpy_version", ["4.5", "5.2"])
def test_panel_exports_and_blenders_own_exporters_play_the_bake(bpy_version, tmp_path):
    from model.blenders import tested_blender

    python = sys.executable if bpy_version == "4.5" else str(tested_blender(bpy_version))
    out = subprocess.run([python, str(ROOT / "tests" / "export_session.py"), "--", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    lines = [line for line in out.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, out.stdout[-2000:] + out.stderr[-2000:]
    r = json.loads(lines[-1][7:])
    assert r["blender"].startswith(bpy_version) and r["bake_vs_perf"] < 1e-6
    assert [r[f"export_{f}"] for f in ("FBX", "ABC", "USD", "CSV")] == [["FINISHED"]] * 4
    assert r["scene_kept"]  # the exporters' frame range and selection were put back
    for name in ("panel.fbx", "own.fbx", "panel.usdc", "own.usdc"):
        # 52 shape keys, animated, the clip's values on its own frames, the first key on its start frame (1)
        assert r[name]["shape_keys"] == 52 and r[name]["animated"], name
        assert r[name]["max_error"] < 1e-4 and r[name]["first_key"] == 1.0, (name, r[name])
    assert r["export_range"] == ["EET export range", 1.0, 48.0]  # frame 1 to the clip's last
    assert not r["tracks_only.fbx"]["animated"]  # without it Blender's FBX exporter writes a still face
    assert r["brow"][0] < 1e-4 and r["brow"][1] < 1e-4  # the clip alone; Every Clip: as it plays, with the user's key
    frames, step, error = r["csv"]
    assert frames == 48 and abs(step - 1 / 24) < 1e-9 and error < 1e-4  # at the scene's rate (24 fps)
    assert r["panel.abc"] < 1e-4 and r["abc_moves"] > 1e-3  # the vertices of the bake, moving
