"""Typed records the event store keeps and returns: videos, events, search hits.

An :class:`Event` is one indexed moment of a video (usually one scene): its span in seconds, the
keyframes it was seen through, and the text that makes it searchable (what was said, what was written
on screen, visual tags, an optional caption). A search returns :class:`Hit` records, each saying which
channels found the event (:class:`ChannelMatch`) and a short snippet of its text.

Example::

    >>> from longvid.ingest import TimeSpan
    >>> from longvid.index.records import Event
    >>> ev = Event("v1", 0, TimeSpan(0.0, 6.5), transcript="the budget forecast", tags=("chart", "person"))
    >>> ev.text
    'the budget forecast\\nchart, person'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from longvid.encoders.concepts import basic_word
from longvid.encoders.objects import DetectedObject, count_objects, count_phrases, describe_counts
from longvid.ingest.types import TimeSpan, VideoAsset


@dataclass(frozen=True)
class Event:
    """One searchable moment of a video. ``event_id`` is the catalog row id once stored, else None."""

    video_id: str
    index: int  # 0-based position among the video's events (time order)
    span: TimeSpan  # seconds from the start of the video
    keyframes_s: tuple[float, ...] = ()  # times of the frames that represent the event (seconds)
    transcript: str = ""  # speech (ASR or subtitles) inside the span
    ocr_text: str = ""  # on-screen text read from the keyframes
    tags: tuple[str, ...] = ()  # visual labels above the tag floor (e.g. ImageNet classes of the keyframes)
    caption: str = ""  # optional generated description
    event_id: int | None = None  # catalog row id (also the FAISS id); None until stored
    concepts: tuple[str, ...] = ()  # the general words of its tags and objects ("dog", "animal"), searchable
    objects: tuple[DetectedObject, ...] = ()  # objects detected in its representative frame, best first

    def __post_init__(self) -> None:
        if not self.video_id:
            raise ValueError("Event.video_id must not be empty")
        if self.index < 0:
            raise ValueError(f"Event.index must be >= 0, got {self.index}")
        for t in self.keyframes_s:
            if not (math.isfinite(t) and t >= 0):
                raise ValueError(f"Event keyframe times must be finite seconds >= 0, got {t!r}")
        for tag in self.tags:
            if not isinstance(tag, str):
                raise ValueError(f"Event.tags must be strings, got {tag!r} ({type(tag).__name__})")

    @property
    def text(self) -> str:
        """The searchable text, one part per line: transcript, OCR text, tags and their general words,
        object counts, caption."""
        visual = ", ".join(dict.fromkeys((*self.tags, *self.concepts)))
        parts = (self.transcript, self.ocr_text, visual, describe_counts(count_objects(self.objects)), self.caption)
        return "\n".join(p for p in parts if p)

    @property
    def shown(self) -> tuple[str, ...]:
        """What the moment shows, as answers state it: object counts, then each tag with its most specific
        everyday word (``("2 person", "1 dog", "Staffordshire bullterrier (dog)")``, see
        :func:`~longvid.encoders.concepts.basic_word`).

        >>> Event("v", 0, TimeSpan(0, 5), tags=("tabby",)).shown
        ('tabby (cat)',)
        """
        counts = count_phrases(count_objects(self.objects))
        tags = []
        for tag in self.tags:
            word = basic_word(tag)
            tags.append(f"{tag} ({word})" if word and word.lower() != tag.lower() else tag)
        return (*counts, *tags)


@dataclass(frozen=True)
class VideoRecord:
    """A video in the library and the settings (models, options) that built its entry."""

    video_id: str  # content hash of the file (see VideoAsset.video_id)
    path: str  # where the file was when it was indexed
    duration_s: float
    fps: float  # average frame rate
    width: int  # display size in pixels
    height: int
    has_audio: bool
    settings: Mapping[str, Any] = field(default_factory=dict)  # JSON-serialisable: models, options, versions
    added_at: float | None = None  # unix time the catalog stored it; None before that

    def __post_init__(self) -> None:
        if not self.video_id:
            raise ValueError("VideoRecord.video_id must not be empty")
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise ValueError(f"VideoRecord.duration_s must be finite seconds >= 0, got {self.duration_s!r}")

    @classmethod
    def from_asset(cls, asset: VideoAsset, settings: Mapping[str, Any] | None = None) -> VideoRecord:
        """The record of a probed video, with the settings that will build its index entry."""
        return cls(
            video_id=asset.video_id,
            path=str(asset.path),
            duration_s=asset.duration_s,
            fps=asset.fps,
            width=asset.width,
            height=asset.height,
            has_audio=asset.has_audio,
            settings=dict(settings or {}),
        )


@dataclass(frozen=True)
class ChannelMatch:
    """How one retrieval channel ranked a hit."""

    channel: str  # "keyword" (FTS5 BM25) or a vector channel name ("text", "frames", ...)
    rank: int  # 1-based rank of the event in that channel's result list
    score: float  # the channel's own score: cosine for vector channels, -BM25 (higher is better) for keyword
    why: str  # readable reason, e.g. "matched: budget, forecast" or "cosine 0.71"


@dataclass(frozen=True)
class Hit:
    """A retrieved event with its fused score, the channels that found it and a text snippet."""

    event: Event
    score: float  # reciprocal-rank-fusion score: sum over channels of 1 / (k0 + rank)
    matches: tuple[ChannelMatch, ...]  # one per channel that returned the event, best rank first
    snippet: str  # <= 200 characters of the event's text around the best-matching query term
    neighbours: tuple[Event, ...] = ()  # adjacent events of the same video, in time order

    @property
    def video_id(self) -> str:
        return self.event.video_id

    @property
    def span(self) -> TimeSpan:
        return self.event.span


class Hits(list):
    """Search results, best first; when empty, ``reason`` says why (no confident match, an empty filter)."""

    def __init__(self, hits=(), reason: str = ""):
        super().__init__(hits)
        self.reason = reason


@dataclass(frozen=True)
class Failure:
    """A file a batch job could not index: the last reason, after how many attempts, and when."""

    path: str
    reason: str
    attempts: int
    failed_at: float  # unix seconds
    video_id: str | None = None  # known when the file opened but a later stage failed


@dataclass(frozen=True)
class Sentence:
    """A sentence of a summary and the moment it came from (what a summary cites)."""

    text: str
    span: TimeSpan


@dataclass(frozen=True)
class Chapter:
    """A topic of a video: minutes long, with a title, an extractive summary and what is on screen most."""

    video_id: str
    index: int  # 0-based, time order
    span: TimeSpan
    title: str  # key phrases of the chapter's own words, most relevant first
    summary: tuple[Sentence, ...] = ()  # its most central sentences, in time order
    keyframe_s: float | None = None  # the representative frame (the most central event's keyframe)
    on_screen: tuple[str, ...] = ()  # on-screen texts shown in most of its moments
    concepts: tuple[str, ...] = ()  # visual tags of most of its moments
    vector: tuple[float, ...] = field(default=(), repr=False)  # unit text embedding (chapter search)

    @property
    def text(self) -> str:
        """What chapter search reads: the title and the summary."""
        return " ".join([self.title, *(s.text for s in self.summary)])


@dataclass(frozen=True)
class Overview:
    """A video at a glance: central sentences, its chapters, what is on screen most, how much is speech."""

    video_id: str
    duration_s: float
    sentences: tuple[Sentence, ...]  # the video's most central sentences, in time order
    chapters: tuple[Chapter, ...]
    on_screen: tuple[str, ...] = ()  # the most frequent on-screen texts (by moments shown)
    concepts: tuple[str, ...] = ()  # the most frequent visual tags (by moments shown)
    speech_share: float = 0.0  # fraction of the duration inside transcript segments
    language: str | None = None  # the transcript's most common language
