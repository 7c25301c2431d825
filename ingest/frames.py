"""Sample frames from a video at a target rate, streamed in batches, with their real timestamps.

``sample_frames`` is lazy: it decodes as you iterate and holds at most one batch, so a 10-hour file
costs the same memory as a 10-minute one::

    >>> from longvid.ingest import sample_frames
    >>> for batch in sample_frames("assets/demo.mp4", fps=1.0, size=(224, 126)):
    ...     print(batch.timestamps_s[:3], batch.pixels.shape)
    [0. 1. 2.] (32, 126, 224, 3)
    [32. 33. 34.] (28, 126, 224, 3)

Timestamps are the presentation times of the frames actually returned (variable-frame-rate safe),
in seconds from the start of the file. When the stream ends well before its declared duration the
iterator raises :class:`~longvid.ingest.errors.DecodeError` after the last good batch, so a truncated
file never passes for a complete one.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TypeVar

from tqdm.auto import tqdm

from .backends import BackendOpenError, DecodeSummary, available_backends, get_backend
from .errors import DecodeError
from .probe import open_video
from .sampling import FrameSelector
from .types import FrameBatch, TimeSpan, VideoAsset

log = logging.getLogger(__name__)
T = TypeVar("T")


def truncation_tolerance_s(duration_s: float) -> float:
    """How much earlier than its declared duration a stream may end and still count as complete."""
    return max(2.0, 0.01 * duration_s)


def sample_frames(
    video: VideoAsset | str | Path,
    fps: float | None = 1.0,
    max_frames: int | None = None,
    size: tuple[int, int] | None = None,
    batch_size: int = 32,
    backend: str | None = None,
    show_progress: bool = False,
    span: TimeSpan | None = None,
    ahead: int = 0,
    threads: int = 0,
) -> Iterator[FrameBatch]:
    """Decode the frames of ``video`` kept at ``fps`` (and at most ``max_frames``), in batches.

    Args:
        video: an opened :class:`VideoAsset` or a path (opened with default limits).
        fps: target frames per second; ``None`` keeps every frame.
        max_frames: cap on frames returned, spread over the whole video.
        size: display ``(width, height)`` to resize to on decode; ``None`` keeps the original size.
            ``VideoAsset.fit(max_side)`` gives an aspect-preserving size.
        batch_size: frames per yielded batch (memory is about ``batch_size * W * H * 3`` bytes).
        backend: ``"pyav"`` or ``"decord"``; ``None`` takes the first available in ``DEFAULT_ORDER`` (PyAV).
        show_progress: show a tqdm bar counting media seconds.
        span: only the frames inside this span (seconds); PyAV seeks to the keyframe before its start and
            stops at its end, so a moment of a long video costs what the moment costs.
        ahead: decode on a thread of its own, up to this many batches ahead of the caller (0: in the
            caller's thread), so that decoding goes on while the caller works on a batch.
        threads: the decoder's threads (0: its own choice, about one per core). Frame threading costs CPU of
            its own: on two cores shared with other work, one decoding thread beside the caller does more.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if ahead < 0 or threads < 0:
        raise ValueError(f"ahead and threads must be >= 0, got {ahead} and {threads}")
    if ahead:
        frames = sample_frames(video, fps, max_frames, size, batch_size, backend, show_progress, span, 0, threads)
        yield from _read_ahead(frames, ahead, f"longvid-decode-{Path(str(getattr(video, 'path', video))).name}")
        return
    asset = video if isinstance(video, VideoAsset) else open_video(video)
    selector, batches = _start(asset, backend, fps, max_frames, size, batch_size, span, threads)
    with tqdm(
        total=round(asset.duration_s, 1), unit="s", desc=f"decode {asset.path.name}", disable=not show_progress
    ) as bar:
        summary = yield from _tracked(batches, bar)
    if summary.frames_seen == 0:
        raise DecodeError(asset.path, "no frame could be decoded")
    complete = summary.last_time_s >= asset.duration_s - truncation_tolerance_s(asset.duration_s)
    if not (complete or selector.exhausted):
        raise DecodeError(
            asset.path,
            f"video stream ends at {summary.last_time_s:.2f} s but declares {asset.duration_s:.2f} s;"
            " the file is truncated or corrupt",
        )


def _start(
    asset: VideoAsset,
    backend: str | None,
    fps: float | None,
    max_frames: int | None,
    size: tuple[int, int] | None,
    batch_size: int,
    span: TimeSpan | None = None,
    threads: int = 0,
) -> tuple[FrameSelector, Generator[FrameBatch, None, DecodeSummary]]:
    """Start decoding with the named backend, or with the first available one that can read the file."""
    names = [backend] if backend else available_backends()
    for name in names:
        selector = FrameSelector(fps=fps, max_frames=max_frames, duration_s=asset.duration_s, span=span)
        try:
            batches = get_backend(name).iter_frames(asset, selector, size, batch_size, threads)
        except BackendOpenError as err:
            if name == names[-1]:
                raise
            log.warning("%s; decoding with the next backend instead", err)
            continue
        log.debug("sampling %s with %s at fps=%s max_frames=%s size=%s", asset.path, name, fps, max_frames, size)
        return selector, batches
    raise AssertionError("unreachable: the last backend either returns or raises")


def _tracked(
    batches: Generator[FrameBatch, None, DecodeSummary], bar: tqdm
) -> Generator[FrameBatch, None, DecodeSummary]:
    """Pass batches through, moving ``bar`` to the media time reached; return the backend's summary."""
    while True:
        try:
            batch = next(batches)
        except StopIteration as stop:
            return stop.value
        bar.update(round(float(batch.timestamps_s[-1]), 1) - bar.n)
        yield batch


_DONE = object()  # what the read-ahead thread queues after the last item


def _read_ahead(items: Iterator[T], depth: int, name: str) -> Iterator[T]:
    """``items``, produced on a thread of their own up to ``depth`` ahead; an error there is raised here, at the
    point it was reached. Closing this iterator stops the thread (and closes ``items`` on it)."""
    out: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        """Queue ``entry`` unless the consumer has gone; whether it was queued."""
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                out.put(entry, timeout=0.1)
                return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as err:  # handed to the consumer, raised there
            put((_DONE, err))
        finally:
            if hasattr(items, "close"):
                items.close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, err = out.get()
            if err is not None:
                raise err
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()
