"""The realistic head that ships with the extension: the ICT-FaceKit face (MIT licence, USC Institute for Creative
Technologies; Li et al., CVPR 2020), cut to face, head, mouth socket, teeth and eyes, with ARKit-named shapes.

`python build.py head` (model/head_asset.py) writes ASSET from the upstream npz: the lashes, tear ducts and
occlusion shells are dropped, ICT's per-side browInnerUp and cheekPuff become one shape each (tongueOut does not
exist: reported as unmatched), the extra cheekRaiser and PupilDilate shapes are left out, and each shape keeps
float16 offsets of only the vertices it moves. IctHead.load reads it like any ICT npz.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import demo_head
from .ict import IctHead

ASSET = Path(__file__).with_name("assets") / "ict_head.npz"
LICENSE = ASSET.with_name("ICT-FaceKit-LICENSE.txt")
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
