"""The add-on on real Blender (the `bpy` module, headless): analyze, bake, mapping, undo, errors."""

import bpy  # installed by `build.py setup`; a missing bpy fails the suite, never skips it
import numpy as np
import pytest
from bpy_extras.object_utils import world_to_camera_view
from conftest import mp4_tracks
from mathutils import Vector

import editemotalk_addon  # noqa: E402
from editemotalk_addon.blender import exports, nla, preview_layer, session, shape_keys, sound  # noqa: E402
from editemotalk_addon.core.animator import EmotionEdit  # noqa: E402
from editemotalk_addon.core.rig import ARKIT_NAMES, INDEX  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def addon():
    editemotalk_addon.register()
    yield
    editemotalk_addon.unregister()


@pytest.fixture
def scene(speech_wav):
    bpy.ops.wm.read_factory_settings()  # the default startup: a cube, a camera, a light, and undoable UI areas
    scene = bpy.context.scene
    scene.render.fps = 30
    s = scene.editemotalk
    s.audio_path = str(speech_wav)
    s.start_frame = 10
    return scene


def demo_head(scene):
    """The stylised head: all 52 ARKit shape keys, and light to evaluate."""
    bpy.ops.editemotalk.add_demo_head(kind="STYLISED")
    return scene.editemotalk.target


def key_values(obj, frames, names=None):
    names = names or [kb.name for kb in obj.data.shape_keys.key_blocks[1:]]
    out = []
    for f in frames:
        bpy.context.scene.frame_set(f)
        out.append([obj.data.shape_keys.key_blocks[n].value for n in names])
    return np.array(out)


def test_register_and_unregister_leave_nothing_behind():
    editemotalk_addon.unregister()
    assert not hasattr(bpy.types, "EET_PT_main") and not hasattr(bpy.types.Scene, "editemotalk")
    assert session._on_depsgraph_update not in bpy.app.handlers.depsgraph_update_post
    editemotalk_addon.register()
    assert hasattr(bpy.types, "EET_PT_main") and hasattr(bpy.types.Scene, "editemotalk")


def test_bake_on_the_demo_head_equals_the_model_through_the_mapping(scene):
    obj = demo_head(scene)
    assert len(obj.data.shape_keys.key_blocks) == 53 and not obj.editemotalk.unmatched
    scene.editemotalk.happy = 0.8
    assert bpy.ops.editemotalk.analyze() == {"FINISHED"}
    assert bpy.ops.editemotalk.bake() == {"FINISHED"}
    analysis = session.cached_analysis(session.audio_path(scene))
    perf = session.get_animator().generate(analysis, EmotionEdit({"happy": 0.8}), fps=30, seed=0)
    key = obj.data.shape_keys
    assert {t.name for t in key.animation_data.nla_tracks} == {
        "EET line articulation",
        "EET line expression",
        "EET line life",
    }
    frames = [10, 17, 33, 10 + len(perf.weights) - 1]
    got = key_values(obj, frames, list(ARKIT_NAMES))
    want = perf.weights[[f - 10 for f in frames]]
    assert np.abs(got - want).max() < 1e-4
    assert want[:, INDEX["jawOpen"]].max() > 0.1  # a real performance, not a flat line


def test_ict_head_through_the_suffix_preset(scene, data_root):
    bpy.ops.editemotalk.import_ict_head(filepath=str(data_root / "ict_facekit" / "ict_face_model.npz"))
    obj = scene.editemotalk.target
    assert obj.name.startswith("ICT Head") and obj.editemotalk.preset == "SUFFIX_LR"
    assert obj.editemotalk.unmatched == "tongueOut"
    assert bpy.ops.editemotalk.bake() == {"FINISHED"}
    analysis = session.cached_analysis(session.audio_path(scene))
    perf = session.get_animator().generate(analysis, EmotionEdit(), fps=30, seed=0)
    got = key_values(obj, [25], ["browInnerUp_L", "browInnerUp_R", "mouthSmile_L", "jawOpen"])[0]
    w = perf.weights[15]
    assert np.allclose(
        got, [w[INDEX["browInnerUp"]]] * 2 + [w[INDEX["mouthSmileLeft"]], w[INDEX["jawOpen"]]], atol=1e-4
    )


def test_combined_option_writes_one_action(scene):
    obj = demo_head(scene)
    scene.editemotalk.layers = "COMBINED"
    bpy.ops.editemotalk.bake()
    tracks = obj.data.shape_keys.animation_data.nla_tracks
    assert [t.name for t in tracks] == ["EET line combined"]
    assert len(tracks[0].strips[0].action.layers[0].strips[0].channelbags[0].fcurves) == 52


def test_keyframed_sliders_change_the_result_only_around_their_keys(scene):
    obj = demo_head(scene)
    bpy.ops.editemotalk.bake()
    frames = list(range(10, 10 + 90))
    plain = key_values(obj, frames, list(ARKIT_NAMES))
    s = scene.editemotalk
    for frame, value in ((40, 0.0), (45, 1.5), (50, 0.0)):  # a burst of surprise around frame 45
        s.surprised = value
        s.keyframe_insert("surprised", frame=frame)
    bpy.ops.editemotalk.bake()
    edited = key_values(obj, frames, list(ARKIT_NAMES))
    changed = np.abs(edited - plain).max(1) > 1e-3
    t = np.array(frames)
    assert changed[(t > 41) & (t < 49)].all()
    # the expression channel sees about +-0.9 s of context: nothing moves far from the keys
    assert not changed[(t < 40 - 30) | (t > 50 + 30)].any()
    assert edited[frames.index(45), INDEX["eyeWideLeft"]] > plain[frames.index(45), INDEX["eyeWideLeft"]] + 0.1


def test_undo_restores_the_scene(scene):
    name = demo_head(scene).name
    bpy.ops.ed.undo_push(message="before bake")
    actions = len(bpy.data.actions)
    bpy.ops.editemotalk.bake()
    bpy.ops.ed.undo_push(message="Bake")  # what the UI does after an operator flagged UNDO: one step
    assert len(bpy.data.actions) == actions + 4  # three layers, and the face's export range (nla.export_range)
    bpy.ops.ed.undo()  # every Python reference is stale now: look things up again
    obj = bpy.data.objects[name]
    assert len(bpy.data.actions) == actions
    ad = obj.data.shape_keys.animation_data
    assert ad is None or len(ad.nla_tracks) == 0
    assert not [s for s in sound.all_strips(bpy.context.scene) if s.type == "SOUND"]


def test_user_animation_is_untouched_and_rebake_replaces_only_its_own(scene, speech_wav, tmp_path):
    obj = demo_head(scene)
    key = obj.data.shape_keys
    kb = key.key_blocks["browDownLeft"]
    kb.value = 0.3
    kb.keyframe_insert("value", frame=1)
    kb.value = 0.7
    kb.keyframe_insert("value", frame=20)
    user_action = key.animation_data.action
    user_action.name = "My face"
    user_track = key.animation_data.nla_tracks.new()
    user_track.name = "My track"
    bpy.ops.editemotalk.bake()
    other = tmp_path / "other.wav"
    other.write_bytes(speech_wav.read_bytes())
    scene.editemotalk.audio_path = str(other)
    bpy.ops.editemotalk.bake()  # a second clip
    bpy.ops.editemotalk.bake()  # and that clip again
    assert key.animation_data.action == user_action and user_action.name == "My face"
    names = [t.name for t in key.animation_data.nla_tracks]
    assert names.count("My track") == 1 and sum(n.startswith("EET line ") for n in names) == 3
    assert sum(n.startswith("EET other ") for n in names) == 3
    assert len([a for a in bpy.data.actions if a.name.startswith("EET other")]) == 3
    fc = user_action.layers[0].strips[0].channelbags[0].fcurves[0]
    assert [tuple(k.co) for k in fc.keyframe_points] == [(1.0, pytest.approx(0.3)), (20.0, pytest.approx(0.7))]
    assert obj.data.shape_keys.key_blocks["browDownLeft"].name == "browDownLeft"


def test_sound_strip_spans_the_audio_and_is_reused(scene, speech_wav):
    import soundfile

    demo_head(scene)
    bpy.ops.editemotalk.bake()
    bpy.ops.editemotalk.bake()
    strips = [s for s in sound.all_strips(scene) if s.type == "SOUND"]
    assert len(strips) == 1
    seconds = soundfile.info(str(speech_wav)).duration
    assert strips[0].frame_final_start == 10
    assert abs(strips[0].frame_final_duration - seconds * 30) <= 1


def test_live_preview_follows_sliders_and_the_timeline(scene):
    obj = demo_head(scene)
    bpy.ops.editemotalk.analyze()
    s = scene.editemotalk
    s.live_preview = True
    scene.frame_set(40)
    smile = obj.data.shape_keys.key_blocks["mouthSmileLeft"]
    before = smile.value
    s.mode = "ABSOLUTE"
    s.happy = 1.0  # the property update regenerates the preview layer
    bpy.context.view_layer.update()  # what the viewport's redraw does
    assert smile.value > before + 0.1
    jaw = [obj.data.shape_keys.key_blocks["jawOpen"].value for f in range(20, 60, 5) if not scene.frame_set(f)]
    assert np.ptp(jaw) > 0.05  # scrubbing shows different mouth shapes
    s.live_preview = False


@pytest.mark.parametrize("case", ["not a mesh", "no shape keys", "missing audio", "corrupt audio"])
def test_bad_input_reports_clearly_and_changes_nothing(scene, tmp_path, case):
    s = scene.editemotalk
    if case == "not a mesh":
        bpy.ops.object.camera_add()
        s.target = None
        camera = bpy.context.object
        s.target = camera  # the panel's picker only offers meshes; a script can still set anything
        expected = "is a camera, not a mesh"
    elif case == "no shape keys":
        bpy.ops.mesh.primitive_cube_add()
        s.target = bpy.context.object
        expected = "has no shape keys"
    else:
        demo_head(scene)
        if case == "missing audio":
            s.audio_path = str(tmp_path / "nowhere.wav")
            expected = "not found"
        else:
            (tmp_path / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 20)
            s.audio_path = str(tmp_path / "broken.wav")
            expected = "Cannot decode"
    before = (len(bpy.data.actions), len(bpy.data.objects), len(sound.all_strips(scene)))
    for op in (bpy.ops.editemotalk.analyze, bpy.ops.editemotalk.bake):
        with pytest.raises(RuntimeError, match=expected):
            op()
    assert (len(bpy.data.actions), len(bpy.data.objects), len(sound.all_strips(scene))) == before


def test_unmatched_channels_are_listed_not_dropped(scene):
    bpy.ops.mesh.primitive_cube_add()
    obj = bpy.context.object
    obj.shape_key_add(name="Basis")
    for name in ("JawOpen", "Mouth_Smile_L", "EyeBlink.R"):
        obj.shape_key_add(name=name)
    scene.editemotalk.target = obj
    mapping = shape_keys.update_mapping(obj)
    assert mapping.targets["jawOpen"] == ["JawOpen"] and mapping.targets["mouthSmileLeft"] == ["Mouth_Smile_L"]
    assert mapping.targets["eyeBlinkRight"] == ["EyeBlink.R"]
    assert len(obj.editemotalk.unmatched.split(", ")) == 49
    assert bpy.ops.editemotalk.bake() == {"FINISHED"}


def test_ict_head_from_the_upstream_obj_folder(scene, data_root, tmp_path):
    """The FaceXModel layout: generic_neutral_mesh.obj plus one OBJ per expression (written here from the npz)."""
    from editemotalk_addon.core.ict import IctHead

    head = IctHead.load(data_root / "ict_facekit" / "ict_face_model.npz")
    faces = "".join("f " + " ".join(str(i + 1) for i in poly) + "\n" for poly in head.polygons[:9230])
    keep = 9409  # the face region only, to keep the files small

    def write(name, verts):
        (tmp_path / f"{name}.obj").write_text("".join(f"v {x} {y} {z}\n" for x, y, z in verts[:keep]) + faces)

    write("generic_neutral_mesh", head.neutral)
    for name in ("jawOpen", "mouthSmile_L", "browInnerUp_R"):
        write(name, head.neutral + head.deltas[head.names.index(name)])
    bpy.ops.editemotalk.import_ict_head(filepath=str(tmp_path))
    obj = scene.editemotalk.target
    names = [kb.name for kb in obj.data.shape_keys.key_blocks]
    assert names == ["Basis", "browInnerUp_R", "jawOpen", "mouthSmile_L"] and len(obj.data.vertices) == keep
    assert obj.editemotalk.rows[0].shape_key in names


@pytest.mark.parametrize(
    "clip",
    ["english_read/cmu_arctic/slt/arctic_a0001.flac", "english_read/common_voice_en/clips/common_voice_en_111554.mp3"],
)
def test_blenders_own_decoder_reads_what_soundfile_reads(data_root, clip):
    """Inside Blender there is no soundfile: audio comes through `aud` (ffmpeg). Both must give the same signal."""
    from editemotalk_addon.core import audio

    path = data_root / clip
    samples, rate, _ = audio._decode_with_aud(path, audio.MAX_SECONDS)
    via_aud = audio.validate_audio(audio.to_mono_16k(samples, rate))
    via_sndfile = audio.load_audio(path)
    n = min(len(via_aud), len(via_sndfile))
    assert abs(len(via_aud) - len(via_sndfile)) < 0.01 * 16000 + 1200  # mp3 decoders differ in padding
    lag = np.argmax(np.correlate(via_aud[:16000], via_sndfile[:16000], "full")) - 15999
    a, b = (via_aud[lag:n], via_sndfile[: n - lag]) if lag >= 0 else (via_aud[: n + lag], via_sndfile[-lag:n])
    assert np.corrcoef(a, b)[0, 1] > 0.98
    with pytest.raises(audio.AudioError, match="Cannot decode"):
        bad = data_root / "README.md"  # a text file, not audio
        audio._decode_with_aud(bad, audio.MAX_SECONDS)


def test_saving_a_bake_leaves_the_users_backup_preference_alone(scene, tmp_path):
    filepaths = bpy.context.preferences.filepaths
    filepaths.save_version = 3
    exports.save_blend(tmp_path / "copy.blend")
    assert (tmp_path / "copy.blend").stat().st_size > 0 and not (tmp_path / "copy.blend1").exists()
    assert filepaths.save_version == 3


def test_bundled_head_has_every_arkit_channel_but_tongue_and_closes_its_lips_like_the_full_ict_head(scene):
    from editemotalk_addon.core import lips

    assert bpy.ops.editemotalk.add_demo_head() == {"FINISHED"}  # the realistic head is the default
    obj = scene.editemotalk.target
    keys = obj.data.shape_keys.key_blocks
    assert obj.name == "EET Demo Head" and len(obj.data.vertices) == 24591
    assert [kb.name for kb in keys[1:]] == [n for n in ARKIT_NAMES if n != "tongueOut"]
    assert obj.editemotalk.unmatched == "tongueOut"
    assert {(r.arkit, r.shape_key) for r in obj.editemotalk.rows} == {(n, n) for n in ARKIT_NAMES if n != "tongueOut"}
    assert {m.name for m in obj.data.materials} >= {"EET skin", "EET eye", "EET teeth"}
    upper, lower = list(lips.UPPER_VERTICES), list(lips.LOWER_VERTICES)  # the full head's numbering

    def gap_mm(**pose):
        """The inner-lip gap in Blender (largest vertical gap of the contact pairs), and on the full ICT head."""
        for kb in keys[1:]:
            kb.value = pose.get(kb.name, 0.0)
        mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh()
        co = np.empty(len(mesh.vertices) * 3, np.float32)
        mesh.vertices.foreach_get("co", co)
        obj.to_mesh_clear()
        z = co.reshape(-1, 3)[:, 2] * 1000
        w = np.zeros(52, np.float32)
        for name, value in pose.items():
            w[INDEX[name]] = value
        return max(0.0, float((z[upper] - z[lower]).max())), float(lips.lip_gap_mm(w))

    open_here, open_full = gap_mm(jawOpen=1.0)
    closed_here, closed_full = gap_mm(jawOpen=1.0, mouthClose=1.0)
    assert open_here > 20.0 and closed_here <= lips.CLOSED_MM  # jawOpen parts the lips, mouthClose shuts them
    assert abs(open_here - open_full) < 0.05 and abs(closed_here - closed_full) < 0.05


@pytest.fixture
def three_seconds(speech_wav, tmp_path):
    from editemotalk_addon.core.audio import SAMPLE_RATE, load_audio, write_wav

    x = load_audio(speech_wav)
    path = tmp_path / "three.wav"
    write_wav(path, np.pad(x, (0, 3 * SAMPLE_RATE))[: 3 * SAMPLE_RATE])
    return path


def test_preview_of_a_3s_clip_has_its_frames_rate_and_sound_and_leaves_the_scene_as_it_was(
    scene, three_seconds, tmp_path, capfd
):
    import aud

    scene.editemotalk.audio_path = str(three_seconds)
    bpy.ops.editemotalk.add_demo_head()
    assert bpy.ops.editemotalk.bake() == {"FINISHED"}
    before = (scene.camera, scene.render.engine, scene.frame_start, scene.render.filepath, len(bpy.data.objects))
    out = tmp_path / "preview.mp4"
    capfd.readouterr()
    assert bpy.ops.editemotalk.preview(filepath=str(out), size=96) == {"FINISHED"}
    printed = capfd.readouterr()
    assert "Fra:" not in printed.out + printed.err and "Append frame" not in printed.out + printed.err  # quiet
    assert scene.editemotalk.status == f"Preview written to {out}"  # the panel's status line says where
    clip = bpy.data.movieclips.load(str(out))  # Blender's own movie reader
    assert clip.frame_duration == 90 and clip.fps == 30 and tuple(clip.size) == (96, 96)
    assert mp4_tracks(out) == ["vide", "soun"]
    sound = aud.Sound(str(out))
    assert abs(sound.length / sound.specs[0] - 3.0) < 0.05  # seconds of audio (AAC frames round up a little)
    after = (scene.camera, scene.render.engine, scene.frame_start, scene.render.filepath, len(bpy.data.objects))
    assert after == before and not list(tmp_path.glob(".*partial*"))


def test_preview_needs_a_bake_first(scene, tmp_path):
    demo_head(scene)
    with pytest.raises(RuntimeError, match="has no bake of line - Bake it, then Preview"):
        bpy.ops.editemotalk.preview(filepath=str(tmp_path / "p.mp4"))
    assert not (tmp_path / "p.mp4").exists()


def user_layer(obj):
    """The user's own animation: an NLA track keyed on browDownLeft (0.3 -> 0.7, held) and an active action
    keying browInnerUp at 0.5, both made before any bake."""
    key = obj.data.shape_keys
    ad = key.animation_data_create()
    kb = key.key_blocks["browDownLeft"]
    for frame, value in ((1, 0.3), (60, 0.7)):
        kb.value = value
        kb.keyframe_insert("value", frame=frame)
    track = ad.nla_tracks.new()
    track.name = "My track"
    track.strips.new("mine", 1, ad.action)
    ad.action = None
    kb = key.key_blocks["browInnerUp"]
    kb.value = 0.5
    kb.keyframe_insert("value", frame=1)
    kb.keyframe_insert("value", frame=2)
    return key


def clip_perf(scene, path, **sliders):
    """Choose a clip and slider values; returns the performance a bake of it will write (ARKit order)."""
    s = scene.editemotalk
    s.audio_path, s.mode = str(path), "ABSOLUTE"
    for name in ("happy", "sad", "surprised"):
        setattr(s, name, sliders.get(name, 0.0))
    bpy.ops.editemotalk.analyze()
    return session.performance(bpy.context, scene).weights.copy()


def expected(base, clips, frames, user_action=True):
    """What each frame must show: the user's own values, plus at most one clip (start, weights) in its range; the
    user's active action (browInnerUp) sits on top of the NLA stack and replaces what is below."""
    out = base.copy()
    for start, weights in clips:
        inside = (frames >= start) & (frames < start + len(weights))
        out[inside] += weights[frames[inside] - start]
    if user_action:
        out[:, INDEX["browInnerUp"]] = base[:, INDEX["browInnerUp"]]
    return np.clip(out, 0.0, 1.0)


def test_each_clip_plays_only_its_own_frames(scene, speech_wav, tmp_path):
    obj = demo_head(scene)
    user_layer(obj)
    other = tmp_path / "other.wav"
    other.write_bytes(speech_wav.read_bytes())
    a = clip_perf(scene, speech_wav, happy=1.0)
    b_start = 10 + len(a) + 20
    frames = np.arange(1, b_start + len(a) + 30)
    names = list(ARKIT_NAMES)
    base = key_values(obj, frames, names)  # the user's own animation alone
    assert base[:, INDEX["browInnerUp"]].min() == pytest.approx(0.5) and base[-1, INDEX["browDownLeft"]] > 0.6
    bpy.ops.editemotalk.bake()
    scene.editemotalk.start_frame = b_start
    b = clip_perf(scene, other, sad=1.0, surprised=0.5)
    bpy.ops.editemotalk.bake()
    got = key_values(obj, frames, names)
    want = expected(base, [(10, a), (b_start, b)], frames)
    assert np.abs(got - want).max() < 1e-4  # every frame: the user's values plus only the clip playing there
    assert np.abs(a - b).max() > 0.3  # two clearly different performances
    # the same two clips at the same start frame: the later bake plays, the earlier one is muted, never summed
    scene.editemotalk.start_frame = 10
    bpy.ops.editemotalk.bake()
    got = key_values(obj, frames, names)
    assert np.abs(got - expected(base, [(10, b)], frames)).max() < 1e-4
    with exports.solo(obj, str(speech_wav)):  # what an export of clip a evaluates: a alone, in its own frames
        alone = key_values(obj, frames, names)
    assert np.abs(alone - expected(np.zeros_like(base), [(10, a)], frames, user_action=False)).max() < 1e-4
    assert np.abs(key_values(obj, frames, names) - expected(base, [(10, b)], frames)).max() < 1e-4  # restored
    assert bpy.ops.editemotalk.clear() == {"FINISHED"}  # clearing b brings a back
    assert np.abs(key_values(obj, frames, names) - expected(base, [(10, a)], frames)).max() < 1e-4


def test_hold_last_keeps_the_last_pose_only_when_asked(scene):
    obj = demo_head(scene)
    s = scene.editemotalk
    s.hold_last = True
    perf = clip_perf(scene, s.audio_path, happy=1.0)
    bpy.ops.editemotalk.bake()
    end = 10 + len(perf) - 1
    got = key_values(obj, [5, end, end + 40], list(ARKIT_NAMES))
    assert np.abs(got[0]).max() < 1e-6 and np.abs(got[2] - perf[-1]).max() < 1e-4
    s.hold_last = False
    bpy.ops.editemotalk.bake()
    assert np.abs(key_values(obj, [end + 40], list(ARKIT_NAMES))).max() < 1e-6


def test_preview_shows_the_edit_on_its_own_layer_and_lets_go(scene, speech_wav):
    obj = demo_head(scene)
    key = user_layer(obj)
    s = scene.editemotalk
    sad = clip_perf(scene, speech_wav, sad=1.0)
    frames = np.arange(1, 10 + len(sad) + 30)
    names = list(ARKIT_NAMES)
    base = key_values(obj, frames, names)  # the user's own animation alone
    bpy.ops.editemotalk.bake()
    baked = key_values(obj, frames, names)
    s.happy, s.sad = 1.0, 0.0
    happy = session.performance(bpy.context, scene).weights.copy()
    s.live_preview = True
    shown = key_values(obj, frames, names)
    outside = (frames < 10) | (frames >= 10 + len(sad))
    assert np.abs(shown[outside] - baked[outside]).max() < 1e-6  # the user's keys and the rest untouched
    assert np.abs(shown - expected(base, [(10, happy)], frames)).max() < 1e-4
    s.surprised = 0.8  # a slider moved while previewing: the layer follows
    surprised = session.performance(bpy.context, scene).weights.copy()
    assert np.abs(surprised - happy).max() > 0.1
    assert np.abs(key_values(obj, frames, names) - expected(base, [(10, surprised)], frames)).max() < 1e-4
    s.live_preview = False
    assert np.abs(key_values(obj, frames, names) - baked).max() < 1e-6  # exactly as without the preview
    assert not [t for t in key.animation_data.nla_tracks if "preview" in t.name]
    assert all(not t.mute for t in key.animation_data.nla_tracks)
    # on again, then Bake: the preview ends and what plays is the bake of what was previewed
    s.live_preview = True
    previewed = key_values(obj, frames, names)
    assert bpy.ops.editemotalk.bake() == {"FINISHED"} and not s.live_preview
    assert not [a for a in bpy.data.actions if a.get(nla.TAG) == preview_layer.PREVIEW]
    assert np.abs(key_values(obj, frames, names) - previewed).max() < 1e-4
    assert np.abs(previewed - expected(base, [(10, surprised)], frames)).max() < 1e-4


def test_preview_off_restores_hand_set_values(scene):
    obj = demo_head(scene)
    blocks = obj.data.shape_keys.key_blocks
    blocks["jawOpen"].value, blocks["cheekPuff"].value = 0.0, 0.25
    s = scene.editemotalk
    clip_perf(scene, s.audio_path, happy=1.0)
    scene.frame_set(40)
    s.live_preview = True
    scene.frame_set(40)
    assert blocks["jawOpen"].value > 0.01 or blocks["mouthSmileLeft"].value > 0.1  # the preview plays
    s.live_preview = False
    scene.frame_set(41)
    assert blocks["jawOpen"].value == 0.0 and blocks["cheekPuff"].value == pytest.approx(0.25)
    assert all(kb.value == 0.0 for kb in blocks if kb.name not in ("Basis", "cheekPuff"))


def test_rebake_moves_the_clips_sound_and_clear_removes_it(scene, speech_wav, tmp_path):
    demo_head(scene)
    se = scene.sequence_editor_create()
    mine = se.strips.new_sound("my take", str(speech_wav), 3, 300)  # the user's own strip of the same file
    bpy.ops.editemotalk.bake()
    scene.editemotalk.start_frame = 50
    bpy.ops.editemotalk.bake()
    sounds = sorted((s.name, s.frame_final_start) for s in sound.all_strips(scene) if s.type == "SOUND")
    assert sounds == [("line", 50), ("my take", 300)]
    assert bpy.ops.editemotalk.clear() == {"FINISHED"}
    assert [s.name for s in sound.all_strips(scene)] == ["my take"] and mine.frame_final_start == 300
    assert not obj_tracks(scene)


def obj_tracks(scene):
    ad = scene.editemotalk.target.data.shape_keys.animation_data
    return list(ad.nla_tracks) if ad else []


def test_a_folder_as_audio_says_so(scene, tmp_path):
    demo_head(scene)
    scene.editemotalk.audio_path = str(tmp_path)
    for op in (bpy.ops.editemotalk.analyze, bpy.ops.editemotalk.bake):
        with pytest.raises(RuntimeError, match="is a folder, not a file"):
            op()


def test_a_scripted_analyze_reports_what_it_heard(scene, capfd):
    """The three strongest emotions of the voice, against a second model's own reading of the same file (not the
    add-on's cached analysis): the mean over the clip of its calibrated probabilities, as percentages."""
    from editemotalk_addon.core.animator import Animator
    from editemotalk_addon.core.rig import EMOTIONS

    demo_head(scene)
    assert bpy.ops.editemotalk.analyze() == {"FINISHED"}
    heard = scene.editemotalk.heard
    voice = Animator.load(runtime="onnx").analyze(scene.editemotalk.audio_path).probabilities.mean(0)  # (8,)
    names, percents = zip(*(part.rsplit(" ", 1) for part in heard.split(", ")))
    assert list(names) == [EMOTIONS[i] for i in np.argsort(-voice)[:3]], (heard, voice)
    assert [float(p.rstrip("%")) for p in percents] == pytest.approx(100 * np.sort(voice)[::-1][:3], abs=0.51)
    assert f"heard {heard}" in capfd.readouterr().out  # the operator's report, as Blender prints it headless


def test_bake_without_analyze_fills_heard_and_the_status_line_as_analyze_does(scene):
    s = scene.editemotalk
    demo_head(scene)
    assert (s.heard, s.status) == ("", "")
    assert bpy.ops.editemotalk.bake() == {"FINISHED"}
    baked = (s.heard, s.status)
    assert baked[0].count("%") == 3 and baked[1].endswith(f"heard {baked[0]}")
    s.heard = s.status = ""
    assert bpy.ops.editemotalk.analyze() == {"FINISHED"}
    assert (s.heard, s.status) == baked


def test_keyed_sliders_that_overshoot_are_clamped_like_the_property(scene):
    """A Bezier curve overshoots its keys; EmotionEdit refuses values past 1.5, so preview and bake clamp them
    as Blender clamps the animated property."""
    s = scene.editemotalk
    for frame, value in ((10, 0.0), (15, 1.5), (20, 1.5), (25, 0.0)):
        s.surprised = value
        s.keyframe_insert("surprised", frame=frame)
    fc = session.slider_curves(scene)["surprised"]
    for point in fc.keyframe_points:
        point.handle_left_type = point.handle_right_type = "AUTO"
    fc.update()
    assert max(fc.evaluate(f) for f in np.arange(10, 25, 0.5)) > 1.51
    keys = session.emotion_edit(scene, 1.0).sliders["surprised"]
    assert keys[:, 1].max() == 1.5 and keys[:, 1].min() == 0.0


def viewport_xy(area, point: Vector) -> tuple[float, float]:
    """Where `point` lands in a 3D Viewport's region, 0 to 1 each way: Blender's perspective view, a 72 mm sensor
    (36 mm at its zoom of 2) behind the viewport's lens, fitted to the region's longer side. (The region's own
    matrices are updated only when it is drawn, never in background mode.)"""
    rv3d, lens = area.spaces[0].region_3d, area.spaces[0].lens
    region = next(r for r in area.regions if r.type == "WINDOW")
    q = rv3d.view_rotation.inverted() @ (point - rv3d.view_location)
    q.z -= rv3d.view_distance
    longer = max(region.width, region.height)
    x, y = (q[k] / -q.z / (36.0 / lens) * longer / side for k, side in ((0, region.width), (1, region.height)))
    return (x + 1) / 2, (y + 1) / 2


def test_the_demo_head_is_in_front_of_the_default_cube_and_framed_by_camera_and_viewport(scene):
    cube, camera = bpy.data.objects["Cube"], scene.camera
    untouched = lambda: [tuple(cube.matrix_world.col[3]), cube.hide_get(), cube.hide_render, camera.matrix_world.copy()]
    before = untouched()
    assert bpy.ops.editemotalk.add_demo_head() == {"FINISHED"}
    obj = scene.editemotalk.target
    verts = [obj.matrix_world @ v.co for v in list(obj.data.vertices)[::7]]
    low, high = (np.array([f(c[k] for c in cube.bound_box) for k in range(3)]) for f in (min, max))
    assert not any(np.all((np.array(v) > low) & (np.array(v) < high)) for v in verts)  # outside the cube
    seen = np.array([world_to_camera_view(scene, camera, v) for v in verts])
    assert seen[:, :2].min() > 0.05 and seen[:, :2].max() < 0.95  # all of it in the camera's frame
    assert np.ptp(seen[:, 1]) > 0.4  # and large in it
    cube_depth = min(world_to_camera_view(scene, camera, cube.matrix_world @ Vector(c)).z for c in cube.bound_box)
    assert 0 < seen[:, 2].max() < cube_depth  # in front of the cube
    area = next(a for a in bpy.context.screen.areas if a.type == "VIEW_3D")
    shown = np.array([viewport_xy(area, v) for v in verts])
    assert shown.min() > 0.05 and shown.max() < 0.95 and np.ptp(shown[:, 1]) > 0.3  # the viewport frames it too
    assert untouched() == before  # the cube and the camera as they were
    assert bpy.ops.editemotalk.add_demo_head(hide_default_cube=True) == {"FINISHED"}
    assert cube.hide_get() and cube.hide_render and bpy.data.objects.get("Cube") is cube


def test_key_heard_emotion_keys_the_sliders_phrase_by_phrase_in_one_undo_step(scene):
    """What the voice sounds like, as keys an animator can keep or correct: the analysis (here heard as happy in
    every phrase) keys the happy slider over the clip's frames only, linear, in absolute mode; one undo takes it
    back; a key of the user's outside the clip stays."""
    from dataclasses import replace

    from editemotalk_addon.core.emotion_keys import heard_keys
    from editemotalk_addon.core.rig import EMOTIONS

    demo_head(scene)
    s = scene.editemotalk
    s.sad = 0.4
    s.keyframe_insert("sad", frame=500)  # the user's own key, far past the clip
    bpy.ops.editemotalk.analyze()
    path = session.audio_path(scene)
    analysis = session.cached_analysis(path)
    happy = np.full_like(analysis.probabilities, 0.02)
    happy[:, EMOTIONS.index("happy")] = 1 - 7 * 0.02
    session.store_analysis(path, replace(analysis, probabilities=happy))
    expected = heard_keys(replace(analysis, probabilities=happy))["happy"]
    bpy.ops.ed.undo_push(message="before keying")
    assert bpy.ops.editemotalk.key_heard() == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Key Heard Emotion")
    curves = session.slider_curves(scene)
    keys = [(p.co[0], p.co[1], p.interpolation) for p in curves["happy"].keyframe_points]
    assert [round(f, 3) for f, _, _ in keys] == [round(s.start_frame + t * 30, 3) for t, _, _ in expected]
    assert [v for _, v, _ in keys] == pytest.approx([v for _, v, _ in expected], abs=1e-4)
    assert {i for _, _, i in keys} == {"LINEAR"} and max(v for _, v, _ in keys) > 0.5
    assert s.mode == "ABSOLUTE"
    assert [p.co[0] for p in curves["sad"].keyframe_points] == [500.0]  # outside the clip: the user's key stays
    bpy.ops.ed.undo()
    assert "happy" not in session.slider_curves(bpy.context.scene)


def test_a_character_reads_each_clip_against_its_own_voice(scene, data_root):
    """Three takes of an English actor (ravdess_dev, checking only) added to one character (the panel's Add This
    Clip): each clip's heard emotion is read against the character's voice (Animator.heard: features standardised
    over its clips); without a name, as it is. Read alone, this voice's neutral take sounds angry; against its own
    takes, neutral."""
    demo_head(scene)
    s = scene.editemotalk
    clips = [data_root / "ravdess_dev" / "audio" / f"03-01-{c}-01-01-02.flac" for c in ("05-02", "01-01", "04-02")]
    plain = []
    for clip in clips:
        s.audio_path = str(clip)
        bpy.ops.editemotalk.analyze()
        plain.append(session.cached_analysis(str(clip)).probabilities.mean(0))
    s.character = "Ada"
    for clip in clips:  # all clips added to the character first: then each is read against the three
        s.audio_path = str(clip)
        assert bpy.ops.editemotalk.character_add_clip() == {"FINISHED"}
    heard = [session.analyze(bpy.context, str(clip)).probabilities.mean(0) for clip in clips]
    assert heard[1][0] > plain[1][0] + 0.5  # the neutral take
    assert all(np.abs(a - b).max() > 0.05 for a, b in zip(plain[1:], heard[1:]))
    assert s.heard == session.analyze(bpy.context, str(clips[-1])).summary()


def test_the_scene_range_fits_a_first_bake_and_never_shrinks_under_the_users_animation(scene):
    obj = demo_head(scene)
    assert (scene.frame_start, scene.frame_end) == (1, 250)  # the startup file's range
    assert bpy.ops.editemotalk.bake() == {"FINISHED"}
    frames = len(nla.strip_fcurves(obj.data.shape_keys.animation_data.nla_tracks[0].strips[0])[0].keyframe_points)
    assert (scene.frame_start, scene.frame_end) == (10, 10 + frames - 1)  # Bake was the first thing: the clip
    scene.frame_start, scene.frame_end = 1, 300
    scene.camera.keyframe_insert("location", frame=300)  # the user's own animation, up to frame 300
    assert bpy.ops.editemotalk.bake() == {"FINISHED"}
    assert (scene.frame_start, scene.frame_end) == (1, 300)  # kept: it holds the user's animation
    scene.editemotalk.start_frame = 280
    assert bpy.ops.editemotalk.bake() == {"FINISHED"}
    assert (scene.frame_start, scene.frame_end) == (1, 280 + frames - 1)  # widened to take the clip in


def test_the_preview_camera_looks_at_the_front_of_a_turned_scaled_head_and_frames_the_face(scene, tmp_path):
    import math

    from editemotalk_addon.blender import playblast

    obj = demo_head(scene)
    obj.rotation_euler = (math.radians(15), math.radians(-10), math.radians(130))
    obj.scale = (2.5, 2.5, 2.5)
    bpy.context.view_layer.update()
    world = obj.matrix_world.copy()
    blocks = obj.data.shape_keys.key_blocks

    def landmark(name):  # the vertex its shape key moves most (a mouth corner, an eyelid), in world space
        basis, moved = (np.array([v.co for v in kb.data]) for kb in (blocks[0], blocks[name]))
        return world @ Vector(basis[np.argmax(np.linalg.norm(moved - basis, axis=1))])

    blast = playblast.Playblast(scene, obj, (1, 2), str(tmp_path / "p.mp4"), 480)
    try:
        bpy.context.view_layer.update()
        seen = {n: world_to_camera_view(scene, blast.camera, landmark(n)) for n in
                ("mouthSmileLeft", "mouthSmileRight", "eyeBlinkLeft", "eyeBlinkRight", "jawOpen")}  # fmt: skip
    finally:
        blast.restore()
    assert all(0.1 < p.x < 0.9 and 0.1 < p.y < 0.9 and p.z > 0 for p in seen.values()), seen  # the whole face
    left, right = seen["mouthSmileLeft"], seen["mouthSmileRight"]
    assert left.x > right.x  # the face's left on the picture's right: seen from the front
    assert abs(left.y - right.y) < 0.01 and abs((left.x + right.x) / 2 - 0.5) < 0.02  # level, centred
    assert abs(left.z - right.z) < 0.01 * left.z  # the two corners at the same depth: not from the side
    assert seen["eyeBlinkLeft"].y > left.y + 0.1 and seen["eyeBlinkRight"].y > right.y + 0.1  # upright
    assert abs(seen["eyeBlinkLeft"].y - seen["eyeBlinkRight"].y) < 0.01


def test_phone_markers_after_analyze_are_the_clis_json_and_go_in_one_step_leaving_the_users(scene, tmp_path):
    import json

    from test_cli import cli

    s = scene.editemotalk
    demo_head(scene)
    scene.timeline_markers.new("EET take 2", frame=12)  # the user's own markers, one inside the clip
    scene.timeline_markers.new("mine", frame=40)
    s.mark_phones = True
    assert bpy.ops.editemotalk.analyze() == {"FINISHED"}
    assert bpy.ops.editemotalk.analyze() == {"FINISHED"}  # again: replaced, not doubled
    ours = sorted((m.frame, m.name) for m in scene.timeline_markers if m.name.startswith("EET:"))
    closures = [f for f, name in ours if name == "EET:closure"]
    # "Maybe Bob brought the purple map to my mother" (flite): the sure ones of its p, b and m, in the clip
    assert len(closures) >= 4 and all(10 <= f < 10 + 90 for f, _ in ours)
    assert {name for _, name in ours} <= {"EET:closure", "EET:rounded", "EET:open"}
    assert s.status.endswith(f"; {len(ours)} phone marker(s)")
    r = cli("bake", "--audio", s.audio_path, "--fps", 30, "--start-frame", 10, "--phones", tmp_path / "p.json")
    assert r.returncode == 0, r.stderr[-2000:]
    written = json.loads((tmp_path / "p.json").read_text())
    assert (written["fps"], written["start_frame"]) == (30, 10)
    assert sorted((m["frame"], "EET:" + m["group"]) for m in written["marks"]) == ours  # the same marks
    bpy.ops.ed.undo_push(message="before")
    assert bpy.ops.editemotalk.remove_markers() == {"FINISHED"}
    assert sorted(m.name for m in scene.timeline_markers) == ["EET take 2", "mine"]
    bpy.ops.ed.undo_push(message="Remove Phone Markers")
    bpy.ops.ed.undo()
    assert len(bpy.context.scene.timeline_markers) == len(ours) + 2  # one undo step brings them back


def test_word_markers_where_the_line_is_given_are_the_clis_json(scene, tmp_path):
    import json

    from test_cli import cli

    s = scene.editemotalk
    demo_head(scene)
    s.mark_phones, s.line = True, "Maybe Bob brought the purple map to my mother."  # what speech_wav says
    assert bpy.ops.editemotalk.analyze() == {"FINISHED"}
    ours = sorted((m.frame, m.name) for m in scene.timeline_markers if m.name.startswith("EET:"))
    words = ["Maybe", "Bob", "brought", "the", "purple", "map", "to", "my", "mother"]
    assert [name for _, name in ours] == [f"EET:{w}" for w in words]  # every word once, in order
    frames = [f for f, _ in ours]
    assert frames[0] >= 10 and frames[-1] < 10 + 90 and all(b > a for a, b in zip(frames, frames[1:]))
    assert s.status.endswith("; 9 word marker(s)")
    r = cli("bake", "--audio", s.audio_path, "--fps", 30, "--start-frame", 10, "--text", s.line,
            "--phones", tmp_path / "w.json")  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    marks = json.loads((tmp_path / "w.json").read_text())["marks"]
    assert [(m["frame"], "EET:" + m["word"]) for m in marks] == ours


def test_analyze_shows_the_lips_first_and_the_voice_fills_heard_after(scene):
    """What the Analyze button's background thread stores first (what is said, the voice not yet heard) drives
    the preview; anything that needs the voice (Bake, Key Heard Emotion, a script) hears it then, and gets
    what one full analysis gives."""
    demo_head(scene)
    s = scene.editemotalk
    path = session.audio_path(scene)
    animator = session.get_animator(bpy.context)
    lips = animator.analyze(path, voice=False)
    session.store_analysis(path, lips)
    perf = session.performance(bpy.context, scene, session.cached_analysis(path))  # what the live preview shows
    assert perf.weights.shape[0] == int(np.ceil(lips.duration * 30)) and perf.weights.any()
    assert session.cached_analysis(path) is lips and not lips.voice_heard and s.heard == ""
    heard = session.analyze(bpy.context, path)
    assert heard.voice_heard and session.cached_analysis(path) is heard
    full = animator.analyze(path)
    assert np.array_equal(heard.probabilities, full.probabilities) and heard.summary() == full.summary()


def test_the_users_keys_that_blender_puts_in_the_export_range_action_survive_rebake_and_clear(scene):
    obj = demo_head(scene)
    assert bpy.ops.editemotalk.bake() == {"FINISHED"}
    key = obj.data.shape_keys
    brow = key.key_blocks["browDownLeft"]
    brow.value = 0.6
    brow.keyframe_insert("value", frame=200)  # Blender 4.4+ keys it in a slot of the object's action: ours
    assert key.animation_data.action == obj.animation_data.action
    for step in (bpy.ops.editemotalk.bake, bpy.ops.editemotalk.clear):
        assert step() == {"FINISHED"}
        assert key_values(obj, [200], ["browDownLeft"])[0, 0] == pytest.approx(0.6)  # the user's key plays on
    assert obj.animation_data.action is None and key.animation_data.action is not None  # unassigned, kept
