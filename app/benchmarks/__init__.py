"""Benchmark scripts (``python -m longvid.app.benchmarks.NAME``); their figures go in the README."""
