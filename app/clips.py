"""Cut moments out of source videos: one clip (:func:`export_clip`), or a highlight reel (:func:`export_reel`).

A clip starts on the frame nearest START. When that frame is a keyframe and the clip can end within half
a frame of END without breaking the decoding order, the packets are copied as they are (``"copy"``:
fast, lossless); otherwise video is re-encoded (libx264, AAC audio) from exactly that frame
(``"encode"``). Files whose seeks overshoot (MPEG-TS and others without an index) are decoded from their
start and trimmed, never copied: as exact, slower on long files. Keyframes are read from packet flags,
without decoding::

    >>> import tempfile
    >>> from longvid.app.clips import export_clip, keyframes
    >>> keyframes("assets/demo.mp4")
    [0.0, 12.0, 24.0, 36.0, 48.0]
    >>> out = Path(tempfile.mkdtemp()) / "moment.mp4"
    >>> clip = export_clip("assets/demo.mp4", 48.0, 75.0, out)   # on a keyframe; END clamps to the video's end
    >>> clip.method, clip.start_s, clip.end_s, round(clip.duration_s, 2)
    ('copy', 48.0, 60.0, 12.0)
    >>> clip = export_clip("assets/demo.mp4", 12.34, 15.0, out)  # between keyframes: from the frame at 12.3 s
    >>> clip.method, clip.start_s, round(clip.duration_s, 2)
    ('encode', 12.3, 2.7)

Transcript segments given as ``subtitles`` are cut to the clip, moved to clip time and muxed as a
``mov_text`` subtitle stream or, with ``burn``, drawn into the picture by ffmpeg's ``subtitles`` filter.
That filter needs an ffmpeg built with libass: imageio-ffmpeg's Linux binary has it; with a binary
without it, burning raises :class:`ClipError` saying so (muxing still works).

A reel re-encodes every moment to the first moment's frame size and rate (others are scaled and
letterboxed into it) and 48 kHz stereo AAC (silence for videos without audio), each moment preceded by a
:data:`CARD_S` title card giving its time range and file name. Cards are drawn by ffmpeg's ``drawtext``
filter where the binary has it (it needs a font fontconfig can find), else rendered with Pillow.

Every file is written through :func:`~longvid.ingest.atomic.atomic_path` (a reader never sees half a
clip) and sources are only read. Bad ranges, unsupported output names and ffmpeg failures raise
:class:`ClipError`; a missing or unreadable source raises :class:`~longvid.ingest.VideoOpenError`.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.error
import ffmpeg  # ffmpeg-python: builds the command lines; the binary is longvid's own choice (ffmpeg_binary)
from ffmpeg.nodes import FilterableStream, OutputStream

from longvid.ingest import LongvidError, NoVideoStreamError, TimeSpan, TranscriptSegment, probe, timecode
from longvid.ingest.atomic import atomic_path
from longvid.ingest.ffmpeg_cli import ffmpeg_binary
from longvid.ingest.probe import open_container
from longvid.ingest.subtitles import format_srt
from longvid.llm import Citation

log = logging.getLogger(__name__)

CARD_S = 1.5  # seconds a reel's title card is shown before each moment
_FASTSTART = {"movflags": "+faststart"}  # the index first: a clip plays while it downloads
_X264 = {"c:v": "libx264", "preset": "veryfast", "crf": 20, "pix_fmt": "yuv420p"}  # re-encoding, visually lossless
_REEL_AUDIO = {"sample_rates": 48_000, "channel_layouts": "stereo", "sample_fmts": "fltp"}  # every reel segment's
_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}  # output suffix -> ffmpeg muxer; all store mov_text
_REORDER_FRAMES = 16  # most frames a B-frame stream displays out of decoding order (x264's limit)
_FILTER_LINE = re.compile(r"^\s*[A-Z.|]{2,3}\s+(\S+)\s+\S*->\S*", re.MULTILINE)  # a line of `ffmpeg -filters`


class ClipError(LongvidError):
    """A clip or reel cannot be cut: a bad range, an output name ffmpeg cannot write, a missing library
    source, a filter the ffmpeg binary lacks, or ffmpeg failed. The one-line message names the file."""


@dataclass(frozen=True)
class ClipResult:
    """A file written by :func:`export_clip` or :func:`export_reel`."""

    path: Path  # the file written
    start_s: float  # where the clip starts in its source (START moved to the nearest frame); a reel: 0
    end_s: float  # where it ends in its source (END clamped to the video's end); a reel: its planned length
    duration_s: float  # the length of the written file's video stream, as probed
    method: Literal["copy", "encode"]  # packets copied as they are, or re-encoded (libx264 + AAC)
    cues: int = 0  # subtitle cues muxed or burned in


@dataclass(frozen=True)
class _Source:
    """What cutting needs to know of a source video, from probing it."""

    path: Path  # absolute
    duration_s: float  # of the video stream
    fps: float  # average frame rate
    width: int  # display size, rotation applied
    height: int
    video_index: int  # container stream index of the video
    audio_index: int | None  # of the first decodable audio stream; None: no audio

    @property
    def frame_s(self) -> float:
        return 1.0 / self.fps


@dataclass(frozen=True)
class _Cut:
    """A validated moment of a source: ``start_s`` on a frame, ``end_s`` within the video."""

    source: _Source
    start_s: float
    end_s: float
    exact_seek: bool  # seeking the file lands at or before START (False: MPEG-TS and other files without an index)
    copy_frames: int | None = None  # video packets a stream copy takes; None: it must be re-encoded

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def keyframes(source: str | Path, start_s: float = 0.0, end_s: float | None = None) -> list[float]:
    """Times (seconds from the start of ``source``) of its video keyframes within ``[start_s, end_s]``
    (default: to the end), from the packets' keyframe flags: the file is demuxed, not decoded."""
    src = _inspect(Path(source))
    end = src.duration_s if end_s is None else end_s
    packets, _ = _scan(src, start_s, end)
    return sorted(t for t, key in packets if key and start_s <= t <= end)


def export_clip(
    source: str | Path,
    start_s: float,
    end_s: float,
    out: str | Path,
    subtitles: Sequence[TranscriptSegment] | None = None,
    burn: bool = False,
) -> ClipResult:
    """Write ``start_s``–``end_s`` of ``source`` to ``out`` (.mp4, .m4v or .mov), stream-copied when
    the clip starts on a keyframe and can end cleanly near ``end_s``, else re-encoded from the frame
    nearest ``start_s``.

    Args:
        source: the video to cut; it is only read.
        start_s: where the clip starts (seconds); moved to the nearest frame.
        end_s: where it ends; past the video's end, the video's end.
        out: the clip file, written atomically; it may not be ``source``.
        subtitles: transcript segments (any times); those overlapping the clip are added, in clip time.
        burn: draw them into the picture (re-encodes; needs ffmpeg's libass) instead of muxing a stream.

    Raises :class:`ClipError` for a negative START, START at or past END or past the video's end, an
    unsupported ``out``, or an ffmpeg failure; ``VideoOpenError`` when ``source`` is missing or unreadable.
    """
    if burn and subtitles is None:
        raise ValueError("burn=True needs the subtitles to burn")
    out = Path(out)
    muxer = _muxer(out)
    if burn and "subtitles" not in _filters(ffmpeg_binary()):
        raise ClipError(f"the ffmpeg at {ffmpeg_binary()} has no 'subtitles' filter (it is built without libass), "
                        "so it cannot burn subtitles in; mux them as a subtitle stream instead (--subtitles mux), "
                        "or set LONGVID_FFMPEG to an ffmpeg built with libass")  # fmt: skip
    cut = _plan(Path(source), start_s, end_s, out, copy=not burn)
    cues = _shifted(subtitles or (), cut.start_s, cut.end_s)
    src = cut.source
    method = "copy" if cut.copy_frames is not None else "encode"
    with tempfile.TemporaryDirectory(prefix="longvid-clip-") as work, atomic_path(out) as tmp:
        if method == "copy":
            inp = ffmpeg.input(str(src.path), ss=_seconds_arg(cut.start_s))
            video, audio = inp[str(src.video_index)], None if src.audio_index is None else inp[str(src.audio_index)]
            options: dict[str, object] = {"t": _seconds_arg(cut.duration_s), "c:v": "copy", "c:a": "copy",
                                          "frames:v": cut.copy_frames}  # fmt: skip
        else:
            video, audio = _streams(cut)
            if src.width % 2 or src.height % 2:  # H.264 in 4:2:0 needs even sides: drop the odd column or row
                video = video.filter("crop", src.width // 2 * 2, src.height // 2 * 2, 0, 0)
            options = {**_X264, "c:a": "aac"}
        streams = [] if audio is None else [audio]
        if cues:
            srt = Path(work) / "cues.srt"
            srt.write_text(format_srt(cues), encoding="utf-8")
            if burn:
                video = video.filter("subtitles", str(srt))
            else:
                streams.append(ffmpeg.input(str(srt))["0"])
                options["c:s"] = "mov_text"
        log.info("cutting %s %s-%s into %s (%s, %d subtitle cues)", src.path, timecode(cut.start_s, decimals=3),
                 timecode(cut.end_s, decimals=3), out, method, len(cues))  # fmt: skip
        _run(ffmpeg.output(video, *streams, str(tmp), format=muxer, **options, **_FASTSTART), src.path, out)
        duration = _video_duration(tmp)
    return ClipResult(out, cut.start_s, cut.end_s, duration, method, len(cues))


def export_reel(
    moments: Sequence[Citation | tuple[str | Path, float, float]], out: str | Path, title_cards: bool = True
) -> ClipResult:
    """Concatenate ``moments`` (citations, or ``(video, start_s, end_s)``) into one re-encoded file
    ``out``, each preceded by a :data:`CARD_S` title card (its time range and file name) unless
    ``title_cards`` is False. Moments may come from different videos of any size and frame rate: all are
    fitted to the first moment's size and rate. Each moment is checked as in :func:`export_clip`.

    Each card and moment is encoded on its own (H.264 with PCM audio, in a temporary folder), then the
    pieces are joined without re-encoding the video and with the audio encoded once, as AAC: memory
    stays bounded however long the reel, and no encoder delay accumulates at the joins.
    """
    out = Path(out)
    muxer = _muxer(out)
    if not moments:
        raise ClipError(f"{out}: no moments to put in the reel")
    cuts = [_plan(*_moment(m), out, copy=False) for m in moments]
    first = cuts[0].source
    width, height = first.width // 2 * 2, first.height // 2 * 2  # H.264 in 4:2:0 needs even sides
    rate = Fraction(first.fps).limit_denominator(1001)
    card_s = float(round(CARD_S * rate) / rate)  # a whole number of frames, so audio and video end together
    drawtext = "drawtext" in _filters(ffmpeg_binary())
    planned = sum(c.duration_s for c in cuts) + (card_s * len(cuts) if title_cards else 0.0)
    log.info("writing a reel of %d moments (%.1f s) to %s, title cards by %s", len(cuts), planned, out,
             "drawtext" if drawtext else "Pillow")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="longvid-reel-") as tmpdir, atomic_path(out) as tmp:
        work = Path(tmpdir)
        pieces = []
        for n, cut in enumerate(cuts):
            src = cut.source
            if title_cards:
                text = f"{timecode(cut.start_s)}–{timecode(cut.end_s)}\n{src.path.name}"
                card = _card(work / f"card{n}", text, width, height, rate, card_s, drawtext)
                pieces.append(_piece(work / f"{n:04d}-card.mkv", _fit(card, width, height, rate), _silence(card_s),
                                     card_s, src.path, out))  # fmt: skip
            video, audio = _streams(cut)
            audio = _silence(cut.duration_s) if audio is None else audio
            piece = work / f"{n:04d}-moment.mkv"
            pieces.append(_piece(piece, _fit(video, width, height, rate), audio, cut.duration_s, src.path, out))
        listing = work / "pieces.txt"  # names relative to it: the concat demuxer needs no quoting or -safe 0
        listing.write_text("".join(f"file '{piece.name}'\n" for piece in pieces), encoding="utf-8")
        joined = ffmpeg.input(str(listing), f="concat").output(
            str(tmp), format=muxer, **{"c:v": "copy", "c:a": "aac"}, **_FASTSTART
        )
        _run(joined, first.path, out)
        duration = _video_duration(tmp)
    return ClipResult(out, 0.0, float(planned), duration, "encode")


def _piece(path: Path, video: FilterableStream, audio: FilterableStream, duration_s: float, source: Path,
           out: Path) -> Path:  # fmt: skip
    """Encode one card or moment of a reel to ``path``: H.264 as the reel has it, PCM audio in the reel's format."""
    stream = ffmpeg.output(video, audio.filter("aformat", **_REEL_AUDIO), str(path), format="matroska",
                           t=_seconds_arg(duration_s), **_X264, **{"c:a": "pcm_s16le"})  # fmt: skip
    _run(stream, source, out)
    return path


def _moment(moment: Citation | tuple[str | Path, float, float]) -> tuple[Path, float, float]:
    if isinstance(moment, Citation):
        if not moment.path:
            raise ClipError(f"the citation of video {moment.video_id} at {timecode(moment.start_s)} names no file; "
                            "export answers through Library.export_answer")  # fmt: skip
        return Path(moment.path), moment.start_s, moment.end_s
    path, start_s, end_s = moment
    return Path(path), start_s, end_s


def _muxer(out: Path) -> str:
    """The ffmpeg muxer for the output's suffix (the temporary file written first has none)."""
    found = _MUXERS.get(out.suffix.lower())
    if found is None:
        raise ClipError(f"{out}: cannot write a {out.suffix or 'suffix-less'} file; name it {', '.join(_MUXERS)}")
    return found


def _inspect(path: Path) -> _Source:
    info = probe(path)  # VideoOpenError when missing or unreadable
    if not info.video:
        raise NoVideoStreamError(info.path, "has no video stream to cut")
    video = info.video[0]
    duration = video.duration_s or info.duration_s
    if not duration or not video.fps:
        raise ClipError(f"{info.path}: declares no duration or frame rate, so it cannot be cut; remux it first "
                        "(ffmpeg -i IN -c copy OUT.mp4)")  # fmt: skip
    turned = video.rotation in (90, 270)
    return _Source(
        path=info.path,
        duration_s=duration,
        fps=video.fps,
        width=video.height if turned else video.width,
        height=video.width if turned else video.height,
        video_index=video.index,
        audio_index=next((a.index for a in info.audio if a.codec != "unknown"), None),
    )


def _plan(path: Path, start_s: float, end_s: float, out: Path, copy: bool) -> _Cut:
    """Check the range against the source and fix where the cut falls: START on its nearest frame, END
    within the video, and (``copy``) how many packets a stream copy takes, when it can be one."""
    src = _inspect(path)
    if out.resolve() == src.path:
        raise ClipError(f"{out}: is the source itself; write the clip to another file")
    span = f"{start_s:g}-{end_s:g} s"
    if not (math.isfinite(start_s) and math.isfinite(end_s)) or start_s < 0:
        raise ClipError(f"{src.path}: cannot cut {span}: START must be 0 or more seconds")
    if start_s >= end_s:
        raise ClipError(f"{src.path}: cannot cut {span}: START must come before END")
    if start_s >= src.duration_s:
        raise ClipError(f"{src.path}: cannot cut {span}: START is past the end of the video "
                        f"({timecode(src.duration_s, decimals=3)}, {src.duration_s:g} s)")  # fmt: skip
    if end_s > src.duration_s:
        log.info("%s: END %g s is past the video's end; the clip ends at %g s", src.path, end_s, src.duration_s)
    end = min(end_s, src.duration_s)
    near, exact_seek = _scan(src, start_s, start_s + src.frame_s)
    if not near:
        raise ClipError(f"{src.path}: has no video packets from {start_s:g} s on")
    start, on_keyframe = min(near, key=lambda f: abs(f[0] - start_s))
    if end - start < 0.5 * src.frame_s:
        raise ClipError(f"{src.path}: cannot cut {span}: it is shorter than one frame ({src.frame_s:.3f} s)")
    if not (copy and on_keyframe and exact_seek):  # ffmpeg's seek would miss the keyframe where PyAV's did
        return _Cut(src, start, end, exact_seek)
    packets, _ = _scan(src, start, end)
    first = next(i for i, (t, _) in enumerate(packets) if t == start)  # the seek may land on an earlier keyframe
    frames, cut_end = _copy_cut(src, packets[first:], start, end)
    return _Cut(src, start, cut_end if frames else end, exact_seek, frames)


def _scan(src: _Source, from_s: float, until_s: float) -> tuple[list[tuple[float, bool]], bool]:
    """``(presentation time, is keyframe)`` of the video packets in decoding order, from the keyframe at or
    before ``from_s`` (or the file's start) until every frame shown up to ``until_s`` has been seen (or the
    file ends); and whether seeking found that keyframe. In files without an index (MPEG-TS) seeks land on
    the keyframe *after* the target: those are read from their start."""
    stop = until_s + _REORDER_FRAMES * src.frame_s
    found = _demux(src, from_s, stop)
    if found and min(t for t, _ in found) <= from_s:
        return found, True
    everything = _demux(src, None, stop)
    return everything, found[:1] == everything[:1]  # the same first packet: the file merely starts later


def _demux(src: _Source, seek_s: float | None, stop_s: float) -> list[tuple[float, bool]]:
    """:func:`_scan`'s packets, after seeking to ``seek_s`` (None: none), until one shown after ``stop_s``."""
    found: list[tuple[float, bool]] = []
    with open_container(src.path) as container:
        stream = container.streams[src.video_index]
        origin = container.start_time / av.time_base if container.start_time else 0.0
        try:
            if seek_s is not None:
                container.seek(round((seek_s + origin) / stream.time_base), stream=stream, backward=True)
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                t = float(packet.pts * stream.time_base) - origin
                if t > stop_s:
                    break
                found.append((t, packet.is_keyframe))
        except av.error.FFmpegError as err:
            raise ClipError(f"{src.path}: the video cannot be read up to {stop_s:g} s: {err}") from err
    return found


def _copy_cut(src: _Source, packets: list[tuple[float, bool]], start: float, end: float) -> tuple[int | None, float]:
    """How many packets, in decoding order from the keyframe at ``start``, a stream copy takes to end within
    half a frame of ``end``, and the time it ends at; ``(None, end)`` when no such cut exists.

    A copy of the first n packets shows exactly the frames from ``start`` to its end only when those n
    packets are the n first in display order too. B-frames break that at most cuts: with decoding order
    ``I P B B`` and display order ``I B B P`` only the cut after the P frame is clean.
    """
    shown = sorted(t for t, _ in packets if t >= start)  # display order
    latest = -math.inf
    for n, (t, _) in enumerate(packets, start=1):
        if t < start:  # a frame shown before the keyframe (an open GOP): a copy cannot start cleanly
            break
        if shown[n - 1] > end + src.frame_s:  # past every cut near END
            break
        latest = max(latest, t)
        if latest == shown[n - 1]:  # the n packets hold the n first frames shown: a clean cut
            cut_end = shown[n] if n < len(shown) else src.duration_s
            if abs(cut_end - end) <= 0.5 * src.frame_s + 1e-6:  # the margin: float error at exactly half
                return n, cut_end
    log.info("%s: no clean stream-copy cut within half a frame of %g s (B-frames); re-encoding", src.path, end)
    return None, end


def _shifted(segments: Sequence[TranscriptSegment], start_s: float, end_s: float) -> list[TranscriptSegment]:
    """The segments overlapping ``[start_s, end_s)``, cut to it and moved to clip time (0 = ``start_s``)."""
    clip = TimeSpan(start_s, end_s)
    return [
        replace(s, span=TimeSpan(max(s.span.start_s, start_s) - start_s, min(s.span.end_s, end_s) - start_s), words=())
        for s in segments
        if s.span.overlap_s(clip) > 0
    ]


def _card(
    stem: Path, text: str, width: int, height: int, rate: Fraction, card_s: float, drawtext: bool
) -> FilterableStream:
    """A ``card_s`` video stream of white ``text`` on black: ffmpeg's drawtext, else a Pillow image looped."""
    size = max(10, height // 10)
    if drawtext:
        textfile = stem.with_suffix(".txt")  # a file, so no text needs escaping inside the filter graph
        textfile.write_text(text, encoding="utf-8")
        black = ffmpeg.input(f"color=c=black:s={width}x{height}:r={rate}:d={_seconds_arg(card_s)}", f="lavfi").video
        return black.filter("drawtext", textfile=str(textfile), expansion="none", fontcolor="white",
                            fontsize=size, line_spacing=size // 3, x="(w-text_w)/2", y="(h-text_h)/2")  # fmt: skip
    from PIL import Image, ImageDraw, ImageFont  # only without drawtext

    image = Image.new("RGB", (width, height))
    ImageDraw.Draw(image).multiline_text(
        (width / 2, height / 2),
        text.replace("–", "-"),  # Pillow's built-in font has no en dash
        font=ImageFont.load_default(size=size),
        fill="white",
        anchor="mm",
        align="center",
    )
    png = stem.with_suffix(".png")
    image.save(png)
    return ffmpeg.input(str(png), loop=1, framerate=str(rate), t=_seconds_arg(card_s)).video


def _streams(cut: _Cut) -> tuple[FilterableStream, FilterableStream | None]:
    """The cut's video and audio (None without any) as ffmpeg-python streams, from its first frame for its
    length: the input seeks there (ffmpeg then decodes from the keyframe before and drops the frames before
    START), or, in files whose seeking overshoots, it is decoded from its start and trimmed."""
    src = cut.source
    audio_index = src.audio_index
    if cut.exact_seek:
        inp = ffmpeg.input(str(src.path), ss=_seconds_arg(cut.start_s), t=_seconds_arg(cut.duration_s))
        return inp[str(src.video_index)], None if audio_index is None else inp[str(audio_index)]
    inp = ffmpeg.input(str(src.path))
    span = {"start": _seconds_arg(cut.start_s), "duration": _seconds_arg(cut.duration_s)}
    video = inp[str(src.video_index)].filter("trim", **span).filter("setpts", "PTS-STARTPTS")
    if audio_index is None:
        return video, None
    return video, inp[str(audio_index)].filter("atrim", **span).filter("asetpts", "PTS-STARTPTS")


def _fit(video: FilterableStream, width: int, height: int, rate: Fraction) -> FilterableStream:
    """``video`` scaled into ``width`` x ``height`` (aspect kept, letterboxed), at ``rate``, in yuv420p."""
    return (
        video.filter("scale", width, height, force_original_aspect_ratio="decrease")
        .filter("pad", width, height, "(ow-iw)/2", "(oh-ih)/2")
        .filter("setsar", 1)
        .filter("fps", str(rate))
        .filter("format", "yuv420p")
    )


def _silence(duration_s: float) -> FilterableStream:
    return ffmpeg.input("anullsrc", f="lavfi", t=_seconds_arg(duration_s)).audio


def _seconds_arg(t_s: float) -> str:
    return f"{t_s:.6f}"  # ffmpeg reads times in microseconds


def _run(stream: OutputStream, source: Path, out: Path) -> None:
    """Run ffmpeg-python's ``stream`` with longvid's ffmpeg; a failure becomes one :class:`ClipError` line."""
    stream = stream.global_args("-hide_banner", "-nostdin", "-loglevel", "error")
    if log.isEnabledFor(logging.DEBUG):
        log.debug("running %s", " ".join(stream.compile(cmd=str(ffmpeg_binary()), overwrite_output=True)))
    try:
        stream.run(cmd=str(ffmpeg_binary()), capture_stdout=True, capture_stderr=True, overwrite_output=True)
    except ffmpeg.Error as err:
        lines = [line.strip() for line in err.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        raise ClipError(f"{source}: ffmpeg could not write {out}: {' | '.join(lines[-3:]) or 'no message'}") from err


def _video_duration(path: Path) -> float:
    info = probe(path)
    return float(info.video[0].duration_s or info.duration_s or 0.0)


@functools.cache
def _filters(binary: Path) -> frozenset[str]:
    """The filters ``binary -filters`` lists (empty when it cannot say)."""
    try:
        proc = subprocess.run([str(binary), "-hide_banner", "-filters"], capture_output=True, text=True,
                              timeout=30, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        log.warning("cannot list the filters of %s: %s", binary, err)
        return frozenset()
    return frozenset(_FILTER_LINE.findall(proc.stdout))
