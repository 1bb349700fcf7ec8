"""The target mesh's shape keys and its ARKit name table: resolved from a preset, stored on the object (the
user may edit any row), and what each layer of a performance writes on those keys."""

from __future__ import annotations

import numpy as np

from ..core import name_mapping, performance, rig
from ..core.errors import InputError


def check_target(obj) -> None:
    """The target is a mesh with shape keys; raises InputError (the user's choice is wrong) naming the fix."""
    if obj is None:
        raise InputError("No face selected - pick a mesh with shape keys as the target.")
    if obj.type != "MESH":
        raise InputError(f"'{obj.name}' is a {obj.type.lower()}, not a mesh - pick a mesh with shape keys.")
    keys = obj.data.shape_keys
    if keys is None or len(keys.key_blocks) < 2:
        raise InputError(f"'{obj.name}' has no shape keys - add ARKit shape keys (or use 'Add demo head').")


def shape_key_names(obj) -> list[str]:
    return [kb.name for kb in obj.data.shape_keys.key_blocks[1:]]


def update_mapping(obj, preset: str | None = None) -> name_mapping.Mapping:
    """Resolve the object's preset against its shape keys and store the table on the object (editable)."""
    settings = obj.editemotalk
    if preset is not None:
        settings.preset = preset
    mapping = name_mapping.resolve(settings.preset, shape_key_names(obj))
    settings.rows.clear()
    for arkit, key in mapping.pairs:
        row = settings.rows.add()
        row.arkit, row.shape_key = arkit, key
    settings.unmatched = ", ".join(mapping.unmatched)
    return mapping


def sync_mapping(obj) -> name_mapping.Mapping:
    """The object's stored table (what the user may have edited) against the shape keys it has now: writes the
    table when it was never set, and the list of ARKit channels left unmatched."""
    settings = obj.editemotalk
    if not settings.rows:
        return update_mapping(obj)
    present = set(shape_key_names(obj))
    targets: dict[str, list[str]] = {}
    for row in settings.rows:
        if row.arkit in rig.INDEX and row.shape_key in present:
            targets.setdefault(row.arkit, []).append(row.shape_key)
    mapping = name_mapping.Mapping(targets, settings.preset)
    settings.unmatched = ", ".join(mapping.unmatched)
    return mapping


def layer_columns(obj, perf, combined: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """{layer: {shape key: values}}: what each NLA track of a bake of `perf` writes on obj's mapped keys."""
    mapping = sync_mapping(obj)
    if not mapping.pairs:
        raise InputError(
            f"None of '{obj.name}''s shape keys match ARKit names - pick a name preset or edit the mapping table."
        )
    out = {}
    for layer, values in perf.layers(combined).items():
        channels = performance.LAYER_CHANNELS[layer]
        columns = {
            target: values[:, rig.INDEX[arkit]] for arkit, target in mapping.pairs if rig.INDEX[arkit] in channels
        }
        if columns:
            out[layer] = columns
    return out
