"""The phoneme teacher (hama, training only): what it stores, on real aligned speech, and the distillation loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from editemotalk_addon.core.audio import load_audio
from model.training import losses
from model.training import phoneme_teacher as pt
from model.training.align import align

BILABIALS = {"P", "B", "M"}


@pytest.fixture(scope="module")
def arctic(data_root):
    """Four CMU ARCTIC prompts with their forced alignments."""
    root = data_root / "english_read" / "cmu_arctic"
    texts = dict(line.split("\t", 1) for line in (root / "transcripts.tsv").read_text().splitlines() if "\t" in line)
    names = [k for k in texts if "arctic_a000" in k][:4]
    return [(a := load_audio(root / k), align(a, texts[k])) for k in names]


def test_targets_are_lip_class_probabilities_on_the_50_hz_grid(arctic):
    audio, _ = arctic[0]
    post = pt.teacher_targets(audio)
    assert post.dtype == np.float16 and post.shape == (-(-len(audio) // 320), len(pt.LIP_CLASSES))
    assert np.allclose(post.astype(np.float32).sum(1), 1.0, atol=1e-2)


def test_bilabial_mass_peaks_at_the_release_of_aligned_p_b_m(arctic):
    """CTC emits at the phone's end: within 100 ms after each aligned p/b/m the bilabial class rises well above
    its level elsewhere in speech."""
    found, total, elsewhere = 0, 0, []
    for audio, phones in arctic:
        bil = pt.teacher_targets(audio)[:, pt.BILABIAL].astype(np.float32)
        t = np.arange(len(bil)) / pt.FPS
        for seg in phones:
            if seg.phone in BILABIALS:
                total += 1
                found += bil[(t >= seg.start) & (t <= seg.end + 0.1)].max() >= 0.3
        speech = np.zeros(len(bil), bool)
        for seg in phones:
            if seg.phone != "SIL":
                speech |= (t >= seg.start) & (t < seg.end)
        for seg in phones:
            if seg.phone in BILABIALS:
                speech &= ~((t >= seg.start - 0.1) & (t <= seg.end + 0.15))
        elsewhere.append(bil[speech])
    assert total >= 8 and found / total >= 0.8, (found, total)
    assert np.mean(np.concatenate(elsewhere) >= 0.3) < 0.05


def test_long_audio_runs_in_windows_and_keeps_every_frame(arctic):
    """The engine silently cuts input at 30 s; 36 s must still give every frame, the last clip's p/b/m intact."""
    clips = []
    while sum(map(len, clips)) < 36 * 16000:
        clips += [a[: len(a) // 320 * 320] for a, _ in arctic]  # whole frames: the grids coincide
    audio = np.concatenate(clips)
    post = pt.teacher_targets(audio)
    assert len(post) == -(-len(audio) // 320)
    tail_start = sum(len(c) for c in clips[:-1]) // 320
    alone = pt.teacher_targets(clips[-1])[:, pt.BILABIAL].astype(np.float32)
    inside = post[tail_start:, pt.BILABIAL].astype(np.float32)
    assert inside.max() >= 0.3 and np.abs(inside - alone).mean() < 0.05


def test_distillation_loss_teaches_the_teacher_moved_earlier():
    teacher = torch.softmax(torch.randn(2, 6, 30) * 3, 1)
    shifted = torch.cat([teacher[:, :, 2:], teacher[:, :, -1:].expand(-1, -1, 2)], 2)
    valid = torch.ones(2, 30)
    at_release = losses.phonemes(torch.log(teacher), teacher, 2, valid)
    at_onset = losses.phonemes(torch.log(shifted), teacher, 2, valid)
    assert at_onset < at_release - 0.1
    entropy = -(shifted * torch.log(shifted)).sum(1).mean()
    assert torch.isclose(at_onset, entropy, atol=1e-4)
