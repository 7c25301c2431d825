"""Answers with citations, the evidence they may cite, and the interface every answer backend implements.

A backend sees a question and the :class:`Evidence` retrieval chose (moments with what was said, written
and shown there) and returns an :class:`Answer` whose :class:`Citation` s point into those moments.
Citations in generated text are parsed and *validated*: a citation survives only if it lands inside a
moment the backend was actually shown, so a model cannot cite what it never saw::

    >>> from longvid.ingest import TimeSpan
    >>> shown = [Evidence("v1", "talk.mp4", TimeSpan(30.0, 42.0), transcript="the budget was approved")]
    >>> [c.span for c in parse_citations("Approved at [00:35]; see also [01:10:00].", shown)]
    [TimeSpan(start_s=30.0, end_s=42.0)]
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from longvid.ingest import TimeSpan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evidence:
    """One moment shown to an answer backend."""

    video_id: str
    path: str  # the video file, for readable answers
    span: TimeSpan
    transcript: str = ""  # what was said
    ocr_text: str = ""  # what was written on screen
    tags: tuple[str, ...] = ()  # what was shown (visual labels)
    score: float = 0.0  # retrieval score (higher is better)


@dataclass(frozen=True)
class Citation:
    """A moment an answer rests on."""

    video_id: str
    start_s: float
    end_s: float
    path: str = ""
    quote: str = ""  # the words of the evidence that support the answer, when known

    @property
    def span(self) -> TimeSpan:
        return TimeSpan(self.start_s, self.end_s)


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...] = ()
    backend: str = ""  # which backend produced it
    evidence: tuple[Evidence, ...] = field(default=(), repr=False)  # what the backend was shown


class AnswerBackend(ABC):
    """Turns a question and retrieved evidence into a cited answer."""

    name: str

    @abstractmethod
    def answer(self, question: str, evidence: Sequence[Evidence]) -> Answer:
        """An answer citing only moments in ``evidence``."""


def timecode(t_s: float) -> str:
    """``HH:MM:SS`` (or ``MM:SS`` under an hour) for a time in seconds."""
    whole = round(t_s)
    hours, rest = divmod(whole, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


_TIME = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:\.\d+)?"
_CITE = re.compile(rf"(?:<t=|\[)\s*({_TIME})(?:\s*[-–]\s*({_TIME}))?\s*(?:>|\])")


def _seconds(text: str) -> float:
    value = 0.0
    for part in text.split(":"):
        value = value * 60 + float(part)
    return value


def parse_citations(text: str, shown: Sequence[Evidence]) -> list[Citation]:
    """Citations written as ``[MM:SS]``, ``[HH:MM:SS-HH:MM:SS]`` or ``<t=HH:MM:SS>`` in ``text``, each
    resolved to the shown moment that contains it (a range: the one it overlaps most). Times that fall
    in no shown moment are dropped and logged; each moment is cited once, in order of mention."""
    out: dict[tuple[str, float], Citation] = {}
    for match in _CITE.finditer(text):
        start = _seconds(match.group(1))
        end = _seconds(match.group(2)) if match.group(2) else start
        if end < start:
            start, end = end, start
        cited = TimeSpan(start, max(end, start + 1e-6))
        candidates = [e for e in shown if e.span.overlap_s(cited) > 0 or e.span.contains(start)]
        if not candidates:
            log.info("dropping citation %s: no shown moment covers it", match.group(0))
            continue
        best = max(candidates, key=lambda e: (e.span.overlap_s(cited), -abs(e.span.mid_s - start)))
        key = (best.video_id, best.span.start_s)
        out.setdefault(key, Citation(best.video_id, best.span.start_s, best.span.end_s, best.path))
    return list(out.values())
