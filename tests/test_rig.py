import numpy as np

from editemotalk_addon.core import rig


def test_52_unique_names_in_apple_order():
    assert rig.NUM_CHANNELS == 52 == len(set(rig.ARKIT_NAMES))
    assert rig.ARKIT_NAMES[0] == "eyeBlinkLeft" and rig.ARKIT_NAMES[-1] == "tongueOut"
    assert rig.ARKIT_NAMES.index("jawOpen") == 17 and rig.ARKIT_NAMES.index("browDownLeft") == 41


def test_groups_partition_the_rig():
    members = [i for g in rig.GROUPS.values() for i in g]
    assert sorted(members) == list(range(52))
    assert rig.INDEX["tongueOut"] in rig.GROUPS["mouth"] and rig.INDEX["cheekPuff"] in rig.GROUPS["cheeks_nose"]


def test_mirror_is_an_involution_that_swaps_sides():
    assert all(rig.MIRROR[rig.MIRROR[i]] == i for i in range(52))
    assert rig.ARKIT_NAMES[rig.MIRROR[rig.INDEX["mouthSmileLeft"]]] == "mouthSmileRight"
    assert rig.ARKIT_NAMES[rig.MIRROR[rig.INDEX["jawLeft"]]] == "jawRight"
    assert rig.MIRROR[rig.INDEX["jawOpen"]] == rig.INDEX["jawOpen"]
    assert len(rig.LR_PAIRS) == 20  # 18 sided pairs + jawLeft/Right + mouthLeft/Right


def test_channel_vector_expands_sides_and_rejects_unknown_names():
    v = rig.channel_vector({"mouthSmile": 0.5, "jawOpen": 0.2})
    assert v[rig.INDEX["mouthSmileLeft"]] == v[rig.INDEX["mouthSmileRight"]] == 0.5
    import pytest

    with pytest.raises(KeyError):
        rig.channel_vector({"mouthGrin": 1.0})


def test_real_head_lip_gap_reads_mouth_close_as_sealing_the_jaw():
    from editemotalk_addon.core import lips

    open_ = rig.channel_vector({"jawOpen": 0.4})
    sealed = rig.channel_vector({"jawOpen": 0.4, "mouthClose": 0.4})
    rest = np.zeros(52, np.float32)
    assert not lips.lips_closed(open_) and lips.lips_closed(sealed)
    assert not lips.lips_closed(rest)  # the rest face (0.76 mm) is not a closure
    assert 12 < lips.lip_gap_mm(open_) < 15  # 0.4 x 32.8 mm + the rest gap
