"""Meshes for everyone: the demo head (our own geometry) and the ICT-FaceKit head, with their shape keys."""

from __future__ import annotations

import bpy
import numpy as np

from .core import demo_head, ict


def mesh_object(
    name: str,
    verts: np.ndarray,
    faces: list,
    shapes: dict[str, np.ndarray],
    collection,
    materials: dict[str, tuple] | None = None,
    face_material: list | None = None,
):
    """A mesh object with a Basis and one shape key per entry of `shapes` (absolute positions), written in bulk."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts.tolist(), [], [list(f) for f in faces])
    for mat_name, colour in (materials or {}).items():
        mat = bpy.data.materials.get(f"EET {mat_name}") or bpy.data.materials.new(f"EET {mat_name}")
        mat.diffuse_color = colour
        mesh.materials.append(mat)
    if face_material is not None:
        mesh.polygons.foreach_set("material_index", np.asarray(face_material, np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), bool))
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    collection.objects.link(obj)
    obj.shape_key_add(name="Basis", from_mix=False)
    for shape_name, positions in shapes.items():
        kb = obj.shape_key_add(name=shape_name, from_mix=False)
        kb.data.foreach_set("co", positions.astype(np.float32).ravel())
    return obj


def add_demo_head(context, location=(0.0, 0.0, 0.0)):
    m = demo_head.build_mesh()
    obj = mesh_object(
        "EET Demo Head",
        m.positions,
        m.faces,
        demo_head.shape_keys(m),
        context.collection,
        demo_head.MATERIALS,
        m.face_material,
    )
    obj.location = location
    return obj


def import_ict_head(context, path: str, head_only: bool = True):
    """From the compact npz or the upstream FaceXModel OBJ folder; shapes keep their ICT names (_L/_R)."""
    head = ict.IctHead.load(bpy.path.abspath(path))
    verts, faces, sub = head.neutral, head.polygons, None
    if head_only and "Face" in head.regions:
        # Face, head and neck, mouth interior, teeth and eyeballs; not the lashes, tear ducts and occlusion shells.
        end_v = head.regions.get("Eyeball right", head.regions["Face"])[1]
        end_p = head.regions.get("Eyeball right", head.regions["Face"])[3]
        sub = slice(0, end_v)
        verts, faces = verts[sub], [f for f in faces[:end_p] if f.max() < end_v]
    scale = 0.01  # centimetres -> metres
    rot = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])  # ICT is Y-up looking +Z; Blender is Z-up looking -Y
    to_blender = lambda p: (p * scale) @ rot.T
    shapes = {
        name: to_blender(verts + (head.deltas[i][sub] if sub else head.deltas[i])) for i, name in enumerate(head.names)
    }
    return mesh_object("ICT Head", to_blender(verts), faces, shapes, context.collection)
