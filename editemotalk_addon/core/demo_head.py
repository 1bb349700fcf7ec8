"""A stylised head with all 52 ARKit shape keys, built by our own code (numpy only; the add-on makes the mesh).

Z is up and the face looks down -Y (Blender's front view); +X is the character's left. Units are metres. Each
shape key is a deformation of named parts: the jaw rotates the chin, lower lip, tongue and mouth interior about a
hinge; eyelids are shells that rotate over the eyeballs; eyeballs rotate for gaze; lips bend, purse and roll.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .rig import ARKIT_NAMES

MATERIALS = {  # name -> RGBA viewport colour
    "skin": (0.90, 0.60, 0.46, 1.0),
    "lips": (0.70, 0.28, 0.30, 1.0),
    "eye": (0.95, 0.95, 0.93, 1.0),
    "iris": (0.10, 0.22, 0.35, 1.0),
    "mouth": (0.25, 0.05, 0.06, 1.0),
    "brows": (0.20, 0.12, 0.08, 1.0),
    "tongue": (0.80, 0.38, 0.40, 1.0),
}
JAW_PIVOT = np.array([0.0, 0.0, -0.015])
JAW_ANGLE = np.radians(18)  # jawOpen at 1
MOUTH = np.array([0.0, -0.086, -0.046])
EYES = {"Left": np.array([0.031, -0.074, 0.026]), "Right": np.array([-0.031, -0.074, 0.026])}
EYE_R = 0.0135


@dataclass
class Mesh:
    verts: list = field(default_factory=list)
    faces: list = field(default_factory=list)
    face_material: list = field(default_factory=list)
    parts: dict = field(default_factory=dict)  # part name -> vertex index array

    def add(self, name: str, verts: np.ndarray, faces: list, material: str | list) -> None:
        start = sum(len(v) for v in self.verts)
        self.verts.append(np.asarray(verts, np.float64))
        self.faces += [tuple(int(i) + start for i in f) for f in faces]
        mats = material if isinstance(material, list) else [material] * len(faces)
        self.face_material += [list(MATERIALS).index(m) for m in mats]
        self.parts[name] = np.arange(start, start + len(verts))

    @property
    def positions(self) -> np.ndarray:
        return np.concatenate(self.verts)


def _sphere(center, radii, segments=32, rings=20, theta_max=np.pi):
    """UV sphere (or a cap of it down to polar angle theta_max) around +Z; rows of vertices, no pole duplicates."""
    theta = np.linspace(0, theta_max, rings + 1)[1:]
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    pts = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    verts = np.vstack([[0, 0, 1], pts]) * radii + center
    faces = [(0, 1 + (j + 1) % segments, 1 + j) for j in range(segments)]
    for i in range(rings - 1):
        for j in range(segments):
            a, b = 1 + i * segments + j, 1 + i * segments + (j + 1) % segments
            faces.append((a, b, b + segments, a + segments))
    return verts, faces


def _rotation(axis, angle):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    x, y, z = axis
    c, s, C = np.cos(angle), np.sin(angle), 1 - np.cos(angle)
    return np.array(
        [
            [c + x * x * C, x * y * C - z * s, x * z * C + y * s],
            [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
            [z * x * C - y * s, z * y * C + x * s, c + z * z * C],
        ]
    )


def _rotate(points, center, axis, angle):
    return (points - center) @ _rotation(axis, angle).T + center


def _lip(upper: bool, n: int = 24, ring: int = 10):
    """A lip: a tube along the mouth line, thick in the middle, thin at the corners."""
    x = np.linspace(-0.025, 0.025, n)
    u = x / 0.025
    z = MOUTH[2] + (0.0032 + 0.0012 * (1 - u**2)) * (1 if upper else -1) * (1 - 0.35 * u**2)
    y = MOUTH[1] + 0.010 * u**2  # follows the curve of the face
    r = (0.0042 if upper else 0.0050) * np.sqrt(1 - 0.85 * u**2) + 0.0006
    a = np.linspace(0, 2 * np.pi, ring, endpoint=False)
    verts = np.array(
        [[xi, yi + ri * np.cos(ai) * 0.8, zi + ri * np.sin(ai)] for xi, yi, zi, ri in zip(x, y, z, r) for ai in a]
    )
    faces = [
        (i * ring + j, i * ring + (j + 1) % ring, (i + 1) * ring + (j + 1) % ring, (i + 1) * ring + j)
        for i in range(n - 1)
        for j in range(ring)
    ]
    faces += [tuple(range(ring))[::-1], tuple(range((n - 1) * ring, n * ring))]
    return verts, faces


def build_mesh() -> Mesh:
    m = Mesh()
    v, f = _sphere([0, 0, 0], [0.075, 0.09, 0.112], 48, 32)
    v[:, 1] -= 0.006 * np.exp(-(((v[:, 2] + 0.02) / 0.05) ** 2)) * (v[:, 1] < 0)  # a fuller face
    v[:, 0] *= 1 - 0.18 * np.clip(-(v[:, 2] + 0.03) / 0.08, 0, 1)  # a narrower chin
    for c in EYES.values():  # eye sockets, so the eyeballs show
        v[:, 1] += 0.010 * _falloff(v, c * [1, 0, 1] + [0, v[:, 1].min(), 0], [0.017, 1.0, 0.014]) * (v[:, 1] < 0)
    m.add("head", v, f, "skin")
    for side, c in EYES.items():
        v, f = _sphere(c, [EYE_R] * 3, 20, 14)
        v = _rotate(v, c, [1, 0, 0], np.pi / 2)  # the pole looks down -Y
        iris = ["iris" if np.mean(v[list(fc), 1]) < c[1] - EYE_R * 0.88 else "eye" for fc in f]
        m.add(f"eye{side}", v, f, iris)
        for lid, top in (("upper", True), ("lower", False)):
            v, f = _sphere([0, 0, 0], [EYE_R * 1.12] * 3, 20, 8, theta_max=np.radians(75 if top else 62))
            v = v @ _rotation([1, 0, 0], np.radians(-20 if top else 180 + 25)).T + c  # open lids
            m.add(f"lid{lid}{side}", v, f, "skin")
        sx = 1 if side == "Left" else -1
        v, f = _sphere([0, 0, 0], [0.015, 0.0035, 0.003], 12, 6)
        v = v @ _rotation([0, 1, 0], np.radians(-8 * sx)).T + c + [0.002 * sx, -0.011, 0.024]
        m.add(f"brow{side}", v, f, "brows")
    v, f = _sphere([0, 0, 0], [0.011, 0.016, 0.011], 16, 10)
    v = v + [0, -0.088, -0.006]
    m.add("nose", v, f, "skin")
    v, f = _sphere(MOUTH + [0, 0.006, 0], [0.024, 0.004, 0.009], 24, 10)
    m.add("mouth", v, f, "mouth")
    v, f = _sphere(MOUTH + [0, 0.012, -0.004], [0.013, 0.016, 0.004], 16, 8)
    m.add("tongue", v, f, "tongue")
    for name, upper in (("lipUpper", True), ("lipLower", False)):
        v, f = _lip(upper)
        m.add(name, v, f, "lips")
    return m


def _falloff(points, center, radius):
    return np.exp(-np.sum(((points - center) / radius) ** 2, axis=1))


def shape_keys(mesh: Mesh) -> dict[str, np.ndarray]:
    """ARKit name -> (V, 3) vertex positions of that shape at full weight: the jaw, the lips, the eyes, and the
    brows, cheeks, nose and tongue, each group on its own."""
    out = {}
    for group in (_jaw_shapes, _lip_shapes, _eye_shapes, _face_shapes):
        out |= group(mesh)
    missing = set(ARKIT_NAMES) - set(out)
    assert not missing, missing
    return {n: out[n] for n in ARKIT_NAMES}


def _shaper(mesh: Mesh):
    """shape(fn): a copy of the rest positions, changed in place by fn."""
    base = mesh.positions

    def shape(fn):
        p = base.copy()
        fn(p)
        return p

    return shape


def _jaw_shapes(mesh: Mesh) -> dict[str, np.ndarray]:
    """The jaw turns about its pivot, taking the chin, the lower mouth, the lower lip and the tongue with it."""
    base, P, shape = mesh.positions, mesh.parts, _shaper(mesh)
    out = {}
    head = base[P["head"]]
    chin = np.clip((MOUTH[2] + 0.004 - head[:, 2]) / 0.02, 0, 1) * np.clip(-(head[:, 1] + 0.03) / 0.03, 0, 1)
    lower_mouth = np.clip((MOUTH[2] + 0.002 - base[P["mouth"], 2]) / 0.006, 0, 1)

    def jaw(p, angle=JAW_ANGLE, axis=(1, 0, 0), move=(0, 0, 0)):
        rot = lambda pts, w: pts + w[:, None] * (_rotate(pts, JAW_PIVOT, axis, angle) + move - pts)
        p[P["head"]] = rot(p[P["head"]], chin)
        p[P["mouth"]] = rot(p[P["mouth"]], lower_mouth)
        for part in ("lipLower", "tongue"):
            p[P[part]] = rot(p[P[part]], np.ones(len(P[part])))

    out["jawOpen"] = shape(jaw)
    out["jawForward"] = shape(lambda p: jaw(p, 0.0, move=(0, -0.006, 0)))
    out["jawLeft"] = shape(lambda p: jaw(p, 0.0, move=(0.006, 0, 0)))
    out["jawRight"] = shape(lambda p: jaw(p, 0.0, move=(-0.006, 0, 0)))

    def close(p):  # seal the lips over an open jaw: undo the jaw on the lips only
        lower = base[P["lipLower"]]
        p[P["lipLower"]] = lower + (lower - _rotate(lower, JAW_PIVOT, (1, 0, 0), JAW_ANGLE)) * 0.95
        p[P["lipUpper"], 2] -= 0.002

    out["mouthClose"] = shape(close)
    return out


def _lip_shapes(mesh: Mesh) -> dict[str, np.ndarray]:
    """Each mouth shape moves the lips alone, by a function of their rest positions (corners and sides weighted)."""
    P, shape = mesh.parts, _shaper(mesh)
    out = {}

    def lips(fn):
        def apply(p):
            for part in ("lipUpper", "lipLower"):
                idx = P[part]
                p[idx] = fn(p[idx], part == "lipUpper")

        return apply

    corner = lambda q: np.clip(np.abs(q[:, 0]) / 0.025, 0, 1) ** 2
    side_w = lambda q, s: np.clip(s * q[:, 0] / 0.025, 0, 1) ** 1.5
    for s, sx in (("Left", 1), ("Right", -1)):
        out["mouthSmile" + s] = shape(
            lips(lambda q, up, sx=sx: q + side_w(q, sx)[:, None] * [sx * 0.006, 0.004, 0.008])
        )
        out["mouthFrown" + s] = shape(lips(lambda q, up, sx=sx: q + side_w(q, sx)[:, None] * [0, 0, -0.007]))
        out["mouthDimple" + s] = shape(lips(lambda q, up, sx=sx: q + side_w(q, sx)[:, None] * [sx * 0.003, 0.004, 0]))
        out["mouthStretch" + s] = shape(
            lips(lambda q, up, sx=sx: q + side_w(q, sx)[:, None] * [sx * 0.007, 0.002, -0.002])
        )
        out["mouthPress" + s] = shape(
            lips(lambda q, up, sx=sx: q + (side_w(q, sx) ** 0.3)[:, None] * [0, 0.001, -0.0018 if up else 0.0018])
        )
        out["mouthLowerDown" + s] = shape(
            lips(
                lambda q, up, sx=sx: (
                    q
                    + (0 if up else 1)
                    * (1 - 0.5 * (side_w(q, -sx) > 0))[:, None]
                    * [0, -0.001, -0.007]
                    * (1 - corner(q))[:, None]
                )
            )
        )
        out["mouthUpperUp" + s] = shape(
            lips(
                lambda q, up, sx=sx: (
                    q
                    + (1 if up else 0)
                    * (1 - 0.5 * (side_w(q, -sx) > 0))[:, None]
                    * [0, -0.001, 0.006]
                    * (1 - corner(q))[:, None]
                )
            )
        )
    pucker = lambda q, up: q + np.column_stack([-0.45 * q[:, 0], np.full(len(q), -0.006), np.zeros(len(q))])
    out["mouthPucker"] = shape(lips(pucker))
    out["mouthFunnel"] = shape(
        lips(lambda q, up: pucker(q, up) * [0.7, 1, 1] + [0, -0.002, 0.004 if up else -0.004] + [0, 0, 0])
    )
    out["mouthLeft"] = shape(lips(lambda q, up: q + [0.007, 0, 0]))
    out["mouthRight"] = shape(lips(lambda q, up: q + [-0.007, 0, 0]))
    out["mouthRollLower"] = shape(
        lips(lambda q, up: q if up else _rotate(q, MOUTH + [0, 0.004, -0.004], (1, 0, 0), np.radians(-60)))
    )
    out["mouthRollUpper"] = shape(
        lips(lambda q, up: _rotate(q, MOUTH + [0, 0.004, 0.004], (1, 0, 0), np.radians(60)) if up else q)
    )
    out["mouthShrugLower"] = shape(lips(lambda q, up: q if up else q + [0, -0.002, 0.004]))
    out["mouthShrugUpper"] = shape(lips(lambda q, up: q + [0, -0.002, 0.003] if up else q))
    return out


def _eye_shapes(mesh: Mesh) -> dict[str, np.ndarray]:
    """The eyeballs turn about their centres; the lids turn about the eyes' centres."""
    P, shape = mesh.parts, _shaper(mesh)
    out = {}

    def eye(p, side, angle_x=0.0, angle_z=0.0):
        c = EYES[side]
        idx = P["eye" + side]
        p[idx] = _rotate(_rotate(p[idx], c, (1, 0, 0), angle_x), c, (0, 0, 1), angle_z)

    def lid(p, side, upper_angle=0.0, lower_angle=0.0):
        c = EYES[side]
        p[P["lidupper" + side]] = _rotate(p[P["lidupper" + side]], c, (1, 0, 0), upper_angle)
        p[P["lidlower" + side]] = _rotate(p[P["lidlower" + side]], c, (1, 0, 0), lower_angle)

    for s, sx in (("Left", 1), ("Right", -1)):
        # About +X, a positive angle brings the upper lid down over the front of the eye; a negative one lifts the
        # lower lid.
        out["eyeBlink" + s] = shape(lambda p, s=s: lid(p, s, np.radians(62), np.radians(-8)))
        out["eyeSquint" + s] = shape(lambda p, s=s: lid(p, s, np.radians(15), np.radians(-22)))
        out["eyeWide" + s] = shape(lambda p, s=s: lid(p, s, np.radians(-18), np.radians(8)))
        out["eyeLookUp" + s] = shape(lambda p, s=s: eye(p, s, np.radians(-25)))
        out["eyeLookDown" + s] = shape(lambda p, s=s: eye(p, s, np.radians(25)))
        out["eyeLookOut" + s] = shape(lambda p, s=s, sx=sx: eye(p, s, 0, np.radians(30 * sx)))
        out["eyeLookIn" + s] = shape(lambda p, s=s, sx=sx: eye(p, s, 0, np.radians(-30 * sx)))
    return out


def _face_shapes(mesh: Mesh) -> dict[str, np.ndarray]:
    """Brows, cheeks, nose and tongue."""
    base, P, shape = mesh.positions, mesh.parts, _shaper(mesh)
    out = {}
    head = base[P["head"]]
    for s, sx in (("Left", 1), ("Right", -1)):

        def brow(p, s=s, sx=sx, inner=0.0, outer=0.0, squeeze=0.0):
            idx = P["brow" + s]
            q = p[idx]
            t = np.clip((sx * (q[:, 0] - EYES[s][0]) + 0.015) / 0.03, 0, 1)  # 0 inner end, 1 outer end
            q[:, 2] += inner * (1 - t) + outer * t
            q[:, 0] -= sx * squeeze * (1 - t)
            p[idx] = q

        out["browDown" + s] = shape(lambda p, brow=brow: brow(p, inner=-0.008, outer=-0.004, squeeze=0.004))
        out["browOuterUp" + s] = shape(lambda p, brow=brow: brow(p, outer=0.010))
        out["cheekSquint" + s] = shape(
            lambda p, s=s, sx=sx: p.__setitem__(
                P["head"],
                p[P["head"]]
                + _falloff(head, [sx * 0.04, -0.07, -0.012], [0.018, 0.03, 0.014])[:, None] * [0, -0.002, 0.006],
            )
        )
        out["noseSneer" + s] = shape(
            lambda p, sx=sx: p.__setitem__(
                P["nose"],
                p[P["nose"]]
                + (np.clip(sx * base[P["nose"], 0] / 0.011, 0, 1) * 0.7 + 0.3)[:, None] * [sx * 0.001, 0, 0.004],
            )
        )

    def brows_inner(p):
        for s, sx in (("Left", 1), ("Right", -1)):
            q = p[P["brow" + s]]
            t = np.clip((sx * (q[:, 0] - EYES[s][0]) + 0.015) / 0.03, 0, 1)
            q[:, 2] += 0.010 * (1 - t)
            p[P["brow" + s]] = q

    out["browInnerUp"] = shape(brows_inner)
    cheeks = sum(_falloff(head, [sx * 0.05, -0.06, -0.035], [0.02, 0.03, 0.022]) for sx in (1, -1))
    normals = head / np.linalg.norm(head, axis=1, keepdims=True)
    out["cheekPuff"] = shape(lambda p: p.__setitem__(P["head"], p[P["head"]] + cheeks[:, None] * normals * 0.012))
    out["tongueOut"] = shape(lambda p: p.__setitem__(P["tongue"], p[P["tongue"]] + [0, -0.03, -0.004]))
    return out
