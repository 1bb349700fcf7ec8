"""Key Heard Emotion as an animator uses it, in the extension as users install it, on each Blender it is tested
on (4.5 LTS and 5.2 LTS): pressed three times with the animator's own edits in between, Bake twice with Key what
is heard on, and undo after each (tests/key_heard_session.py does it inside that Blender)."""

import json
import os
import subprocess

import pytest
from conftest import ROOT


@pytest.mark.parametrize("bpy_version", ["4.5", "5.2"])
def test_key_heard_replaces_only_its_own_keys_never_crashes_and_bake_never_keys(bpy_version, linux_zip, speech_wav,
                                                                                 tmp_path):  # fmt: skip
    from model.blenders import tested_blender

    session = [str(tested_blender(bpy_version)), str(ROOT / "tests" / "key_heard_session.py"), "--", str(linux_zip)]

    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(), temp.mkdir()
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender"), HOME=str(home), TMPDIR=str(temp))
    out = subprocess.run([*session, str(speech_wav)], env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in out.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, out.stdout[-2000:] + out.stderr[-2000:]
    r = json.loads(lines[-1][7:])
    assert r["blender"].startswith(bpy_version)
    steps = r["steps"]
    for name, step in steps.items():  # no exception, and each one undo step: undo gives back the state before it
        assert step["result"] == ["FINISHED"], (name, step["result"])
        assert step["undone"] == step["before"] and step["redone"] == step["after"], name
    first, last = r["clip_frames"]
    happy = steps["press 1"]["after"]["keys"]["happy"]
    assert steps["press 1"]["after"]["keys"] == {"happy": happy}
    assert len(happy) >= 4 and max(v for _, v in happy) > 0.5 and happy[0][1] == happy[-1][1] == 0.0
    assert all(first - 7 <= f <= last + 7 for f, _ in happy)  # the clip's frames and the 0.2 s ramps
    # heard otherwise: its happy keys replaced as a group (the curve gone), the same phrase keyed on sad
    assert steps["press 2"]["after"]["keys"] == {"sad": happy}
    # the animator's edits: a key on sad inside the clip, a key on happy far past it, angry set by hand to 0.7
    edited = r["hand_edited"]
    assert [20.0, 0.9] in edited["keys"]["sad"] and edited["keys"]["happy"] == [[900.0, 0.3]]
    after = steps["press 3"]["after"]
    assert after["keys"]["sad"] == edited["keys"]["sad"]  # a slider the animator keyed over the clip stays theirs
    assert after["keys"]["happy"] == sorted(happy + [[900.0, 0.3]])  # keyed again, beside their key
    assert after["values"]["angry"] == 0.7  # a value set by hand stays
    assert "left sad (keyed by hand over this clip), angry (set by hand to 0.70)" in out.stdout  # and it says why
    for bake in ("bake 1", "bake 2"):  # Key what is heard on, the clip heard as surprised: Bake bakes, never keys
        step = steps[bake]
        assert step["after"]["keys"] == step["before"]["keys"] == after["keys"]
        assert step["after"]["values"] == after["values"] and step["after"]["tracks"] == 3
    assert steps["bake 1"]["undone"]["tracks"] == 0
