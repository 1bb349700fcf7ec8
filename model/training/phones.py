"""One phone representation for every language and source.

`PhoneSegment(start, end, phone)` with `phone` from a shared articulatory inventory: the ARPAbet phones of English
(what pocketsphinx and the CMU dictionary use, stress removed) plus the two German rounded front vowels, and SIL.
German SAMPA (Emo-DB) and the CMU/festival phone sets are mapped onto it here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SIL = "SIL"
VOWELS = frozenset(
    ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW", "UE", "OE"]
)
CONSONANTS = frozenset(
    [
        "B",
        "P",
        "M",
        "F",
        "V",
        "TH",
        "DH",
        "T",
        "D",
        "N",
        "L",
        "S",
        "Z",
        "SH",
        "ZH",
        "CH",
        "JH",
        "K",
        "G",
        "NG",
        "HH",
        "R",
        "W",
        "Y",
    ]
)
INVENTORY: tuple[str, ...] = (SIL, *sorted(VOWELS), *sorted(CONSONANTS))
PHONE_ID: dict[str, int] = {p: i for i, p in enumerate(INVENTORY)}

BILABIAL = frozenset({"P", "B", "M"})


@dataclass(frozen=True)
class PhoneSegment:
    start: float  # seconds
    end: float  # seconds
    phone: str  # a member of INVENTORY

    @property
    def duration(self) -> float:
        return self.end - self.start


def merge_repeats(segments: list[PhoneSegment]) -> list[PhoneSegment]:
    """Join consecutive segments of the same phone (closure + release of one stop, split annotations)."""
    out: list[PhoneSegment] = []
    for seg in segments:
        if seg.end <= seg.start:
            continue
        if out and out[-1].phone == seg.phone and abs(out[-1].end - seg.start) < 1e-6:
            out[-1] = PhoneSegment(out[-1].start, seg.end, seg.phone)
        else:
            out.append(seg)
    return out


# --- English: ARPAbet (CMU dictionary, pocketsphinx) and festival/flite's "radio" phone set --------------------
_ARPABET_ALIASES = {
    "SIL": SIL,
    "PAU": SIL,
    "SP": SIL,
    "+NSN+": SIL,
    "+SPN+": SIL,
    "H#": SIL,
    "AX": "AH",
    "AXR": "ER",
    "IX": "IH",
    "UX": "UW",
    "EL": "L",
    "EM": "M",
    "EN": "N",
    "DX": "T",
    "NX": "N",
    "HV": "HH",
}


def from_arpabet(symbol: str) -> str:
    """'AH0', 'ah', 'pau', '+NSN+' -> an inventory phone. Unknown symbols are an error (they mean a bug)."""
    s = re.sub(r"\d", "", symbol.strip().upper())
    s = _ARPABET_ALIASES.get(s, s)
    if s not in PHONE_ID:
        raise ValueError(f"unknown ARPAbet phone {symbol!r}")
    return s


# --- German SAMPA as written in the Emo-DB (Kiel-style) label files -------------------------------------------
_SAMPA = {
    "a": "AA",
    "a:": "AA",
    "A": "AA",
    "e": "EY",
    "e:": "EY",
    "E": "EH",
    "E:": "EH",
    "i": "IY",
    "i:": "IY",
    "I": "IH",
    "o": "OW",
    "o:": "OW",
    "O": "AO",
    "u": "UW",
    "u:": "UW",
    "U": "UH",
    "y": "UE",
    "y:": "UE",
    "Y": "UE",
    "2": "OE",
    "2:": "OE",
    "9": "OE",
    "8": "OE",
    "@": "AH",
    "6": "ER",
    "aI": "AY",
    "aU": "AW",
    "OY": "OY",
    "OU": "OW",
    "ao": "AW",
    "aO": "AW",
    "AO": "AW",
    "AU": "AW",
    "p": "P",
    "b": "B",
    "B": "B",
    "m": "M",
    "f": "F",
    "v": "V",
    "V": "V",
    "t": "T",
    "d": "D",
    "D": "D",
    "n": "N",
    "l": "L",
    "L": "L",
    "s": "S",
    "z": "Z",
    "S": "SH",
    "Z": "ZH",
    "C": "HH",
    "x": "HH",
    "X": "HH",
    "h": "HH",
    "H": "HH",
    "?": "HH",
    "k": "K",
    "g": "G",
    "G": "G",
    "N": "NG",
    "j": "Y",
    "J": "Y",
    "r": "R",
    "R": "R",
    "4": "R",
    "nn": "N",
    "NN": "NG",
    "mm": "M",
    "vv": "V",
    "ss": "S",
}
_SAMPA_SILENCE = {".", "(", "(gef", "[", "#", "<p:>", "<usb>"}


def from_sampa(label: str) -> str | None:
    """One Emo-DB label -> an inventory phone, or None when the label only continues the previous segment.

    `_t` is the closure and `!t` the release of a stop (both the stop); `tasp` its aspiration (breath, lips free);
    vowel + `6` (vocalic r) keeps the vowel; annotations (`+lar`, `-sth` ...) carry no phone.
    """
    s = label.strip()
    if not s or s[0] in "+-" or s == "!":
        return None
    if s in _SAMPA_SILENCE or s.startswith("(") or s.startswith("["):
        return SIL
    s = re.split(r"[+,\s]", s, maxsplit=1)[0]  # '!b+na', 'd+nas' -> '!b', 'd'
    if s.endswith(("asp", "sap")) or s.startswith("gas"):
        return "HH"
    s = s.lstrip("_!")
    if s in _SAMPA:
        return _SAMPA[s]
    if len(s) > 1 and s.endswith("6") and s[:-1] in _SAMPA:  # i6, a6, E6, @6 ...
        return _SAMPA[s[:-1]]
    for n in (2, 1):  # odd diphthong spellings (ia, e@, I@, @E): the first vowel leads the mouth shape
        if s[:n] in _SAMPA:
            return _SAMPA[s[:n]]
    return SIL
