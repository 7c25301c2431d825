"""The interface every frame-decoding backend implements.

A backend turns a :class:`VideoAsset` into a stream of :class:`FrameBatch` holding exactly the frames a
:class:`FrameSelector` accepts, with their real presentation timestamps (seconds from the file start),
upright (rotation applied) and, when ``size`` is given, resized to that display ``(width, height)``.
When it runs out of frames it returns a :class:`DecodeSummary` so the caller can tell a complete file
from a truncated one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator
from dataclasses import dataclass
from typing import ClassVar

from ..errors import DecodeError
from ..sampling import FrameSelector
from ..types import FrameBatch, VideoAsset


@dataclass(frozen=True)
class DecodeSummary:
    """What a backend saw of the whole stream, kept or not."""

    frames_seen: int  # frames whose timestamps were inspected
    last_time_s: float  # presentation time of the last frame seen (-1.0 when none)


class BackendOpenError(DecodeError):
    """This backend cannot read the file; another backend may (raised before any frame is returned)."""


class FrameBackend(ABC):
    """Decodes frames of one video for a selector. Implementations are stateless between calls."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def is_available(cls) -> bool:
        """Whether the backend's library imports on this machine."""

    @abstractmethod
    def iter_frames(
        self,
        asset: VideoAsset,
        selector: FrameSelector,
        size: tuple[int, int] | None,
        batch_size: int,
        threads: int = 0,
    ) -> Generator[FrameBatch, None, DecodeSummary]:
        """Yield batches of at most ``batch_size`` kept frames, decoding on ``threads`` threads (0: the decoder's
        own choice); return what was seen.

        A backend that indexes the file up front raises :class:`BackendOpenError` from this call itself,
        before iteration starts, so the caller can try another backend.
        """


def coded_size(asset: VideoAsset, size: tuple[int, int] | None) -> tuple[int, int] | None:
    """Turn a display ``(width, height)`` into the decoder's (pre-rotation) size."""
    if size is None:
        return None
    width, height = size
    if width < 2 or height < 2:
        raise ValueError(f"size must be at least 2x2 pixels, got {width}x{height}")
    return (height, width) if asset.rotation in (90, 270) else (width, height)
