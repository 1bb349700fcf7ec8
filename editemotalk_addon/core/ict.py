"""The ICT-FaceKit head (Li et al., CVPR 2020): a real topology with ARKit-style `_L`/`_R` expression shapes.

Used to measure lip vertex error in millimetres, and by the add-on to build a shape-keyed head. It reads the
compact npz used in our tests, or the upstream FaceXModel OBJ folder (neutral + one OBJ per expression).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .rig import ARKIT_NAMES, INDEX

CM_TO_M = 0.01
ICT_TO_BLENDER = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], np.float32)  # ICT: Y up, looking +Z; Blender: Z up


def ict_name(arkit: str) -> list[str]:
    """ARKit channel -> ICT shapes: side suffixes become _L/_R; ICT splits browInnerUp and cheekPuff per side."""
    for side, suffix in (("Left", "_L"), ("Right", "_R")):
        if arkit.endswith(side) and not arkit.startswith(("jaw", "mouthLeft", "mouthRight")):
            return [arkit[: -len(side)] + suffix]
    if arkit in ("browInnerUp", "cheekPuff"):
        return [arkit + "_L", arkit + "_R"]
    return [arkit]


@dataclass
class IctHead:
    neutral: np.ndarray  # (V, 3) centimetres
    deltas: np.ndarray  # (S, V, 3)
    names: list[str]  # S expression names
    polygons: list[np.ndarray]  # vertex indices per face
    regions: dict[str, list[int]]  # name -> [first vertex, end vertex, first polygon, end polygon]

    @classmethod
    def load(cls, path: str | Path) -> IctHead:
        path = Path(path)
        return cls._from_obj_folder(path) if path.is_dir() else cls._from_npz(path)

    @classmethod
    def _from_npz(cls, path: Path) -> IctHead:
        with np.load(path, allow_pickle=False) as d:
            sizes, flat = d["poly_sizes"], d["poly_indices"]
            polygons = np.split(flat, np.cumsum(sizes.astype(np.int64))[:-1])
            neutral, names = d["neutral"].astype(np.float32), [str(n) for n in d["expression_names"]]
            if "deltas" in d:
                deltas = d["deltas"].astype(np.float32)
            else:  # the bundled head: per shape, only the vertices it moves (model/head_asset.py writes it)
                deltas = np.zeros((len(names), *neutral.shape), np.float32)
                shape = np.repeat(np.arange(len(names)), d["delta_counts"])
                deltas[shape, d["delta_vertices"]] = d["delta_values"]
            return cls(neutral, deltas, names, polygons, json.loads(str(d["regions_json"])))

    @classmethod
    def _from_obj_folder(cls, folder: Path) -> IctHead:
        """Upstream layout: generic_neutral_mesh.obj and one OBJ per expression shape (same topology)."""
        neutral_path = next(
            (p for p in (folder / "generic_neutral_mesh.obj", folder / "neutral.obj") if p.exists()), None
        )
        if neutral_path is None:
            raise FileNotFoundError(f"no generic_neutral_mesh.obj in {folder}")
        neutral, polygons = read_obj(neutral_path)
        names, deltas = [], []
        for path in sorted(folder.glob("*.obj")):
            if path == neutral_path:
                continue
            verts, _ = read_obj(path)
            if verts.shape == neutral.shape:
                names.append(path.stem)
                deltas.append(verts - neutral)
        regions = {"Face": [0, len(neutral), 0, len(polygons)]}
        return cls(
            neutral, np.stack(deltas) if deltas else np.zeros((0, *neutral.shape), np.float32), names, polygons, regions
        )

    def weights_for(self, arkit_weights: np.ndarray) -> np.ndarray:
        """(F, 52) ARKit weights -> (F, S) weights of this head's shapes."""
        return self.ict_weights(arkit_weights, self.names)

    @staticmethod
    def ict_weights(arkit_weights: np.ndarray, names: list[str]) -> np.ndarray:
        """(F, 52) ARKit weights -> (F, S) weights of the shapes `names` (ARKit names, as the bundled head has,
        or ICT's _L/_R names)."""
        arkit_weights = np.atleast_2d(arkit_weights)
        out = np.zeros((len(arkit_weights), len(names)), np.float32)
        index = {n: i for i, n in enumerate(names)}
        for name in ARKIT_NAMES:
            for target in (name, *ict_name(name)):
                if target in index:
                    out[:, index[target]] = arkit_weights[:, INDEX[name]]
        return out

    def vertices(self, arkit_weights: np.ndarray, subset: np.ndarray | None = None) -> np.ndarray:
        """(F, 52) -> (F, V', 3) posed vertex positions in centimetres."""
        sub = slice(None) if subset is None else subset
        w = self.weights_for(arkit_weights)
        return self.neutral[sub][None] + np.einsum("fs,svc->fvc", w, self.deltas[:, sub])

    def blender_geometry(self, head_only: bool = True) -> tuple[np.ndarray, list[np.ndarray], dict[str, np.ndarray]]:
        """Vertices in metres, Z up, facing -Y (Blender's front view), the faces, and each shape's absolute positions.

        head_only keeps the face, head and neck, mouth interior, teeth and eyeballs; not the lashes, tear ducts and
        occlusion shells.
        """
        verts, faces, sub = self.neutral, self.polygons, slice(None)
        if head_only and "Face" in self.regions:
            end_v, end_p = self.regions.get("Eyeball right", self.regions["Face"])[1::2]
            sub = slice(0, end_v)
            verts, faces = verts[sub], [f for f in faces[:end_p] if f.max() < end_v]
        to_blender = lambda p: (p * CM_TO_M) @ ICT_TO_BLENDER.T
        shapes = {name: to_blender(verts + self.deltas[i][sub]) for i, name in enumerate(self.names)}
        return to_blender(verts), faces, shapes

    def lip_vertices(self, share: float = 0.4) -> np.ndarray:
        """Face vertices that the lip shapes move by at least `share` of the largest lip displacement."""
        lips = [
            n
            for n in (
                "mouthFunnel",
                "mouthPucker",
                "mouthRollLower",
                "mouthRollUpper",
                "mouthPress_L",
                "mouthPress_R",
                "mouthClose",
            )
            if n in self.names
        ]
        moved = np.max([np.linalg.norm(self.deltas[self.names.index(n)], axis=1) for n in lips], axis=0)
        first, end = self.regions.get("Face", [0, len(self.neutral)])[:2]
        moved[:first], moved[end:] = 0, 0
        return np.flatnonzero(moved > share * moved.max())


def read_obj(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """Vertices and polygons of a Wavefront OBJ (positions only; texture/normal indices dropped)."""
    verts, faces = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("f "):
                faces.append(np.array([int(tok.split("/")[0]) - 1 for tok in line.split()[1:]]))
    return np.asarray(verts, np.float32), faces
