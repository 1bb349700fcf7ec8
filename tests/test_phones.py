import difflib
import subprocess

import numpy as np

from editemotalk_addon.core.audio import load_audio
from model.training.align import align, recognize
from model.training.corpus.emodb import read_lablaut
from model.training.phones import INVENTORY, SIL, from_arpabet, from_sampa
from model.training.sentences import sentence


def test_arpabet_and_festival_sets_map_to_the_inventory():
    assert from_arpabet("AH0") == "AH" and from_arpabet("ax") == "AH" and from_arpabet("pau") == SIL
    assert from_arpabet("+NSN+") == SIL


def test_german_sampa_maps_closure_release_and_annotations():
    assert from_sampa("_p") == from_sampa("!p") == from_sampa("p") == "P"
    assert from_sampa("pasp") == "HH"  # aspiration: lips already open
    assert from_sampa("y:") == "UE" and from_sampa("2:") == "OE" and from_sampa("E6") == "EH"
    assert from_sampa("+lar") is None and from_sampa("") is None  # annotation-only lines continue a segment
    assert from_sampa(".") == SIL


def test_emodb_alignment_reads_start_times_and_stops_at_the_cut(data_root):
    # 03a01Fa: "Der Lappen liegt auf dem Eisschrank" - the p of Lappen at 0.427 s, its release at 0.509 s.
    phones = read_lablaut(data_root / "emodb/lablaut/03a01Faxx.lablaut", 2.0)
    assert phones[0].phone == SIL and phones[0].end == phones[1].start
    p = next(s for s in phones if s.phone == "P")
    assert abs(p.start - 0.427) < 1e-3 and abs(p.end - 0.551660) < 1e-3  # closure + release = one P
    assert phones[-1].end <= 2.0 and all(s.phone in INVENTORY for s in phones)
    assert all(a.end == b.start for a, b in zip(phones, phones[1:]))


def _flite_with_own_timing(text, voice, tmp_path):
    """flite's own segment end times for exactly the audio it writes (-psdur)."""
    wav = tmp_path / f"{voice}.wav"
    out = subprocess.run(
        ["flite", "-voice", voice, "-psdur", "-t", text, "-o", str(wav)], capture_output=True, text=True, check=True
    ).stdout
    segments, start = [], 0.0
    for token in out.split():
        phone, end = token.rsplit(":", 1)
        segments.append((from_arpabet(phone), start, float(end)))
        start = float(end)
    return load_audio(wav), [s for s in segments if s[0] != SIL]


def test_forced_alignment_recovers_phones_in_order_with_synthesizer_timing(tmp_path):
    """Tolerance: pocketsphinx works in 10 ms frames and needs >= 3 frames per phone, so boundaries are quantised
    to 10 ms and the shortest phones are stretched; measured on 60 flite renderings the median boundary error is
    10 ms and the 90th percentile 27 ms. We require median <= 20 ms and 90th percentile <= 40 ms."""
    errors, matched = [], []
    for i, voice in enumerate(("kal", "slt", "awb", "rms")):
        text = sentence(5000 + i)
        audio, own = _flite_with_own_timing(text, voice, tmp_path)
        got = [s for s in align(audio, text) if s.phone != SIL]
        sm = difflib.SequenceMatcher(a=[o[0] for o in own], b=[g.phone for g in got], autojunk=False)
        n = 0
        for block in sm.get_matching_blocks():
            for k in range(block.size):
                o, g = own[block.a + k], got[block.b + k]
                errors += [abs(o[1] - g.start), abs(o[2] - g.end)]
                n += 1
        matched.append(n / len(own))
    errors = np.array(errors)
    assert min(matched) >= 0.85, matched  # same order; the two lexicons differ on a few vowels
    assert np.median(errors) <= 0.020 and np.percentile(errors, 90) <= 0.040, (
        np.median(errors),
        np.percentile(errors, 90),
    )


def test_recognition_without_transcript_finds_the_bilabials_of_real_speech(data_root):
    audio = load_audio(data_root / "english_read/cmu_arctic/bdl/arctic_a0002.flac")
    truth = align(audio, "Not at this particular case, Tom, apologized Whittemore.")
    heard = recognize(audio)
    bilabial = lambda segs: [s.phone for s in segs if s.phone in "PBM"]
    assert bilabial(truth) == ["P", "M", "P", "M"]
    assert len(bilabial(heard)) >= 3
