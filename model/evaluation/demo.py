"""The demo picture: one synthesized sentence in three emotions, its phones, and the teacher's key curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DEMO_SENTENCE = "Maybe Bob brought the purple map to the museum."
DEMO_VOICE = ("flite", "slt")
KEY_CURVES = ("jawOpen", "mouthClose", "mouthSmileLeft", "browInnerUp", "eyeBlinkLeft")


def teacher_demo(out_dir: Path, emotions=("neutral", "happy", "sad"), fps: int = 30) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..runtime.rig import INDEX
    from ..training import teacher
    from ..training.align import align
    from ..training.phones import SIL
    from ..training.prosody import analyze_prosody
    from ..training.synth import Voice, synthesize

    out_dir.mkdir(parents=True, exist_ok=True)
    audio = synthesize(DEMO_SENTENCE, Voice(*DEMO_VOICE), {e: 0.0 if e == "neutral" else 1.0 for e in emotions})
    fig, axes = plt.subplots(
        2, len(emotions), figsize=(6 * len(emotions), 6.5), sharey="row", gridspec_kw={"height_ratios": [1, 2]}
    )
    for col, emotion in enumerate(emotions):
        x = audio[emotion]
        phones = align(x, DEMO_SENTENCE)
        perf = teacher.perform(phones, analyze_prosody(x), emotion, 1.0, seed=3, fps=fps)
        t_audio = np.arange(len(x)) / 16000
        ax = axes[0, col]
        ax.plot(t_audio, x, lw=0.4, color="0.3")
        for seg in phones:
            if seg.phone != SIL:
                colour = "tab:red" if seg.phone in ("P", "B", "M") else "0.6"
                ax.axvspan(seg.start, seg.end, color=colour, alpha=0.15 if colour == "0.6" else 0.3, lw=0)
                ax.text(0.5 * (seg.start + seg.end), 0.92 * np.abs(x).max(), seg.phone, ha="center", fontsize=6)
        ax.set_title(f"{emotion}: \u201c{DEMO_SENTENCE}\u201d", fontsize=9)
        ax.set_yticks([])
        ax = axes[1, col]
        t = np.arange(len(perf.weights)) / fps
        for name in KEY_CURVES:
            ax.plot(t, perf.weights[:, INDEX[name]], label=name, lw=1.2)
        for seg in phones:
            if seg.phone in ("P", "B", "M"):
                ax.axvspan(seg.start, seg.end, color="tab:red", alpha=0.12, lw=0)
        ax.set_xlabel("seconds")
        ax.set_ylim(0, 1)
    axes[1, 0].set_ylabel("ARKit weight")
    axes[1, 0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Teacher performance (red bands: p/b/m, where the lips must seal)")
    fig.tight_layout()
    path = out_dir / "teacher.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
