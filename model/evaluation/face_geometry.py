"""FACS geometry in millimetres on the ICT-FaceKit head, from ARKit weights (numpy only, no bpy).

Landmarks are picked programmatically on the neutral mesh (Face region) as the vertex that a given ICT shape moves
most, so they follow the mesh rather than hard-coded indices (see LANDMARK_SHAPES; `FaceGeometry.landmarks` holds
the chosen vertex ids). Every measure is a change relative to the neutral face, in mm, per frame; the ICT head is
linear in its shape weights, so measures are exact for a posed frame (weights clipped to [0, 1] like a rig).

Conventions: up = +y (ICT is Y-up), "outward" = away from the face midline; `_l`/`_r` = the subject's left/right
(ARKit `Left`, ICT `_L`). Measures (each (N,) mm, mean of both sides unless suffixed):

    brow_inner_raise   AU1 (+) / AU4 (-)     inner-brow height
    brow_outer_raise   AU2 (+) / AU4 (-)     outer-brow height
    brow_knit          AU4 (+)               inner brows drawn together (decrease of their distance)
    eye_aperture       AU5 (+) / AU7 (-)     upper-lid to lower-lid distance at the lid centre
    upper_lid_raise    AU5 (+)               upper-lid height
    lower_lid_raise    AU7/AU6 (+)           lower-lid height
    cheek_raise        AU6 (+)               height of the cheek point under the eye
    corner_raise       AU12 (+) / AU15 (-)   lip-corner height
    corner_pull        AU12/AU20 (+)         lip corner outward (widening)
    upper_lip_raise    AU10 (+)              upper-lip height beside the philtrum
    nose_wrinkle       AU9 (+)               height of the nose-wing point
    lower_lip_lower    AU16 (+)              lower-lip depression (positive = down)
    corner_raise_l/_r  AU12/AU15 one side    lip-corner height of the subject's left / right corner
    corner_raise_asym  contempt              corner_raise left minus right
    corner_move_asym   contempt              |3D corner displacement left| - |right|
    jaw_drop           AU26 (+)              chin point downward (positive = down)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from editemotalk_addon.core.ict import IctHead

# landmark -> (ICT shape that moves it most, restriction). Side-specific landmarks exist for _L and _R.
LANDMARK_SHAPES: dict[str, str] = {
    "brow_inner": "browInnerUp",  # AU1 point
    "brow_outer": "browOuterUp",  # AU2 point
    "upper_lid": "eyeBlink",  # the upper-lid centre travels furthest in a blink
    "lower_lid": "eyeBlink",  # the lower-lid margin: the still vertex nearest the upper lid's blinked position
    "cheek": "cheekSquint",  # AU6 point
    "corner": "mouthSmile",  # the lip corner
    "upper_lip": "mouthUpperUp",  # AU10 point
    "nose_wing": "noseSneer",  # AU9 point, restricted to the nose (the upper lip moves more)
    "lower_lip": "mouthLowerDown",  # AU16 point
}
MEASURES: tuple[str, ...] = (
    "brow_inner_raise",
    "brow_outer_raise",
    "brow_knit",
    "eye_aperture",
    "upper_lid_raise",
    "lower_lid_raise",
    "cheek_raise",
    "corner_raise",
    "corner_pull",
    "upper_lip_raise",
    "nose_wrinkle",
    "lower_lip_lower",
    "corner_raise_l",
    "corner_raise_r",
    "corner_raise_asym",
    "corner_move_asym",
    "jaw_drop",
)


# What each emotion's FACS description implies on the ICT head at alpha = 1: measure -> (min, max) mm (None = open).
# Disgust and contempt are judged only here (the FER2013 judge rarely says disgust and has no contempt).
GEOMETRY_TARGETS: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "happy": {"corner_raise": (4.0, None), "cheek_raise": (3.0, None), "eye_aperture": (None, -0.5)},
    "sad": {"brow_inner_raise": (2.5, None), "corner_raise": (None, -2.0)},
    # anger: brows lowered (inner and outer) and knit hard, lids tightened (the lower lid rises)
    "angry": {
        "brow_inner_raise": (None, -2.0),
        "brow_outer_raise": (None, -2.0),
        "brow_knit": (4.0, None),
        "upper_lid_raise": (0.5, None),
        "lower_lid_raise": (0.8, None),
    },
    # fear against surprise: raised brows drawn together (knit >= 0), lips stretched sideways, a smaller drop
    "fearful": {
        "brow_inner_raise": (2.0, None),
        "brow_knit": (0.0, None),
        "upper_lid_raise": (1.5, None),
        "corner_pull": (2.0, None),
        "jaw_drop": (3.0, 12.0),
    },
    "surprised": {
        "brow_inner_raise": (3.0, None),
        "brow_outer_raise": (3.0, None),
        "brow_knit": (None, 0.0),
        "upper_lid_raise": (1.5, None),
        "corner_pull": (None, 0.0),
        "jaw_drop": (12.0, None),
    },
    "disgusted": {
        "nose_wrinkle": (4.0, None),
        "upper_lip_raise": (4.0, None),
        "corner_raise": (None, 1.0),
        "lower_lip_lower": (1.5, None),
        "brow_inner_raise": (None, -1.5),
    },
    "contempt": {
        "corner_raise_r": (3.0, 7.0),
        "corner_raise_l": (-1.0, 1.0),
        "corner_raise_asym": (None, -3.0),
        "corner_move_asym": (None, -4.0),
        "brow_inner_raise": (-0.5, 0.5),
        "eye_aperture": (-0.5, 0.5),
    },
}


def meets(values: dict[str, float], emotion: str) -> bool:
    """Does a face (measure -> mm) meet every geometric target of `emotion`?"""
    return all(
        (lo is None or values[m] >= lo) and (hi is None or values[m] <= hi)
        for m, (lo, hi) in GEOMETRY_TARGETS[emotion].items()
    )


def describe(emotion: str) -> str:
    """The targets as text, e.g. 'nose_wrinkle >= 4, corner_raise <= 1'."""

    def one(measure, lo, hi):
        if lo is not None and hi is not None:
            return f"{measure} in [{lo:g}, {hi:g}]"
        return f"{measure} >= {lo:g}" if lo is not None else f"{measure} <= {hi:g}"

    return ", ".join(one(m, lo, hi) for m, (lo, hi) in GEOMETRY_TARGETS[emotion].items())


@dataclass
class FaceGeometry:
    neutral: np.ndarray  # (V, 3) cm
    deltas: np.ndarray  # (S, V, 3) cm
    names: list[str]
    landmarks: dict[str, int]  # "brow_inner_l" -> row in `neutral` / `deltas` (only landmark vertices are kept)
    vertex_ids: dict[str, int]  # "brow_inner_l" -> vertex id on the full ICT mesh (documentation, debugging)

    @classmethod
    def load(cls, npz_path: str | Path) -> FaceGeometry:
        with np.load(npz_path, allow_pickle=False) as d:
            neutral = d["neutral"].astype(np.float32)
            deltas = d["deltas"].astype(np.float32)
            names = [str(n) for n in d["expression_names"]]
            face_end = json.loads(str(d["regions_json"]))["Face"][1]
        marks = pick_landmarks(neutral[:face_end], deltas[:, :face_end], names)
        ids = np.array(sorted(set(marks.values())))
        # Keep only the landmark vertices: every measure is linear in them.
        remap = {v: i for i, v in enumerate(ids)}
        return cls(neutral[ids], deltas[:, ids], names, {k: remap[v] for k, v in marks.items()}, marks)

    def positions(self, arkit_weights: np.ndarray) -> np.ndarray:
        """(N, 52) -> (N, L, 3) landmark positions in mm."""
        w = np.clip(IctHead.ict_weights(np.asarray(arkit_weights, np.float32), self.names), 0.0, 1.0)
        return 10.0 * (self.neutral[None] + np.einsum("ns,svc->nvc", w, self.deltas))

    def measure(self, arkit_weights: np.ndarray) -> dict[str, np.ndarray]:
        """(N, 52) ARKit weights -> {measure: (N,) mm relative to the neutral face}."""
        w = np.atleast_2d(arkit_weights)
        p = self.positions(w)
        p0 = self.positions(np.zeros((1, w.shape[1]), np.float32))
        d = p - p0
        lm = self.landmarks

        def y(name):  # vertical displacement, mean of both sides
            return 0.5 * (d[:, lm[name + "_l"], 1] + d[:, lm[name + "_r"], 1])

        def side_x(name, side):  # outward displacement on one side
            sign = np.sign(p0[0, lm[f"{name}_{side}"], 0])
            return sign * d[:, lm[f"{name}_{side}"], 0]

        def aperture(pos, side):
            return pos[:, lm[f"upper_lid_{side}"], 1] - pos[:, lm[f"lower_lid_{side}"], 1]

        def inner_gap(pos):
            return np.abs(pos[:, lm["brow_inner_l"], 0] - pos[:, lm["brow_inner_r"], 0])

        corner = {s: d[:, lm[f"corner_{s}"]] for s in "lr"}
        return {
            "brow_inner_raise": y("brow_inner"),
            "brow_outer_raise": y("brow_outer"),
            "brow_knit": inner_gap(p0) - inner_gap(p),
            "eye_aperture": 0.5 * sum(aperture(p, s) - aperture(p0, s) for s in "lr"),
            "upper_lid_raise": y("upper_lid"),
            "lower_lid_raise": y("lower_lid"),
            "cheek_raise": y("cheek"),
            "corner_raise": y("corner"),
            "corner_pull": 0.5 * (side_x("corner", "l") + side_x("corner", "r")),
            "upper_lip_raise": y("upper_lip"),
            "nose_wrinkle": y("nose_wing"),
            "lower_lip_lower": -y("lower_lip"),
            "corner_raise_l": corner["l"][:, 1],
            "corner_raise_r": corner["r"][:, 1],
            "corner_raise_asym": corner["l"][:, 1] - corner["r"][:, 1],
            "corner_move_asym": np.linalg.norm(corner["l"], axis=1) - np.linalg.norm(corner["r"], axis=1),
            "jaw_drop": -d[:, lm["chin"], 1],
        }


def pick_landmarks(neutral: np.ndarray, deltas: np.ndarray, names: list[str]) -> dict[str, int]:
    """Vertex ids (into the Face region) of every landmark, both sides: the vertex its shape moves most."""
    idx = {n: i for i, n in enumerate(names)}
    marks: dict[str, int] = {}
    for side, suffix in (("l", "_L"), ("r", "_R")):
        for mark, shape in LANDMARK_SHAPES.items():
            move = np.linalg.norm(deltas[idx[shape + suffix]], axis=1)
            if mark == "lower_lid":  # the lower-lid margin: where the upper lid lands in a full blink
                upper = marks[f"upper_lid_{side}"]
                closed = neutral[upper] + deltas[idx["eyeBlink" + suffix], upper]
                still = np.linalg.norm(deltas[idx["eyeBlink" + suffix]], axis=1) < 0.1
                below = neutral[:, 1] < neutral[upper, 1] - 0.3
                dist = np.linalg.norm(neutral - closed, axis=1)
                move = np.where(still & below, -dist, -np.inf)
            if mark == "nose_wing":  # on the nose: within 2.2 cm of the midline, 1 cm above the upper-lip point
                lip = neutral[marks[f"upper_lip_{side}"]]
                move = np.where((np.abs(neutral[:, 0]) < 2.2) & (neutral[:, 1] > lip[1] + 1.0), move, 0.0)
            marks[f"{mark}_{side}"] = int(np.argmax(move))
    marks["chin"] = int(np.argmax(np.linalg.norm(deltas[idx["jawOpen"]], axis=1) * (np.abs(neutral[:, 0]) < 0.5)))
    return marks
