"""What inference needs, and all the extension ships: decode audio, analyze, edit the emotion, generate, map names.

Nothing here imports training or evaluation code, and nothing needs more than numpy (ONNX Runtime for the network).
"""
