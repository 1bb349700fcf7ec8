"""Evaluation: lip and emotion metrics, held-out evaluation, benchmarks and the model card's report."""
