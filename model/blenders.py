"""The Blenders the extension is tested on, as bpy modules in venvs that hold only what each Blender carries, and
their locks (for `build.py setup|lock` and the tests that run the zip). Standard library only at the top: `build.py
setup` imports it before .venv exists."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .packaging import LOCK, ROOT, run

# The Blenders the zip is tested on, as bpy modules: version -> (its Python, the lock that pins it with hashes).
# bpy 4.5 is also the development environment's, so its pins are a subset of requirements.lock (BLENDER_CARRIES);
# requirements-bpy52.lock holds bpy 5.2 and what it needs, nothing else (`build.py lock` refreshes it).
BLENDERS = {"4.5": ("3.11", LOCK), "5.2": ("3.13", ROOT / "requirements-bpy52.lock")}
BLENDER_CARRIES = (  # bpy 4.5 and its requirements
    "bpy",
    "cython",
    "numpy",
    "zstandard",
    "requests",
    "certifi",
    "charset-normalizer",
    "idna",
    "urllib3",
)
PIP_TOOLS = ("pip-tools", "build", "click", "packaging", "pyproject-hooks", "wheel", "pip", "setuptools")


def pinned(lock: Path, names=None) -> str:
    """Requirement lines of `lock` (one per package, with its hashes), of the packages `names` or of all."""
    joined = lock.read_text().replace(" \\\n", " ")  # one line per package: name==version --hash=...
    lines = [line for line in joined.splitlines() if "==" in line and not line.startswith("#")]
    chosen = [line for line in lines if names is None or line.split("==")[0] in names]
    assert names is None or len(chosen) == len(names), chosen
    return "\n".join(chosen) + "\n"


def python_for(version: str) -> Path:
    """An interpreter of Python `version` (like "3.13") on this machine: this one, pyenv's newest, or one on PATH."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return Path(sys.executable)
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(versions.glob(f"{version}.*/bin/python{version}"), key=lambda p: int(p.parts[-3].split(".")[2]))
    if found:
        return found[-1]
    on_path = shutil.which(f"python{version}")
    if on_path and subprocess.run([on_path, "-c", ""], capture_output=True).returncode == 0:  # not a pyenv shim
        return Path(on_path)
    raise SystemExit(f"no Python {version} on this machine: install it (`pyenv install {version}`), then run again")


def blender_venv(python: Path, bpy_version: str) -> Path:
    """build/blender-<bpy_version>-venv: a venv of `python` holding the bpy module `bpy_version` and only what Blender
    itself carries (numpy, requests, zstandard...), exactly as its lock pins them: a Blender with nothing extra, to
    prove the extension needs nothing else. Rebuilt when its pins change; parallel test workers build it once.
    Returns its python."""
    import fcntl

    _, lock = BLENDERS[bpy_version]
    requirements = pinned(lock, BLENDER_CARRIES if lock == LOCK else None)
    folder = ROOT / "build" / f"blender-{bpy_version}-venv"
    venv_python, stamp = folder / "bin" / "python", folder / "requirements.sha256"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        digest = hashlib.sha256(requirements.encode()).hexdigest()
        if not stamp.exists() or stamp.read_text() != digest:
            shutil.rmtree(folder, ignore_errors=True)
            run(str(python), "-m", "venv", str(folder))
            _install_pinned(venv_python, requirements)
            stamp.write_text(digest)
    return venv_python


def _install_pinned(python: Path, requirements: str) -> None:
    listed = python.parent.parent / "requirements.txt"
    listed.write_text(requirements)
    run(str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps", "-r", str(listed))


def tested_blender(bpy_version: str) -> Path:
    """The python of the Blender-only venv of bpy `bpy_version`, built first when needed."""
    return blender_venv(python_for(BLENDERS[bpy_version][0]), bpy_version)


def lock_blender(bpy_version: str) -> None:
    """Refresh the lock of bpy `bpy_version` (not the development one) with pip-compile run by its own Python: the
    pins and hashes of the newest bpy of that version and of what it needs."""
    python, lock = BLENDERS[bpy_version]
    tools = ROOT / "build" / f"pip-tools-{python}"
    if not (tools / "bin" / "pip-compile").exists():
        run(str(python_for(python)), "-m", "venv", str(tools))
        _install_pinned(tools / "bin" / "python", pinned(LOCK, PIP_TOOLS))  # pure Python: the same pins serve
    command = [str(tools / "bin" / "pip-compile"), "--quiet", "--generate-hashes", "--allow-unsafe", "--strip-extras"]
    command += ["--no-emit-index-url", "--no-emit-find-links", f"--output-file={lock.name}", "-"]
    print("+", " ".join(command), flush=True)
    if subprocess.run(command, cwd=ROOT, input=f"bpy=={bpy_version}.*\n", text=True).returncode:
        raise SystemExit(f"pip-compile could not lock bpy {bpy_version}")
