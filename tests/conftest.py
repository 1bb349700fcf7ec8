"""Shared fixtures: real synthesized speech, really aligned (no mocks)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not DATA.exists():
        pytest.fail(f"shared data not found at {DATA}")
    return DATA


@pytest.fixture(scope="session")
def spoken():
    """A sentence full of bilabials, read by flite in every emotion, with its aligned phones and prosody."""
    from editemotalk_addon.core.rig import EMOTIONS
    from model.training.align import align
    from model.training.prosody import analyze_prosody
    from model.training.synth import Voice, synthesize

    text = "Maybe Bob brought the purple map to my mother by the pool."
    audio = synthesize(text, Voice("flite", "kal16"), {e: 0.0 if e == "neutral" else 1.0 for e in EMOTIONS})
    return {e: (x, align(x, text), analyze_prosody(x)) for e, x in audio.items()}


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory):
    """A short sentence our code synthesizes (flite), as a 22 kHz WAV file - a user's recording stand-in."""
    from editemotalk_addon.core.audio import write_wav
    from model.training.synth import Voice, synthesize

    path = tmp_path_factory.mktemp("audio") / "line.wav"
    audio = synthesize("Maybe Bob brought the purple map to my mother.", Voice("flite", "slt"), {"neutral": 0.0})
    write_wav(path, audio["neutral"])
    return path


@pytest.fixture(scope="module")
def head(tmp_path_factory, speech_wav):
    """A user's .blend with the demo head (made by the CLI), and a copy of the recording."""
    from test_cli import cli

    folder = tmp_path_factory.mktemp("head")
    r = cli("bake", "--audio", speech_wav, "--out", folder / "head.blend")
    assert r.returncode == 0, r.stderr[-2000:]
    (folder / "line.wav").write_bytes(speech_wav.read_bytes())
    return folder


def mp4_tracks(path) -> list[str]:
    """The handler type of every track of an MP4 (moov/trak/mdia/hdlr): 'vide', 'soun', ..."""
    import struct

    def walk(data):
        at = 0
        while at + 8 <= len(data):
            size, kind = struct.unpack(">I4s", data[at : at + 8])
            size = len(data) - at if size == 0 else size
            body = data[at + 8 : at + size]
            if kind in (b"moov", b"trak", b"mdia"):
                yield from walk(body)
            elif kind == b"hdlr":
                yield body[8:12].decode("latin-1")  # after version/flags and pre_defined: handler_type
            at += size

    return list(walk(Path(path).read_bytes()))


@pytest.fixture(scope="session")
def linux_zip(tmp_path_factory):
    """The extension as users download it (built by `build.py extension`), for this platform."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(ROOT / "build.py"), "extension", "--platforms", "linux-x64", "--out",
                    str(out)], check=True, capture_output=True)  # fmt: skip
    zips = list(out.glob("*linux_x64.zip"))
    assert len(zips) == 1
    return zips[0]
