from editemotalk_addon.core import name_mapping
from editemotalk_addon.core.ict import IctHead
from editemotalk_addon.core.rig import ARKIT_NAMES


def test_exact_arkit_names_match_everything():
    m = name_mapping.resolve("arkit", list(ARKIT_NAMES))
    assert not m.unmatched and len(m.pairs) == 52


def test_ict_suffix_preset_on_the_real_head(data_root):
    head = IctHead.load(data_root / "ict_facekit" / "ict_face_model.npz")
    m = name_mapping.resolve("suffix_lr", head.names)
    assert m.targets["browInnerUp"] == ["browInnerUp_L", "browInnerUp_R"]
    assert m.targets["mouthSmileLeft"] == ["mouthSmile_L"] and m.targets["jawLeft"] == ["jawLeft"]
    assert m.unmatched == ["tongueOut"]  # ICT-FaceKit has no tongue shape: reported, not dropped


def test_character_creator_vrm_and_metahuman_presets():
    cc4 = [
        "Eye_Blink_L",
        "Eye_L_Look_R",
        "Mouth_Smile_R",
        "Brow_Raise_Inner_L",
        "Brow_Raise_Inner_R",
        "Mouth_Funnel_Up_L",
        "Mouth_Funnel_Down_R",
        "Jaw_Open",
    ]
    m = name_mapping.resolve("cc4", cc4)
    assert m.targets["eyeBlinkLeft"] == ["Eye_Blink_L"] and m.targets["eyeLookInLeft"] == ["Eye_L_Look_R"]
    assert m.targets["browInnerUp"] == ["Brow_Raise_Inner_L", "Brow_Raise_Inner_R"]
    assert m.targets["mouthFunnel"] == ["Mouth_Funnel_Up_L", "Mouth_Funnel_Down_R"]
    vrm = name_mapping.resolve("vrm_perfect_sync", [n[0].upper() + n[1:] for n in ARKIT_NAMES])
    assert not vrm.unmatched
    mh = name_mapping.resolve(
        "metahuman", ["CTRL_expressions_jawOpen", "CTRL_expressions_mouthCornerPullL", "CTRL_expressions_eyeLookLeftL"]
    )
    assert mh.targets["mouthSmileLeft"] == ["CTRL_expressions_mouthCornerPullL"]
    assert mh.targets["eyeLookOutLeft"] == ["CTRL_expressions_eyeLookLeftL"]
    assert "mouthClose" in mh.unmatched


def test_automatic_matching_picks_the_best_preset_and_fuzzy_matches_the_rest():
    keys = [n[0].upper() + n[1:] for n in ARKIT_NAMES[:40]] + [
        "mouth_smile.L",
        "Mouth Smile Right",
        "jaw-open",
        "Unrelated",
    ]
    m = name_mapping.resolve("auto", keys)
    assert m.preset.startswith("auto (vrm_perfect_sync")
    assert m.targets["eyeBlinkLeft"] == ["EyeBlinkLeft"]
    assert m.targets["mouthSmileLeft"] == ["MouthSmileLeft"]  # the preset wins over the fuzzy spelling
    fuzzy = name_mapping.fuzzy(
        ["mouth_smile.L", "Mouth Smile Right", "Brow_Down-L"],
        ["mouthSmileLeft", "mouthSmileRight", "browDownLeft", "browDownRight"],
    )
    assert fuzzy == {
        "mouthSmileLeft": "mouth_smile.L",
        "mouthSmileRight": "Mouth Smile Right",
        "browDownLeft": "Brow_Down-L",
    }
