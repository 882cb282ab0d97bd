"""Evaluation: metrics (ANLS, field accuracy, line-item F1, calibration), dataset readers, scoring,
reports, the DocVQA runner and the benchmark. ``evaluation.cli.eval_app`` is mounted as ``docvlm eval``."""
