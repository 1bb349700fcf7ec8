"""A Character: one speaker's voice baseline, kept, so that Heard reads each clip against that speaker's own voice.

API (numpy only, no bpy):

    character = Character("Ada")                 # empty: Heard reads its clips against the training corpus
    analysis = animator.analyze("line.wav")      # Analysis.key, .phrase_features come with every analysis
    character.add(analysis, "line.wav")          # -> True when new; the same audio twice is one entry (its key)
    character.drop(key)                          # -> True when it held that key
    character.clips                              # [Entry] in the order added
    character.seconds                            # total seconds of audio it was built from
    character.phrases                            # phrases in all its clips
    heard = animator.heard(analysis, character)  # the analysis with probabilities read against the character
    character.save(path); Character.load(path)   # JSON, atomic write; a bad file raises UserError in one line
    character.to_json() / Character.from_json(d) # the same dict, e.g. to store inside a .blend

An entry is keyed by the SHA-256 of the decoded 16 kHz samples (audio_key), so one recording counts once however
often or under whatever name it is added. It keeps its source path (for the user to see), its seconds, and the
sufficient statistics of its phrases' pooled voice features (core/heard.py): phrase count, per-feature sum and sum
of squares (float64, exact in JSON), from which the character's per-feature mean and std are rebuilt exactly: a
reloaded character gives the same Heard, bit for bit. With fewer phrases than the head's `min_character_phrases`
the character does not normalise (normaliser() is None) and Heard reads against the training corpus.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError
from .files import write_text_atomic
from .heard import FEATURES, Normaliser

FORMAT, VERSION = "editemotalk-character", 1


def audio_key(samples: np.ndarray) -> str:
    """SHA-256 of decoded samples (float32): the identity of a recording, whatever its file name or format."""
    return hashlib.sha256(np.ascontiguousarray(samples, np.float32).tobytes()).hexdigest()


@dataclass
class Entry:
    key: str  # audio_key of the clip
    source: str  # where it came from (a path, for display only)
    seconds: float
    phrases: int
    total: np.ndarray  # (1024,) float64 sum of the phrases' pooled features
    squares: np.ndarray  # (1024,) float64 sum of their squares

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "source": self.source,
            "seconds": self.seconds,
            "phrases": self.phrases,
            "sum": self.total.tolist(),
            "sum_of_squares": self.squares.tolist(),
        }

    @classmethod
    def from_json(cls, d: dict) -> Entry:
        total, squares = np.asarray(d["sum"], np.float64), np.asarray(d["sum_of_squares"], np.float64)
        if total.shape != (FEATURES,) or squares.shape != (FEATURES,):
            raise ValueError(f"clip {d['key'][:12]} holds {total.size} features, not {FEATURES}")
        return cls(str(d["key"]), str(d["source"]), float(d["seconds"]), int(d["phrases"]), total, squares)


class Character:
    def __init__(self, name: str, clips: list[Entry] | None = None):
        self.name = name
        self._entries: dict[str, Entry] = {e.key: e for e in clips or []}

    @property
    def clips(self) -> list[Entry]:
        return list(self._entries.values())

    @property
    def seconds(self) -> float:
        return float(sum(e.seconds for e in self._entries.values()))

    @property
    def phrases(self) -> int:
        return int(sum(e.phrases for e in self._entries.values()))

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, analysis, source: str = "") -> bool:
        """Add an analysed clip (Animator.analyze). False, and nothing changes, when that audio is already in."""
        if analysis.key in self._entries:
            return False
        pooled = np.asarray(analysis.phrase_features, np.float64)  # (P, 1024)
        seconds = round(float(analysis.duration), 3)
        self._entries[analysis.key] = Entry(
            analysis.key, str(source), seconds, len(pooled), pooled.sum(0), (pooled**2).sum(0)
        )
        return True

    def drop(self, key: str) -> bool:
        return self._entries.pop(key, None) is not None

    def normaliser(self, head) -> Normaliser | None:
        """The per-feature mean and std of this character's phrases, or None with too few of them to trust."""
        count = self.phrases
        if count < head.min_character_phrases:
            return None
        total = np.sum([e.total for e in self._entries.values()], 0)
        squares = np.sum([e.squares for e in self._entries.values()], 0)
        return Normaliser.of(count, total, squares, head.floor)

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "name": self.name, "clips": [e.to_json() for e in self.clips]}

    @classmethod
    def from_json(cls, d: dict) -> Character:
        """Raises ValueError naming what is wrong."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError(f'not a character (no "format": "{FORMAT}")')
        if d.get("version") != VERSION:
            raise ValueError(f"character version {d.get('version')!r}, this add-on reads {VERSION}")
        try:
            return cls(str(d["name"]), [Entry.from_json(e) for e in d["clips"]])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a field is missing or malformed ({exc})") from None

    def save(self, path: str | Path) -> None:
        write_text_atomic(path, json.dumps(self.to_json()))

    @classmethod
    def load(cls, path: str | Path) -> Character:
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise UserError(f"Character file not found: {path} - check the path") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise UserError(f"{path} is not a readable character file ({exc}) - pick the file it saved") from None
