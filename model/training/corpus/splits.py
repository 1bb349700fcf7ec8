"""Train / validation / test, decided once, on the UNDERLYING identity of voices, speakers and sentences.

Every design choice (thresholds, augmentation, early stops) is made on validation; test is read once, for the report.
Each test set is a subset of what the shipped weights' first training run held out, so their test figures stay
honest; what a set does NOT hold out is said in its label (SET_LABELS), everywhere it is printed.

- synthetic: whole base voices are held out (an espeak voice with every accent; a flite/festival voice with every
  pitch/rate version), and whole sentences. Voices that share a human behind them count as one: flite kal, kal16
  and festival kal_diphone are Kevin Lenzo; flite slt and festival cmu_us_slt_arctic_hts are CMU ARCTIC's slt.
  Test: flite rms and festival ked (test sentences). Validation: flite awb and a hashed sixth of the espeak voices
  (validation sentences). Every other voice trains, on training sentences only.
- CMU ARCTIC: test = prompts b0400 on (both speakers, who also train: "seen speakers, unseen prompts");
  validation = prompts b0300-b0399; training = the rest.
- Common Voice: speaker-disjoint: test = a hashed third of the speakers, validation = a hashed sixth of the rest.
- Emo-DB: test = speakers 15, 16 (they read the ten sentences training heard: "unseen speakers, seen sentences");
  validation = speakers 03 and 09; training = the other six.
- FACEGOOD: test = recordings 1114_3_15/16, validation = 1114_2_05, training = the rest.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "validation", "test")

# What each evaluation set holds out, said wherever its figures appear.
SET_LABELS = {
    "synthetic": "synthetic: unseen voices (flite rms, festival ked) and unseen sentences",
    "arctic": "CMU ARCTIC b0400+: seen speakers (bdl, slt), unseen prompts",
    "common_voice": "Common Voice: unseen speakers",
    "emodb": "Emo-DB 15, 16 (German): unseen speakers, seen sentences",
    "facegood": "FACEGOOD 1114_3_15/16: unseen recordings, seen speakers",
}

SYNTHETIC_TEST_VOICES = frozenset({"rms", "ked"})
SYNTHETIC_VALIDATION_VOICES = frozenset({"awb"})
ESPEAK_VALIDATION_SHARE = 1 / 6
SENTENCE_TEST_SHARE, SENTENCE_VALIDATION_SHARE = 0.12, 0.12
ARCTIC_TEST_FROM, ARCTIC_VALIDATION_FROM = "arctic_b0400", "arctic_b0300"
EMODB_TEST_SPEAKERS, EMODB_VALIDATION_SPEAKERS = frozenset({"15", "16"}), frozenset({"03", "09"})
FACEGOOD_TEST, FACEGOOD_VALIDATION = frozenset({"1114_3_15", "1114_3_16"}), frozenset({"1114_2_05"})
_SAME_HUMAN = {"kal16": "kal", "kal_diphone": "kal", "ked_diphone": "ked", "cmu_us_slt_arctic_hts": "slt"}


def unit_hash(text: str) -> float:
    """A stable number in [0, 1) for a string."""
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0x100000000


def voice_identity(family: str, name: str, variant: str = "") -> str:
    """The voice behind a synthesizer voice: espeak's variant (the accent is only pronunciation), or the human
    recorded for a flite/festival voice (several voices of one person are one identity)."""
    if family == "espeak":
        return f"espeak:{variant or 'default'}"
    return _SAME_HUMAN.get(name, name)


def synthetic_voice_split(family: str, name: str, variant: str = "") -> str:
    identity = voice_identity(family, name, variant)
    if identity in SYNTHETIC_TEST_VOICES:
        return "test"
    if identity in SYNTHETIC_VALIDATION_VOICES:
        return "validation"
    if family == "espeak" and unit_hash(identity) < ESPEAK_VALIDATION_SHARE:
        return "validation"
    return "train"


def sentence_split(text: str) -> str:
    """Held-out sentences, by a hash of the text: the same words are in one split whoever says them."""
    h = unit_hash(text.lower())
    if h < SENTENCE_TEST_SHARE:
        return "test"
    return "validation" if h < SENTENCE_TEST_SHARE + SENTENCE_VALIDATION_SHARE else "train"


def arctic_split(prompt: str) -> str:
    return "test" if prompt >= ARCTIC_TEST_FROM else "validation" if prompt >= ARCTIC_VALIDATION_FROM else "train"


def common_voice_split(speakers: list[str], speaker: str) -> str:
    """A hashed third of the speakers for test (as the first training run held out), a sixth of the rest for
    validation."""
    ordered = sorted(set(speakers), key=unit_hash)
    if speaker in ordered[::3]:
        return "test"
    return "validation" if unit_hash("validation:" + speaker) < 1 / 6 else "train"


def emodb_split(speaker: str) -> str:
    if speaker in EMODB_TEST_SPEAKERS:
        return "test"
    return "validation" if speaker in EMODB_VALIDATION_SPEAKERS else "train"


def facegood_split(recording: str) -> str:
    return "test" if recording in FACEGOOD_TEST else "validation" if recording in FACEGOOD_VALIDATION else "train"
