import numpy as np

from model.training.augment import AugmentConfig, augment, formant_warp, speed


def _speech_like(seconds=2.0):
    t = np.arange(int(16000 * seconds)) / 16000
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.5 * t)
    return (0.2 * np.sin(2 * np.pi * np.cumsum(f0) / 16000) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )


def test_deterministic_per_seed():
    x = _speech_like()
    a, sa = augment(x, np.random.default_rng(3))
    b, sb = augment(x, np.random.default_rng(3))
    c, _ = augment(x, np.random.default_rng(4))
    assert np.array_equal(a, b) and sa == sb
    assert not (len(a) == len(c) and np.allclose(a, c))


def test_time_scale_reports_the_new_duration():
    x = _speech_like()
    cfg = AugmentConfig(p_speed=1.0, p_tempo=1.0)
    for seed in range(5):
        y, scale = augment(x, np.random.default_rng(seed), cfg)
        assert abs(len(y) / len(x) - scale) < 0.01
        assert 0.7 < scale < 1.35 and np.abs(y).max() <= 1.0


def test_speed_raises_pitch():
    x = np.sin(2 * np.pi * 200 * np.arange(16000) / 16000).astype(np.float32)
    y = speed(x, 1.1)
    f = lambda s: np.argmax(np.abs(np.fft.rfft(s))) / len(s) * 16000
    assert abs(f(y) / f(x) - 1.1) < 0.03


def test_formant_warp_keeps_length_and_moves_spectral_centroid():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16000).astype(np.float32)
    from scipy.signal import butter, sosfilt

    x = sosfilt(butter(4, [800, 1200], "bandpass", fs=16000, output="sos"), x).astype(np.float32)
    y = formant_warp(x, 1.1)
    centroid = lambda s: (
        np.sum(np.fft.rfftfreq(len(s), 1 / 16000) * np.abs(np.fft.rfft(s))) / np.sum(np.abs(np.fft.rfft(s)))
    )
    assert len(y) == len(x) and 1.05 < centroid(y) / centroid(x) < 1.15
