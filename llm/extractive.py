"""The extractive answer backend (embedded profile): no generative model, only what the video holds.

It answers with the retrieved moments themselves, most relevant first: for each, the sentence said or
written there that shares the most content words with the question, and what was shown. Every line
cites its moment::

    >>> from longvid.ingest import TimeSpan
    >>> ev = [Evidence("v1", "talk.mp4", TimeSpan(36, 48), transcript="Hello. The budget for the bridge "
    ...       "was approved by the board.", tags=("drilling platform",), score=0.03)]
    >>> print(ExtractiveBackend().answer("When was the bridge budget approved?", ev).text)
    At 00:36–00:48 in talk.mp4: said “The budget for the bridge was approved by the board.” (shown: drilling platform)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from longvid.ingest import timecode
from longvid.ingest.words import content_words

from .answer import Answer, AnswerBackend, Citation, Evidence

log = logging.getLogger(__name__)

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


class ExtractiveBackend(AnswerBackend):
    """Quotes the best sentence of each of the top moments (at most ``max_moments``, and only those
    scoring at least ``min_relative_score`` of the best one)."""

    name = "extractive"

    def __init__(self, max_moments: int = 3, min_relative_score: float = 0.6):
        if max_moments < 1:
            raise ValueError(f"max_moments must be >= 1, got {max_moments}")
        self.max_moments = max_moments
        self.min_relative_score = min_relative_score

    def generate(self, question: str, evidence: Sequence[Evidence], context: str = "") -> Answer:
        del context  # quotes the moments themselves
        ranked = sorted(evidence, key=lambda e: -e.score)
        best = ranked[0].score
        chosen = [e for e in ranked if e.score >= self.min_relative_score * best][: self.max_moments]
        wanted = set(content_words(question))
        lines, citations = [], []
        for ev in chosen:
            said = best_sentence(ev.transcript, wanted)
            written = screen_text(ev.ocr_text, wanted)
            parts = []
            if said:
                parts.append(f"said “{said}”")
            if written and (not said or _overlap(written, wanted) > 0):
                parts.append(f"on screen “{written}”")
            shown = f"shown: {', '.join(ev.tags[:3])}" if ev.tags else ""
            if not parts:
                parts.append(shown or "nothing said or written")
            elif shown:
                parts.append(f"({shown})")
            where = f"At {timecode(ev.span.start_s)}–{timecode(ev.span.end_s)} in {Path(ev.path).name or ev.video_id}"
            lines.append(f"{where}: {' '.join(parts)}")
            citations.append(Citation(ev.video_id, ev.span.start_s, ev.span.end_s, ev.path, said or written))
        return Answer("\n".join(lines), tuple(citations), self.name, tuple(chosen))


def screen_text(ocr_text: str, wanted: set[str], short: int = 120) -> str:
    """On-screen text to quote: all of it (lines joined by " / ") when short, else its best line."""
    lines = [line.strip() for line in ocr_text.splitlines() if line.strip()]
    joined = " / ".join(lines)
    return joined if len(joined) <= short else best_sentence(ocr_text, wanted)


def best_sentence(text: str, wanted: set[str]) -> str:
    """The sentence (or line) of ``text`` sharing the most words with ``wanted``; the first on ties."""
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    if not sentences:
        return ""
    return max(sentences, key=lambda s: _overlap(s, wanted))


def _overlap(sentence: str, wanted: set[str]) -> int:
    return len(wanted.intersection(content_words(sentence)))
