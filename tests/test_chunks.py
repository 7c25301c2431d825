"""One video split into time chunks and joined: the same scenes, keyframes and transcript as one whole build,
by the indexer directly and through a batch job with two worker processes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from longvid.app import pipeline
from longvid.app.jobs import run_index_job
from longvid.app.library import Library
from longvid.app.pipeline import Indexer, chunk_spans
from longvid.app.profiles import load_profile
from longvid.ingest import TimeSpan, open_video
from longvid.ingest.ffmpeg_cli import run_ffmpeg

from .conftest import DEMO

SECONDS = 240.0
# speech windows of about a minute, so that several start in each two-minute chunk and one ends past a seam
OVERRIDES = {"speech.chunk_s": 60.0, "speech.cpu_threads": 1}


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    """The narrated demo looped to 4 minutes, starting 7 s in: the chunk seam at 120 s falls inside a scene
    (the demo cuts every 12 s) and near speech."""
    path = tmp_path_factory.mktemp("chunks") / "looped.mp4"
    run_ffmpeg(f"-stream_loop 4 -i {{src}} -ss 7 -t {SECONDS:g} -c:v libx264 -preset ultrafast -c:a aac {{out}}",
               src=DEMO, out=path)  # fmt: skip
    return path


def _summary(built):
    return (
        [(e.span, e.keyframes_s, e.transcript, e.ocr_text) for e in built.events],
        [(s.span, s.text, s.words) for s in built.transcript],
    )


@pytest.fixture(scope="module")
def both(long_video):
    asset = open_video(long_video)
    indexer = Indexer(load_profile("embedded", OVERRIDES), cores=1)
    whole = indexer.build(asset)
    spans = [TimeSpan(0.0, 120.0), TimeSpan(120.0, SECONDS)]
    chunks = [indexer.build_chunk(asset, span) for span in reversed(spans)]  # join sorts them
    return whole, indexer.join(asset, chunks), chunks


def test_joined_chunks_equal_the_whole_build(both):
    whole, joined, chunks = both
    assert len(whole.events) >= 20 and any(e.span.start_s < 120.0 < e.span.end_s for e in whole.events)
    assert any(s.span.start_s < 125.0 and s.span.end_s > 115.0 for s in whole.transcript)  # speech at the seam
    assert _summary(joined) == _summary(whole)
    assert joined.keyframes == whole.keyframes and joined.analysed == whole.analysed
    assert joined.thumbnails == whole.thumbnails
    for channel in whole.vectors:  # the encoder sees other batches in a chunk: equal up to float rounding
        np.testing.assert_allclose(joined.vectors[channel], whole.vectors[channel], atol=1e-4)
    # each chunk decoded only its own frames, and transcribed only the windows starting inside it
    assert chunks[1].keyframes[0].time_s == 0.0 and chunks[0].keyframes[0].time_s == pytest.approx(120.0, abs=0.1)
    assert all(s.start >= 110.0 for s in chunks[0].speech) and all(s.start < 140.0 for s in chunks[1].speech)


def test_a_chunk_without_its_neighbour_is_not_the_whole(both, long_video):
    """The join is what makes them equal: one chunk alone misses the other's scenes and speech."""
    whole, _, chunks = both
    indexer = Indexer(load_profile("embedded", OVERRIDES), cores=1)
    partial = indexer.join(open_video(long_video), chunks[1:])
    assert _summary(partial) != _summary(whole)


def test_chunk_spans_lie_on_the_sync_grid():
    spans = chunk_spans(3 * 3600.0 + 17.0, 4)
    assert len(spans) == 4 and spans[0].start_s == 0.0 and spans[-1].end_s == 3 * 3600.0 + 17.0
    assert all(a.end_s == b.start_s and b.start_s % pipeline.SYNC_S == 0 for a, b in itertools.pairwise(spans))
    assert [len(chunk_spans(s, 8)) for s in (0.5, 1199.0, 1200.0, 2 * 3600.0)] == [1, 1, 2, 8]
    with pytest.raises(ValueError, match="parts must be >= 1"):
        chunk_spans(100.0, 0)


def test_a_job_with_two_workers_splits_one_video_and_stores_what_one_worker_would(long_video, tmp_path, monkeypatch):
    profile = load_profile("embedded", OVERRIDES)
    with Library(tmp_path / "serial", profile=profile) as lib:
        [one] = run_index_job(lib, [long_video])
        serial = [(e.span, e.transcript) for e in lib.index.events(one.video_id)]
    monkeypatch.setattr(pipeline, "MIN_CHUNK_S", 60.0)  # read in this process, where the job plans its chunks
    with Library(tmp_path / "split", profile=profile) as lib:
        [two] = run_index_job(lib, [long_video], workers=2)
        assert two.status == "indexed" and two.events == one.events
        assert [(e.span, e.transcript) for e in lib.index.events(two.video_id)] == serial
