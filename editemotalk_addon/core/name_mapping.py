"""ARKit channel -> a mesh's shape-key names: presets, fuzzy matching, and what stays unmatched.

One ARKit channel may drive several shape keys (ICT-FaceKit splits browInnerUp into _L and _R; Character
Creator splits mouthFunnel into four). A channel with no shape key is reported, never silently dropped.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from .rig import ARKIT_NAMES


def _sided(name: str) -> tuple[str, str | None]:
    """'mouthSmileLeft' -> ('mouthSmile', 'L'); 'jawLeft' and 'mouthLeft' are moves, not sides."""
    if name in ("jawLeft", "jawRight", "mouthLeft", "mouthRight"):
        return name, None
    for side, tag in (("Left", "L"), ("Right", "R")):
        if name.endswith(side):
            return name[: -len(side)], tag
    return name, None


def _suffix_lr(name: str) -> list[str]:
    base, side = _sided(name)
    if side:
        return [f"{base}_{side}"]
    return [f"{name}_L", f"{name}_R"] if name in ("browInnerUp", "cheekPuff") else [name]


def _pascal(name: str) -> list[str]:
    return [name[0].upper() + name[1:]]


_CC4 = {
    "browDown": "Brow_Drop_{s}",
    "browOuterUp": "Brow_Raise_Outer_{s}",
    "cheekSquint": "Cheek_Raise_{s}",
    "eyeBlink": "Eye_Blink_{s}",
    "eyeSquint": "Eye_Squint_{s}",
    "eyeWide": "Eye_Wide_{s}",
    "eyeLookDown": "Eye_{s}_Look_Down",
    "eyeLookUp": "Eye_{s}_Look_Up",
    "mouthDimple": "Mouth_Dimple_{s}",
    "mouthFrown": "Mouth_Frown_{s}",
    "mouthPress": "Mouth_Press_{s}",
    "mouthSmile": "Mouth_Smile_{s}",
    "mouthStretch": "Mouth_Stretch_{s}",
    "mouthLowerDown": "Mouth_Down_Lower_{s}",
    "mouthUpperUp": "Mouth_Up_Upper_{s}",
    "noseSneer": "Nose_Sneer_{s}",
}
_CC4_SINGLE = {
    "browInnerUp": ["Brow_Raise_Inner_L", "Brow_Raise_Inner_R"],
    "cheekPuff": ["Cheek_Puff_L", "Cheek_Puff_R"],
    "eyeLookInLeft": ["Eye_L_Look_R"],
    "eyeLookInRight": ["Eye_R_Look_L"],
    "eyeLookOutLeft": ["Eye_L_Look_L"],
    "eyeLookOutRight": ["Eye_R_Look_R"],
    "jawForward": ["Jaw_Forward"],
    "jawLeft": ["Jaw_L"],
    "jawRight": ["Jaw_R"],
    "jawOpen": ["Jaw_Open"],
    "mouthClose": ["Mouth_Close"],
    "mouthLeft": ["Mouth_L"],
    "mouthRight": ["Mouth_R"],
    "mouthFunnel": ["Mouth_Funnel_Up_L", "Mouth_Funnel_Up_R", "Mouth_Funnel_Down_L", "Mouth_Funnel_Down_R"],
    "mouthPucker": ["Mouth_Pucker_Up_L", "Mouth_Pucker_Up_R", "Mouth_Pucker_Down_L", "Mouth_Pucker_Down_R"],
    "mouthRollLower": ["Mouth_Roll_In_Lower_L", "Mouth_Roll_In_Lower_R"],
    "mouthRollUpper": ["Mouth_Roll_In_Upper_L", "Mouth_Roll_In_Upper_R"],
    "mouthShrugLower": ["Mouth_Shrug_Lower"],
    "mouthShrugUpper": ["Mouth_Shrug_Upper"],
    "tongueOut": ["Tongue_Out"],
}


def _cc4(name: str) -> list[str]:
    if name in _CC4_SINGLE:
        return _CC4_SINGLE[name]
    base, side = _sided(name)
    return [_CC4[base].format(s=side)] if base in _CC4 and side else []


_MH = "CTRL_expressions_"
_MH_SIDED = {
    "eyeBlink": "eyeBlink{s}",
    "eyeLookDown": "eyeLookDown{s}",
    "eyeLookUp": "eyeLookUp{s}",
    "eyeSquint": "eyeSquintInner{s}",
    "eyeWide": "eyeWiden{s}",
    "mouthSmile": "mouthCornerPull{s}",
    "mouthFrown": "mouthCornerDepress{s}",
    "mouthDimple": "mouthDimple{s}",
    "mouthStretch": "mouthStretch{s}",
    "mouthPress": "mouthLipsPress{s}",
    "mouthLowerDown": "mouthLowerLipDepress{s}",
    "mouthUpperUp": "mouthUpperLipRaise{s}",
    "browDown": "browDown{s}",
    "browOuterUp": "browRaiseOuter{s}",
    "cheekSquint": "eyeCheekRaise{s}",
    "noseSneer": "noseWrinkle{s}",
}
_MH_SINGLE = {
    "eyeLookInLeft": ["eyeLookRightL"],
    "eyeLookOutLeft": ["eyeLookLeftL"],
    "eyeLookInRight": ["eyeLookLeftR"],
    "eyeLookOutRight": ["eyeLookRightR"],
    "jawOpen": ["jawOpen"],
    "jawForward": ["jawFwd"],
    "jawLeft": ["jawLeft"],
    "jawRight": ["jawRight"],
    "mouthLeft": ["mouthLeft"],
    "mouthRight": ["mouthRight"],
    "tongueOut": ["tongueOut"],
    "mouthFunnel": ["mouthFunnelUL", "mouthFunnelUR", "mouthFunnelDL", "mouthFunnelDR"],
    "mouthPucker": ["mouthLipsPurseUL", "mouthLipsPurseUR", "mouthLipsPurseDL", "mouthLipsPurseDR"],
    "mouthRollLower": ["mouthLowerLipRollInL", "mouthLowerLipRollInR"],
    "mouthRollUpper": ["mouthUpperLipRollInL", "mouthUpperLipRollInR"],
    "mouthShrugLower": ["jawChinRaiseDL", "jawChinRaiseDR"],
    "mouthShrugUpper": ["jawChinRaiseUL", "jawChinRaiseUR"],
    "browInnerUp": ["browRaiseInL", "browRaiseInR"],
    "cheekPuff": ["mouthCheekBlowL", "mouthCheekBlowR"],
    "mouthClose": [],  # MetaHuman has no lip-seal corrective
}


def _metahuman(name: str) -> list[str]:
    if name in _MH_SINGLE:
        return [_MH + n for n in _MH_SINGLE[name]]
    base, side = _sided(name)
    return [_MH + _MH_SIDED[base].format(s=side)] if base in _MH_SIDED and side else []


PRESETS = {
    "arkit": lambda n: [n],
    "suffix_lr": _suffix_lr,  # ICT-FaceKit style: mouthSmile_L, browInnerUp_L + browInnerUp_R
    "cc4": _cc4,  # Character Creator 4 "Extended" facial profile
    "vrm_perfect_sync": _pascal,  # VRM "Perfect Sync": ARKit names in PascalCase
    "metahuman": _metahuman,  # MetaHuman-style CTRL_expressions_* curves
}
PRESET_LABELS = {
    "arkit": "ARKit (exact names)",
    "suffix_lr": "_L / _R suffixes (ICT-FaceKit)",
    "cc4": "Character Creator 4",
    "vrm_perfect_sync": "VRM Perfect Sync",
    "metahuman": "MetaHuman curves",
    "auto": "Automatic (best preset + fuzzy)",
}


@dataclass
class Mapping:
    targets: dict[str, list[str]] = field(default_factory=dict)  # ARKit name -> shape keys it drives
    preset: str = "arkit"

    @property
    def unmatched(self) -> list[str]:
        return [n for n in ARKIT_NAMES if not self.targets.get(n)]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(a, t) for a in ARKIT_NAMES for t in self.targets.get(a, [])]


def from_preset(preset: str, shape_keys: list[str]) -> Mapping:
    present = set(shape_keys)
    return Mapping({n: [t for t in PRESETS[preset](n) if t in present] for n in ARKIT_NAMES}, preset)


def _normal(name: str) -> str:
    """Case, separators and side spellings folded: 'Mouth_Smile.L', 'mouthSmileLeft' -> 'mouthsmileleft'."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)  # camelCase -> camel_Case
    tokens = [t for t in re.split(r"[^A-Za-z0-9]+", s.lower()) if t]
    side = {"l": "left", "left": "left", "r": "right", "right": "right"}
    if tokens and tokens[-1] in side:
        tokens[-1] = side[tokens[-1]]
    elif tokens and tokens[0] in side:
        tokens = tokens[1:] + [side[tokens[0]]]
    return "".join(tokens)


def _side(normal: str) -> str | None:
    return "left" if normal.endswith("left") else "right" if normal.endswith("right") else None


def fuzzy(shape_keys: list[str], names: list[str], cutoff: float = 0.86) -> dict[str, str]:
    """For each ARKit name, the shape key whose normalised name matches it (exactly, else closely, same side)."""
    normal = {k: _normal(k) for k in shape_keys}
    by_normal = {v: k for k, v in normal.items()}
    out = {}
    for name in names:
        target = _normal(name)
        if target in by_normal:
            out[name] = by_normal[target]
            continue
        candidates = [n for n in by_normal if _side(n) == _side(target)]
        close = difflib.get_close_matches(target, candidates, n=1, cutoff=cutoff)
        if close:
            out[name] = by_normal[close[0]]
    return out


def auto(shape_keys: list[str]) -> Mapping:
    """The preset that matches most channels, then fuzzy matching for the channels it leaves unmatched."""
    best = max((from_preset(p, shape_keys) for p in PRESETS), key=lambda m: len(m.pairs))
    used = {t for _, t in best.pairs}
    free = [k for k in shape_keys if k not in used]
    for name, key in fuzzy(free, best.unmatched).items():
        best.targets[name] = [key]
    best.preset = f"auto ({best.preset})"
    return best


def resolve(preset: str, shape_keys: list[str]) -> Mapping:
    return auto(shape_keys) if preset == "auto" else from_preset(preset, shape_keys)
