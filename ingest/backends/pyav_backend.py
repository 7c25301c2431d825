"""PyAV backend: sequential decoding through FFmpeg's libraries, works on any file FFmpeg reads."""

from __future__ import annotations

import logging
from collections.abc import Generator

import av
import av.error
import numpy as np

from ..errors import DecodeError
from ..probe import open_container
from ..sampling import FrameSelector
from ..types import FrameBatch, VideoAsset
from .base import DecodeSummary, FrameBackend, coded_size

log = logging.getLogger(__name__)


class PyAVBackend(FrameBackend):
    """Decodes every frame in order (threaded), converts only the kept ones to RGB at the target size."""

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
        with open_container(asset.path) as container:
            stream = container.streams[asset.stream_index]
            stream.thread_type = "AUTO"
            frames = container.decode(stream)
            while not selector.exhausted:
                try:
                    frame = next(frames)
                except StopIteration:
                    break
                except av.error.FFmpegError as err:
                    raise DecodeError(asset.path, f"decoding failed after {last:.3f} s: {err}") from err
                if frame.pts is None:
                    log.debug("%s: skipping a frame without a timestamp", asset.path)
                    continue
                seen += 1
                last = float(frame.pts * stream.time_base) - asset.start_s
                if not selector.accept(last):
                    continue
                if target is not None:
                    frame = frame.reformat(
                        width=target[0], height=target[1], format="rgb24", interpolation=self.interpolation
                    )
                rgb = frame.to_ndarray(format="rgb24")  # (H, W, 3)
                pixels.append(np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb)
                times.append(last)
                if len(times) == batch_size:
                    yield FrameBatch(asset.video_id, np.asarray(times), np.stack(pixels))
                    times, pixels = [], []
        if times:
            yield FrameBatch(asset.video_id, np.asarray(times), np.stack(pixels))
        return DecodeSummary(frames_seen=seen, last_time_s=last)
