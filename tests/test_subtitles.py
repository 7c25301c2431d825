"""Subtitle parsing: SRT, WebVTT, embedded streams, encodings, malformed files."""

import pytest

from longvid.ingest import SubtitleError, TimeSpan, read_embedded_subtitles, read_subtitles
from longvid.ingest.ffmpeg_cli import run_ffmpeg

SRT = """1
00:00:01,000 --> 00:00:02,500
Hello <i>world</i>

2
00:00:02,000 --> 00:00:04,000
{\\an8}Overlapping &amp; two
lines

3
00:01:00,5 --> 00:01:01,000

4
01:00:00.250 --> 01:00:03.000 X1:40 X2:600
Late cue
"""

VTT = """WEBVTT - a talk

NOTE this is a comment
spanning lines

STYLE
::cue { color: lime }

intro
00:01.000 --> 00:02.000 align:start position:10%
<v Roger Bingham>We are in New York City</v>

00:00:03.500 --> 00:00:05.000
<c.loud>It's</c> <00:00:04.000>loud
"""


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_srt(tmp_path):
    segs = read_subtitles(_write(tmp_path, "a.srt", SRT), video_id="v1")
    assert [(s.span, s.text) for s in segs] == [
        (TimeSpan(1.0, 2.5), "Hello world"),
        (TimeSpan(2.0, 4.0), "Overlapping & two\nlines"),  # overlap kept; tags and entities removed
        (TimeSpan(3600.25, 3603.0), "Late cue"),  # empty cue 3 dropped
    ]
    assert all(s.video_id == "v1" and s.source == "subtitle" for s in segs)


def test_vtt(tmp_path):
    segs = read_subtitles(_write(tmp_path, "a.vtt", VTT))
    assert [(s.span, s.text) for s in segs] == [
        (TimeSpan(1.0, 2.0), "We are in New York City"),
        (TimeSpan(3.5, 5.0), "It's loud"),
    ]


def test_offset_and_crlf(tmp_path):
    segs = read_subtitles(_write(tmp_path, "a.srt", SRT.replace("\n", "\r\n")), offset_s=10.0)
    assert segs[0].span == TimeSpan(11.0, 12.5)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8-sig"])
def test_encodings(tmp_path, encoding):
    text = "1\n00:00:01,000 --> 00:00:02,000\nCafé déjà vu\n"
    segs = read_subtitles(_write(tmp_path, f"{encoding}.srt", text, encoding))
    assert segs[0].text == "Café déjà vu"


def test_malformed_timing_names_file_and_line(tmp_path):
    bad = SRT.replace("00:00:02,000 --> 00:00:04,000", "00:00:02,000 -> 00:00:04")
    path = _write(tmp_path, "bad.srt", bad)
    with pytest.raises(SubtitleError, match=r"bad\.srt: line 5: expected a timing line"):
        read_subtitles(path)
    lenient = read_subtitles(path, strict=False)
    assert [s.text for s in lenient] == ["Hello world", "Late cue"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no subtitle cues"),
        ("just some\ntext\n", "line 1: expected a timing line"),
        ("1\n00:00:05,000 --> 00:00:01,000\nbackwards\n", "ends before it starts"),
        ("1\n00:00:aa,000 --> 00:00:01,000\nx\n", "malformed timing line"),
    ],
)
def test_broken_files_raise_clear_errors(tmp_path, content, message):
    with pytest.raises(SubtitleError, match=message):
        read_subtitles(_write(tmp_path, "broken.srt", content))


def test_lenient_mode_still_fails_without_any_valid_cue(tmp_path):
    with pytest.raises(SubtitleError, match="2 malformed cue"):
        read_subtitles(_write(tmp_path, "junk.srt", "some text\n\nmore text\n"), strict=False)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "movie.srt"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)))
    with pytest.raises(SubtitleError, match="binary data"):
        read_subtitles(path)


def test_missing_file(tmp_path):
    with pytest.raises(SubtitleError, match="cannot read"):
        read_subtitles(tmp_path / "nope.srt")


@pytest.mark.parametrize(("codec", "ext"), [("srt", "mkv"), ("mov_text", "mp4"), ("webvtt", "webm")])
def test_embedded_text_streams(tmp_path, silent_video, codec, ext):
    srt = _write(tmp_path, "in.srt", SRT.replace("00:00:02,000 --> 00:00:04,000", "00:00:03,000 --> 00:00:04,000"))
    out = tmp_path / f"with_subs.{ext}"
    vcodec = "-c:v libvpx-vp9 -b:v 100k" if ext == "webm" else "-c:v copy"
    run_ffmpeg(
        f"-i {{v}} -i {{s}} -map 0:v -map 1:s {vcodec} -c:s {codec} -metadata:s:s:0 language=eng -t 4 {{out}}",
        v=silent_video, s=srt, out=out,
    )  # fmt: skip
    segs = read_embedded_subtitles(out, video_id="v")
    assert [s.text for s in segs[:2]] == ["Hello world", "Overlapping & two\nlines"]
    assert segs[0].span.start_s == pytest.approx(1.0) and segs[0].span.end_s == pytest.approx(2.5)
    assert segs[1].span.start_s == pytest.approx(3.0) and segs[1].span.end_s == pytest.approx(4.0)
    assert segs[0].language == "eng"


def test_no_subtitle_stream_gives_empty_list(silent_video):
    assert read_embedded_subtitles(silent_video) == []
    with pytest.raises(SubtitleError, match="stream 0 is not a subtitle stream"):
        read_embedded_subtitles(silent_video, stream_index=0)
