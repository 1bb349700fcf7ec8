"""Meshes for everyone: the demo heads (the bundled ICT-FaceKit face, or our own stylised geometry) and an
ICT-FaceKit head from its files, with their shape keys."""

from __future__ import annotations

import math

import bpy
import numpy as np
from mathutils import Euler, Vector

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


def place_before_camera(obj, camera, scene, fill: float = 0.6) -> None:
    """obj upright on the camera's line of sight, turned to face it (its front is -Y, Blender's front view), at the
    distance where its height (or width) fills `fill` of the frame. In the default scene that is well in front of
    the cube at the origin, and the camera is left as it was."""
    corners = [Vector(c) for c in obj.bound_box]
    low, high = Vector(map(min, zip(*corners))), Vector(map(max, zip(*corners)))
    centre, size = (low + high) / 2, high - low
    frame = camera.data.view_frame(scene=scene)  # the frame's corners in camera space, at depth -frame[0].z
    per_metre = [(max(c[k] for c in frame) - min(c[k] for c in frame)) / -frame[0].z for k in (0, 1)]
    distance = max(size.x / per_metre[0], size.z / per_metre[1]) / fill
    eye = camera.matrix_world.translation
    target = eye + camera.matrix_world.to_3x3() @ Vector((0.0, 0.0, -distance))
    yaw = math.atan2(eye.x - target.x, target.y - eye.y)  # turns the front (-Y) towards the camera
    obj.rotation_euler = (0.0, 0.0, yaw)
    obj.location = target - Euler((0.0, 0.0, yaw)).to_matrix() @ centre


def frame_in_viewports(context, obj) -> int:
    """Select obj alone, make it active, and frame it in every 3D Viewport of the window (View Selected);
    returns how many viewports were framed."""
    for other in context.view_layer.objects:
        other.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj
    framed = 0
    for area in context.screen.areas if context.screen else ():
        region = next((r for r in area.regions if r.type == "WINDOW"), None)
        if area.type == "VIEW_3D" and region is not None:
            with context.temp_override(area=area, region=region):
                framed += bpy.ops.view3d.view_selected() == {"FINISHED"}
    return framed


def import_ict_head(context, path: str, head_only: bool = True):
    """From the compact npz or the upstream FaceXModel OBJ folder; shapes keep their ICT names (_L/_R)."""
    head = ict.IctHead.load(bpy.path.abspath(path))
    verts, faces, shapes = head.blender_geometry(head_only)
    return mesh_object("ICT Head", verts, faces, shapes, context.collection)
