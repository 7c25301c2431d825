"""The JSON shapes of longvid's results: what ``--json`` prints and what the HTTP API sends.

One owner, so that the command line and the API never describe a moment two ways. Times are seconds
(``start_s``, ``end_s``) plus the one human format (:func:`~longvid.ingest.timecode`)::

    >>> from longvid.llm import Answer, Citation
    >>> answer_json(Answer("At 00:12–00:18: a cat.", (Citation("3f9a", 12.0, 18.0, "/v/demo.mp4", "a cat"),)))
    ... # doctest: +NORMALIZE_WHITESPACE
    {'answer': 'At 00:12–00:18: a cat.', 'backend': '', 'plan': None,
     'citations': [{'video_id': '3f9a', 'video': 'demo.mp4', 'path': '/v/demo.mp4', 'start_s': 12.0, 'end_s': 18.0,
                    'time': '00:12–00:18', 'quote': 'a cat'}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from longvid.ingest import timecode

if TYPE_CHECKING:  # annotations only: ``longvid ask --server`` imports this without the models' libraries
    from longvid.index.records import Chapter, Overview, VideoRecord
    from longvid.llm import Answer, Citation

    from .library import SearchHit


def span_text(start_s: float, end_s: float) -> str:
    """``"00:12–00:18"``: a span in the one time format of answers and listings."""
    return f"{timecode(start_s)}–{timecode(end_s)}"


def citation_json(c: Citation) -> dict:
    return {"video_id": c.video_id, "video": Path(c.path).name if c.path else "", "path": c.path,
            "start_s": c.start_s, "end_s": c.end_s, "time": span_text(c.start_s, c.end_s),
            "quote": c.quote}  # fmt: skip


def answer_json(answer: Answer) -> dict:
    """An answer, its backend, the plan the question became and the moments it cites."""
    return {"answer": answer.text, "backend": answer.backend, "plan": answer.plan.to_dict() if answer.plan else None,
            "citations": [citation_json(c) for c in answer.citations]}  # fmt: skip


def relevance(hits: Sequence[SearchHit]) -> list[float]:
    """Each hit's score over the best one's in the same search: 1.0 for the best (fused scores are comparable
    only within one search, so this is the figure people are shown)."""
    best = max((h.score for h in hits), default=0.0)
    return [h.score / best if best > 0 else 0.0 for h in hits]


def hit_json(hit: SearchHit) -> dict:
    """One search hit (:func:`hits_json` adds its ``relevance``)."""
    return {"video_id": hit.video_id, "video": Path(hit.path).name, "path": hit.path, "start_s": hit.start_s,
            "end_s": hit.end_s, "time": span_text(hit.start_s, hit.end_s), "score": hit.score,
            "snippet": hit.snippet, "event": hit.event.index,
            "thumbnail": str(hit.thumbnail) if hit.thumbnail else None,
            "matches": [{"channel": m.channel, "rank": m.rank, "why": m.why} for m in hit.matches]}  # fmt: skip


def hits_json(hits: Sequence[SearchHit], reason: str = "") -> dict:
    """Hits best first, each with its ``relevance`` to the best; ``reason`` says why there are none."""
    rows = [hit_json(h) | {"relevance": round(r, 3)} for h, r in zip(hits, relevance(hits), strict=True)]
    return {"hits": rows, "reason": reason}


def video_json(video: VideoRecord, events: int | None = None, chapters: int | None = None) -> dict:
    """A library video: where its file is (and whether it is still there), its length and size."""
    out = {"id": video.video_id, "name": Path(video.path).name, "path": video.path,
           "present": Path(video.path).is_file(), "duration_s": video.duration_s,
           "duration": timecode(video.duration_s), "fps": video.fps, "width": video.width, "height": video.height,
           "has_audio": video.has_audio, "added_at": video.added_at}  # fmt: skip
    if events is not None:
        out["events"] = events
    if chapters is not None:
        out["chapters"] = chapters
    return out


def _sentences(items) -> list[dict]:
    return [{"text": s.text, "start_s": s.span.start_s, "end_s": s.span.end_s} for s in items]


def chapter_json(c: Chapter) -> dict:
    return {"index": c.index, "start_s": c.span.start_s, "end_s": c.span.end_s,
            "time": span_text(c.span.start_s, c.span.end_s), "title": c.title, "summary": _sentences(c.summary),
            "keyframe_s": c.keyframe_s, "on_screen": list(c.on_screen), "concepts": list(c.concepts)}  # fmt: skip


def overview_json(overview: Overview) -> dict:
    """A video's overview: central sentences, speech share, language, what is on screen, its chapters."""
    return {"video_id": overview.video_id, "duration_s": overview.duration_s, "speech_share": overview.speech_share,
            "language": overview.language, "sentences": _sentences(overview.sentences),
            "on_screen": list(overview.on_screen), "concepts": list(overview.concepts),
            "chapters": [chapter_json(c) for c in overview.chapters]}  # fmt: skip
