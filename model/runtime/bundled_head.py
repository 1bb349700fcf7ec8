"""The realistic head that ships with the extension: the ICT-FaceKit face (MIT licence, USC Institute for Creative
Technologies; Li et al., CVPR 2020), cut to face, head, mouth socket, teeth and eyes, with ARKit-named shapes.

`python build.py head` writes ASSET from the upstream npz: the lashes, tear ducts and occlusion shells are dropped,
ICT's per-side browInnerUp and cheekPuff become one shape each (tongueOut does not exist: reported as unmatched),
the extra cheekRaiser and PupilDilate shapes are left out, and each shape keeps float16 offsets of only the
vertices it moves. IctHead.load reads it like any ICT npz.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import demo_head
from .ict import IctHead, ict_name
from .rig import ARKIT_NAMES

ASSET = Path(__file__).with_name("assets") / "ict_head.npz"
LICENSE = ASSET.with_name("ICT-FaceKit-LICENSE.txt")
LAST_REGION = "Eyeball right"  # the upstream vertex order: face ... teeth, eyeballs, then the shells we drop
MOVED_CM = 1e-3  # offsets below 0.01 mm are not stored
MATERIALS = {  # name -> RGBA viewport colour; the stylised head's where both have a part
    **{k: demo_head.MATERIALS[k] for k in ("skin", "mouth", "eye", "iris")},
    "teeth": (0.92, 0.90, 0.84, 1.0),
    "pupil": (0.02, 0.02, 0.02, 1.0),
}
REGION_MATERIAL = {
    "Mouth socket": "mouth",
    "Gums and tongue": "mouth",
    "Teeth": "teeth",
    "Eyeball left": "eye",
    "Eyeball right": "eye",
}
IRIS_DEGREES, PUPIL_DEGREES = 24.0, 9.0  # the front cap of each eyeball, seen from its centre (ICT looks down +Z)


def arkit_shapes(head: IctHead) -> dict[str, np.ndarray]:
    """ARKit name -> (V, 3) offsets, for every channel the head has (ICT's per-side halves summed)."""
    index = {n: i for i, n in enumerate(head.names)}
    out = {}
    for name in ARKIT_NAMES:
        parts = [index[t] for t in ict_name(name) if t in index]
        if parts:
            out[name] = head.deltas[parts].sum(0)
    return out


def write_asset(source: Path, out: Path = ASSET) -> Path:
    """The compact bundled head from the upstream ICT-FaceKit npz."""
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
    return out


def face_materials(head: IctHead) -> list[int]:
    """Per polygon, an index into MATERIALS: skin unless a region says otherwise; iris and pupil are painted as
    caps on the front of the eyeballs (the upstream head draws them with textures)."""
    out = np.zeros(len(head.polygons), np.int32)
    for region, material in REGION_MATERIAL.items():
        first, end = head.regions[region][2:]
        out[first:end] = list(MATERIALS).index(material)
    for side in ("left", "right"):
        first_v, end_v, first, end = head.regions[f"Eyeball {side}"]
        centre = head.neutral[first_v:end_v].mean(0)
        for i in range(first, end):
            to_face = head.neutral[head.polygons[i]].mean(0) - centre
            angle = np.degrees(np.arccos(to_face[2] / np.linalg.norm(to_face)))
            if angle < IRIS_DEGREES:
                out[i] = list(MATERIALS).index("pupil" if angle < PUPIL_DEGREES else "iris")
    return out.tolist()
