"""Preview video: a Workbench playblast of a baked clip with its sound, H.264/AAC through Blender's own FFmpeg.

The scene is set up for the render (a camera framing the face, Workbench, the clip's frames, a movie output) and
put back exactly as it was afterwards; the temporary camera goes again. The movie is written beside its
destination under a temporary name and moved into place when complete.
"""

from __future__ import annotations

import math
import os

import bpy
import numpy as np
from mathutils import Matrix

from ..core import terminal
from ..core.errors import UserError
from . import nla
from .preferences import own_folder

SIZE = 480  # pixels, square: small enough to render fast on a laptop CPU
LENS = 85.0  # mm, a portrait lens


def clip_frames(obj, audio_path: str) -> tuple[int, int]:
    """First and last frame of what baking this clip put on obj."""
    key = obj.data.shape_keys
    ad = key.animation_data if key else None
    tag = nla.clip_key(audio_path)
    strips = [s for t in ad.nla_tracks for s in t.strips if s.action and s.action.get(nla.TAG) == tag] if ad else []
    if not strips:
        raise UserError(f"'{obj.name}' has no bake of {nla.clip_name(audio_path)} - Bake it, then Preview.")
    return int(min(s.frame_start for s in strips)), int(max(s.frame_end for s in strips))


def frame_camera(cam, obj, margin: float = 1.3) -> None:
    """Put `cam` before the face, looking at its front (the object's -Y, Blender's front view, with its +Z up,
    whatever the object's rotation and scale), framing what its shape keys move (the face: where a key moves
    vertices by half its most or more), or the whole mesh when they move nothing."""
    keys = obj.data.shape_keys.key_blocks
    basis, co = np.empty((2, len(obj.data.vertices), 3), np.float32)
    keys[0].data.foreach_get("co", basis.ravel())
    moved = np.zeros(len(basis), bool)
    for kb in keys[1:]:
        kb.data.foreach_get("co", co.ravel())
        offset = np.linalg.norm(co - basis, axis=1)
        if offset.max() > 0:
            moved |= offset > 0.5 * offset.max()
    points = basis[moved] if moved.any() else basis
    world = np.asarray(obj.matrix_world, np.float64)
    points = points @ world[:3, :3].T + world[:3, 3]
    front = -world[:3, 1] / np.linalg.norm(world[:3, 1])  # (3,) the way the face looks
    up = world[:3, 2] - front * (world[:3, 2] @ front)
    up = up / np.linalg.norm(up) if np.linalg.norm(up) > 1e-9 else np.array([0.0, 0.0, 1.0])
    axes = np.stack([np.cross(up, front), up, front], 1)  # (3, 3) the camera's x (right), y (up), z (back)
    local = points @ axes  # (N, 3) the face in the camera's axes
    low, high = local.min(0), local.max(0)
    size = high - low
    cam.data.lens = LENS
    half_fov = math.atan(cam.data.sensor_width / 2 / LENS)
    distance = margin * max(size[0], size[1]) / 2 / math.tan(half_fov) + size[2] / 2
    centre = axes @ ((low + high) / 2)
    placed = np.eye(4)
    placed[:3, :3], placed[:3, 3] = axes, centre + front * distance
    cam.matrix_world = Matrix(placed.tolist())


class Playblast:
    """The scene set up to render frames `frames` of obj into the movie `path`; restore() puts everything back.
    progress(rendered) is called after each frame."""

    def __init__(self, scene, obj, frames: tuple[int, int], path: str, size: int = SIZE, progress=None):
        self.scene, self.frames, self.rendered, self.progress = scene, frames, 0, progress
        size -= size % 2  # H.264 wants even dimensions
        self._saved: list[tuple] = []
        self.camera = bpy.data.objects.new("EET Preview Camera", bpy.data.cameras.new("EET Preview Camera"))
        scene.collection.objects.link(self.camera)
        frame_camera(self.camera, obj)
        r, shading = scene.render, scene.display.shading
        # A movie: on Blender 5.0+ its own media type (FFMPEG then its one format), before that a file format. A
        # format belongs to its media type, so they are set, and put back, in that order.
        movie = {"media_type": "VIDEO", "file_format": "FFMPEG"}
        self._format = [(a, getattr(r.image_settings, a)) for a in movie if hasattr(r.image_settings, a)]
        for attr, _ in self._format:
            setattr(r.image_settings, attr, movie[attr])
        for owner, attr, value in (
            (scene, "camera", self.camera),
            (scene, "frame_start", frames[0]),
            (scene, "frame_end", frames[1]),
            (scene, "frame_step", 1),
            (r, "engine", "BLENDER_WORKBENCH"),
            (r, "resolution_x", size),
            (r, "resolution_y", size),
            (r, "resolution_percentage", 100),
            (r, "pixel_aspect_x", 1.0),
            (r, "pixel_aspect_y", 1.0),
            (r, "use_sequencer", False),  # the 3D view, whatever strips the sequencer holds; sound is mixed in
            (r, "use_compositing", False),
            (r, "filepath", path),
            (r, "use_file_extension", False),
            (r.ffmpeg, "format", "MPEG4"),
            (r.ffmpeg, "codec", "H264"),
            (r.ffmpeg, "audio_codec", "AAC"),
            (r.ffmpeg, "audio_channels", "STEREO"),
            (scene.display, "render_aa", "OFF"),  # one sample, no smoothing pass: FXAA doubled a frame's time
            (r, "use_persistent_data", True),  # the scene's render data kept from frame to frame: a quarter less
            (shading, "light", "STUDIO"),
            (shading, "color_type", "MATERIAL"),
        ):
            self._saved.append((owner, attr, getattr(owner, attr)))
            setattr(owner, attr, value)
        self._frame = scene.frame_current
        bpy.app.handlers.render_post.append(self._count)

    @property
    def total(self) -> int:
        return self.frames[1] - self.frames[0] + 1

    def _count(self, scene, *args) -> None:
        if scene == self.scene:
            self.rendered += 1
            if self.progress is not None:
                self.progress(self.rendered)

    def restore(self) -> None:
        if self._count in bpy.app.handlers.render_post:
            bpy.app.handlers.render_post.remove(self._count)
        for owner, attr, value in reversed(self._saved):
            setattr(owner, attr, value)
        for attr, value in self._format:
            setattr(self.scene.render.image_settings, attr, value)
        self._saved.clear()
        self.scene.frame_set(self._frame)
        camera_data = self.camera.data
        bpy.data.objects.remove(self.camera)
        bpy.data.cameras.remove(camera_data)


def render_into(path, scene, obj, frames: tuple[int, int], size: int = SIZE, progress: bool = False) -> None:
    """The playblast written straight into `path` (a temporary file of exports.write_preview or write_outputs).
    What Blender prints while it renders (lines per frame, GPU warnings) goes nowhere; with `progress`, a progress
    line stands for it."""
    total = frames[1] - frames[0] + 1
    with terminal.progress_alone("preview", total, "frames") if progress else terminal.quiet() as line:
        blast = Playblast(scene, obj, frames, str(path), size, line.update if progress else None)
        try:
            bpy.ops.render.render(animation=True, scene=scene.name)
        finally:
            blast.restore()


def default_path(audio_path: str, ending: str = "_preview.mp4", own: str = "previews") -> str:
    """<clip><ending> beside the .blend file when it is saved, else in the extension's own folder `own`."""
    name = f"{nla.clip_name(audio_path)}{ending}"
    folder = os.path.dirname(bpy.data.filepath) if bpy.data.filepath else own_folder(own)
    return os.path.join(folder, name)
