"""The model: networks, emotion space, a smoke training, export, ONNX/PyTorch parity, weights security."""

import json
import shutil

import numpy as np
import pytest
import torch

from editemotalk_addon.core import weights as W
from editemotalk_addon.core.animator import Animator, EmotionEdit
from editemotalk_addon.core.audio import load_audio
from editemotalk_addon.core.emotion_space import EmotionSpace
from editemotalk_addon.core.network.config import ModelConfig
from editemotalk_addon.core.network.model import EditEmoTalk, pad_audio
from editemotalk_addon.core.rig import SLIDERS
from editemotalk_addon.core.timebase import FPS_CHOICES, frame_count
from model.evaluation.targets import TARGET
from model.training import emotion_fit
from model.training.config import TrainConfig


@pytest.fixture(scope="module")
def speech(speech_wav):
    return load_audio(speech_wav)


def test_every_part_keeps_time_at_50_frames_per_second():
    model = EditEmoTalk(ModelConfig()).eval()
    audio = pad_audio(torch.randn(2, 16000 * 3) * 0.1)
    with torch.no_grad():
        content, articulation, gate, emotion, _, _ = model.analyze(
            audio, torch.randn(2, 447, 151), torch.randn(2, 512, 151)
        )
        weights, expression = model.generate(content, articulation, gate, emotion)
    frames = 150
    assert content.shape == (2, 128, frames) and emotion.shape == (2, 64, frames)
    assert articulation.shape == weights.shape == expression.shape == (2, 52, frames)
    assert weights.min() >= 0 and weights.max() <= 1


def test_the_content_encoder_reads_the_streams_it_is_given():
    """log-mel, the recogniser's hidden layer, its log-probabilities, or any mix: each stream changes the content,
    and a stream it is not given does not."""
    audio = pad_audio(torch.randn(1, 16000 * 2) * 0.1)
    recogniser = torch.randn(1, 447, 101)
    other = recogniser.clone()
    other[:, 256:] = torch.randn(1, 191, 101)  # other log-probabilities, same hidden layer
    for streams in ("spectra", "hidden", "log_probs", "hidden+log_probs", "hidden+log_probs+spectra"):
        model = EditEmoTalk(ModelConfig(content_input=streams)).eval()
        with torch.no_grad():
            voice = torch.randn(1, 512, 101)
            content, *_ = model.analyze(audio, recogniser, voice)
            moved = (model.analyze(audio, other, voice)[0] - content).abs().max()
        assert content.shape == (1, 128, 100) and torch.isfinite(content).all()
        assert (moved > 1e-3) == ("log_probs" in streams), streams
    with pytest.raises(ValueError, match="content_input"):
        EditEmoTalk(ModelConfig(content_input="mfcc"))


def test_emotion_space_edits_along_calibrated_unit_normals():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (8, 16))
    labels = np.repeat(np.arange(8), 60)
    space = emotion_fit.fit(centres[labels] + rng.normal(0, 0.5, (480, 16)), labels)
    assert np.allclose(np.linalg.norm(space.normals, axis=1), 1, atol=1e-5)
    # alpha = 1 in absolute mode moves the neutral centroid by a typical full emotion along v_k
    for k in range(7):
        edited = space.edit(np.eye(7)[k])[0]
        assert np.dot(edited - space.centroids[k + 1], space.normals[k]) == pytest.approx(0, abs=1e-4)
        assert space.probabilities(edited[None])[0].argmax() == k + 1


def test_emotion_space_edit_on_a_hand_made_space():
    """e' = neutral + sum_k alpha_k s_k v_k, checked on numbers worked out by hand (3-D space, 8 labels)."""
    from editemotalk_addon.core.emotion_space import EmotionSpace

    normals = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0], [0, 0.6, 0.8], [0.8, 0, 0.6], [0, 0, -1]]
    space = EmotionSpace(
        labels=tuple(f"label{i}" for i in range(8)),
        centroids=np.array([[1, 2, 3]] + [[9, 9, 9]] * 7, np.float32),  # only the neutral centroid is the origin
        normals=np.array(normals, np.float32),
        calibration=np.array([2, 1, 0.5, 10, 4, 5, 3], np.float32),
        weight=np.zeros((8, 3), np.float32),
        bias=np.zeros(8, np.float32),
    )
    assert space.edit(np.zeros(7)).tolist() == [[1, 2, 3]]  # no slider: the neutral centroid
    assert space.edit([1, 0, 0, 0, 0, 0, 0]).tolist() == [[3, 2, 3]]  # 1 + 1 * 2 * 1
    # slider 2 at 1 (+1 on y), slider 4 at 0.5 (0.5 * 10 * (0.6, 0.8) = (3, 4)), slider 7 at 1.5 (1.5 * 3 * -z)
    np.testing.assert_allclose(space.edit([0, 1, 0, 0.5, 0, 0, 1.5]), [[4, 7, -1.5]], atol=1e-6)
    frames = space.edit([[0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 0]])  # (T, 7) -> (T, 3), frame by frame
    np.testing.assert_allclose(frames, [[1, 2, 3.5], [5, 4.4, 9.2]], atol=1e-6)  # 1 + 5 * 0.8; 2 + 4 * 0.6; ...


def test_smoke_training_resumes_and_exports_a_loadable_model(tmp_path, data_root, speech):
    """A few steps of every stage on a tiny corpus (CI never trains a real model)."""
    from model.training.corpus.builder import build_corpus
    from model.training.export import save_weights
    from model.training.features import label_corpus
    from model.training.train import Trainer

    build_corpus(tmp_path / "corpus", 0.02, data_root, workers=2, progress=False)
    label_corpus(tmp_path / "corpus", workers=2, progress=False)
    cfg = TrainConfig(
        corpus=str(tmp_path / "corpus"),
        out=str(tmp_path / "run"),
        emotion_steps=3,
        mapping_steps=2,
        steps=4,
        batch=2,
        emotion_batch=2,
        mapping_batch=2,
        log_every=1,
        checkpoint_every=2,
        warmup=1,
        loader_workers=0,
    )
    cfg.steps = 2  # stop early ...
    Trainer(cfg).run()
    cfg.steps = 4  # ... and resume to the end
    model, space = Trainer(cfg).run()
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["stage"] == "generator"] == [1, 2, 3, 4]
    assert all(r["gate"] > 0 for r in log if r["stage"] == "generator")
    folder = save_weights(model, space, tmp_path / "weights")
    assert sorted(p.name for p in folder.iterdir()) == sorted([*W.FILES, W.MANIFEST])
    animator = Animator.load(folder, runtime="onnx")
    perf = animator.generate(animator.analyze(speech), EmotionEdit({"happy": 1.0}), fps=30)
    assert perf.weights.shape == (frame_count(len(speech) / 16000, 30), 52)


def test_onnx_and_pytorch_agree_on_the_default_weights(speech):
    onnx, torch_ = Animator.load(runtime="onnx"), Animator.load(runtime="torch")
    a, b = onnx.analyze(speech), torch_.analyze(speech)
    for field in ("content", "articulation", "gate", "emotion", "probabilities"):
        assert np.abs(getattr(a, field) - getattr(b, field)).max() < 1e-3, field
    edit = EmotionEdit({"angry": 0.7, "surprised": [(0.0, 0.0), (1.0, 1.5)]}, mode="absolute")
    pa, pb = onnx.generate(a, edit, fps=30), torch_.generate(a, edit, fps=30)
    assert np.abs(pa.weights - pb.weights).max() < 1e-3  # every channel, every frame


@pytest.mark.parametrize("fps", FPS_CHOICES)
def test_any_frame_rate(speech, fps):
    animator = Animator.load(runtime="onnx")
    perf = animator.generate(animator.analyze(speech), fps=fps)
    assert perf.weights.shape == (frame_count(len(speech) / 16000, fps), 52)


def test_keyframed_slider_curves_and_bad_sliders():
    edit = EmotionEdit({"happy": [(0.0, 0.0), (2.0, 1.0)], "sad": 0.3})
    alphas = edit.alphas(np.array([0.0, 1.0, 2.0, 3.0]))
    assert np.allclose(alphas[:, SLIDERS.index("happy")], [0, 0.5, 1, 1])
    assert np.allclose(alphas[:, SLIDERS.index("sad")], 0.3)
    with pytest.raises(ValueError, match="unknown emotion slider"):
        EmotionEdit({"joyful": 1.0})


def test_tampered_missing_and_pickled_weights_are_refused(tmp_path):
    folder = tmp_path / "w"
    shutil.copytree(W.DEFAULT, folder)
    data = bytearray((folder / "generate.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "generate.onnx").write_bytes(bytes(data))
    with pytest.raises(W.WeightsError, match="generate.onnx .* fails its SHA-256 check"):
        Animator.load(folder)
    (folder / "generate.onnx").unlink()
    with pytest.raises(W.WeightsError, match="lacks generate.onnx"):
        Animator.load(folder)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    torch.save({"x": torch.zeros(1)}, pickled / "model.pt")
    with pytest.raises(W.WeightsError, match="pickles: model.pt"):
        Animator.load(pickled)
    with pytest.raises(W.WeightsError, match="Refusing to load model.pt"):
        Animator.load(pickled / "model.pt")


def test_default_weights_are_small_and_verified():
    W.verify(W.DEFAULT)
    assert sum(p.stat().st_size for p in W.DEFAULT.iterdir()) <= TARGET["weights_mb"].limit * 1e6
    assert (W.DEFAULT / "model_card.md").exists()


def test_train_overrides_parse_each_field_by_its_type():
    """`build.py train --set augment=false` once left augment True (bool("false")); model fields were unreachable."""
    cfg = TrainConfig().overridden(["augment=false", "steps=10", "lr=1e-3", "model.content_dilations=1,2"])
    assert cfg.augment is False and cfg.steps == 10 and cfg.lr == 1e-3 and cfg.model.content_dilations == (1, 2)
    assert TrainConfig().augment is True and TrainConfig().model.content_dilations != (1, 2)  # defaults untouched
    for bad in ("augment=maybe", "steps=ten", "no_such_field=1", "model.no_such=1", "steps"):
        with pytest.raises(ValueError, match="steps|augment|no_such|KEY=VALUE"):
            TrainConfig().overridden([bad])


def test_decorrelated_directions_are_orthogonal_and_each_still_raises_its_own_emotion():
    space = emotion_fit.decorrelated(EmotionSpace.load(W.DEFAULT / "edit_dictionary.json"))
    assert np.allclose(space.normals @ space.normals.T, np.eye(7), atol=1e-4)
    before = space.probabilities(space.neutral[None])[0]
    for k in range(7):
        after = space.probabilities(space.edit(np.eye(7)[k]))[0]
        assert after[k + 1] > before[k + 1], SLIDERS[k]  # the slider raises its own class over the neutral face


def test_voice_mode_shows_the_heard_emotion_as_strongly_as_it_is_heard():
    from editemotalk_addon.core.emotion_space import voice_alphas

    sure_angry = np.eye(8, dtype=np.float32)[[3]]
    unsure = np.full((1, 8), 1 / 8, np.float32)
    assert voice_alphas(sure_angry)[0, SLIDERS.index("angry")] == 1.0 and voice_alphas(sure_angry).sum() == 1.0
    assert voice_alphas(unsure).sum() == 0.0  # chance level: the face stays neutral


def test_generating_a_long_clip_in_chunks_equals_one_pass(speech_wav):
    """Generation runs a minute at a time with the generator's receptive field as context on each side."""
    from editemotalk_addon.core.animator import GENERATE_CHUNK

    animator = Animator.load()
    x = load_audio(speech_wav)
    analysis = animator.analyze(np.tile(x, int(150 * 16000 / len(x)) + 1)[: 150 * 16000])  # 2.5 chunks
    edited = animator.edited_emotion(analysis, EmotionEdit({"happy": [[0.0, 0.0], [150.0, 1.5]]}))
    parts = (analysis.content, analysis.articulation, analysis.gate, edited)
    assert parts[0].shape[1] > 2 * GENERATE_CHUNK
    chunked = animator.expression(*parts)
    _, whole = animator._backend.generate(*(p[None] for p in parts))
    assert chunked.shape == whole[0].shape
    assert np.abs(chunked - whole[0]).max() < 1e-5


def test_emotion_training_never_draws_a_left_out_source_or_family():
    """Leave-one-corpus-out (build.py loco): `emotion_exclude` removes a corpus or a voice family from stage 1."""
    from types import SimpleNamespace

    from model.training.corpus.store import Meta
    from model.training.data import emotion_weights

    rows = [("emodb", "", "sad"), ("synthetic", "flite", "sad"), ("synthetic", "espeak", "happy")]
    corpus = SimpleNamespace(
        examples=[
            SimpleNamespace(meta=Meta(f"{i}", s, "en", "x", e, 1.0, "s", "train", family=f))
            for i, (s, f, e) in enumerate(rows)
        ]
    )
    assert (emotion_weights(corpus, 0.5) > 0).tolist() == [True, True, True]
    assert (emotion_weights(corpus, 0.5, "flite") > 0).tolist() == [True, False, True]
    assert (emotion_weights(corpus, 0.5, "emodb, flite") > 0).tolist() == [False, False, True]
