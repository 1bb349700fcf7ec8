"""The extension as users get it: the linux zip, installed into a fresh Blender (bpy), used, removed."""

import io
import json
import os
import subprocess
import sys
import tomllib
import zipfile

import pytest
from conftest import ROOT


def test_zip_is_self_contained_and_small(linux_zip):
    names = zipfile.ZipFile(linux_zip).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names and "core/animator.py" in names
    head = zipfile.ZipFile(linux_zip).getinfo("core/assets/ict_head.npz")  # the realistic demo head
    assert head.compress_size < 8e6 and "core/assets/ICT-FaceKit-LICENSE.txt" in names
    assert {"weights/analyze.onnx", "weights/generate.onnx", "weights/manifest.json"} <= set(names)
    # the two pretrained networks, with their notices
    assert {"weights/recogniser.onnx", "weights/voice.onnx", "weights/RECOGNISER-NOTICE.txt"} <= set(names)
    # the optional torch backend: the network definition and its safetensors
    assert {"core/network/model.py", "core/network/backend.py", "weights/model.safetensors"} <= set(names)
    wheels = [n for n in names if n.endswith(".whl")]
    assert len(wheels) == 2 and all("manylinux" in w for w in wheels)  # cp311 and cp313, this platform only
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "data/"))]
    assert linux_zip.stat().st_size < 80e6


@pytest.mark.parametrize("bpy_version", ["4.5", "5.2"])
def test_install_enable_bake_remove_in_a_blender_with_nothing_extra(bpy_version, linux_zip, speech_wav, tmp_path):
    """The zip in a Python that has only bpy and what Blender carries (no onnxruntime, torch, scipy, librosa...),
    on each Blender it is tested on: 4.5 LTS (Python 3.11) and 5.2 LTS (Python 3.13, its cp313 ONNX Runtime)."""
    from model.blenders import tested_blender

    python = tested_blender(bpy_version)
    bare = subprocess.run([str(python), "-c", "import onnxruntime"], capture_output=True)
    assert bare.returncode != 0  # nothing but the extension can provide it
    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(), temp.mkdir()
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender"), HOME=str(home), TMPDIR=str(temp))
    out = subprocess.run([str(python), str(ROOT / "tests" / "extension_session.py"), "--", str(linux_zip),
                          str(speech_wav)], env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    lines = [line for line in out.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, out.stdout[-2000:] + out.stderr[-2000:]
    r = json.loads(lines[-1][7:])
    assert r["enabled"] and r["bake"] == ["FINISHED"] and r["preview"] == ["FINISHED"]
    own = tmp_path / "blender" / "extensions" / ".user" / "user_default" / "editemotalk"
    assert r["preview_file"] == str(own / "previews" / "line_preview.mp4") and r["preview_is_mp4"]
    assert list(temp.iterdir()) == []  # nothing left in the temporary folder (ONNX Runtime's telemetry is off)
    assert not (home / ".cache" / "Microsoft").exists()
    assert r["head"] == ["EET Demo Head", 52, "tongueOut"]  # the bundled ICT-FaceKit head, read from the zip
    python = {"4.5": "python3.11", "5.2": "python3.13"}[bpy_version]
    assert r["blender"].startswith(bpy_version) and f"{os.sep}{python}{os.sep}" in r["onnxruntime"]
    assert f"{os.sep}extensions{os.sep}" in r["onnxruntime"]  # the bundled wheel for its Python, not the machine's
    assert r["tracks"] == ["EET line articulation", "EET line expression", "EET line life"]
    assert r["sound_strips"] == ["line"]
    assert r["foreign_modules"] == []
    assert r["jaw_range"] > 0.05 and r["smile_max"] > 0.1
    assert r["clear"] == ["FINISHED"] and r["after_clear"] == [0, 0]  # its tracks and its sound strip gone
    assert r["left_behind"] == [] and not r["installed_after"]
    # no torch here: nothing imported it, Preferences offer no PyTorch, and asking for it is one line
    assert not r["torch_loaded"] and r["runtimes"] == ["auto", "onnx"]
    assert r["torch_request"].startswith("PyTorch is not installed")


def test_the_installed_zip_runs_the_torch_backend_where_blender_has_torch(linux_zip, speech_wav, tmp_path):
    """The same zip in a Python with bpy and torch (this venv): Preferences offer PyTorch, and its curves equal
    ONNX Runtime's within 1e-3 (float32 through two runtimes)."""
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender"))
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "extension_session.py"), "--", str(linux_zip),
                          str(speech_wav), "torch"], env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    lines = [line for line in out.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, out.stdout[-2000:] + out.stderr[-2000:]
    r = json.loads(lines[-1][7:])
    assert r["bake"] == ["FINISHED"] and r["runtimes"] == ["auto", "onnx", "torch"] and r["torch_loaded"]
    assert r["torch_bake"] == ["FINISHED"] and r["torch_animator"] == "torch"
    assert 0.0 <= r["torch_vs_onnx"] < 1e-3


def test_blenders_own_validator_accepts_the_package_and_its_licences_are_declared(linux_zip):
    from editemotalk_addon.blender.preferences import EXTENSION_ID  # its folder when run from a clone
    from model.packaging import blender_ext

    r = subprocess.run([sys.executable, str(blender_ext()), "validate", str(linux_zip)], capture_output=True, text=True)
    assert r.returncode == 0 and "Success" in r.stdout, r.stdout + r.stderr
    package = zipfile.ZipFile(linux_zip)
    manifest = tomllib.loads(package.read("blender_manifest.toml").decode())
    assert manifest["id"] == EXTENSION_ID and manifest["blender_version_min"] == "4.5.0"
    assert manifest["permissions"].keys() == {"files"}  # no network, no other permission
    # GPL for our code; MIT and Apache-2.0 for the parts that are not ours, each with its text in the zip
    assert manifest["license"] == ["SPDX:GPL-3.0-or-later", "SPDX:MIT", "SPDX:Apache-2.0"]
    holders = " | ".join(manifest["copyright"])
    for holder in ("EditEmoTalk", "ICT-FaceKit", "ONNX Runtime", "OpenAI", "hama"):
        assert holder in holders
    assert package.read("core/assets/ICT-FaceKit-LICENSE.txt").startswith(b"MIT License")
    assert b"Apache License" in package.read("weights/RECOGNISER-LICENSE.txt")
    assert b"Copyright (c) 2022 OpenAI" in package.read("weights/VOICE-NOTICE.txt")
    notice = package.read("weights/RECOGNISER-NOTICE.txt").decode()
    assert "hama 1.3.13" in notice and "not disclosed" in notice
    wheels = [n for n in package.namelist() if n.endswith(".whl")]
    for wheel in wheels:
        assert zipfile.ZipFile(io.BytesIO(package.read(wheel))).read("onnxruntime/LICENSE").startswith(b"MIT License")
