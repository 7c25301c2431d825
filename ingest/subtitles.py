"""Subtitles as transcript segments: SubRip (.srt) and WebVTT (.vtt) files, and text subtitle streams.

    >>> from longvid.ingest import read_subtitles
    >>> segs = read_subtitles("talk.en.srt", video_id="3f9a")          # doctest: +SKIP
    >>> segs[0].span, segs[0].text                                       # doctest: +SKIP
    (TimeSpan(start_s=1.0, end_s=2.5), 'Hello world')

Markup (``<i>``, ``<v Speaker>``, ``{\\an8}``, HTML entities) is removed; overlapping cues are kept as
they are; cues with no text are dropped. Files that are not UTF-8 are decoded as Windows-1252 (with a
warning), UTF-16 files need their byte-order mark. A malformed cue raises
:class:`~longvid.ingest.errors.SubtitleError` naming the file and line; ``strict=False`` skips such cues
with a warning instead, and still raises when nothing valid is left.

Writing goes the other way: :func:`format_srt` and :func:`format_vtt` turn segments into file text that
:func:`read_subtitles` reads back to the same spans (to the millisecond) and texts::

    >>> from longvid.ingest.types import TimeSpan, TranscriptSegment
    >>> segs = [TranscriptSegment("v1", TimeSpan(1.0, 2.5), "Hello world"),
    ...         TranscriptSegment("v1", TimeSpan(3725.25, 3727.0), "an hour in\\nsecond line")]
    >>> print(format_srt(segs))
    1
    00:00:01,000 --> 00:00:02,500
    Hello world
    <BLANKLINE>
    2
    01:02:05,250 --> 01:02:07,000
    an hour in
    second line
    <BLANKLINE>
    >>> print(format_vtt(segs[:1]))
    WEBVTT
    <BLANKLINE>
    00:00:01.000 --> 00:00:02.500
    Hello world
    <BLANKLINE>

Cue text is written so that it cannot break the format: whitespace inside a line is collapsed and blank
lines are dropped (a blank line ends a cue). WebVTT escapes ``&``, ``<`` and ``>`` as entities, which
also keeps ``-->`` out of its cue text; SubRip has no escapes, so there ``-->`` becomes ``->`` and
markup-like text (``<i>``) is left as it is, for players to read as markup. Segments with no text are
left out (a cue needs some); cues are written in time order.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from .errors import SubtitleError
from .probe import TEXT_SUBTITLE_CODECS, open_container
from .types import TimeSpan, TranscriptSegment, timecode

log = logging.getLogger(__name__)

MAX_SUBTITLE_BYTES = 64 << 20  # a subtitle file larger than this is not a subtitle file
_MISSING_DURATION_S = 5.0  # longest a cue without a duration is assumed to stay on screen

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_ARROW = re.compile(r"-{2,}>")  # "-->" (or "--->") in SubRip text would read as a timing line


@dataclass(frozen=True)
class _Cue:
    span: TimeSpan
    text: str


def read_subtitles(
    path: str | Path, video_id: str = "", strict: bool = True, offset_s: float = 0.0
) -> list[TranscriptSegment]:
    """Parse an SRT or WebVTT file (format sniffed from the content) into segments sorted by time.

    Args:
        path: the subtitle file.
        video_id: id of the video the subtitles belong to.
        strict: raise on the first malformed cue (default) instead of skipping it.
        offset_s: seconds added to every cue (to line subtitles up with a video).
    """
    path = Path(path)
    text = _read_text(path)
    is_vtt = text.lstrip("\ufeff").startswith("WEBVTT")
    cues = _parse(path, text, is_vtt=is_vtt, strict=strict, offset_s=offset_s)
    return [TranscriptSegment(video_id, c.span, c.text, source="subtitle") for c in cues]


def read_embedded_subtitles(
    path: str | Path, stream_index: int | None = None, video_id: str = ""
) -> list[TranscriptSegment]:
    """Text subtitle stream of a media file (SubRip, WebVTT, mov_text, ASS) as segments.

    ``stream_index=None`` takes the first text subtitle stream; a file with none gives an empty list.
    Bitmap subtitles (DVD/Blu-ray) carry no text and raise ``SubtitleError`` when asked for by index.
    """
    path = Path(path)
    with open_container(path) as container:
        text_streams = [s for s in container.streams.subtitles if s.codec_context.name in TEXT_SUBTITLE_CODECS]
        if stream_index is None:
            if not text_streams:
                return []
            stream = text_streams[0]
        else:
            stream = next((s for s in container.streams.subtitles if s.index == stream_index), None)
            if stream is None:
                raise SubtitleError(path, f"stream {stream_index} is not a subtitle stream")
            if stream not in text_streams:
                raise SubtitleError(
                    path,
                    f"subtitle stream {stream_index} ({stream.codec_context.name}) is a bitmap format with no text",
                )
        start_offset = container.start_time / av.time_base if container.start_time else 0.0
        raw: list[tuple[float, float | None, str]] = []
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                start = float(packet.pts * stream.time_base) - start_offset
                dur = float(packet.duration * stream.time_base) if packet.duration else None
                lines = [r.dialogue.decode("utf-8", "replace") for r in stream.decode(packet)]
                raw.append((start, dur, _clean("\n".join(lines))))
        except av.error.FFmpegError as err:
            raise SubtitleError(path, f"subtitle stream {stream.index} does not decode: {err}") from err
        language = stream.language
    segments = []
    for i, (start, declared, text) in enumerate(raw):
        if not text:
            continue
        if declared is None:  # show it until the next cue, for at most _MISSING_DURATION_S
            next_start = raw[i + 1][0] if i + 1 < len(raw) else start + _MISSING_DURATION_S
            duration = min(_MISSING_DURATION_S, max(0.0, next_start - start))
        else:
            duration = declared
        span = TimeSpan(max(0.0, start), max(0.0, start + duration))
        segments.append(TranscriptSegment(video_id, span, text, source="subtitle", language=language))
    return sorted(segments, key=lambda s: s.span)


def format_srt(segments: Iterable[TranscriptSegment]) -> str:
    """SubRip file text: numbered cues ``HH:MM:SS,mmm --> HH:MM:SS,mmm`` in time order, a blank line between."""
    blocks = [
        f"{n}\n{_stamp(c.span.start_s, ',')} --> {_stamp(c.span.end_s, ',')}\n{c.text}\n"
        for n, c in enumerate(_cues(segments, vtt=False), start=1)
    ]
    return "\n".join(blocks)


def format_vtt(segments: Iterable[TranscriptSegment]) -> str:
    """WebVTT file text: the ``WEBVTT`` header, then cues ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` in time order."""
    blocks = [
        f"{_stamp(c.span.start_s, '.')} --> {_stamp(c.span.end_s, '.')}\n{c.text}\n" for c in _cues(segments, vtt=True)
    ]
    return "\n".join(["WEBVTT\n", *blocks])


def _stamp(t_s: float, separator: str) -> str:
    """``HH:MM:SS<separator>mmm``: SubRip separates milliseconds with a comma, WebVTT with a dot."""
    return timecode(t_s, hours=True, decimals=3).replace(".", separator)


def _cues(segments: Iterable[TranscriptSegment], vtt: bool) -> list[_Cue]:
    """The segments as cues in time order, their text made safe for the format; text-less ones left out."""
    cues = []
    for seg in sorted(segments, key=lambda s: s.span):
        lines = (" ".join(line.split()) for line in seg.text.splitlines())
        text = "\n".join(line for line in lines if line)
        if text:
            cues.append(_Cue(seg.span, html.escape(text, quote=False) if vtt else _ARROW.sub("->", text)))
    return cues


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise SubtitleError(path, f"cannot read: {err.strerror}") from err
    if size > MAX_SUBTITLE_BYTES:
        raise SubtitleError(path, f"is {size} bytes; subtitle files over {MAX_SUBTITLE_BYTES} bytes are refused")
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data:
        raise SubtitleError(path, "contains NUL bytes: binary data, not a text subtitle file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("%s is not valid UTF-8; decoding it as Windows-1252", path)
        return data.decode("cp1252", errors="replace")


def _seconds(h: str | None, m: str, s: str, frac: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac.ljust(3, "0")) / 1000


def _clean(text: str) -> str:
    """Drop markup and entities, collapse whitespace inside lines, keep line breaks."""
    text = html.unescape(_TAG.sub("", text.replace("\\N", "\n")))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _parse(path: Path, text: str, is_vtt: bool, strict: bool, offset_s: float) -> list[_Cue]:
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cues: list[_Cue] = []
    skipped = 0
    block: list[tuple[int, str]] = []
    for lineno, line in enumerate([*lines, ""], start=1):
        if line.strip():
            block.append((lineno, line))
            continue
        if not block:
            continue
        try:
            cue = _parse_block(block, is_vtt, offset_s)
        except ValueError as err:
            if strict:
                raise SubtitleError(path, f"line {block[0][0]}: {err}") from None
            log.warning("%s: line %d: %s; cue skipped", path, block[0][0], err)
            skipped += 1
            cue = None
        if cue is not None and cue.text:
            cues.append(cue)
        block = []
    if not cues:
        what = f"{skipped} malformed cue(s) and no valid one" if skipped else "no subtitle cues"
        raise SubtitleError(
            path,
            f"{what} (expected {'WebVTT' if is_vtt else 'SubRip'} timing lines like '00:00:01,000 --> 00:00:02,500')",
        )
    return sorted(cues, key=lambda c: c.span)


def _parse_block(block: list[tuple[int, str]], is_vtt: bool, offset_s: float) -> _Cue | None:
    """One blank-line separated block: ``[id]`` / timing / text lines. None for non-cue VTT blocks."""
    texts = [line for _, line in block]
    if is_vtt and (texts[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")) and "-->" not in texts[0]):
        return None
    timing_at = next((i for i, line in enumerate(texts[:2]) if "-->" in line), None)
    if timing_at is None:
        raise ValueError(f"expected a timing line 'start --> end', found {texts[0][:60]!r}")
    match = _TIMING.match(texts[timing_at])
    if match is None:
        raise ValueError(f"malformed timing line {texts[timing_at][:60]!r}")
    g = match.groups()
    start, end = _seconds(*g[:4]) + offset_s, _seconds(*g[4:]) + offset_s
    if end < start:
        raise ValueError(f"cue ends before it starts ({start:.3f} s --> {end:.3f} s)")
    if start < 0:
        raise ValueError(f"cue starts before the video ({start:.3f} s)")
    return _Cue(TimeSpan(start, end), _clean("\n".join(texts[timing_at + 1 :])))
