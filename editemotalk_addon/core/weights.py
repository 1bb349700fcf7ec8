"""The weights folder: safetensors, config, edit dictionary, ONNX graphs, and a SHA-256 manifest checked on load.

Nothing here unpickles: tensors come from safetensors, everything else from JSON, and a folder that offers a
pickle (.pt, .pth, .ckpt, .pkl, .bin) instead is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import UserError
from .files import sha256

MANIFEST = "manifest.json"
ONNX_FILES = (  # all Blender needs: our two graphs, the two pretrained networks they read, the Heard head
    "config.json",
    "edit_dictionary.json",
    "analyze.onnx",
    "generate.onnx",
    "recogniser.onnx",
    "voice.onnx",
    "heard.json",
)
TORCH_FILES = ("model.safetensors", "config.json")  # the torch runtime and fine-tuning
FILES = (*TORCH_FILES, *ONNX_FILES[1:])
PICKLES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin")
PACKAGE = Path(__file__).resolve().parents[1]
# The bundled model: <extension>/weights in an installed zip, <repository>/weights in a checkout of the repository.
DEFAULT = PACKAGE / "weights" if (PACKAGE / "weights").is_dir() else PACKAGE.parent / "weights"


class WeightsError(UserError):
    """One line naming the problem with a weights folder and the fix."""


def verify(folder: Path, needed: tuple[str, ...] = ONNX_FILES) -> Path:
    """Check the folder against its manifest; raise WeightsError on anything missing, tampered or pickled."""
    folder = Path(folder)
    if folder.suffix in PICKLES:
        raise WeightsError(
            f"Refusing to load {folder.name}: pickled checkpoints can run code - export the model "
            "with `python build.py train` (it writes safetensors + ONNX)."
        )
    if not folder.is_dir():
        raise WeightsError(f"Weights folder not found: {folder} - pick the folder `build.py train` wrote.")
    if not (folder / MANIFEST).exists():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLES)
        hint = f" (it holds pickles: {', '.join(pickles)}, which are refused)" if pickles else ""
        raise WeightsError(f"No {MANIFEST} in {folder}{hint} - use a folder written by `build.py train`.")
    try:
        manifest = json.loads((folder / MANIFEST).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        manifest = None
    manifest = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or not all(isinstance(v, str) for v in manifest.values()):
        raise WeightsError(
            f'{MANIFEST} in {folder} is not a valid manifest (JSON with a "files" table of SHA-256 hashes) - '
            "reinstall or re-export the weights."
        )
    for name in needed:
        path = folder / name
        if name not in manifest or not path.exists():
            raise WeightsError(f"Weights folder {folder} lacks {name} - reinstall or re-export the weights.")
        if sha256(path) != manifest[name]:
            raise WeightsError(
                f"{name} in {folder} fails its SHA-256 check (modified or corrupted) - "
                "reinstall the add-on or re-export the weights."
            )
    return folder
