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


def test_spoken_in_keeps_each_sentence_whole_in_one_event():
    def words(*timed):
        return tuple(Word(TimeSpan(t, t + 0.4), f" {w}") for w, t in timed)

    straddling = TranscriptSegment("v", TimeSpan(7, 11), "The key is under the pot.",
                                   words=words(("The", 7), ("key", 8), ("is", 8.5), ("under", 9), ("the", 9.5),
                                               ("pot.", 10.2)))  # fmt: skip
    two = TranscriptSegment("v", TimeSpan(9, 14), "Hello there. Bye now.",
                            words=words(("Hello", 9.0), ("there.", 10.5), ("Bye", 11), ("now.", 13)))  # fmt: skip
    no_words = TranscriptSegment("v", TimeSpan(3, 5), "subtitle cue")
    first, second = TimeSpan(0, 10), TimeSpan(10, 20)
    transcript = [no_words, straddling, two]
    assert spoken_in(transcript, first) == "subtitle cue The key is under the pot. Hello there."  # ties: first word
    assert spoken_in(transcript, second) == "Bye now."


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
        assert "speech" not in vars(lib.indexer)  # subtitles were used: the recogniser never loaded
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
