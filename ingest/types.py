"""Typed media records shared by every longvid stage.

Every record is a frozen dataclass, every time is in seconds (float) measured from the start of the
file, and every record that belongs to a video carries its ``video_id``. Constructors check their
invariants and raise ``ValueError`` naming the offending value, so a bad record never travels far.

Example::

    >>> from longvid.ingest.types import TimeSpan
    >>> span = TimeSpan(12.0, 15.5)
    >>> span.duration_s, span.contains(13.0), span.iou(TimeSpan(14.0, 16.0))
    (3.5, True, 0.375)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np


def _check_time(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")


def timecode(t_s: float, *, hours: bool = False, decimals: int = 0) -> str:
    """A time in seconds as ``MM:SS``, or ``HH:MM:SS`` from an hour on (always, with ``hours``), rounded
    to ``decimals`` places of a second; the one time format of every answer, listing and prompt::

        >>> timecode(5.4), timecode(65), timecode(3725), timecode(36, hours=True, decimals=3)
        ('00:05', '01:05', '01:02:05', '00:00:36.000')
    """
    scale = 10**decimals
    whole, fraction = divmod(round(t_s * scale), scale)
    hh, rest = divmod(whole, 3600)
    mm, ss = divmod(rest, 60)
    text = f"{mm:02d}:{ss:02d}" + (f".{fraction:0{decimals}d}" if decimals else "")
    return f"{hh:02d}:{text}" if hh or hours else text


@dataclass(frozen=True, order=True)
class TimeSpan:
    """A half-open interval ``[start_s, end_s)`` on a video's timeline, in seconds."""

    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        _check_time("start_s", self.start_s)
        _check_time("end_s", self.end_s)
        if self.end_s < self.start_s:
            raise ValueError(f"TimeSpan ends before it starts: start_s={self.start_s}, end_s={self.end_s}")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def mid_s(self) -> float:
        return 0.5 * (self.start_s + self.end_s)

    def contains(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s

    def overlap_s(self, other: TimeSpan) -> float:
        return max(0.0, min(self.end_s, other.end_s) - max(self.start_s, other.start_s))

    def iou(self, other: TimeSpan) -> float:
        """Temporal intersection over union (0 for disjoint spans, 1 for equal ones)."""
        inter = self.overlap_s(other)
        union = self.duration_s + other.duration_s - inter
        return inter / union if union > 0 else float(self == other)


@dataclass(frozen=True)
class VideoAsset:
    """An opened, probed video file. Sizes are as displayed (rotation metadata already applied)."""

    video_id: str  # content hash of the file (hex), stable across renames and copies
    path: Path  # absolute path
    duration_s: float  # duration of the video stream
    fps: float  # average frame rate (frames / second); VFR files report their mean rate
    width: int  # display width in pixels
    height: int  # display height in pixels
    has_audio: bool  # at least one decodable audio stream
    rotation: int = 0  # counter-clockwise degrees that turn decoded frames upright (0/90/180/270)
    start_s: float = 0.0  # container start time; all longvid timestamps are relative to it
    size_bytes: int = 0  # file size
    stream_index: int = 0  # which container stream is the video

    def __post_init__(self) -> None:
        if not self.video_id:
            raise ValueError("VideoAsset.video_id must not be empty")
        _check_time("duration_s", self.duration_s)
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"VideoAsset size must be positive, got {self.width}x{self.height}")
        if not (self.fps > 0 and math.isfinite(self.fps)):
            raise ValueError(f"VideoAsset.fps must be positive, got {self.fps!r}")
        if self.rotation not in (0, 90, 180, 270):
            raise ValueError(f"VideoAsset.rotation must be 0, 90, 180 or 270, got {self.rotation!r}")

    @property
    def span(self) -> TimeSpan:
        return TimeSpan(0.0, self.duration_s)

    def fit(self, max_side: int) -> tuple[int, int]:
        """Display ``(width, height)`` scaled so the longer side is at most ``max_side``, aspect kept.

        Sizes are rounded to even numbers (what most codecs and resizers expect), never below 2.
        """
        if max_side < 2:
            raise ValueError(f"max_side must be >= 2, got {max_side}")
        scale = min(1.0, max_side / max(self.width, self.height))
        return (max(2, round(self.width * scale / 2) * 2), max(2, round(self.height * scale / 2) * 2))


@dataclass(frozen=True, eq=False)
class FrameBatch:
    """Decoded RGB frames with the real presentation timestamps they were shown at."""

    video_id: str
    timestamps_s: np.ndarray  # (N,) float64, strictly increasing
    pixels: np.ndarray  # (N, H, W, 3) uint8 RGB

    def __post_init__(self) -> None:
        ts, px = self.timestamps_s, self.pixels
        if ts.ndim != 1:
            raise ValueError(f"timestamps_s must be 1-D, got shape {ts.shape}")
        if px.ndim != 4 or px.shape[-1] != 3 or px.dtype != np.uint8:
            raise ValueError(f"pixels must be (N, H, W, 3) uint8, got {px.shape} {px.dtype}")
        if len(ts) != len(px):
            raise ValueError(f"FrameBatch has {len(ts)} timestamps but {len(px)} frames")
        if len(ts) > 1 and not np.all(np.diff(ts) > 0):
            raise ValueError("FrameBatch timestamps must be strictly increasing")

    def __len__(self) -> int:
        return len(self.timestamps_s)


@dataclass(frozen=True, eq=False)
class FrameFeatures:
    """Per-frame feature vectors (colour histograms or model embeddings) at real timestamps."""

    video_id: str
    timestamps_s: np.ndarray  # (N,) float64, strictly increasing
    embeddings: np.ndarray  # (N, D) float32
    metric: Literal["l1", "cosine"]  # how two rows are compared: L1/2 of histograms, cosine of embeddings
    tags: tuple[tuple[str, ...], ...] | None = None  # optional readable labels per frame
    tag_scores: tuple[tuple[float, ...], ...] | None = None  # each tag's probability, aligned with ``tags``

    def __post_init__(self) -> None:
        if self.embeddings.ndim != 2:
            raise ValueError(f"embeddings must be (N, D), got shape {self.embeddings.shape}")
        if len(self.timestamps_s) != len(self.embeddings):
            raise ValueError(
                f"FrameFeatures has {len(self.timestamps_s)} timestamps but {len(self.embeddings)} embeddings"
            )
        if self.tags is not None and len(self.tags) != len(self.embeddings):
            raise ValueError(f"FrameFeatures has {len(self.tags)} tag rows for {len(self.embeddings)} frames")
        if self.tag_scores is not None and (
            self.tags is None or [len(r) for r in self.tag_scores] != [len(r) for r in self.tags]
        ):
            raise ValueError("FrameFeatures.tag_scores must give one score per tag, row by row")
        if self.metric not in ("l1", "cosine"):
            raise ValueError(f"unknown feature metric {self.metric!r}; expected 'l1' or 'cosine'")

    def __len__(self) -> int:
        return len(self.timestamps_s)


@dataclass(frozen=True)
class Scene:
    """A contiguous stretch of a video between two detected cuts (or forced splits)."""

    video_id: str
    index: int  # 0-based position in the video
    span: TimeSpan
    cut: Literal["start", "hard", "gradual", "forced"]  # how this scene's start was found


@dataclass(frozen=True, eq=False)
class AudioClip:
    """Mono float32 PCM at ``sample_rate`` Hz, starting ``start_s`` seconds into the video."""

    video_id: str
    start_s: float
    samples: np.ndarray  # (N,) float32 in [-1, 1]
    sample_rate: int = 16_000

    def __post_init__(self) -> None:
        _check_time("start_s", self.start_s)
        if self.samples.ndim != 1 or self.samples.dtype != np.float32:
            raise ValueError(f"samples must be 1-D float32, got {self.samples.shape} {self.samples.dtype}")
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def span(self) -> TimeSpan:
        return TimeSpan(self.start_s, self.start_s + self.duration_s)


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing and the recogniser's confidence (1.0 when unknown)."""

    span: TimeSpan
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class TranscriptSegment:
    """A stretch of speech or a subtitle cue."""

    video_id: str
    span: TimeSpan
    text: str
    words: tuple[Word, ...] = field(default=())
    source: Literal["asr", "subtitle"] = "asr"
    language: str | None = None
