"""PyAV backend: sequential decoding through FFmpeg's libraries, works on any file FFmpeg reads."""

from __future__ import annotations

import logging
from collections.abc import Generator

import numpy as np
from av.video.reformatter import VideoReformatter

from ..probe import decode_stream, open_container
from ..sampling import FrameSelector
from ..types import FrameBatch, VideoAsset
from .base import DecodeSummary, FrameBackend, coded_size

log = logging.getLogger(__name__)


class PyAVBackend(FrameBackend):
    """Decodes every frame in order (threaded), converts only the kept ones to RGB at the target size (through
    one reused swscale context: a fresh one per frame, as ``frame.reformat`` makes, doubles the conversion
    time)."""

    name = "pyav"
    interpolation = "BILINEAR"  # swscale filter for resizing on decode

    @classmethod
    def is_available(cls) -> bool:
        return True  # PyAV is a core dependency

    def iter_frames(
        self,
        asset: VideoAsset,
        selector: FrameSelector,
        size: tuple[int, int] | None,
        batch_size: int,
    ) -> Generator[FrameBatch, None, DecodeSummary]:
        target = coded_size(asset, size)
        turns = asset.rotation // 90
        times: list[float] = []
        pixels: list[np.ndarray] = []
        seen, last = 0, -1.0
        reformatter = VideoReformatter()  # one swscale context for all frames: half the cost of one per frame
        with open_container(asset.path) as container:
            stream = container.streams[asset.stream_index]
            stream.thread_type = "AUTO"
            if selector.start_s > 0:  # a span: start at the keyframe before it, not at the beginning
                container.seek(round((selector.start_s + asset.start_s) / stream.time_base), stream=stream,
                               backward=True, any_frame=False)  # fmt: skip
            for frame in decode_stream(asset.path, container, stream):
                if selector.exhausted:
                    break
                if frame.pts is None:
                    log.debug("%s: skipping a frame without a timestamp", asset.path)
                    continue
                seen += 1
                last = float(frame.pts * stream.time_base) - asset.start_s
                if not selector.accept(last):
                    continue
                width, height = target or (frame.width, frame.height)
                rgb = reformatter.reformat(frame, width, height, "rgb24", interpolation=self.interpolation).to_ndarray()
                pixels.append(np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb)
                times.append(last)
                if len(times) == batch_size:
                    yield FrameBatch(asset.video_id, np.asarray(times), np.stack(pixels))
                    times, pixels = [], []
        if times:
            yield FrameBatch(asset.video_id, np.asarray(times), np.stack(pixels))
        return DecodeSummary(frames_seen=seen, last_time_s=last)
