"""Training: the teacher, phones and alignment, synthesis, the corpus, batches, losses, the trainer, ONNX export."""
