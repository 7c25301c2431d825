"""Bounded fuzzing with hypothesis: the subtitle parser and the media probe, fed mangled input, return a
result or raise their typed error naming the file, never anything else, and never hang; the question planner
plans any jumble of time words.

Each property runs a fixed number of examples (derandomised, so CI sees the same inputs every run)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longvid.ingest import MediaError, SubtitleError, open_video, read_subtitles, sample_frames
from longvid.ingest.ffmpeg_cli import run_ffmpeg
from longvid.llm.planner import KINDS, Planner

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

_timestamp = st.builds(
    lambda h, m, s, ms, sep: f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}",
    st.integers(0, 120), st.integers(0, 75), st.integers(0, 75), st.integers(0, 1200), st.sampled_from([",", "."]),
)  # fmt: skip
_line = st.one_of(
    st.builds(
        lambda a, b, extra: f"{a} --> {b}{extra}",
        _timestamp,
        _timestamp,
        st.sampled_from(["", " align:start", " -->", "x"]),
    ),
    st.integers(-5, 100_000).map(str),
    st.sampled_from(["WEBVTT", "", "NOTE a note", "<i>italic</i>", "{\\an8}top", "&amp; &lt;b&gt;", "-->", "\ufeff"]),
    st.text(max_size=40),
)
_subtitle_text = st.lists(_line, max_size=30).map("\n".join)


@FUZZ
@given(text=_subtitle_text, suffix=st.sampled_from([".srt", ".vtt"]), strict=st.booleans(),
       encoding=st.sampled_from(["utf-8", "utf-16", "cp1252", "latin-1"]))  # fmt: skip
def test_subtitle_parser_on_generated_text(text, suffix, strict, encoding):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        try:
            path.write_bytes(text.encode(encoding))
        except UnicodeEncodeError:
            path.write_bytes(text.encode("utf-8"))
        _parse_or_typed_error(path, strict)


@FUZZ
@given(data=st.binary(max_size=4000), suffix=st.sampled_from([".srt", ".vtt"]))
def test_subtitle_parser_on_random_bytes(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        _parse_or_typed_error(path, strict=False)


def _parse_or_typed_error(path: Path, strict: bool) -> None:
    try:
        cues = read_subtitles(path, strict=strict)
    except SubtitleError as err:
        assert str(path) in str(err)
        return
    for cue in cues:
        assert 0 <= cue.span.start_s <= cue.span.end_s and cue.text.strip()


@pytest.fixture(scope="module")
def small_mp4(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "small.mp4"
    run_ffmpeg("-f lavfi -t 2 -i testsrc2=size=64x36:rate=5 -f lavfi -t 2 -i sine=sample_rate=8000"
               " -c:v libx264 -preset ultrafast -c:a aac -shortest -movflags +faststart {out}", out=path)  # fmt: skip
    return path


_mutation = st.tuples(st.integers(0, 10**9), st.integers(0, 255))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(flips=st.lists(_mutation, min_size=1, max_size=40), cut=st.floats(0.05, 1.0))
def test_probe_and_decode_mangled_mp4(small_mp4, flips, cut):
    data = bytearray(small_mp4.read_bytes())
    for pos, value in flips:  # the header (ftyp/moov: the first ~1.5 KB) is hit as often as the media
        data[pos % (len(data) if pos % 2 else 1600)] = value
    data = bytes(data[: max(1, int(len(data) * cut))])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mangled.mp4"
        path.write_bytes(data)
        start = time.perf_counter()
        try:
            asset = open_video(path)
            for batch in sample_frames(asset, fps=2.0):
                assert batch.pixels.ndim == 4
        except MediaError as err:
            assert str(path) in str(err)
        assert time.perf_counter() - start < 20


_TIME_WORDS = (
    "at", "around", "near", "the", "first", "last", "second", "half", "third", "quarter", "of", "minute", "minutes",
    "hour", "hours", "1h", "20m", "30s", "1h20m", "12m30s", "12:30", "1:02:03", "99:99", "0:00", "a", "an",
    "couple", "few", "and", "between", "from", "to", "until", "after", "before", "right", "just", "since", "past",
    "in", "into", "mark", "point", "show", "me", "every", "all", "how", "many", "times", "what", "is", "said",
    "shown", "written", "end", "beginning", "middle", "chapter", "part", "3", "2nd", "ten", "twenty", "five", "1.5",
    "999999999999", "-", ",", "?", "'", "'s", "can't", "whats",
)  # fmt: skip


@FUZZ
@given(words=st.lists(st.sampled_from(_TIME_WORDS) | st.text(max_size=6), max_size=14),
       duration_s=st.sampled_from([None, 0.0, 59.0, 7200.0]))  # fmt: skip
def test_the_planner_plans_any_jumble_of_time_words(words, duration_s):
    """Whatever the words, a plan of a known kind comes back, and its span runs forwards."""
    plan = Planner().plan(" ".join(words), duration_s=duration_s)
    assert plan.kind in KINDS
    assert plan.span is None or 0 <= plan.span.start_s <= plan.span.end_s
