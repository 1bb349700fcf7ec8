"""The bpy-free core, in the order data flows through it; numpy only (ONNX Runtime runs the network):

audio.py          decode any recording -> mono float32 at 16 kHz
animator.py       analyze (once per clip) -> edit the emotion -> generate (every slider change) -> Performance
heard.py          the voice's emotion per phrase (Heard), read against a character.py Character (a kept voice)
emotion_space.py  the edit dictionary: e' = e_voice + sum_k alpha_k s_k v_k
life.py           blinks and gaze;  lips.py  the inner-lip gap on a real head and the seal
performance.py    the three additive layers at the scene's frame rate
name_mapping.py   ARKit names -> the user's shape keys;  livelink.py  Live Link Face CSV
ict.py, bundled_head.py, demo_head.py   the heads;  rig.py, timebase.py  names and frames
validate.py, errors.py, files.py, weights.py   inputs checked, one error type, atomic files, verified weights
job.py, manifest.py   one job's settings, and a batch manifest (lines, hashes, records, lock)
network/          the optional PyTorch backend (the network definition; imported only where torch is)
"""
