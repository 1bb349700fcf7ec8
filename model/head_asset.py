"""`python build.py head`: the compact bundled head (editemotalk_addon/core/assets/ict_head.npz) from the upstream
ICT-FaceKit npz: the face without its shells, per ARKit shape only the vertices it moves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

LAST_REGION = "Eyeball right"  # the upstream vertex order: face ... teeth, eyeballs, then the shells we drop
MOVED_CM = 1e-3  # offsets below 0.01 mm are not stored


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
