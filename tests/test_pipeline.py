"""Pipeline pieces: event spans, word assignment, tag voting, subtitles instead of ASR, silent videos."""

import itertools

import numpy as np
import pytest

from longvid.app import Library
from longvid.app.pipeline import ThumbnailSpool, find_subtitles, split_spans, spoken_in, top_tags
from longvid.ingest import TimeSpan, TranscriptSegment, Word, open_video


def test_split_spans_bounds_event_length():
    spans = split_spans([TimeSpan(0, 10), TimeSpan(10, 75)], max_s=30)
    assert spans[0] == TimeSpan(0, 10)
    assert [s.duration_s for s in spans[1:]] == pytest.approx([65 / 3] * 3)
    assert spans[-1].end_s == 75 and all(a.end_s == b.start_s for a, b in itertools.pairwise(spans))


def test_spoken_in_uses_word_times():
    seg = TranscriptSegment("v", TimeSpan(8, 14), "over the boundary here",
                            words=(Word(TimeSpan(8, 9), " over"), Word(TimeSpan(9, 9.8), " the"),
                                   Word(TimeSpan(10.2, 11), " boundary"), Word(TimeSpan(12, 13), " here")))  # fmt: skip
    no_words = TranscriptSegment("v", TimeSpan(3, 5), "subtitle cue")
    assert spoken_in([no_words, seg], TimeSpan(0, 10)) == "subtitle cue over the"
    assert spoken_in([no_words, seg], TimeSpan(10, 20)) == "boundary here"


def test_top_tags_votes_by_rank():
    rows = [("tabby", "tiger cat"), ("tiger cat", "tabby"), ("tiger cat",), ()]
    assert top_tags(rows, 5) == ("tiger cat", "tabby")
    assert top_tags(rows, 1) == ("tiger cat",)


def test_thumbnail_spool_round_trip():
    spool = ThumbnailSpool()
    ids = [spool.add(bytes([i]) * (i + 1)) for i in range(5)]
    assert [spool.read(i) for i in reversed(ids)] == [bytes([i]) * (i + 1) for i in reversed(range(5))]
    spool.close()


def test_sidecar_subtitles_replace_speech_and_silent_video_indexes(silent_video, tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(silent_video.read_bytes())
    (tmp_path / "clip.en.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nThe zeppelin lands at dawn\n")
    assert [s.text for s in find_subtitles(open_video(video))] == ["The zeppelin lands at dawn"]
    with Library(tmp_path / "lib", profile="embedded") as lib:
        result = lib.add(video)
        assert result.status == "indexed" and result.built.transcript[0].source == "subtitle"
        assert lib.indexer._speech is None  # subtitles were used: the recogniser never loaded
        hit = lib.search("zeppelin", k=1)[0]
        assert hit.start_s <= 1.0 < hit.end_s and "zeppelin" in hit.snippet.lower()
        silent = lib.add(tmp_path / "lib" / ".." / "clip.mp4")  # same bytes: skipped, not re-indexed
        assert silent.status == "skipped"


def test_still_frames_are_analysed_once(tmp_path):
    from longvid.ingest.ffmpeg_cli import run_ffmpeg

    still = tmp_path / "still.mp4"
    run_ffmpeg("-f lavfi -i smptehdbars=size=320x180:rate=5 -t 40 -c:v libx264 -preset ultrafast {out}", out=still)
    with Library(tmp_path / "lib", profile="embedded") as lib:
        built = lib.add(still).built
    assert built.keyframes == 10  # one look every max_gap_s = 4 s over 40 s ...
    assert built.analysed == 1  # ... but only the first went through the encoder and OCR
    assert np.isfinite(built.vectors["text"]).all()
