"""EditEmoTalk's bpy-free core, in the order data flows through it.

runtime/     what inference needs, in Blender and in the CLI (numpy; ONNX Runtime or torch for the network):
             audio -> animator.analyze -> emotion_space.edit -> animator.generate -> Performance -> name_mapping
network/     the torch model (encoders, dual-channel generator, mapping network): training and the torch runtime
training/    the teacher, phones and alignment, speech synthesis, the corpus, batches, losses, train, ONNX export
evaluation/  metrics, held-out evaluation, benchmarks and the report that writes the model card

runtime/ imports nothing from the other three; only runtime/ ships in the Blender extension.
"""
