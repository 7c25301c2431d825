"""A library's stored transcript and chapters as the files people use: subtitles, JSON, chapter lists.

:func:`export_transcript` and :func:`export_chapters` take a :class:`~longvid.app.library.Library` and a
video ref (its id, an id prefix, its path or its file name) and return the file's text::

    >>> from longvid.app import Library
    >>> with Library("my-library") as lib:                                # doctest: +SKIP
    ...     subtitles = export_transcript(lib, "talk.mp4", "srt")
    ...     description = export_chapters(lib, "talk.mp4", "youtube")

The formatters underneath work on records, so hand-made chapters work too::

    >>> from longvid.index.records import Chapter
    >>> from longvid.ingest import TimeSpan
    >>> chapters = [Chapter("v1", 0, TimeSpan(0, 300), "Welcome"),
    ...             Chapter("v1", 1, TimeSpan(300, 3900), "Budget; Q&A = #1"),
    ...             Chapter("v1", 2, TimeSpan(3900, 4000), "Close")]
    >>> print(format_youtube(chapters, duration_s=4000))  # H:MM:SS throughout: the video is over an hour
    0:00:00 Welcome
    0:05:00 Budget; Q&A = #1
    1:05:00 Close
    <BLANKLINE>
    >>> print(format_ffmetadata(chapters[1:2]))
    ;FFMETADATA1
    <BLANKLINE>
    [CHAPTER]
    TIMEBASE=1/1000
    START=300000
    END=3900000
    title=Budget\\; Q&A \\= \\#1
    <BLANKLINE>

Formats: transcripts as ``srt`` (SubRip), ``vtt`` (WebVTT) or ``json`` (segments with word times);
chapters as ``youtube`` (description lines), ``json`` (the list ``longvid chapters --json`` prints) or
``ffmetadata`` (FFmpeg's metadata file: ``ffmpeg -i in.mp4 -i chapters.txt -map_metadata 1
-map_chapters 1 -c copy out.mp4`` writes them into a video).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from longvid.ingest import LongvidError, TranscriptSegment, timecode
from longvid.ingest.subtitles import format_srt, format_vtt

from .wire import chapter_json, span_text

if TYPE_CHECKING:  # annotations only: the command line's parser reads the formats without loading torch
    from longvid.index.records import Chapter

    from .library import Library

log = logging.getLogger(__name__)

YOUTUBE_MIN_CHAPTERS = 3  # YouTube shows chapters only with at least this many...
YOUTUBE_MIN_CHAPTER_S = 10.0  # ...each at least this long (seconds)
_FFMETADATA_SPECIAL = "=;#\\\n"  # characters FFmpeg's metadata format wants escaped with a backslash


class ExportError(LongvidError, ValueError):
    """Nothing to export (a video without transcript or chapters), or a format that does not exist."""


def transcript_json(segments: Sequence[TranscriptSegment]) -> dict[str, Any]:
    """The transcript as a JSON-ready dict: the video id and every segment with its span (seconds from the
    start of the video, to the millisecond, and as ``time``), text, source, language and word times::

        >>> from longvid.ingest import TimeSpan, Word
        >>> seg = TranscriptSegment("v1", TimeSpan(0.59, 1.65), "Welcome to",
        ...                         (Word(TimeSpan(0.59, 1.33), "Welcome", 0.88),), language="en")
        >>> transcript_json([seg])["segments"][0]["words"]
        [{'start_s': 0.59, 'end_s': 1.33, 'text': 'Welcome', 'probability': 0.88}]

    Raises ``ValueError`` naming both ids when the segments come from more than one video.
    """
    ids = sorted({s.video_id for s in segments})
    if len(ids) > 1:
        raise ValueError(f"transcript_json takes one video's segments; got videos {', '.join(ids)}")
    return {
        "video_id": ids[0] if ids else None,
        "segments": [
            {"start_s": _ms(s.span.start_s), "end_s": _ms(s.span.end_s),
             "time": span_text(s.span.start_s, s.span.end_s), "text": s.text, "source": s.source,
             "language": s.language,
             "words": [{"start_s": _ms(w.span.start_s), "end_s": _ms(w.span.end_s), "text": w.text,
                        "probability": w.probability} for w in s.words]}
            for s in segments
        ],
    }  # fmt: skip


def format_youtube(chapters: Sequence[Chapter], duration_s: float) -> str:
    """Chapter lines for a YouTube description: ``0:00 Title``, one per chapter, in time order.

    Times are ``M:SS``, or ``H:MM:SS`` on every line when the video (``duration_s``, or the last chapter's
    end) is an hour or longer. YouTube needs the first chapter at 0:00: when the first one starts later,
    it is listed from 0:00 all the same (taking in the lead-in; a log line says so) rather than after an
    added untitled chapter, which YouTube would reject when under 10 s. A chapter without a title is
    written ``Chapter N``. Fewer than 3 chapters, or one shorter than 10 s, is logged as a warning:
    YouTube would show none of them.
    """
    ordered = sorted(chapters, key=lambda c: c.span)
    if not ordered:
        return ""
    if ordered[0].span.start_s > 0:
        log.info("the first chapter starts at %.3f s; YouTube needs one at 0:00, so it is listed from 0:00",
                 ordered[0].span.start_s)  # fmt: skip
    hours = max(duration_s, ordered[-1].span.end_s) >= 3600
    short = [c for c in ordered if c.span.duration_s < YOUTUBE_MIN_CHAPTER_S]
    if len(ordered) < YOUTUBE_MIN_CHAPTERS or short:
        log.warning("%d chapter(s), %d under %.0f s: YouTube shows chapters only when there are at least %d, "
                    "each %.0f s or longer", len(ordered), len(short), YOUTUBE_MIN_CHAPTER_S,
                    YOUTUBE_MIN_CHAPTERS, YOUTUBE_MIN_CHAPTER_S)  # fmt: skip
    lines = []
    for n, c in enumerate(ordered):
        stamp = timecode(0.0 if n == 0 else c.span.start_s, hours=hours).removeprefix("0")  # "00:05" -> "0:05"
        title = " ".join(c.title.split()) or f"Chapter {c.index + 1}"
        lines.append(f"{stamp} {title}")
    return "".join(line + "\n" for line in lines)


def format_ffmetadata(chapters: Iterable[Chapter]) -> str:
    """FFmpeg's metadata file (``;FFMETADATA1``): a ``[CHAPTER]`` per chapter in milliseconds, its title
    escaped as the format requires (a backslash before ``=``, ``;``, ``#``, ``\\`` and newlines)."""
    blocks = [";FFMETADATA1\n"]
    for c in sorted(chapters, key=lambda c: c.span):
        blocks.append(f"[CHAPTER]\nTIMEBASE=1/1000\nSTART={round(c.span.start_s * 1000)}\n"
                      f"END={round(c.span.end_s * 1000)}\ntitle={_ffmetadata_escape(c.title)}\n")  # fmt: skip
    return "\n".join(blocks)


TRANSCRIPT_FORMATS: dict[str, Callable[[Sequence[TranscriptSegment]], str]] = {
    "srt": format_srt,
    "vtt": format_vtt,
    "json": lambda segments: json.dumps(transcript_json(segments), indent=2, ensure_ascii=False) + "\n",
}
CHAPTER_FORMATS: dict[str, Callable[[Sequence[Chapter], float], str]] = {  # (chapters, video duration_s)
    "youtube": format_youtube,
    "json": lambda chapters, _: json.dumps([chapter_json(c) for c in chapters], indent=2, ensure_ascii=False) + "\n",
    "ffmetadata": lambda chapters, _: format_ffmetadata(chapters),
}


def export_transcript(library: Library, video_ref: str, fmt: str) -> str:
    """The transcript of the video ``video_ref`` names as the text of an ``srt``, ``vtt`` or ``json`` file.

    Raises :class:`~longvid.index.UnknownVideoError` for a ref that names no video, :class:`ExportError`
    for an unknown format or a video without transcript (no speech recognised, no subtitles found).
    """
    writer = TRANSCRIPT_FORMATS.get(fmt)
    if writer is None:
        raise ExportError(f"unknown transcript format {fmt!r}; expected one of {', '.join(TRANSCRIPT_FORMATS)}")
    record = library.video(video_ref)
    segments = library.index.transcript(record.video_id)
    if not segments:
        raise ExportError(f"{record.path} (video {record.video_id}) has no transcript: no speech was recognised "
                          "and no subtitles were found when it was indexed")  # fmt: skip
    log.info("%s: %d transcript segments as %s", record.path, len(segments), fmt)
    return writer(segments)


def export_chapters(library: Library, video_ref: str, fmt: str) -> str:
    """The chapters of the video ``video_ref`` names (:meth:`Library.chapters`, the hierarchical memory) as
    ``youtube`` description lines, a ``json`` list or an ``ffmetadata`` file (see :func:`format_youtube`
    for what YouTube requires).

    Raises :class:`~longvid.index.UnknownVideoError` for a ref that names no video, :class:`ExportError`
    for an unknown format or a video without chapters.
    """
    writer = CHAPTER_FORMATS.get(fmt)
    if writer is None:
        raise ExportError(f"unknown chapter format {fmt!r}; expected one of {', '.join(CHAPTER_FORMATS)}")
    record = library.video(video_ref)
    chapters = library.chapters(record.video_id)
    if not chapters:
        raise ExportError(f"{record.path} (video {record.video_id}) has no chapters")
    log.info("%s: %d chapters as %s", record.path, len(chapters), fmt)
    return writer(chapters, record.duration_s)


def _ms(t_s: float) -> float:
    """Seconds rounded to the millisecond (what the subtitle formats keep too)."""
    return round(t_s, 3)


def _ffmetadata_escape(value: str) -> str:
    r"""``value`` with a backslash before each character FFmpeg's metadata format treats as special.

    >>> print(_ffmetadata_escape("a=b;c#d\\e"))
    a\=b\;c\#d\\e
    """
    return "".join("\\" + ch if ch in _FFMETADATA_SPECIAL else ch for ch in value.replace("\r\n", "\n"))
