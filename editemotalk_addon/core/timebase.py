"""Frame timing shared by the teacher, the model and the bake: frame f of a clip sits at t = f / fps."""

from __future__ import annotations

import numpy as np

FPS_CHOICES = (24, 25, 30, 50, 60)
TRAIN_FPS = 50  # the corpus and the network work at 50 frames/s (20 ms, twice the speed of the fastest lips)
NTSC_BASE = 1.001  # 29.97 frames/s is 30 / 1.001: Blender's fps = 30, fps_base = 1.001
NTSC_SLACK = 5e-4  # frames/s: 29.97 as typed is 30 / 1.001 = 29.97003 to within this


def blender_rate(fps: float) -> tuple[int, float] | None:
    """A frame rate as Blender holds it exactly, (fps, fps_base): (30, 1.0) for 30, (30, 1.001) for 29.97 (also
    23.976, 59.94 and any n / 1.001), or None when neither a whole rate nor an NTSC one is meant."""
    if abs(fps - round(fps)) < 1e-9:
        return round(fps), 1.0
    whole = round(fps * NTSC_BASE)
    return (whole, NTSC_BASE) if whole >= 1 and abs(whole / NTSC_BASE - fps) < NTSC_SLACK else None


def frame_count(duration: float, fps: float) -> int:
    return max(1, int(np.ceil(duration * fps - 1e-9)))


def frame_times(duration: float, fps: float) -> np.ndarray:
    return np.arange(frame_count(duration, fps)) / float(fps)


def resample_frames(values: np.ndarray, fps_in: float, fps_out: float, frames_out: int | None = None) -> np.ndarray:
    """Linear interpolation of a (F, C) track from one frame rate to another (holding the last frame)."""
    if fps_in == fps_out and frames_out in (None, len(values)):
        return values
    if frames_out is None:
        frames_out = frame_count(len(values) / fps_in, fps_out)
    t = np.arange(frames_out) * (fps_in / fps_out)
    i0 = np.clip(np.floor(t).astype(int), 0, len(values) - 1)
    i1 = np.minimum(i0 + 1, len(values) - 1)
    a = (t - i0)[:, None].astype(values.dtype)
    return values[i0] * (1 - a) + values[i1] * a
