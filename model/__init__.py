"""EditEmoTalk's research side, never shipped: it imports the extension's package (editemotalk_addon), never the
reverse.

training/    the teacher, phones and alignment, speech synthesis, the corpus, batches, losses, the training-only
             parts of the network (network.py), the emotion space's fit, train, ONNX export
evaluation/  metrics, held-out evaluation, the Blender bench, demo and judge renders, and the report that writes
             the model card
packaging.py the wheels and the extension zips
blenders.py  the Blenders the zips are tested on
head_asset.py the bundled head
pretrained.py the pretrained networks' files
"""
