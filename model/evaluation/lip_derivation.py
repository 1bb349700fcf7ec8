"""Where editemotalk_addon/core/lips.py's constants come from: the ICT mesh's inner-lip contact pairs, re-derived.

python -m model.evaluation.lip_derivation          # do the constants match the mesh?
python -m model.evaluation.lip_derivation --emit   # print the constants block
"""

from __future__ import annotations

import numpy as np

from editemotalk_addon.core.ict import ict_name
from editemotalk_addon.core.lips import GAP0_MM, GAP_COEF_MM, LOWER_VERTICES, PAIR_X_MM, UPPER_VERTICES
from editemotalk_addon.core.rig import ARKIT_NAMES


def _mouth_loop(polygons: list[np.ndarray], neutral: np.ndarray) -> list[int]:
    """The mouth opening: the boundary loop of the Face region that straddles the midline, smallest such."""
    from collections import Counter, defaultdict

    count = Counter((min(a, b), max(a, b)) for p in polygons for a, b in zip(p, np.roll(p, -1)))
    nbr = defaultdict(list)
    for (a, b), k in count.items():
        if k == 1:
            nbr[a].append(b)
            nbr[b].append(a)
    loops, seen = [], set()
    for v in nbr:
        if v in seen:
            continue
        loop = [v]
        seen.add(v)
        while True:
            nxt = [n for n in nbr[loop[-1]] if n not in seen]
            if not nxt:
                break
            loop.append(nxt[0])
            seen.add(nxt[0])
        loops.append(loop)
    straddling = [
        lp for lp in loops if neutral[lp, 0].min() < 0 < neutral[lp, 0].max() and abs(neutral[lp, 0].mean()) < 0.1
    ]
    return min(straddling, key=lambda lp: np.ptp(neutral[lp], axis=0).prod())


def derive(npz_path, columns_mm=PAIR_X_MM, half_width_mm: float = 1.2, rings: int = 25) -> dict:
    """Re-derive the constants from ict_face_model.npz.

    The mouth loop is split at its corners into an upper and a lower inner-lip edge; a breadth-first walk over the
    Face mesh labels every vertex within `rings` edges as upper or lower lip (whichever edge it reaches first). In
    each column x (mm) the contact pair is the (upper, lower) pair within `half_width_mm` of x that is closest at rest.
    """
    import json
    from collections import deque

    with np.load(npz_path, allow_pickle=False) as d:
        neutral = d["neutral"].astype(np.float64)
        deltas = d["deltas"].astype(np.float64)
        names = [str(n) for n in d["expression_names"]]
        regions = json.loads(str(d["regions_json"]))
        sizes, flat = d["poly_sizes"], d["poly_indices"]
    v_end, p0, p1 = regions["Face"][1], regions["Face"][2], regions["Face"][3]
    polygons = np.split(flat, np.cumsum(sizes)[:-1])[p0:p1]
    loop = _mouth_loop(polygons, neutral)
    k = int(np.argmax(neutral[loop, 0]))
    loop = loop[k:] + loop[:k]  # start at one corner
    j = int(np.argmin(neutral[loop, 0]))  # the other corner
    a, b = loop[1:j], loop[j + 1 :]
    upper_edge, lower_edge = (a, b) if neutral[a, 1].mean() > neutral[b, 1].mean() else (b, a)

    adj: dict[int, set] = {}
    for p in polygons:
        for u, v in zip(p, np.roll(p, -1)):
            adj.setdefault(int(u), set()).add(int(v))
            adj.setdefault(int(v), set()).add(int(u))
    label = {v: ("U", 0) for v in upper_edge} | {v: ("L", 0) for v in lower_edge}
    queue = deque(upper_edge + lower_edge)
    while queue:
        v = queue.popleft()
        side, ring = label[v]
        if ring < rings:
            for n in adj[v]:
                if n not in label and n < v_end:
                    label[n] = (side, ring + 1)
                    queue.append(n)
    upper = np.array([v for v, (s, _) in label.items() if s == "U"])
    lower = np.array([v for v, (s, _) in label.items() if s == "L"])

    arkit = np.zeros((len(ARKIT_NAMES), len(neutral)), np.float64)  # vertical delta per ARKit channel
    for i, n in enumerate(ARKIT_NAMES):
        for s in ict_name(n):
            if s in names:
                arkit[i] += deltas[names.index(s), :, 1]
    ups, los = [], []
    for x in columns_mm:
        cu = upper[np.abs(neutral[upper, 0] * 10 - x) < half_width_mm]
        cl = lower[np.abs(neutral[lower, 0] * 10 - x) < half_width_mm]
        dist = np.linalg.norm(neutral[cu][:, None] - neutral[cl][None], axis=2)
        iu, il = np.unravel_index(dist.argmin(), dist.shape)
        ups.append(int(cu[iu]))
        los.append(int(cl[il]))
    ups_a, los_a = np.array(ups), np.array(los)
    return {
        "PAIR_X_MM": tuple(float(x) for x in columns_mm),
        "UPPER_VERTICES": tuple(ups),
        "LOWER_VERTICES": tuple(los),
        "GAP0_MM": (10.0 * (neutral[ups_a, 1] - neutral[los_a, 1])).astype(np.float32),
        "GAP_COEF_MM": (10.0 * (arkit[:, ups_a] - arkit[:, los_a]).T).astype(np.float32),
        "_upper_lip": upper,  # every vertex labelled upper / lower lip (for checks)
        "_lower_lip": lower,
    }


def emit(c: dict) -> str:
    """The constants block as Python source."""
    rows = ",\n".join("    [" + ", ".join(f"{v:.4f}" for v in row) + "]" for row in c["GAP_COEF_MM"])
    return (
        f"PAIR_X_MM = {c['PAIR_X_MM']!r}\n"
        f"UPPER_VERTICES = {c['UPPER_VERTICES']!r}\n"
        f"LOWER_VERTICES = {c['LOWER_VERTICES']!r}\n"
        f"GAP0_MM = np.array([{', '.join(f'{v:.4f}' for v in c['GAP0_MM'])}], np.float32)\n"
        f"# (pairs, 52) mm per unit weight, columns in ARKIT_NAMES order\n"
        f"GAP_COEF_MM = np.array([\n{rows},\n], np.float32)  # fmt: skip\n"
    )


def matches_mesh(npz_path, atol_mm: float = 2e-3) -> bool:
    """Do the module's constants equal what the mesh gives now?"""
    c = derive(npz_path)
    return (
        c["UPPER_VERTICES"] == UPPER_VERTICES
        and c["LOWER_VERTICES"] == LOWER_VERTICES
        and np.allclose(c["GAP0_MM"], GAP0_MM, atol=atol_mm)
        and np.allclose(c["GAP_COEF_MM"], GAP_COEF_MM, atol=atol_mm)
    )


if __name__ == "__main__":
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "ict_facekit" / "ict_face_model.npz"
    print(emit(derive(path)) if "--emit" in sys.argv else f"constants match the mesh: {matches_mesh(path)}")
