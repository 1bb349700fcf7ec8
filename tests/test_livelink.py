"""Live Link Face CSV headers as the iPhone app and its importers write them."""

import numpy as np
import pytest

from editemotalk_addon.core.livelink import HEADER, LLF_ORDER, ROTATIONS, read_csv, write_csv
from editemotalk_addon.core.rig import INDEX


def _take(path, header, rows):
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n")
    return path


def _weights(frames=5):
    return np.random.default_rng(3).uniform(0, 1, (frames, 52)).astype(np.float32)


def test_a_real_export_header_with_its_timecodes_at_60_fps(tmp_path):
    """The app writes 'BlendshapeCount' (lower-case s), 61 values (52 shapes, 9 rotations), wall-clock timecodes."""
    w = _weights()
    header = ["Timecode", "BlendshapeCount", *HEADER[2:]]
    frames = [f"11:54:29:{19 + i:02d}.804" for i in range(len(w))]
    rows = [
        [tc, 61, *(f"{x:.4f}" for x in w[i, [INDEX[n] for n in LLF_ORDER]]), *[0.0] * 9] for i, tc in enumerate(frames)
    ]
    capture = read_csv(_take(tmp_path / "take.csv", header, rows), fps=60)
    assert np.allclose(capture.times, np.arange(len(w)) / 60)
    assert np.abs(capture.weights - w).max() < 1e-4 and capture.missing == []


@pytest.mark.parametrize(
    "case, count, rotations, shapes",
    [(str.lower, True, False, 52), (str.upper, False, True, 51), (lambda n: n[0].upper() + n[1:], True, True, 52)],
    ids=["lower case, no rotations", "upper case, 51 shapes, no count", "the app's own"],
)
def test_header_variants_parse_and_name_what_is_missing(tmp_path, case, count, rotations, shapes):
    w = _weights()
    names = list(LLF_ORDER[:shapes])  # tongueOut is the last column
    header = ["Timecode", *(["BlendShapeCount"] if count else []), *names, *(ROTATIONS if rotations else [])]
    rows = [
        [
            f"00:00:01:{i:02d}.000",
            *([len(header) - 2] if count else []),
            *(f"{w[i, INDEX[n]]:.5f}" for n in names),
            *([0.0] * 9 if rotations else []),
        ]
        for i in range(len(w))
    ]
    capture = read_csv(_take(tmp_path / "take.csv", [case(h) for h in header], rows), fps=30)
    assert np.allclose(capture.times, np.arange(len(w)) / 30)
    present = [INDEX[n] for n in names]
    assert np.abs(capture.weights[:, present] - w[:, present]).max() < 1e-4
    assert capture.missing == ([] if shapes == 52 else ["tongueOut"])
    assert (capture.weights[:, INDEX["tongueOut"]] == 0).all() or shapes == 52


def test_what_we_write_reads_back(tmp_path):
    w = _weights(12)
    write_csv(tmp_path / "ours.csv", w, 30)
    capture = read_csv(tmp_path / "ours.csv", fps=30)
    assert np.abs(capture.weights - w).max() < 1e-5 and capture.missing == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("Time,Value\n1,2\n", "not a Live Link Face CSV"),
        ("Timecode,Frame,Note\n00:00:00:00.000,1,x\n", "not a Live Link Face CSV"),
        ("Timecode,BlendShapeCount,JawOpen\n", "no frames"),
        ("", "not a Live Link Face CSV"),
    ],
)
def test_other_files_are_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "other.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_csv(path)
