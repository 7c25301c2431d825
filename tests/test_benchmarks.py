"""The benchmark scripts' inputs exist where the scripts look for them (they run from a checkout; a move
of the evaluation package once left the indexing benchmark pointing at a folder that does not exist)."""

from __future__ import annotations

from longvid.app.eval.benchmarks import indexing
from longvid.ingest import probe


def test_indexing_benchmark_loops_the_demo(tmp_path):
    assert indexing.DEMO.is_file()
    duration = indexing.make_long_video(tmp_path / "long.mp4", 2)
    assert duration == 120.0 and abs(probe(tmp_path / "long.mp4").duration_s - 120.0) < 0.5
