"""The hierarchical memory of a video: moments (events) → chapters (topics) → the video (an overview).

Built once at index time from what the pipeline already has — the events, their text embeddings and
the transcript — plus one embedding call over the video's sentences and its chapters' candidate phrases:

* **Chapters** (topic segmentation by optimal partitioning of the sentence sequence): cuts may fall at
  every event boundary (a scene cut) and every pause between two sentences; the cuts chosen maximise the
  coherence of each chapter — the length of the sum of its sentences' unit embeddings (the events' text
  where nothing is said or written) — minus ``chapter_cost`` per chapter, by dynamic programming, with
  chapters ``min_chapter_s`` to ``max_chapter_s`` long. Unlike a threshold on local similarity valleys
  (TextTiling), the decision weighs whole chapters, so a few odd sentences inside a topic do not cut it.
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
    ...                           MemoryConfig(min_chapter_s=60, chapter_cost=0.5))
    >>> [(c.span.start_s, c.span.end_s) for c in overview.chapters]
    [(0.0, 90.0), (90.0, 180.0)]
    >>> [c.title for c in overview.chapters]
    ['Budget, cost', 'Boat, river']
    >>> round(overview.speech_share, 3)
    0.167
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from longvid.index.records import Chapter, Event, Overview, Sentence
from longvid.ingest.features import unit_rows
from longvid.ingest.types import TimeSpan, TranscriptSegment, timecode
from longvid.ingest.words import STOPWORDS, split_words

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]  # texts -> (N, D) float32 unit rows
_LEAD_S = 0.25  # a chapter starting at a sentence starts this much before its first word


@dataclass(frozen=True)
class MemoryConfig:
    """How chapters, titles and summaries are made (seconds unless said otherwise)."""

    min_chapter_s: float = 90.0  # no chapter shorter (the last may be, when the video is)
    max_chapter_s: float = 900.0  # longer chapters are split at their deepest boundary
    chapter_cost: float = 2.75  # what one more chapter must gain in coherence (summed cosine); see the README
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
    sentences = _sentences(events, transcript)
    sentence_vecs = embed([s.text for s in sentences]) if sentences else np.zeros((0, vectors.shape[1]), np.float32)
    if sentences:  # what is said and written, sentence by sentence, placed at its own time
        units = (np.array([s.span.mid_s for s in sentences]), sentence_vecs)
    else:  # nothing said or written: the events' own text (their tags)
        units = (np.array([e.span.mid_s for e in events]), vectors)
    pauses = {round((a.span.end_s + b.span.start_s) / 2, 2) for a, b in itertools.pairwise(transcript)
              if b.span.start_s > a.span.end_s}  # fmt: skip
    candidates = sorted({e.span.start_s for e in events[1:]} | pauses)
    cuts = {e.span.start_s for e in events[1:]}
    bounds = segment_chapters(units, np.array(candidates), max(duration_s, events[-1].span.end_s), cfg, cuts)
    bounds = _start_at_speech(bounds, [s.span.start_s for s in transcript], cuts)
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
                tuple(float(x) for x in centre),
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


def context_text(overview: Overview, name: str) -> str:
    """The overview as the coarse level of a prompt: one line for the video, one per chapter::

    talk.mp4 (01:00:00): “The budget was approved.” [00:36]
    chapter 1, 00:00–12:30: Budget, council vote — “The council votes on Tuesday.” [03:10]
    """
    head = f"{name} ({timecode(overview.duration_s, hours=True)}): " + " ".join(
        f"“{s.text}” [{timecode(s.span.start_s)}]" for s in overview.sentences
    )
    lines = [head.rstrip(": ")]
    for c in overview.chapters:
        said = " ".join(f"“{s.text}” [{timecode(s.span.start_s)}]" for s in c.summary)
        lines.append(f"chapter {c.index + 1}, {timecode(c.span.start_s)}–{timecode(c.span.end_s)}: {c.title}"
                     + (f" — {said}" if said else ""))  # fmt: skip
    return "\n".join(lines)


def segment_chapters(
    units: tuple[np.ndarray, np.ndarray], gaps: np.ndarray, end: float, config: MemoryConfig,
    cuts: set[float] = frozenset(),
) -> list[TimeSpan]:  # fmt: skip
    """Chapter spans covering ``[0, end)``, cut only at the candidate times ``gaps`` (scene cuts and pauses
    between sentences); ``units`` are ``(times (U,), unit vectors (U, D))`` of what is said and shown.

    The cuts maximise ``sum over chapters of |sum of the chapter's unit vectors| - chapter_cost`` by dynamic
    programming (optimal partitioning): a chapter whose sentences share a topic adds up to a long vector,
    one that mixes two topics to a shorter one, so a cut pays where the topic changes. Chapters last
    ``min_chapter_s`` to ``max_chapter_s`` (the longest bound is dropped when no cut can honour it);
    between equally good cuts, a scene cut (one of ``cuts``) wins.
    """
    times, vectors = units
    order = np.argsort(times, kind="stable")
    times, vectors = times[order], vectors[order]
    bounds = np.concatenate([[0.0], np.unique(gaps[(gaps > 0) & (gaps < end)]), [end]])  # (B,)
    if end < 2 * config.min_chapter_s or len(bounds) == 2:
        return [TimeSpan(0.0, end)]
    first_unit = np.searchsorted(times, bounds, side="left")  # (B,) units before each bound
    sums = np.vstack([np.zeros((1, vectors.shape[1]), np.float64), np.cumsum(vectors, axis=0, dtype=np.float64)])
    bonus = np.array([1e-6 if float(b) in cuts else 0.0 for b in bounds])  # ties go to scene cuts
    for longest in (config.max_chapter_s, np.inf):
        best = np.full(len(bounds), -np.inf)
        best[0] = 0.0
        back = np.zeros(len(bounds), dtype=int)
        for j in range(1, len(bounds)):
            length = bounds[j] - bounds[:j]  # (j,) seconds of the chapter [bounds[i], bounds[j])
            ok = (length <= longest) & ((length >= config.min_chapter_s) | (j == len(bounds) - 1) & (bounds[:j] == 0))
            ok &= np.isfinite(best[:j])
            if not ok.any():
                continue
            mass = np.linalg.norm(sums[first_unit[j]] - sums[first_unit[:j]], axis=1)  # (j,)
            score = np.where(ok, best[:j] + mass - config.chapter_cost + bonus[j], -np.inf)
            back[j] = int(np.argmax(score))
            best[j] = score[back[j]]
        if np.isfinite(best[-1]):
            break
    else:
        return [TimeSpan(0.0, end)]
    starts, j = [], len(bounds) - 1
    while j > 0:
        starts.append(back[j])
        j = back[j]
    edges = [float(bounds[i]) for i in reversed(starts)] + [end]
    return [TimeSpan(a, b) for a, b in itertools.pairwise(edges)]


def _start_at_speech(spans: list[TimeSpan], starts: Sequence[float], cuts: set[float]) -> list[TimeSpan]:
    """Chapters moved to begin where their first sentence does: a cut chosen in a pause moves to the last
    scene cut before the next sentence, else to just before that sentence (a click on a chapter lands on
    its first words, not on the silence before them)."""
    starts = sorted(starts)
    edges = [spans[0].start_s]
    for span in spans[1:]:
        t = span.start_s
        nxt = next((s for s in starts if s >= t), None)
        if nxt is not None and nxt < span.end_s:
            within = [c for c in cuts if t <= c <= nxt]
            t = max(within) if within else max(t, nxt - _LEAD_S)
        edges.append(t)
    edges.append(spans[-1].end_s)
    return [TimeSpan(a, b) for a, b in itertools.pairwise(edges)]


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
