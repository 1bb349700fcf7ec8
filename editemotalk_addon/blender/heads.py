"""Meshes for everyone: the demo heads (the bundled ICT-FaceKit face, or our own stylised geometry) and an
ICT-FaceKit head from its files, with their shape keys."""

from __future__ import annotations

import bpy
import numpy as np

from ..core import bundled_head, demo_head, ict


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


DEMO_NAME = "EET Demo Head"


def add_demo_head(context, location=(0.0, 0.0, 0.0), stylised: bool = False):
    """The realistic head bundled with the extension (51 ARKit shape keys, no tongueOut), or the stylised one
    (all 52)."""
    if stylised:
        m = demo_head.build_mesh()
        geometry = ("EET Stylised Head", m.positions, m.faces, demo_head.shape_keys(m))
        materials, face_material = demo_head.MATERIALS, m.face_material
    else:
        head = ict.IctHead.load(bundled_head.ASSET)
        geometry = (DEMO_NAME, *head.blender_geometry())
        materials, face_material = bundled_head.MATERIALS, bundled_head.face_materials(head)
    obj = mesh_object(*geometry, context.collection, materials, face_material)
    obj.location = location
    return obj


def import_ict_head(context, path: str, head_only: bool = True):
    """From the compact npz or the upstream FaceXModel OBJ folder; shapes keep their ICT names (_L/_R)."""
    head = ict.IctHead.load(bpy.path.abspath(path))
    verts, faces, shapes = head.blender_geometry(head_only)
    return mesh_object("ICT Head", verts, faces, shapes, context.collection)
