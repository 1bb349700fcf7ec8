"""A character's voice, kept (issue 30, deliverable 2), and a batch's speakers with bad clips, repeated clips and
many clips (issue 34, items 4-6): the Blender panel's character stored in the .blend, `bake --character FILE`, and
one character file per speaker beside a batch's manifest, all read alike.

Real parts throughout: Emo-DB recordings of one actor (speaker 03), the bpy module, CLI and batch subprocesses."""

import json
import shutil

import bpy
import numpy as np
import pytest
from test_cli import cli
from test_robust import one_line

import editemotalk_addon
from editemotalk_addon.blender import session
from editemotalk_addon.core.audio import write_wav
from editemotalk_addon.core.emotion_keys import curves_json, heard_keys
from editemotalk_addon.core.livelink import read_csv

CLIPS = ("03a01Wa", "03a01Nc", "03a02Fc", "03a02Ta", "03a04Ad")  # angry, neutral, happy, sad, fearful
BAD = {
    "missing.wav": "Audio file not found",
    "silent.wav": "Audio is silent",
    "random.wav": "Cannot decode audio",
    "noise.wav": "no speech heard",
}


@pytest.fixture(scope="module")
def voice(tmp_path_factory, data_root):
    """One actor's five clips, a sixth (a take recorded again later), and four clips of that speaker that cannot be
    used: missing, silent, random bytes named .wav, and white noise (readable, but nobody speaks)."""
    folder = tmp_path_factory.mktemp("ada")
    for name in CLIPS:
        shutil.copy(data_root / "emodb" / "audio" / f"{name}.flac", folder / f"{name}.flac")
    shutil.copy(data_root / "emodb" / "audio" / "03a04Nc.flac", folder / "retake.flac")
    write_wav(folder / "silent.wav", np.zeros(16000, np.float32))
    (folder / "random.wav").write_bytes(np.random.default_rng(1).bytes(40000))
    write_wav(folder / "noise.wav", (0.1 * np.random.default_rng(2).standard_normal(32000)).astype(np.float32))
    return folder


def manifest(folder, name, lines) -> str:
    (folder / name).write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder / name


def job(clip, out, speaker="Ada", **extra):
    """A voice-mode job: its face shows the emotion heard, so the baseline shows in the CSV's values."""
    return (
        {"audio": clip, "mode": "voice", "csv": f"{out}.csv", "heard": f"{out}.json"}
        | ({"speaker": speaker} if speaker else {})
        | extra
    )


def weights(path):
    return read_csv(path).weights


def batch(path, *args):
    r = cli("batch", path, "--no-progress", *args)
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    summary = json.loads(path.with_name(path.stem + ".shard0of1.summary.json").read_text())
    return r, summary


@pytest.fixture(scope="module")
def baked(voice):
    """Ada's five clips as a batch (and one clip without a speaker); the same with the four bad clips (one job each);
    the same with clip 2 baked in three more emotion variants, on two workers."""
    clips = [f"{name}.flac" for name in CLIPS]
    plain = job(clips[0], "out/plain0", speaker=None)
    runs = {
        "clean": batch(
            manifest(voice, "clean.jsonl", [plain] + [job(c, f"out/clean{n}") for n, c in enumerate(clips)])
        ),
        "bad": batch(
            manifest(
                voice,
                "bad.jsonl",
                [job(c, f"out/bad{n}") for n, c in enumerate(clips[:2])]
                + [job(b, f"out/{b}") for b in BAD]
                + [job(c, f"out/bad{n + 2}") for n, c in enumerate(clips[2:])],
            )
        ),
    }
    variants = [job(clips[1], f"out/variant{e}", emotion={e: 1.0}) for e in ("happy", "sad", "angry")]
    lines = [job(c, f"out/dup{n}") for n, c in enumerate(clips)] + variants
    runs["repeated"] = batch(manifest(voice, "repeated.jsonl", lines), "--workers", "2")
    return runs


def test_a_bad_clip_of_a_speaker_fails_alone_and_is_left_out_of_the_baseline(baked, voice):
    """Issue 34 item 4: a missing, a silent, an unreadable and a noise-only clip of Ada: each is named as left out
    of Ada's baseline; the three that cannot be read fail their own jobs (exit 2, one line each, no raw
    FileNotFoundError); every other job of Ada bakes, with exactly the values it has without the bad clips."""
    r, summary = baked["bad"]
    assert r.returncode == 2 and "6 baked, 0 up to date, 3 failed" in r.stdout, r.stdout + r.stderr[-2000:]
    failed = [line for line in r.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 3 and "FileNotFoundError" not in r.stderr
    for name, why in BAD.items():
        left = [line for line in r.stderr.splitlines() if "left out of the baseline" in line and name in line]
        assert len(left) == 1 and why in left[0], r.stderr
    ada = summary["speakers"]["Ada"]
    assert ada["clips"] == 5 and ada["seconds"] == pytest.approx(10.0, abs=0.01)
    assert sorted(x["audio"].rsplit("/", 1)[1] for x in ada["left_out"]) == sorted(BAD)
    assert {f["status"] for f in summary["failures"]} == {2}
    for n in range(5):  # the readable clips' faces: the same as the run that never saw a bad clip
        assert np.array_equal(weights(voice / "out" / f"bad{n}.csv"), weights(voice / "out" / f"clean{n}.csv"))
        assert (voice / "out" / f"bad{n}.json").read_text() == (voice / "out" / f"clean{n}.json").read_text()


def test_no_job_writes_over_a_speakers_character_file(voice, tmp_path):
    """A job whose output is a speaker's character file fails alone (exit 2, one line); the file stays Ada's."""
    folder = tmp_path / "own"
    folder.mkdir()
    shutil.copy(voice / f"{CLIPS[0]}.flac", folder / "a.flac")
    lines = [job("a.flac", "out/a"), {"audio": "a.flac", "heard": "own.Ada.character.json"}]
    r, summary = batch(manifest(folder, "own.jsonl", lines))
    assert r.returncode == 2 and "1 baked, 0 up to date, 1 failed" in r.stdout, r.stdout + r.stderr[-2000:]
    assert "is speaker Ada's character file" in summary["failures"][0]["error"]
    assert json.loads((folder / "own.Ada.character.json").read_text())["name"] == "Ada"


def test_a_speakers_baseline_counts_each_recording_once(baked, voice):
    """Issue 34 item 5: one line in four emotion variants under Ada is one entry of her baseline: her other clips
    read exactly as without the variants (and differently from no speaker at all: the baseline is in use)."""
    (r, summary), (_, clean) = baked["repeated"], baked["clean"]
    assert r.returncode == 0 and "8 baked" in r.stdout, r.stderr[-2000:]
    assert summary["speakers"]["Ada"]["clips"] == 5 and clean["speakers"]["Ada"]["clips"] == 5
    for n in range(5):
        assert np.array_equal(weights(voice / "out" / f"dup{n}.csv"), weights(voice / "out" / f"clean{n}.csv"))
    ada, plain = weights(voice / "out" / "clean0.csv"), weights(voice / "out" / "plain0.csv")
    assert np.abs(ada - plain).max() > 1e-3
    entries = json.loads((voice / "repeated.Ada.character.json").read_text())["clips"]
    assert len(entries) == 5 and len({e["key"] for e in entries}) == 5


def test_each_clip_is_analysed_once_and_then_read_from_the_character_file(baked, voice, data_root):
    """Issue 34 item 6: building Ada's baseline analyses each distinct clip once per run (5 for 8 jobs, on two
    workers), and a later run reads them from the character file: a rerun analyses none, a new clip only itself;
    a re-recorded clip replaces its entry and re-bakes Ada's jobs."""
    r, summary = baked["repeated"]
    assert summary["speakers"]["Ada"] | {"left_out": []} == summary["speakers"]["Ada"]
    assert (summary["speakers"]["Ada"]["analysed"], summary["speakers"]["Ada"]["reused"]) == (5, 0)
    path = voice / "repeated.jsonl"
    r, summary = batch(path)
    assert r.returncode == 0 and "0 baked, 8 up to date" in r.stdout, r.stdout
    assert (summary["speakers"]["Ada"]["analysed"], summary["speakers"]["Ada"]["reused"]) == (0, 5)
    path.write_text(path.read_text() + json.dumps(job("retake.flac", "out/dup5")) + "\n")
    r, summary = batch(path)
    assert r.returncode == 0 and "9 baked" in r.stdout, r.stdout  # the baseline changed: all of Ada re-bakes
    assert (summary["speakers"]["Ada"]["analysed"], summary["speakers"]["Ada"]["reused"]) == (1, 5)
    old = {e["key"] for e in json.loads((voice / "repeated.Ada.character.json").read_text())["clips"]}
    shutil.copy(data_root / "emodb" / "audio" / "03a05Aa.flac", voice / "retake.flac")  # re-recorded
    r, summary = batch(path)
    assert r.returncode == 0 and "9 baked" in r.stdout, r.stdout
    assert (summary["speakers"]["Ada"]["analysed"], summary["speakers"]["Ada"]["reused"]) == (1, 5)
    new = {e["key"] for e in json.loads((voice / "repeated.Ada.character.json").read_text())["clips"]}
    assert len(new) == 6 and len(old - new) == len(new - old) == 1  # the old take's entry is gone


def test_shards_hear_a_speaker_as_one_run_does(baked, voice, tmp_path):
    """A farm: the clean manifest as two shards, one after the other. Each shard's jobs are heard against Ada's
    clips in both shards; the second shard reads the file the first wrote (analyses none), and every face is the
    one-run face."""
    for name in CLIPS:
        shutil.copy(voice / f"{name}.flac", tmp_path / f"{name}.flac")
    shutil.copy(voice / "clean.jsonl", tmp_path / "clean.jsonl")
    counts = []
    for shard in ("0/2", "1/2"):
        r = cli("batch", tmp_path / "clean.jsonl", "--no-progress", "--shard", shard)
        assert r.returncode == 0 and "3 baked" in r.stdout, r.stdout + r.stderr[-2000:]
        summary = json.loads((tmp_path / f"clean.shard{shard[0]}of2.summary.json").read_text())
        counts.append((summary["speakers"]["Ada"]["analysed"], summary["speakers"]["Ada"]["reused"]))
    assert counts == [(5, 0), (0, 5)]
    for n in range(5):
        farm, one = weights(tmp_path / "out" / f"clean{n}.csv"), weights(voice / "out" / f"clean{n}.csv")
        assert np.abs(farm - one).max() < 1e-6


def test_bake_character_creates_adds_once_and_reads_what_a_batch_wrote(baked, voice, tmp_path):
    """`bake --character FILE`: a new file holds the clip; the same recording under another name is not added
    again; a batch speaker's file read by the CLI gives the batch's values exactly; bad files are one line, exit 2,
    and left as they were."""
    own = tmp_path / "ada.json"
    r = cli("bake", "--audio", voice / "03a01Wa.flac", "--character", own, "--heard", tmp_path / "a.json")
    assert r.returncode == 0, r.stderr[-2000:]
    shutil.copy(voice / "03a01Wa.flac", tmp_path / "renamed.flac")
    r = cli("bake", "--audio", tmp_path / "renamed.flac", "--character", own, "--heard", tmp_path / "b.json")
    assert r.returncode == 0, r.stderr[-2000:]
    saved = json.loads(own.read_text())
    assert saved["name"] == "ada" and [c["seconds"] for c in saved["clips"]] == [2.0]
    farm = voice / "clean.Ada.character.json"
    before = farm.read_bytes()
    r = cli(
        "bake", "--audio", voice / "03a01Wa.flac", "--character", farm, "--mode", "voice", "--csv", tmp_path / "c.csv"
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert np.abs(weights(tmp_path / "c.csv") - weights(voice / "out" / "clean0.csv")).max() < 1e-5
    assert farm.read_bytes() == before  # the clip is in it already: nothing to add
    not_a_character = tmp_path / "curves.json"
    not_a_character.write_text('{"sliders": {"happy": 0.5}}')
    for character, why in (
        (not_a_character, "is not a readable character file"),
        (voice / "03a01Wa.flac", "must end in .json"),
        (tmp_path / "a.json", "is also the job's heard"),
        (tmp_path / "nowhere" / "ada.json", "its folder does not exist"),
    ):
        r = cli("bake", "--audio", voice / "03a01Wa.flac", "--character", character, "--heard", tmp_path / "a.json")
        assert r.returncode == 2 and why in one_line(r), r.stderr[-2000:]
    assert not_a_character.read_text() == '{"sliders": {"happy": 0.5}}'


def test_a_worker_reads_a_speakers_file_condensed_and_hears_exactly_the_same(baked, voice):
    """What a batch worker holds of a speaker (its clips' sums, once per worker) is heard bit for bit as the whole
    file is: reading a job no longer costs time or memory that grows with the speaker's clips (issue 34 item 6)."""
    from editemotalk_addon.core.animator import Animator
    from editemotalk_addon.core.character import Character
    from editemotalk_addon.core.speakers import condensed

    ada = Character.load(voice / "clean.Ada.character.json")
    small = condensed(ada)
    assert len(ada) == 5 and len(small) == 1 and small.phrases == ada.phrases and small.seconds == ada.seconds
    animator = Animator.load()
    for name in CLIPS[:2]:
        analysis = animator.analyze(voice / f"{name}.flac")
        full, fast = animator.heard(analysis, ada), animator.heard(analysis, small)
        assert np.array_equal(full.probabilities, fast.probabilities)
        assert not np.array_equal(full.probabilities, analysis.probabilities)  # Ada's voice is read, not the corpus


# --- Blender: the panel's character, in the .blend ----------------------------------------------------------------


@pytest.fixture
def scene():
    editemotalk_addon.register()
    bpy.ops.wm.read_factory_settings()
    bpy.context.scene.render.fps = 30
    bpy.ops.editemotalk.add_demo_head(kind="STYLISED")
    yield bpy.context.scene
    editemotalk_addon.unregister()


def heard_json(path) -> str:
    """What Blender hears in a clip, as the CLI's --heard writes it."""
    return json.dumps(curves_json(heard_keys(session.analyze(bpy.context, str(path)))), indent=1)


def test_a_characters_voice_is_kept_in_the_blend_and_read_as_the_cli_and_a_batch_read_it(scene, baked, voice, tmp_path):
    """Add Ada's five clips on the panel (one undo step and one line each), drop one and undo; the .blend keeps her:
    after saving and reopening in a fresh session the same clip has the same Heard values, bit for bit, and they
    are the batch's and the CLI's for that clip; Save Character File writes what `bake --character` reads."""
    s = scene.editemotalk
    first = voice / f"{CLIPS[0]}.flac"
    s.audio_path = str(first)
    plain = session.analyze(bpy.context, str(first)).probabilities.copy()
    s.character = "Ada"
    for name in CLIPS:
        s.audio_path = str(voice / f"{name}.flac")
        bpy.ops.ed.undo_push(message="before")
        assert bpy.ops.editemotalk.character_add_clip() == {"FINISHED"}
    assert bpy.ops.editemotalk.character_add_clip() == {"CANCELLED"}  # the same clip again: nothing changes
    ada = session.character(scene)
    assert len(ada) == 5 and ada.seconds == pytest.approx(10.0, abs=0.01)
    bpy.ops.ed.undo_push(message="Add Clip")
    assert bpy.ops.editemotalk.character_drop_clip(key=ada.clips[2].key) == {"FINISHED"}
    assert len(session.character(bpy.context.scene)) == 4
    bpy.ops.ed.undo_push(message="Drop Clip")
    bpy.ops.ed.undo()
    assert len(session.character(bpy.context.scene)) == 5
    s = bpy.context.scene.editemotalk
    s.audio_path = str(first)
    heard = session.analyze(bpy.context, str(first)).probabilities.copy()
    assert np.abs(heard - plain).max() > 1e-3  # read against Ada, not as a voice with no character
    assert heard_json(first) == (voice / "out" / "clean0.json").read_text()  # what the batch heard
    blend = tmp_path / "ada.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    session.unregister()  # a fresh session: nothing of Ada left in memory
    session.register()
    bpy.ops.wm.read_factory_settings()
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    s = bpy.context.scene.editemotalk
    assert s.character == "Ada" and len(session.character(bpy.context.scene)) == 5
    assert np.array_equal(session.analyze(bpy.context, str(first)).probabilities, heard)
    assert bpy.ops.editemotalk.character_save(filepath=str(tmp_path / "ada.json")) == {"FINISHED"}
    r = cli("bake", "--audio", first, "--character", tmp_path / "ada.json", "--heard", tmp_path / "cli.json")
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "cli.json").read_text() == heard_json(first)
