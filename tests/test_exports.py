"""Transcript and chapter exports: SRT/VTT written and read back, JSON word times, YouTube chapter lines,
FFmpeg metadata muxed into a video and read back, and the ``longvid export`` command end to end."""

from __future__ import annotations

import json
import re

import av
import numpy as np
import pytest

from longvid.app import Library
from longvid.app.cli import main
from longvid.app.exports import (
    ExportError,
    export_chapters,
    export_transcript,
    format_ffmetadata,
    format_youtube,
    transcript_json,
)
from longvid.index import Event, Overview, UnknownVideoError, VideoRecord
from longvid.index.records import Chapter
from longvid.ingest import TimeSpan, TranscriptSegment, Word, read_subtitles
from longvid.ingest.ffmpeg_cli import run_ffmpeg
from longvid.ingest.subtitles import format_srt, format_vtt

from .conftest import DEMO

SEGMENTS = [
    TranscriptSegment("v1", TimeSpan(0.59, 4.01), "Welcome to the quarterly review."),
    TranscriptSegment("v1", TimeSpan(3.5, 6.257), "Overlapping cue,\ntwo lines"),
    TranscriptSegment("v1", TimeSpan(61.001, 62.999), "x < y & z"),
    TranscriptSegment("v1", TimeSpan(3725.257, 3727.0), "Past the hour"),
    TranscriptSegment("v1", TimeSpan(360_000.5, 360_001.0), "Past a hundred hours"),
]
WRITERS = {"srt": format_srt, "vtt": format_vtt}


def _ms(span: TimeSpan) -> tuple[int, int]:
    return round(span.start_s * 1000), round(span.end_s * 1000)


def _read_back(tmp_path, fmt: str, text: str) -> list[TranscriptSegment]:
    path = tmp_path / f"out.{fmt}"
    path.write_text(text, encoding="utf-8")
    return read_subtitles(path)


def _seconds(stamp: str) -> int:
    """``1:02:05`` / ``2:05`` as seconds."""
    total = 0
    for part in stamp.split(":"):
        total = total * 60 + int(part)
    return total


@pytest.fixture(scope="module")
def demo_id(demo_library) -> str:
    (video,) = demo_library.videos()
    return video.video_id


@pytest.fixture(scope="module")
def mute_library(tmp_path_factory) -> str:
    """A library holding one video without transcript and without chapters (hand-made records)."""
    root = tmp_path_factory.mktemp("mute-library")
    with Library(root, profile="embedded") as lib:
        lib.record_profile()
        video = VideoRecord("mute0000aaaa", str(root / "mute.mp4"), 30.0, 25.0, 64, 36, False)
        lib.index.add_video(video, [Event(video.video_id, 0, TimeSpan(0, 30), tags=("wall",))],
                            {"text": np.ones((1, 8), np.float32)}, (),
                            Overview(video.video_id, 30.0, (), ()))  # fmt: skip
    return str(root)


# ---------------------------------------------------------------------------------------- SRT / VTT
@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_round_trip_to_the_millisecond(tmp_path, fmt):
    back = _read_back(tmp_path, fmt, WRITERS[fmt](SEGMENTS))
    assert [(_ms(s.span), s.text) for s in back] == [(_ms(s.span), s.text) for s in SEGMENTS]


def test_srt_and_vtt_layout():
    srt, vtt = format_srt(SEGMENTS[3:4]), format_vtt(SEGMENTS[3:4])
    assert srt == "1\n01:02:05,257 --> 01:02:07,000\nPast the hour\n"
    assert vtt == "WEBVTT\n\n01:02:05.257 --> 01:02:07.000\nPast the hour\n"
    numbers = re.findall(r"^(\d+)\n\d\d+:\d\d:\d\d,\d{3} --> ", format_srt(SEGMENTS), flags=re.M)
    assert numbers == ["1", "2", "3", "4", "5"]
    assert "x &lt; y &amp; z" in format_vtt(SEGMENTS)


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_text_cannot_break_the_format(tmp_path, fmt):
    """A blank line would end the cue early, ``-->`` would read as a timing line: neither survives."""
    hostile = [
        TranscriptSegment("v1", TimeSpan(1, 2), "first\n\n\n2\n00:00:09,000 --> 00:00:10,000\nforged"),
        TranscriptSegment("v1", TimeSpan(3, 4), "--> arrows ---> everywhere -->"),
        TranscriptSegment("v1", TimeSpan(5, 6), "  \n "),  # no text: left out
    ]
    text = WRITERS[fmt](hostile)
    assert "\n\n\n" not in text
    back = _read_back(tmp_path, fmt, text)
    assert [_ms(s.span) for s in back] == [(1000, 2000), (3000, 4000)]
    assert text.count("-->") == 2  # the two timing lines only
    assert back[0].text.startswith("first\n2\n") and back[0].text.endswith("forged")
    # WebVTT escapes ">" and reads it back; SubRip has no escapes, so its arrows are rewritten
    assert back[1].text == (hostile[1].text if fmt == "vtt" else "-> arrows -> everywhere ->")


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_demo_transcript_round_trips(demo_library, demo_id, tmp_path, fmt):
    stored = demo_library.index.transcript(demo_id)
    assert stored, "the demo video has speech"
    back = _read_back(tmp_path, fmt, export_transcript(demo_library, demo_id, fmt))
    assert [(_ms(s.span), s.text) for s in back] == [(_ms(s.span), s.text) for s in stored]


# ---------------------------------------------------------------------------------------------- JSON
def test_json_has_word_times_inside_their_segments(demo_library, demo_id):
    out = json.loads(export_transcript(demo_library, demo_id, "json"))
    stored = demo_library.index.transcript(demo_id)
    assert out["video_id"] == demo_id
    assert [s["text"] for s in out["segments"]] == [s.text for s in stored]
    for seg in out["segments"]:
        assert seg["source"] == "asr" and seg["language"] == "en"
        assert len(seg["words"]) >= 3
        assert " ".join(w["text"] for w in seg["words"]).split() == seg["text"].split()
        for word in seg["words"]:
            assert seg["start_s"] <= word["start_s"] <= word["end_s"] <= seg["end_s"]
            assert 0 < word["probability"] <= 1
        starts = [w["start_s"] for w in seg["words"]]
        assert starts == sorted(starts)


def test_transcript_json_keeps_one_video_and_rounds_to_milliseconds():
    seg = TranscriptSegment("v1", TimeSpan(1.00049, 2.0), "hi", (Word(TimeSpan(1.2344, 1.5), "hi", 0.5),))
    out = transcript_json([seg])
    assert out["segments"][0]["start_s"] == 1.0
    assert out["segments"][0]["words"] == [{"start_s": 1.234, "end_s": 1.5, "text": "hi", "probability": 0.5}]
    with pytest.raises(ValueError, match="v1, v2"):
        transcript_json([seg, TranscriptSegment("v2", TimeSpan(0, 1), "other")])


# ------------------------------------------------------------------------------------------- YouTube
def _chapters(*spans_titles: tuple[float, float, str]) -> list[Chapter]:
    return [Chapter("v1", i, TimeSpan(a, b), title) for i, (a, b, title) in enumerate(spans_titles)]


def test_youtube_lines_from_the_demo(demo_library, demo_id):
    chapters = demo_library.chapters(demo_id)
    lines = export_chapters(demo_library, demo_id, "youtube").splitlines()
    assert len(lines) == len(chapters)
    assert lines[0] == f"0:00 {' '.join(chapters[0].title.split())}"
    assert all(re.fullmatch(r"\d+:\d\d \S.*", line) for line in lines)  # a 60 s video: M:SS


def test_youtube_past_an_hour_and_a_late_first_chapter(caplog):
    chapters = _chapters((12.0, 65.0, "Intro"), (65.0, 600.0, "Budget\nand plans"), (600.0, 3599.6, "Q&A"),
                         (3599.6, 3725.0, ""), (3725.0, 7300.0, "Close"))  # fmt: skip
    lines = format_youtube(chapters, duration_s=7300.0).splitlines()
    assert lines == ["0:00:00 Intro", "0:01:05 Budget and plans", "0:10:00 Q&A", "1:00:00 Chapter 4", "1:02:05 Close"]
    times = [_seconds(line.split()[0]) for line in lines]
    assert times == sorted(set(times))
    short = format_youtube(chapters[:3], duration_s=600.0).splitlines()
    assert short == ["0:00 Intro", "1:05 Budget and plans", "10:00 Q&A"]
    with caplog.at_level("WARNING", logger="longvid.app.exports"):
        format_youtube(chapters[:2], duration_s=600.0)
    assert "at least 3" in caplog.text


# --------------------------------------------------------------------------------------- ffmetadata
def test_ffmetadata_muxes_into_the_video_and_reads_back(demo_library, demo_id, tmp_path):
    hand_made = _chapters((0.0, 12.345, "Intro = start; #1"), (12.345, 40.0, "Back\\slash\nand newline"),
                          (40.0, 60.0, "Close"))  # fmt: skip
    for name, chapters in [("demo", list(demo_library.chapters(demo_id))), ("hand", hand_made)]:
        meta = tmp_path / f"{name}.txt"
        meta.write_text(
            export_chapters(demo_library, demo_id, "ffmetadata") if name == "demo" else format_ffmetadata(chapters)
        )
        out = tmp_path / f"{name}.mp4"
        run_ffmpeg("-i {video} -i {meta} -map_metadata 1 -map_chapters 1 -c copy {out}", video=DEMO, meta=meta, out=out)
        with av.open(str(out)) as container:
            read = container.chapters()
        assert [round(float(c["start"] * c["time_base"]) * 1000) for c in read] == [
            round(c.span.start_s * 1000) for c in chapters
        ]
        assert [round(float(c["end"] * c["time_base"]) * 1000) for c in read] == [
            round(c.span.end_s * 1000) for c in chapters
        ]
        assert [c["metadata"]["title"] for c in read] == [c.title for c in chapters]


def test_chapters_json_matches_the_chapters_command(demo_library, demo_id, capsys):
    exported = json.loads(export_chapters(demo_library, demo_id, "json"))
    assert main(["chapters", "--library", str(demo_library.root), "--json", demo_id]) == 0
    assert exported == json.loads(capsys.readouterr().out)
    assert exported[0]["start_s"] == 0.0 and exported[0]["title"]


# ------------------------------------------------------------------------------------ library errors
def test_exports_refuse_what_is_not_there(demo_library, demo_id, mute_library):
    with pytest.raises(UnknownVideoError, match="no video 'nosuch'"):
        export_transcript(demo_library, "nosuch", "srt")
    with pytest.raises(ExportError, match="unknown transcript format 'ass'"):
        export_transcript(demo_library, demo_id, "ass")
    with pytest.raises(ExportError, match="unknown chapter format 'dvd'"):
        export_chapters(demo_library, demo_id, "dvd")
    with Library(mute_library) as lib:
        with pytest.raises(ExportError, match="has no transcript"):
            export_transcript(lib, "mute.mp4", "vtt")
        with pytest.raises(ExportError, match="has no chapters"):
            export_chapters(lib, "mute0000", "youtube")


# ----------------------------------------------------------------------------------------------- CLI
def test_cli_prints_and_writes_files(demo_library, demo_id, tmp_path, capsys):
    root = str(demo_library.root)
    assert main(["export", "demo.mp4", "--library", root, "--transcript", "vtt"]) == 0
    out = capsys.readouterr().out
    assert out == format_vtt(demo_library.index.transcript(demo_id))
    assert out.startswith("WEBVTT\n\n00:00:00.590 --> 00:00:04.010\n")

    target = tmp_path / "sub" / "demo.srt"
    target.parent.mkdir()
    target.write_text("old content that is longer than nothing\n" * 100)
    assert main(["export", demo_id[:8], "--library", root, "--transcript", "srt", "-o", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target}\n"
    assert target.read_text() == format_srt(demo_library.index.transcript(demo_id))
    assert [p.name for p in target.parent.iterdir()] == ["demo.srt"]  # no temporary file left

    meta = tmp_path / "chapters.txt"
    assert main(["export", demo_id, "--library", root, "--chapters", "ffmetadata", "-o", str(meta)]) == 0
    assert meta.read_text().startswith(";FFMETADATA1\n\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\n")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["nosuch", "--transcript", "srt"], "no video 'nosuch'"),
        (["mute.mp4", "--transcript", "json"], "has no transcript"),
        (["mute.mp4", "--chapters", "youtube"], "has no chapters"),
    ],
)
def test_cli_errors_are_one_line(mute_library, capsys, argv, words):
    assert main(["export", "--library", mute_library, *argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("longvid export: error: ") and words in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_cli_refuses_output_into_a_directory_and_a_missing_library(demo_library, tmp_path, capsys):
    root = str(demo_library.root)
    assert main(["export", "--library", root, "demo.mp4", "--chapters", "json", "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("longvid export: error: ") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone too
    assert main(["export", "--library", str(tmp_path / "none"), "x", "--chapters", "json"]) == 1
    assert "no library at" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["v", "--transcript", "srt", "--chapters", "json"], "not allowed with argument"),
        (["v"], "one of the arguments --transcript --chapters is required"),
        (["v", "--transcript", "ass"], "invalid choice: 'ass'"),
    ],
)
def test_cli_usage_errors(capsys, argv, words):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", *argv])
    assert exit_info.value.code == 2
    assert words in capsys.readouterr().err
