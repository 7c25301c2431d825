"""Audio extraction: any audio stream FFmpeg decodes, as 16 kHz mono float32, streamed in chunks.

``iter_audio`` holds one chunk at a time (30 s by default, about 2 MB), so hour-long files take no more
memory than short ones; ``extract_audio`` joins the chunks for callers that want the whole track::

    >>> from longvid.ingest import extract_audio, iter_audio
    >>> clip = extract_audio("assets/demo.mp4")
    >>> clip.sample_rate, clip.samples.dtype, clip.samples.shape
    (16000, dtype('float32'), (960000,))
    >>> [round(c.start_s) for c in iter_audio("assets/demo.mp4", chunk_s=10)]
    [0, 10, 20, 30, 40, 50]

Files without audio raise :class:`~longvid.ingest.errors.NoAudioStreamError`; check
``VideoAsset.has_audio`` first to skip them quietly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
from tqdm.auto import tqdm

from .errors import DecodeError, NoAudioStreamError
from .probe import decode_stream, open_container
from .types import AudioClip, VideoAsset

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # Hz; what speech recognisers (Whisper) expect


def iter_audio(
    media: VideoAsset | str | Path,
    chunk_s: float = 30.0,
    stream_index: int | None = None,
    sample_rate: int = SAMPLE_RATE,
    show_progress: bool = False,
) -> Iterator[AudioClip]:
    """Yield consecutive mono float32 chunks of ``chunk_s`` seconds (the last one shorter).

    Args:
        media: a VideoAsset or the path of any media file (audio-only files work too).
        chunk_s: length of each yielded clip in seconds.
        stream_index: container stream to decode; ``None`` takes the first audio stream.
        sample_rate: output rate in Hz.
        show_progress: show a tqdm bar counting media seconds.
    """
    if chunk_s <= 0:
        raise ValueError(f"chunk_s must be positive, got {chunk_s}")
    path = media.path if isinstance(media, VideoAsset) else Path(media)
    video_id = media.video_id if isinstance(media, VideoAsset) else ""
    chunk_len = round(chunk_s * sample_rate)
    with open_container(path) as container:
        stream = _audio_stream(path, container, stream_index)
        start_offset = container.start_time / av.time_base if container.start_time else 0.0
        total = float(container.duration / av.time_base) if container.duration else None
        # Encoders pad the last packet (AAC: to 1024 samples); the declared duration says where to stop.
        declared = float(stream.duration * stream.time_base) if stream.duration else None
        limit = round(declared * sample_rate) if declared else None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        pending: list[np.ndarray] = []
        pending_len = 0
        emitted = 0  # samples already yielded
        first_s: float | None = None
        with tqdm(total=total, unit="s", desc=f"audio {path.name}", disable=not show_progress) as bar:
            for frame in decode_stream(path, container, stream):
                if first_s is None and frame.time is not None:
                    first_s = max(0.0, float(frame.time) - start_offset)
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(-1))
                    pending_len += out.samples
                while pending_len >= chunk_len and (limit is None or emitted + chunk_len <= limit):
                    samples = np.concatenate(pending)
                    yield AudioClip(video_id, (first_s or 0.0) + emitted / sample_rate, samples[:chunk_len])
                    emitted += chunk_len
                    pending, pending_len = [samples[chunk_len:]], len(samples) - chunk_len
                    bar.update(round(emitted / sample_rate, 1) - bar.n)
            for out in resampler.resample(None):  # flush the resampler's delay line
                pending.append(out.to_ndarray().reshape(-1))
            rest = np.concatenate(pending) if pending else np.empty(0, np.float32)
            if limit is not None:
                rest = rest[: max(0, limit - emitted)]
            if len(rest):
                yield AudioClip(video_id, (first_s or 0.0) + emitted / sample_rate, rest.astype(np.float32))


def extract_audio(
    media: VideoAsset | str | Path, stream_index: int | None = None, sample_rate: int = SAMPLE_RATE
) -> AudioClip:
    """The whole audio track as one clip (for long files prefer :func:`iter_audio`)."""
    path = media.path if isinstance(media, VideoAsset) else Path(media)
    clips = list(iter_audio(media, chunk_s=600.0, stream_index=stream_index, sample_rate=sample_rate))
    if not clips:
        raise DecodeError(path, "audio stream decoded to no samples")
    samples = np.concatenate([c.samples for c in clips]) if len(clips) > 1 else clips[0].samples
    return AudioClip(clips[0].video_id, clips[0].start_s, samples, sample_rate)


def _audio_stream(path: Path, container: av.container.InputContainer, stream_index: int | None):
    if stream_index is None:
        decodable = [s for s in container.streams.audio if s.codec_context is not None]
        if not decodable:
            raise NoAudioStreamError(path, "its audio streams have no decoder here" if container.streams.audio
                                     else "has no audio stream")  # fmt: skip
        return decodable[0]
    if not 0 <= stream_index < len(container.streams) or container.streams[stream_index].type != "audio":
        raise NoAudioStreamError(path, f"stream {stream_index} is not an audio stream")
    return container.streams[stream_index]
