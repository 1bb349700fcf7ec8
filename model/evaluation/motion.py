"""Two figures of a face over time, for the tests and the bench: how fast the lips close, and how much of the
emotion the face keeps in silence.

fastest_closure(weights, fps)   the steepest fall of the ICT inner-lip gap (mm a frame, mm/s) and the fewest frames
                                in which it falls by 30 mm (real lips need more than 3 at 30 fps; None: it never does)
with_pauses(audio)              real speech with a 2 s lead-in and a 2 s pause at its quietest point mid-clip
silence_ratio(weights, ...)     per upper-face channel the emotion moves, its mean in that silence over its mean
                                while someone speaks (1 = the emotion holds through the pause)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from editemotalk_addon.core.audio import SAMPLE_RATE
from editemotalk_addon.core.lips import lip_gap_mm
from editemotalk_addon.core.rig import ARKIT_NAMES, SLIDERS

from .metrics import SILENCE_FROM_SPEECH

WIDE_MM = 30.0  # a wide-open mouth (jawOpen ~ 0.9 on ICT)
# What the emotion moves outside the mouth: the brows, the lids' squint and widening, the cheeks and the nose.
UPPER_FACE = tuple(
    i for i, n in enumerate(ARKIT_NAMES) if n.startswith(("brow", "eyeSquint", "eyeWide", "cheek", "nose"))
)
MOVED = 0.1  # a channel counts where the emotion moves it at least this far while speaking
LEAD_S, PAUSE_S = 2.0, 2.0


def fastest_closure(weights: np.ndarray, fps: float) -> dict:
    """(F, 52) -> the steepest fall of the lip gap: mm in one frame, as mm/s, and the fewest frames over which it
    falls by WIDE_MM (None where it never falls that far)."""
    gap = lip_gap_mm(weights).astype(np.float64)  # (F,)
    fall = float(np.max(gap[:-1] - gap[1:], initial=0.0))
    frames = None
    for start in np.flatnonzero(gap >= WIDE_MM):
        below = np.flatnonzero(gap[start + 1 :] <= gap[start] - WIDE_MM)
        if len(below):
            frames = int(below[0] + 1) if frames is None else min(frames, int(below[0] + 1))
    return {"mm_per_frame": round(fall, 2), "mm_per_s": round(fall * fps, 1), "frames_for_30mm": frames}


@dataclass
class Paused:
    """A clip with silence put in: its samples, and the seconds where that silence lies."""

    audio: np.ndarray  # (N,) float32 at 16 kHz
    silences: list[tuple[float, float]]

    def shifted(self, seconds: float) -> float:
        """Where a moment of the original clip lies in this one."""
        (_, lead), (pause_at, pause_end) = self.silences
        return seconds + lead if seconds + lead < pause_at else seconds + lead + (pause_end - pause_at)


def with_pauses(audio: np.ndarray, lead_s: float = LEAD_S, pause_s: float = PAUSE_S) -> Paused:
    """Real speech with `lead_s` of silence before it and `pause_s` at its quietest 20 ms in the middle third
    (between words, where a speaker would pause), and 0.5 s after it."""
    hop = SAMPLE_RATE // 50
    energy = np.array([np.square(audio[i : i + hop]).mean() for i in range(0, len(audio) - hop, hop)])
    third = len(energy) // 3
    cut = (third + int(np.argmin(energy[third : 2 * third]))) * hop
    zeros = lambda s: np.zeros(int(s * SAMPLE_RATE), np.float32)
    parts = [zeros(lead_s), audio[:cut], zeros(pause_s), audio[cut:], zeros(0.5)]
    pause_at = lead_s + cut / SAMPLE_RATE
    return Paused(np.concatenate(parts).astype(np.float32), [(0.0, lead_s), (pause_at, pause_at + pause_s)])


def silent_frames(paused: Paused, frames: int, fps: float) -> np.ndarray:
    """(F,) bool: frames inside the inserted silence, more than 150 ms from its edges (where the mouth rests)."""
    t = np.arange(frames) / fps
    inside = np.zeros(frames, bool)
    for start, end in paused.silences:
        inside |= (t >= start + (SILENCE_FROM_SPEECH if start > 0 else 0.0)) & (t <= end - SILENCE_FROM_SPEECH)
    return inside


def silence_ratio(weights: np.ndarray, speaking: np.ndarray, silent: np.ndarray) -> dict[str, float]:
    """{channel: mean in silence / mean while speaking} over the upper-face channels the emotion moves (mean
    >= MOVED while speaking). weights (F, 52); speaking, silent (F,) bool."""
    talk, quiet = weights[speaking].mean(0), weights[silent].mean(0)
    return {ARKIT_NAMES[c]: float(quiet[c] / talk[c]) for c in UPPER_FACE if talk[c] >= MOVED}


def silence_ratio_by_reading(weights, speaking, silent, analysis, fps: float) -> dict[str, float]:
    """silence_ratio within each stretch that carries one reading of the voice (keep-voice mode: a pause holds its
    nearest phrase's emotion, heard.per_frame), so a pause is compared with the phrase whose emotion it holds; the
    ratio furthest from 1 per channel. weights (F, 52) at `fps`; speaking, silent (F,) bool."""
    index = np.minimum((np.arange(len(weights)) / fps * analysis.fps).astype(int), len(analysis.probabilities) - 1)
    _, reading = np.unique(analysis.probabilities[index], axis=0, return_inverse=True)
    worst: dict[str, float] = {}
    for r in np.unique(reading):
        talk, quiet = speaking & (reading == r), silent & (reading == r)
        if talk.sum() >= fps / 2 and quiet.sum() >= fps / 2:  # half a second of each: a value to compare
            for name, ratio in silence_ratio(weights, talk, quiet).items():
                worst[name] = max(worst.get(name, 1.0), ratio, key=lambda x: abs(x - 1.0))
    return worst


def measure(animator, clips: list[np.ndarray], fps: float = 30, alpha: float = 1.5) -> dict:
    """Over real clips (16 kHz), every slider at `alpha` in absolute mode, and no slider: the fastest closure seen
    (the largest fall a frame, the fewest frames for 30 mm), and the silence expression ratio with a 2 s lead-in
    and a 2 s pause (the lowest and highest over channels and clips, and their mean)."""
    from editemotalk_addon.core.animator import EmotionEdit

    edits = {"none": {}} | {name: {name: alpha} for name in SLIDERS}
    fastest = {k: {"mm_per_frame": 0.0, "frames_for_30mm": None} for k in edits}
    ratios: dict[str, list[float]] = {k: [] for k in SLIDERS}
    for audio in clips:
        paused = with_pauses(audio)
        analysis = animator.analyze(paused.audio)
        for key, sliders in edits.items():
            weights = animator.generate(analysis, EmotionEdit(sliders, mode="absolute"), fps=fps).weights
            f, worst = fastest_closure(weights, fps), fastest[key]
            worst["mm_per_frame"] = max(worst["mm_per_frame"], f["mm_per_frame"])
            if f["frames_for_30mm"] is not None:
                worst["frames_for_30mm"] = min(worst["frames_for_30mm"] or f["frames_for_30mm"], f["frames_for_30mm"])
            if key in ratios:
                t = np.arange(len(weights)) / fps
                speaking = np.interp(t, np.arange(len(analysis.speech)) / analysis.fps, analysis.speech) >= 1.0
                ratios[key] += list(silence_ratio(weights, speaking, silent_frames(paused, len(weights), fps)).values())
    for v in fastest.values():
        v["mm_per_s"] = round(v["mm_per_frame"] * fps, 1)
    return {
        "fps": fps,
        "alpha": alpha,
        "clips": len(clips),
        "fastest_closure": fastest,
        "silence_ratio": {
            k: {"lowest": round(min(v), 3), "highest": round(max(v), 3), "mean": round(float(np.mean(v)), 3)}
            for k, v in ratios.items()
            if v
        },
    }
