"""The canonical rig: Apple's 52 ARKit blendshapes and the emotion labels.

Every other module takes channel names, groups, left/right pairs and emotion names from here, so that the model's
output space is defined exactly once.
"""

from __future__ import annotations

import numpy as np

# Apple's order, as listed in the ARFaceAnchor.BlendShapeLocation documentation (eyes, mouth and jaw, brows,
# cheeks, nose, tongue). This is the column order of every (frames, 52) array in the project.
ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft",
    "eyeLookDownLeft",
    "eyeLookInLeft",
    "eyeLookOutLeft",
    "eyeLookUpLeft",
    "eyeSquintLeft",
    "eyeWideLeft",
    "eyeBlinkRight",
    "eyeLookDownRight",
    "eyeLookInRight",
    "eyeLookOutRight",
    "eyeLookUpRight",
    "eyeSquintRight",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawRight",
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthLeft",
    "mouthRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
)
NUM_CHANNELS = len(ARKIT_NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}

# Channel groups (indices into ARKIT_NAMES).
GROUPS: dict[str, tuple[int, ...]] = {
    "mouth": tuple(i for i, n in enumerate(ARKIT_NAMES) if n.startswith(("jaw", "mouth", "tongue"))),
    "brows": tuple(i for i, n in enumerate(ARKIT_NAMES) if n.startswith("brow")),
    "eyes": tuple(i for i, n in enumerate(ARKIT_NAMES) if n.startswith("eye")),
    "cheeks_nose": tuple(i for i, n in enumerate(ARKIT_NAMES) if n.startswith(("cheek", "nose"))),
}
# Blinks and gaze: the "life" layer, produced procedurally rather than learned from audio.
LIFE_CHANNELS: tuple[int, ...] = tuple(INDEX[n] for n in ARKIT_NAMES if n.startswith(("eyeBlink", "eyeLook")))


def _mirror_name(name: str) -> str:
    for a, b in (("Left", "Right"), ("Right", "Left")):
        if name.endswith(a):
            return name[: -len(a)] + b
    # jawLeft/jawRight and mouthLeft/mouthRight are sideways moves: mirrored, they swap.
    for a, b in (
        ("jawLeft", "jawRight"),
        ("jawRight", "jawLeft"),
        ("mouthLeft", "mouthRight"),
        ("mouthRight", "mouthLeft"),
    ):
        if name == a:
            return b
    return name


MIRROR: tuple[int, ...] = tuple(INDEX[_mirror_name(n)] for n in ARKIT_NAMES)
LR_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (i, MIRROR[i]) for i, n in enumerate(ARKIT_NAMES) if MIRROR[i] != i and n.endswith("Left")
)

# Emotion labels. Neutral is the origin of the emotion space; the other seven are the editing sliders.
EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised", "contempt")
SLIDERS: tuple[str, ...] = EMOTIONS[1:]
EMOTION_INDEX: dict[str, int] = {e: i for i, e in enumerate(EMOTIONS)}

# Channels that part the lips: the seal cancels them where the lips close (lips.seal, the rule on a real head).
LIP_PARTING: tuple[int, ...] = tuple(
    INDEX[n]
    for n in ("mouthFunnel", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight")
)
# ... and with the jaw, everything that opens the mouth: emotion must never add to these while the lips seal.
LIP_OPENING: tuple[int, ...] = (INDEX["jawOpen"], *LIP_PARTING)


def channel_vector(values: dict[str, float]) -> np.ndarray:
    """A (52,) vector from {channel: value}. A name without its side (`mouthSmile`) sets both Left and Right.

    Unknown names are an error, never a silent drop.
    """
    v = np.zeros(NUM_CHANNELS, np.float32)
    for name, value in values.items():
        if name in INDEX:
            v[INDEX[name]] = value
        elif name + "Left" in INDEX:
            v[INDEX[name + "Left"]] = v[INDEX[name + "Right"]] = value
        else:
            raise KeyError(f"not an ARKit channel: {name!r}")
    return v
