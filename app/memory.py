"""The hierarchical memory of a video: moments (events) → chapters (topics) → the video (an overview).

Built once at index time from what the pipeline already has — the events, their text embeddings and
the transcript — plus one embedding call over the video's sentences and its chapters' candidate phrases:

* **Chapters** (topic segmentation in the style of TextTiling, on time instead of words): at every event
  boundary (a scene cut) the text embeddings of the ``window_s`` seconds before and after are compared;
  a boundary is a *valley* of that similarity (a local minimum), scored by its depth below the nearest
  peaks on each side. Valleys deeper than the cut-off — ``median + 3 MAD`` of all valleys' depths, and at
  least ``min_depth`` (a cosine difference) — are taken, deepest first, while every chapter stays at least
  ``min_chapter_s`` long; a chapter longer than ``max_chapter_s`` is split at its deepest valley.
* **Titles** (in the style of KeyBERT with maximal marginal relevance): candidate 1–3 word phrases from the
  chapter's own words (runs without stopwords), ranked by the cosine of their embedding to the chapter's
  and picked with diversity; no word list is involved.
* **Summaries**: the chapter's most central sentences (cosine to the chapter, picked with diversity), each
  with the moment it came from; the overview does the same over the whole video.

Example (a tiny bag-of-words embedding stands in for the text model)::

    >>> from longvid.ingest.types import TimeSpan, TranscriptSegment
    >>> from longvid.index.records import Event
    >>> vocab = ["budget", "money", "cost", "river", "water", "boat"]
    >>> def embed(texts):
    ...     rows = np.array([[t.lower().count(w) for w in vocab] + [1e-3] for t in texts], np.float32)
    ...     return rows / np.linalg.norm(rows, axis=1, keepdims=True)
    >>> said = ["The budget is money.", "The cost of the budget.", "Money and cost again.",
    ...         "The river has water.", "A boat on the river.", "Water under the boat."]
    >>> segs = [TranscriptSegment("v", TimeSpan(30.0 * i, 30.0 * i + 5), s) for i, s in enumerate(said)]
    >>> events = [Event("v", i, TimeSpan(30.0 * i, 30.0 * i + 30), transcript=s) for i, s in enumerate(said)]
    >>> overview = build_overview("v", 180.0, events, embed([e.text for e in events]), segs, embed,
    ...                           MemoryConfig(min_chapter_s=60, window_s=60))
    >>> [(c.span.start_s, c.span.end_s) for c in overview.chapters]
    [(0.0, 90.0), (90.0, 180.0)]
    >>> [c.title for c in overview.chapters]
    ['Budget, cost', 'Boat, river']
    >>> round(overview.speech_share, 3)
    0.167
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from longvid.index.records import Chapter, Event, Overview, Sentence
from longvid.ingest.features import unit_rows
from longvid.ingest.types import TimeSpan, TranscriptSegment
from longvid.ingest.words import STOPWORDS, split_words

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]  # texts -> (N, D) float32 unit rows


@dataclass(frozen=True)
class MemoryConfig:
    """How chapters, titles and summaries are made (seconds unless said otherwise)."""

    min_chapter_s: float = 90.0  # no chapter shorter (the last may be, when the video is)
    max_chapter_s: float = 900.0  # longer chapters are split at their deepest boundary
    window_s: float = 120.0  # text compared on each side of a candidate boundary
    min_depth: float = 0.15  # shallowest valley of text similarity (cosine) that may start a chapter
    title_phrases: int = 2  # key phrases in a title
    max_phrase_words: int = 3  # longest candidate phrase
    candidates: int = 40  # candidate phrases embedded per chapter (the most frequent, longer first)
    summary_sentences: int = 2  # sentences in a chapter's summary
    overview_sentences: int = 3  # sentences in the video's overview
    diversity: float = 0.3  # MMR: 0 = relevance only, 1 = novelty only
    top_items: int = 5  # on-screen texts and visual concepts listed

    def __post_init__(self) -> None:
        if not 0 < self.min_chapter_s <= self.max_chapter_s:
            raise ValueError(f"need 0 < min_chapter_s <= max_chapter_s, got {self.min_chapter_s}, {self.max_chapter_s}")
        if not 0 <= self.diversity <= 1:
            raise ValueError(f"diversity must be in [0, 1], got {self.diversity}")


def build_overview(
    video_id: str,
    duration_s: float,
    events: Sequence[Event],
    vectors: np.ndarray,
    transcript: Sequence[TranscriptSegment],
    embed: Embed,
    config: MemoryConfig | None = None,
) -> Overview:
    """The video's overview and chapters from its ``events`` (time order), their text ``vectors``
    ``(len(events), D)`` (unit rows), its ``transcript`` and the text model ``embed``."""
    cfg = config or MemoryConfig()
    if len(vectors) != len(events):
        raise ValueError(f"{len(vectors)} vectors for {len(events)} events of video {video_id}")
    if not events:
        return Overview(video_id, duration_s, (), ())
    has_text = np.array([bool(e.transcript or e.ocr_text) for e in events])
    bounds = segment_chapters(events, vectors, has_text, duration_s, cfg)
    sentences = _sentences(events, transcript)
    sentence_vecs = embed([s.text for s in sentences]) if sentences else np.zeros((0, vectors.shape[1]), np.float32)
    chapters = []
    for index, span in enumerate(bounds):
        inside = [i for i, e in enumerate(events) if span.start_s <= e.span.mid_s < span.end_s]
        centre = _centroid(vectors[inside], has_text[inside])
        chosen = [j for j, s in enumerate(sentences) if span.start_s <= s.span.mid_s < span.end_s]
        picks = _mmr(sentence_vecs[chosen], centre, cfg.summary_sentences, cfg.diversity) if chosen else []
        summary = tuple(sorted((sentences[chosen[p]] for p in picks), key=lambda s: s.span.start_s))
        members = [events[i] for i in inside]
        chapters.append(
            Chapter(
                video_id,
                index,
                span,
                _title([events[i] for i in inside], centre, embed, cfg, span),
                summary,
                _keyframe(members, vectors[inside], centre),
                _most_shown((line for e in members for line in _lines(e.ocr_text)), members, cfg.top_items),
                _most_shown((t for e in members for t in e.tags), members, cfg.top_items),
            )
        )
    video_centre = _centroid(vectors, has_text)
    picks = _mmr(sentence_vecs, video_centre, cfg.overview_sentences, cfg.diversity) if sentences else []
    speech = _union_s([s.span for s in transcript])
    languages = Counter(s.language for s in transcript if s.language)
    return Overview(
        video_id,
        duration_s,
        tuple(sorted((sentences[p] for p in picks), key=lambda s: s.span.start_s)),
        tuple(chapters),
        _most_shown((line for e in events for line in _lines(e.ocr_text)), events, cfg.top_items),
        _most_shown((t for e in events for t in e.tags), events, cfg.top_items),
        speech / duration_s if duration_s > 0 else 0.0,
        languages.most_common(1)[0][0] if languages else None,
    )


def segment_chapters(
    events: Sequence[Event], vectors: np.ndarray, has_text: np.ndarray, duration_s: float, config: MemoryConfig
) -> list[TimeSpan]:
    """Chapter spans covering ``[0, duration_s)``, cut only at event boundaries (scene cuts)."""
    end = max(duration_s, events[-1].span.end_s)
    starts = np.array([e.span.start_s for e in events])
    mids = np.array([e.span.mid_s for e in events])
    gaps = starts[1:]  # candidate boundary times, (G,)
    sims = np.array([_side_similarity(vectors, has_text, mids, t, config.window_s) for t in gaps])  # (G,)
    depths = _depths(sims)  # (G,)
    valleys = [g for g in range(len(gaps)) if depths[g] > 0 and sims[g] <= sims[max(g - 1, 0)]
               and sims[g] <= sims[min(g + 1, len(gaps) - 1)]]  # fmt: skip
    chosen: list[float] = []
    if valleys:
        d = depths[valleys]
        cutoff = max(config.min_depth, float(np.median(d) + 3 * np.median(np.abs(d - np.median(d)))))
        for g in sorted(valleys, key=lambda g: -depths[g]):
            if depths[g] < cutoff:
                break
            t = float(gaps[g])
            if min(abs(t - b) for b in [0.0, end, *chosen]) >= config.min_chapter_s:
                chosen.append(t)
    cuts = sorted(chosen)
    spans = [TimeSpan(a, b) for a, b in zip([0.0, *cuts], [*cuts, end], strict=True)]
    out: list[TimeSpan] = []
    for span in spans:  # over-long chapters split at their deepest inner boundary, recursively
        out += _split_long(span, gaps, depths, config)
    return out


def _split_long(span: TimeSpan, gaps: np.ndarray, depths: np.ndarray, config: MemoryConfig) -> list[TimeSpan]:
    if span.duration_s <= config.max_chapter_s:
        return [span]
    inner = [(float(depths[g]), -abs(float(gaps[g]) - span.mid_s), float(gaps[g])) for g in range(len(gaps))
             if span.start_s + config.min_chapter_s <= gaps[g] <= span.end_s - config.min_chapter_s]  # fmt: skip
    if not inner:
        return [span]
    t = max(inner)[2]  # the deepest valley; among equals, the one nearest the middle
    return _split_long(TimeSpan(span.start_s, t), gaps, depths, config) + _split_long(
        TimeSpan(t, span.end_s), gaps, depths, config
    )


def _side_similarity(vectors: np.ndarray, has_text: np.ndarray, mids: np.ndarray, t: float, window: float) -> float:
    """Cosine of the mean text embedding before ``t`` and after it (within ``window`` seconds); 1 (no
    boundary) when one side says nothing."""
    left = has_text & (mids < t) & (mids >= t - window)
    right = has_text & (mids >= t) & (mids < t + window)
    if not left.any() or not right.any():
        return 1.0
    a, b = unit_rows(vectors[left].mean(axis=0))[0], unit_rows(vectors[right].mean(axis=0))[0]
    return float(a @ b)


def _depths(sims: np.ndarray) -> np.ndarray:
    """TextTiling depth of each valley: how far the similarity climbs to its peak on each side, summed."""
    depths = np.zeros_like(sims)
    for i, s in enumerate(sims):
        left = right = s
        for v in sims[i::-1]:  # climb left while rising
            if v < left:
                break
            left = v
        for v in sims[i:]:
            if v < right:
                break
            right = v
        depths[i] = (left - s) + (right - s)
    return depths


def _centroid(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Unit mean of the rows with text (all rows when none has)."""
    rows = vectors[weights] if weights.any() else vectors
    return unit_rows(rows.mean(axis=0))[0] if len(rows) else np.zeros(vectors.shape[1], np.float32)


def _mmr(candidates: np.ndarray, centre: np.ndarray, n: int, diversity: float) -> list[int]:
    """Indices of ``n`` rows picked by maximal marginal relevance to ``centre`` (unit rows)."""
    if not len(candidates):
        return []
    relevance = candidates @ centre  # (N,)
    picked = [int(np.argmax(relevance))]
    while len(picked) < min(n, len(candidates)):
        redundancy = (candidates @ candidates[picked].T).max(axis=1)  # (N,)
        score = (1 - diversity) * relevance - diversity * redundancy
        score[picked] = -np.inf
        picked.append(int(np.argmax(score)))
    return picked


def _title(events: Sequence[Event], centre: np.ndarray, embed: Embed, cfg: MemoryConfig, span: TimeSpan) -> str:
    """Key phrases of the chapter's own words (KeyBERT-style, MMR); its concepts when it says nothing."""
    counts: Counter[str] = Counter()
    for e in events:
        for text in (e.transcript, *_lines(e.ocr_text)):
            words = split_words(text)
            for n in range(1, cfg.max_phrase_words + 1):
                for i in range(len(words) - n + 1):
                    gram = words[i : i + n]
                    if any(w in STOPWORDS for w in gram) or all(w.isdigit() for w in gram):
                        continue
                    counts[" ".join(gram)] += 1
    if not counts:
        tags = _most_shown((t for e in events for t in e.tags), events, cfg.title_phrases)
        return ", ".join(tags) if tags else f"Untitled {span.start_s:.0f}-{span.end_s:.0f} s"
    phrases = [p for p, _ in sorted(counts.items(), key=lambda pc: (-pc[1], -len(pc[0].split()), pc[0]))]
    phrases = phrases[: cfg.candidates]
    picks = _mmr(embed(phrases), centre, cfg.title_phrases, cfg.diversity)
    return ", ".join(phrases[p] for p in picks).capitalize()


def _sentences(events: Sequence[Event], transcript: Sequence[TranscriptSegment]) -> list[Sentence]:
    """What a summary may quote: transcript sentences, then on-screen lines of events (by event span)."""
    out = [Sentence(s.text.strip(), s.span) for s in transcript if s.text.strip()]
    seen: set[str] = set()
    for e in events:
        for line in _lines(e.ocr_text):
            if line.lower() not in seen and len(split_words(line)) >= 2:
                seen.add(line.lower())
                out.append(Sentence(line, e.span))
    return out


def _keyframe(events: Sequence[Event], vectors: np.ndarray, centre: np.ndarray) -> float | None:
    """A keyframe of the event closest to the chapter's centre (the middle of that event without one)."""
    if not events:
        return None
    best = events[int(np.argmax(vectors @ centre))]
    return best.keyframes_s[len(best.keyframes_s) // 2] if best.keyframes_s else best.span.mid_s


def _most_shown(items, events: Sequence[Event], n: int) -> tuple[str, ...]:
    """The ``n`` items seen in the most events (ties: first seen), each at least twice unless there is
    only one event."""
    counts = Counter(items)
    floor = 1 if len(events) <= 1 else 2
    return tuple(item for item, count in counts.most_common(n) if count >= floor)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _union_s(spans: Sequence[TimeSpan]) -> float:
    """Total length of the union of ``spans`` (seconds)."""
    total, end = 0.0, -np.inf
    for span in sorted(spans):
        if span.start_s > end:
            total += span.duration_s
            end = span.end_s
        elif span.end_s > end:
            total += span.end_s - end
            end = span.end_s
    return total
