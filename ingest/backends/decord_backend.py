"""decord backend: builds a frame index once, then decodes only around the kept frames (fast seeks)."""

from __future__ import annotations

import logging
from collections.abc import Generator

import numpy as np

from ..errors import DecodeError
from ..probe import open_container
from ..sampling import FrameSelector
from ..types import FrameBatch, VideoAsset
from .base import BackendOpenError, DecodeSummary, FrameBackend, coded_size

log = logging.getLogger(__name__)


class DecordBackend(FrameBackend):
    """Random-access decoding with decord; rotation metadata is applied by decord itself."""

    name = "decord"

    @classmethod
    def is_available(cls) -> bool:
        try:
            import decord  # noqa: F401
        except ImportError:
            return False
        return True

    def iter_frames(
        self,
        asset: VideoAsset,
        selector: FrameSelector,
        size: tuple[int, int] | None,
        batch_size: int,
        threads: int = 0,
    ) -> Generator[FrameBatch, None, DecodeSummary]:
        import decord

        width, height = size if size is not None else (-1, -1)
        coded_size(asset, size)  # validates the size
        try:  # eager: index the file now so a failure surfaces before iteration
            reader = decord.VideoReader(str(asset.path), ctx=decord.cpu(0), width=width, height=height,
                                         num_threads=threads)  # fmt: skip
            n = len(reader)
            starts = reader.get_frame_timestamp(np.arange(n))[:, 0] if n else np.empty(0)
        except decord.DECORDError as err:
            reason = str(err).strip().splitlines()[-1]
            raise BackendOpenError(asset.path, f"decord cannot index the file ({reason})") from err
        times = _exact_times(asset, n, fallback=starts) - asset.start_s
        return self._decode(asset, reader, times, selector.select(times), batch_size)

    @staticmethod
    def _decode(
        asset: VideoAsset, reader, times: np.ndarray, keep: list[int], batch_size: int
    ) -> Generator[FrameBatch, None, DecodeSummary]:
        import decord

        for lo in range(0, len(keep), batch_size):
            chunk = keep[lo : lo + batch_size]
            try:
                pixels = reader.get_batch(chunk).asnumpy()  # (B, H, W, 3)
            except decord.DECORDError as err:
                raise DecodeError(asset.path, f"decoding failed near {times[chunk[0]]:.3f} s: {err}") from err
            yield FrameBatch(asset.video_id, times[chunk], pixels)
        return DecodeSummary(frames_seen=len(times), last_time_s=float(times[-1]) if len(times) else -1.0)


def _exact_times(asset: VideoAsset, n: int, fallback: np.ndarray) -> np.ndarray:
    """Presentation times of the ``n`` frames decord indexed, exact to the stream's time base.

    decord reports float32 seconds, which drift by milliseconds after an hour; the sorted packet
    timestamps (a demux-only pass, no decoding) give the same frames exactly. If the counts disagree
    (an odd file), decord's own times are used and the difference is logged.
    """
    with open_container(asset.path) as container:
        stream = container.streams[asset.stream_index]
        pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None)
        time_base = stream.time_base
    if len(pts) != n:
        log.warning(
            "%s: decord indexed %d frames but the stream has %d timestamped packets; using decord's float32 timestamps",
            asset.path,
            n,
            len(pts),
        )
        return fallback.astype(np.float64)
    return np.array([float(p * time_base) for p in pts], dtype=np.float64)
