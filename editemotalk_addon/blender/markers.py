"""Timeline markers of what the recogniser hears (core/phone_marks.py): ours are named with PREFIX, so that they
are replaced and removed without touching the user's own markers."""

from __future__ import annotations

from ..core.phone_marks import timeline_marks

PREFIX = "EET:"  # "EET:closure", "EET:rounded", "EET:open"; or the words: "EET:Maybe", "EET:Bob", ...


def ours(scene) -> list:
    return [m for m in scene.timeline_markers if m.name.startswith(PREFIX)]


def place(scene, analysis, start_frame: int, fps: float, text: str = "") -> int:
    """Markers for the words of `text` (the line as spoken) or, without it, the phone groups of `analysis`, on a
    clip starting at `start_frame`, replacing ours over the clip's frames; returns how many were placed."""
    last = start_frame + round(analysis.duration * fps)
    for marker in ours(scene):
        if start_frame <= marker.frame <= last:
            scene.timeline_markers.remove(marker)
    placed = timeline_marks(analysis, fps, start_frame, text)
    for mark in placed:
        scene.timeline_markers.new(PREFIX + mark.get("word", mark.get("group")), frame=mark["frame"])
    return len(placed)


def remove_ours(scene) -> int:
    """Remove every marker of ours (the user's stay); returns how many went."""
    found = ours(scene)
    for marker in found:
        scene.timeline_markers.remove(marker)
    return len(found)
