"""The targets the issues set, written once: bench/results.md, the README's table, the model card and its list of
misses all read this table; nothing else types a target.

A target is met or missed by a figure that `python build.py bench` measured (report.figures says which figure);
a target with no limit of its own (`limit=None`) is compared with a baseline measured in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    key: str  # the figure it judges (report.figures)
    what: str  # the measure, as the tables name it
    comparison: str  # ">=", "<=" or "<"
    limit: float | None  # None: the figure's own baseline, measured beside it
    unit: str = ""  # printed after the number, with its space: " %", " s"
    issue: int | None = None  # the issue that set it, where the issue texts say so

    def met(self, value: float | None, baseline: float | None = None) -> bool:
        """Whether a measured figure meets the target; an unmeasured one does not."""
        limit = self.limit if self.limit is not None else baseline
        if value is None or limit is None:
            return False
        return {">=": value >= limit, "<=": value <= limit, "<": value < limit}[self.comparison]

    def text(self, baseline: float | None = None) -> str:
        """The target as the tables print it: ">= 95 %"."""
        limit = self.limit if self.limit is not None else baseline
        return "-" if limit is None else f"{self.comparison} {limit:g}{self.unit}"


TARGETS = (
    # lips, per held-out test set (false closures and the vertex error on the real ones)
    Target("closure_hit", "closure hit", ">=", 95.0, " %", 14),
    Target("false_closure", "false closures", "<=", 3.0, " %", 14),
    Target("lve", "lip vertex error against the phones + teacher baseline", "<", None, " mm", 14),
    Target("closure_change", "closure hit change across single-slider edits up to alpha 1.5", "<=", 3.0, " points", 14),
    Target("false_change", "false-closure change across single-slider edits up to alpha 1.5", "<=", 1.0, " points"),
    Target("rest", "lips at rest in silence (within 1 mm of the rest face), worst set and mode", ">=", 100.0, " %"),
    Target(
        "closing_speed",
        "fastest lip closure, any slider at 1.5, dev voices (real lips: under ~300)",
        "<=",
        300.0,
        " mm/s",
        30,
    ),
    Target(
        "silence_hold",
        "brows, eyes and cheeks in a pause: largest departure from their speaking values, any slider at 1.5",
        "<=",
        0.2,
        "",
        30,
    ),
    Target("jaw_corr", "jawOpen correlation with real capture", ">=", 0.6, "", 3),
    # emotion
    Target(
        "uar", "speech-emotion UAR on Emo-DB 15/16 (speakers unseen, the corpus seen in training)", ">=", 70.0, " %", 3
    ),
    Target(
        "loco", "speech-emotion UAR on a corpus never heard (leave-one-corpus-out, test, mean)", ">=", 35.0, " %", 24
    ),
    Target(
        "loco_relative",
        "speech-emotion UAR speaker-relative on a corpus never heard (leave-one-corpus-out)",
        ">=",
        50.0,
        " %",
        24,
    ),
    Target(
        "unheard_voice", "keep-voice faces agree with the acted emotion on a corpus never heard", ">=", 30.0, " %", 24
    ),
    Target(
        "judge", "independent judge top-1 at alpha 1, worst of happy/sad/angry/fearful/surprised", ">=", 80.0, " %", 13
    ),
    Target("fear_surprise", "judge: fearful and surprised read as themselves at alpha 1, the worse", ">=", 60.0, " %"),
    Target("neutral", "judge: the neutral face reads neutral", ">=", 80.0, " %", 13),
    Target("geometry", "FACS geometry targets met at alpha 1", ">=", 7, " of 7", 13),
    # speed and size (2 cores)
    Target(
        "corpus_rtf", "corpus build (synthesis, alignment, teacher, write; 2 workers)", ">=", 20.0, "x real time", 2
    ),
    Target("teacher_rtf", "teacher alone", ">=", 1000.0, "x real time", 2),
    Target("analyze", "analyze a 60 s clip, both pretrained networks included", "<=", 0.4, " s", 32),
    Target(
        "analyze_content", "analyze minus the voice encoder's share (recogniser, content, gate)", "<=", 1.0, " s", 23
    ),
    Target("generate", "re-generate a 60 s clip after a slider change", "<=", 0.02, " s", 32),
    Target("peak_rss", "peak memory, analyze and re-generate a 60 s clip", "<=", 1536.0, " MB", 3),
    Target("weights_mb", "weights folder (14 MB ours, 8 MB recogniser, 40 MB voice)", "<=", 62.0, " MB", 24),
    Target("bake", "bake 52 channels x 1800 frames", "<=", 0.1, " s", 4),
    Target("preview", "live-preview update, 60 s clip", "<=", 0.1, " s", 4),
    Target("playblast_frame", "preview video, a frame at 480 px (realistic head)", "<=", 0.1, " s", 31),
    Target("zip_mb", "extension zip", "<=", 80.0, " MB", 4),
    Target("zip_pretrained_mb", "the pretrained networks' share of the zip (compressed)", "<=", 48.0, " MB", 24),
    Target("long_clip_peak", "peak memory, CLI bake of a 30-minute clip", "<=", 1000.0, " MB", 32),
)
TARGET = {t.key: t for t in TARGETS}
