"""Benchmark scripts (``python -m longvid.app.eval.benchmarks.NAME``); their figures go in the README."""
