"""Probe media files with PyAV (no ffprobe needed) and open them as :class:`VideoAsset`.

``probe(path)`` describes every stream of any file FFmpeg can read; ``open_video(path)`` checks that the
file has a decodable video stream within :class:`MediaLimits` and returns the record later stages use::

    >>> from longvid.ingest import open_video, probe
    >>> info = probe("assets/demo.mp4")
    >>> info.container, info.video[0].codec, [a.sample_rate for a in info.audio]
    ('mov,mp4,m4a,3gp,3g2,mj2', 'h264', [16000])
    >>> asset = open_video("assets/demo.mp4")
    >>> len(asset.video_id), round(asset.duration_s), (asset.width, asset.height), asset.has_audio
    (20, 60, (480, 270), True)

Every failure is a :class:`~longvid.ingest.errors.MediaError` subclass whose message starts with the
file name: missing or empty files and non-media data raise ``VideoOpenError``, audio-only files raise
``NoVideoStreamError``, absurd declared sizes raise ``MediaLimitError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import av.error

from .errors import DecodeError, MediaLimitError, NoVideoStreamError, VideoOpenError
from .types import VideoAsset

log = logging.getLogger(__name__)

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class MediaLimits:
    """What longvid agrees to open and how long it may work on one file.

    Files beyond a size limit raise ``MediaLimitError`` before decoding; the time limits raise
    ``TimeLimitError`` when indexing runs past them (checked between frame batches and transcript
    segments, so a stage stops within one batch or segment of its limit)."""

    max_pixels: int = 8192 * 8192  # width * height of one frame; 8K UHD is 7680x4320
    max_duration_s: float = 48 * 3600.0  # longest video accepted (48 hours)
    max_fps: float = 1000.0  # declared frame rates above this are corrupt metadata
    max_file_bytes: int | None = None  # None: no size limit
    max_decode_s: float | None = None  # wall seconds the visual pass (decode, encoder, OCR) may take per file
    max_asr_s: float | None = None  # wall seconds speech recognition may take per file


@dataclass(frozen=True)
class VideoStreamInfo:
    index: int  # stream index in the container
    codec: str  # decoder name, e.g. "h264"
    width: int  # coded width in pixels (before rotation)
    height: int  # coded height in pixels (before rotation)
    fps: float  # average frame rate; 0.0 when the container does not say
    duration_s: float | None  # stream duration, None when the container does not say
    frame_count: int  # declared number of frames; 0 when unknown
    rotation: int  # counter-clockwise degrees to turn decoded frames upright (0/90/180/270)
    pix_fmt: str | None  # e.g. "yuv420p"


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate: int  # Hz
    channels: int
    duration_s: float | None
    language: str | None


@dataclass(frozen=True)
class SubtitleStreamInfo:
    index: int
    codec: str  # e.g. "subrip", "webvtt", "mov_text", "ass"; bitmap codecs are "hdmv_pgs_subtitle" etc.
    language: str | None
    is_text: bool  # True for text codecs longvid can turn into transcript segments


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    size_bytes: int
    container: str  # demuxer name(s), e.g. "matroska,webm"
    duration_s: float | None  # container duration, None when unknown
    start_s: float  # container start time (timestamps in longvid are relative to it)
    bit_rate: int  # bits / second, 0 when unknown
    video: tuple[VideoStreamInfo, ...]
    audio: tuple[AudioStreamInfo, ...]
    subtitles: tuple[SubtitleStreamInfo, ...]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["path"] = str(self.path)
        return out


TEXT_SUBTITLE_CODECS = frozenset({"subrip", "srt", "webvtt", "mov_text", "ass", "ssa", "text"})


@contextlib.contextmanager
def open_container(path: str | Path) -> Iterator[av.container.InputContainer]:
    """Open ``path`` with PyAV, turning every failure into a ``VideoOpenError`` that names the file."""
    path = Path(path)
    if not path.exists():
        raise VideoOpenError(path, "file not found")
    if path.is_dir():
        raise VideoOpenError(path, "is a directory, not a media file")
    if path.stat().st_size == 0:
        raise VideoOpenError(path, "file is empty (0 bytes)")
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")  # mangled tags must not stop us
    except av.error.InvalidDataError as err:
        raise VideoOpenError(path, f"not a media file FFmpeg can read ({err.strerror})") from err
    except (av.error.FFmpegError, OSError) as err:
        raise VideoOpenError(path, f"cannot open: {err}") from err
    try:
        yield container
    finally:
        container.close()


MAX_BAD_PACKETS = 32  # damaged packets skipped per stream before decoding gives up on the file


def decode_stream(
    path: Path,
    container: av.container.InputContainer,
    stream,
    max_bad_packets: int = MAX_BAD_PACKETS,
    discard: Callable[[av.packet.Packet], bool] | None = None,
) -> Iterator[av.frame.Frame]:
    """Frames of one stream in presentation order.

    A packet that does not decode (a damaged spot: bit rot, a bad sector) is skipped with a warning, as
    the ffmpeg command line does; more than ``max_bad_packets`` of them, or a container that cannot be
    read on, raise ``DecodeError`` naming the file. ``discard(packet)`` true lets the decoder drop that
    packet's frame unseen when no other frame refers to it (FFmpeg's ``skip_frame = NONREF``, honoured per
    packet by the H.264, HEVC, MPEG-4 and MPEG-2 decoders, ignored by others): a frame nobody will look at
    then costs only its parsing."""
    packets = container.demux(stream)
    context = stream.codec_context
    bad = 0
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as err:
            raise DecodeError(path, f"{stream.type} stream {stream.index} cannot be read on: {err}") from err
        if discard is not None:
            wanted = "NONREF" if discard(packet) else "DEFAULT"
            if context.skip_frame != wanted:
                context.skip_frame = wanted
        try:
            frames = packet.decode()
        except av.error.FFmpegError as err:
            bad += 1
            if bad > max_bad_packets:
                raise DecodeError(path, f"{stream.type} stream {stream.index} does not decode: more than"
                                        f" {max_bad_packets} damaged packets, the last: {err}") from err  # fmt: skip
            log.warning("%s: skipped a damaged %s packet at %s s (%s)", path, stream.type,
                        _seconds(packet.pts, stream.time_base), err)  # fmt: skip
            continue
        yield from frames


def _seconds(value: int | None, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _is_cover_art(stream: av.stream.Stream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _first_frame_rotation(path: Path, container: av.container.InputContainer, stream) -> int:
    """Rotation from the first decoded frame's display matrix; proves the stream decodes at all."""
    try:
        for frame in container.decode(stream):
            return round(frame.rotation / 90) % 4 * 90
    except av.error.FFmpegError as err:
        raise VideoOpenError(
            path, f"video stream {stream.index} ({stream.codec_context.name}) does not decode: {err}"
        ) from err
    raise VideoOpenError(path, f"video stream {stream.index} has no decodable frames")


def probe(path: str | Path, limits: MediaLimits | None = None) -> MediaInfo:
    """Describe a media file's container and streams without ffprobe.

    Decodes the first frame of each video stream (to read its rotation and to prove it decodes); reads no
    other media data. Raises ``VideoOpenError`` when the file cannot be opened or a video stream's codec is
    unknown, and ``MediaLimitError`` before decoding anything when a stream declares a frame size beyond
    ``limits`` (default :class:`MediaLimits`), so absurd headers cannot make it allocate gigabytes.
    """
    limits = limits or MediaLimits()
    path = Path(path).resolve()
    with open_container(path) as container:
        videos, audios, subs = [], [], []
        for stream in container.streams:
            ctx = stream.codec_context
            codec = ctx.name if ctx is not None else "unknown"
            tb = stream.time_base
            if stream.type == "video" and not _is_cover_art(stream):
                if ctx is None or ctx.codec is None:
                    raise VideoOpenError(path, f"video stream {stream.index} uses an unknown codec (no decoder)")
                rate = stream.average_rate or stream.guessed_rate
                videos.append(
                    VideoStreamInfo(
                        index=stream.index,
                        codec=codec,
                        width=ctx.width,
                        height=ctx.height,
                        fps=float(rate) if rate else 0.0,
                        duration_s=_seconds(stream.duration, tb),
                        frame_count=stream.frames or 0,
                        rotation=0,  # filled below, after the stream list is complete
                        pix_fmt=ctx.pix_fmt,
                    )
                )
            elif stream.type == "audio":
                audios.append(
                    AudioStreamInfo(
                        index=stream.index,
                        codec=codec,
                        sample_rate=(ctx.sample_rate or 0) if ctx is not None else 0,  # 0: no decoder for it
                        channels=(ctx.channels or 0) if ctx is not None else 0,
                        duration_s=_seconds(stream.duration, tb),
                        language=stream.language,
                    )
                )
            elif stream.type == "subtitle":
                subs.append(
                    SubtitleStreamInfo(
                        index=stream.index,
                        codec=codec,
                        language=stream.language,
                        is_text=codec in TEXT_SUBTITLE_CODECS,
                    )
                )
        for v in videos:
            check_frame_size(path, v, limits)
        rotations = {v.index: _first_frame_rotation(path, container, container.streams[v.index]) for v in videos}
        videos = [VideoStreamInfo(**{**asdict(v), "rotation": rotations[v.index]}) for v in videos]
        duration = container.duration / av.time_base if container.duration else None
        return MediaInfo(
            path=path,
            size_bytes=path.stat().st_size,
            container=container.format.name,
            duration_s=duration,
            start_s=container.start_time / av.time_base if container.start_time else 0.0,
            bit_rate=container.bit_rate or 0,
            video=tuple(videos),
            audio=tuple(audios),
            subtitles=tuple(subs),
        )


def content_id(path: str | Path) -> str:
    """Hex BLAKE2b-80 of the whole file: the same bytes give the same id under any name."""
    digest = hashlib.blake2b(digest_size=10)
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _scan_duration(path: Path, stream_index: int) -> float:
    """Duration of a stream whose container does not declare one, from its packets' timestamps."""
    end = 0.0
    with open_container(path) as container:
        stream = container.streams[stream_index]
        for packet in container.demux(stream):
            if packet.pts is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * stream.time_base))
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    return max(0.0, end - start)


def check_frame_size(path: Path, stream: VideoStreamInfo, limits: MediaLimits) -> None:
    """Raise ``MediaLimitError`` for a declared frame size that is empty or over ``limits.max_pixels``."""
    if stream.width <= 0 or stream.height <= 0:
        raise MediaLimitError(path, f"video stream declares a size of {stream.width}x{stream.height}")
    if stream.width * stream.height > limits.max_pixels:
        raise MediaLimitError(
            path,
            f"frames are {stream.width}x{stream.height} = {stream.width * stream.height}"
            f" pixels, over the limit of {limits.max_pixels} (MediaLimits.max_pixels)",
        )


def check_limits(info: MediaInfo, stream: VideoStreamInfo, duration_s: float, limits: MediaLimits) -> None:
    """Raise ``MediaLimitError`` when a file declares values beyond ``limits``."""
    path = info.path
    if limits.max_file_bytes is not None and info.size_bytes > limits.max_file_bytes:
        raise MediaLimitError(
            path,
            f"file is {info.size_bytes} bytes, over the limit of {limits.max_file_bytes}"
            " (raise MediaLimits.max_file_bytes to accept it)",
        )
    check_frame_size(path, stream, limits)
    if not (0 < stream.fps <= limits.max_fps):
        raise MediaLimitError(path, f"video declares {stream.fps} frames/s; expected (0, {limits.max_fps}]")
    if not math.isfinite(duration_s) or duration_s > limits.max_duration_s:
        raise MediaLimitError(
            path,
            f"video lasts {duration_s:.0f} s, over the limit of {limits.max_duration_s:.0f}"
            " s (MediaLimits.max_duration_s)",
        )
    if duration_s <= 0:
        raise VideoOpenError(path, "video stream has zero duration")


def open_video(path: str | Path, limits: MediaLimits | None = None) -> VideoAsset:
    """Probe ``path``, check it is a video within ``limits``, hash its content, return a VideoAsset.

    The first non-cover-art video stream is used. Raises ``NoVideoStreamError`` for audio-only files.
    """
    limits = limits or MediaLimits()
    info = probe(path, limits)
    if not info.video:
        what = f"audio only: {', '.join(a.codec for a in info.audio)}" if info.audio else "no audio either"
        raise NoVideoStreamError(info.path, f"has no video stream ({what})")
    stream = info.video[0]
    duration = stream.duration_s if stream.duration_s else info.duration_s
    if not duration:
        log.debug("%s declares no duration; scanning packets", info.path)
        duration = _scan_duration(info.path, stream.index)
    check_limits(info, stream, duration, limits)
    if any(a.codec == "unknown" for a in info.audio):
        log.warning("%s: an audio stream has no decoder here; it is ignored", info.path)
    rotated = stream.rotation in (90, 270)
    return VideoAsset(
        video_id=content_id(info.path),
        path=info.path,
        duration_s=duration,
        fps=stream.fps,
        width=stream.height if rotated else stream.width,
        height=stream.width if rotated else stream.height,
        has_audio=any(a.codec != "unknown" for a in info.audio),
        rotation=stream.rotation,
        start_s=info.start_s,
        size_bytes=info.size_bytes,
        stream_index=stream.index,
    )
