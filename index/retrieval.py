"""Hybrid retrieval: dense channels and BM25 keywords fused by reciprocal rank, with context.

Each channel ranks events on its own:

* every dense channel searches its FAISS index with the caller's query vector (cosine);
* ``keyword`` runs FTS5 BM25 over transcript, OCR text, tags and captions. The user's text is never
  passed to FTS5 as syntax: it is cut into words and each word is quoted, joined with OR, so quotes,
  ``*``, ``NEAR(``, ``-``, ``OR`` or ``col:`` in a question are just words.

Reciprocal-rank fusion scores an event ``sum over channels of 1 / (k0 + rank)`` (``k0 = 60``, rank from 1),
so agreeing channels beat one channel's favourite: rank 5 in two channels gives ``2/65 = 0.031``, rank 1
in one channel ``1/61 = 0.016``; equal scores (one channel's first is the other's second) go to the event
holding more of the query's words, then to the earlier one. Filters (a video, a time range) apply inside
every channel. Each hit
carries its ``expand`` neighbouring events on either side and a snippet of its text around the
query words it matched.

Confidence floors (``RetrievalConfig.floors``, per channel, calibrated: see ``longvid eval calibrate``)
decide what counts as a match at all: a dense channel's cosine, and for ``keyword`` the share of the
query's words an event holds. An event that clears no channel's floor is not returned, however well it
ranks, and a query whose best channel stays under its floor returns no hits, with the reason
(:attr:`Hits.reason`): "no confident match for ..." rather than five moments scored like real ones.

Example::

    >>> from longvid.index import EventIndex
    >>> index = EventIndex("LIBRARY")                                                    # doctest: +SKIP
    >>> hits = index.search("budget forecast", {"text": embed("budget forecast")})     # doctest: +SKIP
    >>> [(h.event.span, [m.why for m in h.matches]) for h in hits[:1]]                  # doctest: +SKIP
    [(TimeSpan(start_s=120.0, end_s=131.5), ['matched: budget, forecast (bm25 7.1)', 'cosine 0.71'])]
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from longvid.encoders.concepts import visual_words
from longvid.ingest.features import unit_rows
from longvid.ingest.types import TimeSpan
from longvid.ingest.words import FRAME_WORDS, STOPWORDS, split_words

from .catalog import KEYWORD_CHANNEL, Catalog
from .records import ChannelMatch, Chapter, Hit, Hits
from .vectors import VectorStore, check_dim

log = logging.getLogger(__name__)

_TEXT_CHANNEL = "text"  # the text embedding of each moment's words, tags and objects
_MARK_START, _MARK_END = "\x02", "\x03"  # highlight marks: control characters never shown in text


@dataclass(frozen=True)
class RetrievalConfig:
    """Fusion and presentation settings of :func:`search`."""

    k0: int = 60  # RRF constant: score = sum 1 / (k0 + rank); larger flattens rank differences
    candidates: int = 50  # results taken from each channel before fusion (at least 5 k)
    exact_filter_max: int = 50_000  # filtered dense searches over at most this many events are exact
    snippet_chars: int = 200  # longest snippet, ellipses included
    max_query_terms: int = 32  # keyword terms kept from a query (the first ones)
    max_matched_terms: int = 8  # words listed in a keyword match's ``why``
    # channel -> least score that counts as a match (dense: cosine; keyword: share of the query's words
    # matched); a channel without a floor counts every result
    floors: Mapping[str, float] = field(default_factory=dict)


def query_terms(text: str, max_terms: int = 32) -> list[str]:
    """Distinct lower-case words of ``text`` in order (NFKC-normalised letters and digits only)."""
    seen: dict[str, None] = {}
    for word in split_words(text):
        seen.setdefault(word)
        if len(seen) == max_terms:
            break
    return list(seen)


def fts_query(text: str, max_terms: int = 32, all_terms: bool = False, columns: Sequence[str] = ()) -> str | None:
    """A safe FTS5 MATCH expression for free text: each word quoted, OR-ed (AND-ed with ``all_terms``),
    limited to ``columns`` when given; None when there is no word.

    Stopwords are left out unless the query has nothing else.

    >>> fts_query('when is the budget "forecast" -NEAR(x*')
    '"budget" OR "forecast" OR "near" OR "x"'
    >>> fts_query("to be or not to be")
    '"to" OR "be" OR "or" OR "not"'
    >>> fts_query("the new bridge", all_terms=True, columns=["transcript", "ocr_text"])
    '{transcript ocr_text} : ("new" AND "bridge")'
    """
    terms = query_terms(text, max_terms)
    terms = [t for t in terms if t not in STOPWORDS] or terms
    if not terms:
        return None
    expression = (" AND " if all_terms else " OR ").join(f'"{t}"' for t in terms)
    return f"{{{' '.join(columns)}}} : ({expression})" if columns else expression


def rrf(rankings: Mapping[str, Sequence[int]], k0: int = 60) -> dict[int, float]:
    """Reciprocal-rank fusion of ranked id lists (best first): ``{id: sum 1 / (k0 + rank)}``."""
    fused: dict[int, float] = {}
    for ranked in rankings.values():
        for rank, eid in enumerate(ranked, start=1):
            fused[eid] = fused.get(eid, 0.0) + 1.0 / (k0 + rank)
    return fused


def search_chapters(
    catalog: Catalog, query_text: str, query_vector: np.ndarray | None = None, k: int = 3,
    video_id: str | None = None, k0: int = 60,
) -> list[tuple[Chapter, float]]:  # fmt: skip
    """Chapters for a broad question, best first: BM25 over their titles and summaries and cosine of
    their embeddings (brute force: a library holds a few chapters per hour), fused by reciprocal rank."""
    rankings: dict[str, list[int]] = {}
    chapters = catalog.all_chapters(video_id)
    key = {(c.video_id, c.index): i for i, c in enumerate(chapters)}
    match = fts_query(query_text)
    if match:
        rankings["keyword"] = [key[(c.video_id, c.index)] for c, _ in catalog.chapter_matches(match, video_id)]
    with_vectors = [i for i, c in enumerate(chapters) if c.vector]
    if query_vector is not None and with_vectors:
        q = unit_rows(query_vector)[0]  # (D,)
        matrix = np.asarray([chapters[i].vector for i in with_vectors], np.float32)  # (C, D)
        if matrix.shape[1] == q.shape[0]:
            order = np.argsort(-(matrix @ q), kind="stable")
            rankings["text"] = [with_vectors[i] for i in order[: max(k * 10, 50)]]
    fused = rrf(rankings, k0)
    return [(chapters[i], score) for i, score in sorted(fused.items(), key=lambda kv: -kv[1])[:k]]


def make_snippet(marked: str, width: int = 200) -> tuple[str, list[str]]:
    """``(snippet, matched words)`` from text whose matched words sit between \\x02 and \\x03 marks.

    The snippet is at most ``width`` characters (ellipses included), on one line (the text's parts
    joined by " · "), starting a little before the window that holds the most distinct matched words
    (or at the text's start).

    >>> make_snippet("a \\x02budget\\x03 talk", 200)
    ('a budget talk', ['budget'])
    """
    text = re.sub(r"\s+", " ", re.sub(r"\s*\n\s*", " · ", marked.strip()))  # one line; parts joined by " · "
    plain, spans, last = [], [], 0
    length = 0
    for m in re.finditer(f"{_MARK_START}(.*?){_MARK_END}", text):
        before, word = _unmark(text[last : m.start()]), _unmark(m.group(1))
        length += len(before)
        spans.append((length, length + len(word), word.lower()))
        plain += [before, word]
        length += len(word)
        last = m.end()
    plain.append(_unmark(text[last:]))
    body = "".join(plain)
    words = list(dict.fromkeys(w for _, _, w in spans))
    if len(body) <= width:
        return body, words
    lead = width // 4  # context kept before the first matched word of the window
    anchor = 0
    if spans:

        def words_in_window(i: int) -> int:
            lo = spans[i][0] - lead
            return len({w for s, e, w in spans if s >= lo and e <= lo + width})

        best = max(range(len(spans)), key=lambda i: (words_in_window(i), -i))
        anchor = max(0, min(spans[best][0] - lead, len(body) - (width - 1)))  # near the end: fill the width
        space = body.find(" ", anchor)
        if anchor > 0 and body[anchor - 1] != " " and 0 <= space - anchor < 20:
            anchor = space + 1  # start on a word (moving right keeps the snippet within width)
    prefix = "…" if anchor > 0 else ""
    room = width - len(prefix)
    if anchor + room >= len(body):
        return prefix + body[anchor:], words
    piece = body[anchor : anchor + room - 1]  # keep 1 for the closing ellipsis
    space = piece.rfind(" ")
    piece = (piece[:space] if space > len(piece) - 20 else piece).rstrip() + "…"
    return prefix + piece, words


def _unmark(text: str) -> str:
    return text.replace(_MARK_START, "").replace(_MARK_END, "")


def search(
    catalog: Catalog,
    store: VectorStore,
    query_text: str,
    query_vectors: Mapping[str, np.ndarray],
    k: int = 10,
    video_id: str | None = None,
    time_range: TimeSpan | None = None,
    expand: int = 1,
    config: RetrievalConfig | None = None,
) -> Hits:
    """The ``k`` best events for a query, fused over keyword and dense channels (see the module doc).

    ``query_vectors[channel]`` is one ``(D,)`` or ``(1, D)`` vector per channel, from the encoder that
    built that channel; a channel the library does not have is skipped (logged). The store must be in
    step with the catalog (``store.sync(catalog)``). Only events that clear a channel's floor are
    returned; when none does, the empty result's ``reason`` says what the best channel scored.
    """
    config = config or RetrievalConfig()
    if k <= 0:
        return Hits()
    depth = max(config.candidates, 5 * k)
    subset = None
    if video_id is not None or time_range is not None:
        subset = catalog.filter_ids(video_id, time_range)  # (M,) int64
        if len(subset) == 0:
            return Hits(reason="nothing is indexed in that video or time range")
    rankings: dict[str, list[tuple[int, float]]] = {}
    match = fts_query(query_text, config.max_query_terms)
    coverage: dict[int, float] = {}  # keyword candidates: share of the query's words each one holds (for its floor)
    if match is not None:
        rankings[KEYWORD_CHANNEL] = [
            (eid, -bm25) for eid, bm25 in catalog.keyword_search(match, depth, video_id, time_range)
        ]
        if KEYWORD_CHANNEL in config.floors:  # only a floor reads it: no per-term queries otherwise
            coverage = _coverage(catalog, query_text, [eid for eid, _ in rankings[KEYWORD_CHANNEL]], config)
    dims = catalog.channel_dims()
    for channel, vector in query_vectors.items():
        if channel not in dims:
            log.warning(
                "query vector for channel %r skipped: the library has no such channel (has %s)", channel, sorted(dims)
            )
            continue
        rankings[channel] = _dense(catalog, store, channel, dims[channel], vector, depth, subset, config)

    unseen = _unseen(catalog, query_text, rankings.get(_TEXT_CHANNEL, ()), config)
    confident = {eid for channel, ranked in rankings.items() for eid, score in ranked
                 if _clears(channel, score, coverage.get(eid, 0.0), config)
                 and not (channel == _TEXT_CHANNEL and eid in unseen)}  # fmt: skip
    fused = rrf({c: [eid for eid, _ in r] for c, r in rankings.items()}, config.k0)
    by_channel = {c: {eid: (rank, score) for rank, (eid, score) in enumerate(r, start=1)} for c, r in rankings.items()}
    # equal fused scores (one channel's first is the other's second) go to the moment that holds more of the
    # question's words (coordination-level matching), then to the earlier one
    shared = Counter(fused[eid] for eid in confident)
    tied = [eid for eid in confident if shared[fused[eid]] > 1 and eid not in coverage]
    if tied and match is not None:
        coverage.update(_coverage(catalog, query_text, tied, config))
    order = sorted(confident, key=lambda eid: (-fused[eid], -coverage.get(eid, 0.0), eid))
    if not order:
        return Hits(reason=_no_match(query_text, rankings, coverage, config, unseen))
    events = catalog.events_by_id(order[: k + 16])  # a few spare in case some were removed meanwhile
    top = [eid for eid in order if eid in events][:k]
    marked = catalog.highlights(match, top, _MARK_START, _MARK_END) if match and top else {}

    hits = Hits()
    for eid in top:
        event = events[eid]
        snippet, words = make_snippet(marked.get(eid, event.text), config.snippet_chars)
        matches = []
        for channel, ranked in by_channel.items():
            if eid in ranked:
                rank, score = ranked[eid]
                matches.append(ChannelMatch(channel, rank, score, _why(channel, score, words, config)))
        matches.sort(key=lambda m: (m.rank, m.channel))
        hits.append(Hit(event, fused[eid], tuple(matches), snippet, catalog.neighbours(event, expand)))
    return hits


def _coverage(catalog: Catalog, query_text: str, ids: Sequence[int], config: RetrievalConfig) -> dict[int, float]:
    """Each event's share of the query's :func:`floor_terms` it holds."""
    terms = floor_terms(query_text, config.max_query_terms)
    if not terms or not ids:
        return {}
    held = catalog.term_counts([f'"{t}"' for t in terms], ids)
    return {eid: held.get(eid, 0) / len(terms) for eid in ids}


def floor_terms(text: str, max_terms: int = 32) -> list[str]:
    """The words the keyword floor counts: the query's distinct words less stopwords and the question's frame
    ("shown", "in the video", "how many times"), so that "Which animal is shown in the video?" is about
    one word; all of its words when nothing else is left.

    >>> floor_terms("Which animal is shown in the video?")
    ['animal']
    """
    terms = query_terms(text, max_terms)
    return [t for t in terms if t not in STOPWORDS and t not in FRAME_WORDS] or terms


def _unseen(catalog: Catalog, query_text: str, ranked: Sequence[tuple[int, float]], config: RetrievalConfig
            ) -> set[int]:  # fmt: skip
    """The text channel's confident events that only pictures describe (nothing said, written or captioned)
    and whose tags and objects name none of the things a query naming only tagger words asks for: "is there
    a cat" resembles "1 bird" (cosine 0.42) but the tags are a closed list, and a cat is not on it there."""
    named = visual_words(floor_terms(query_text, config.max_query_terms))
    if named is None or _TEXT_CHANNEL not in config.floors:
        return set()
    ids = [eid for eid, score in ranked if _clears(_TEXT_CHANNEL, score, 0.0, config)]
    if not ids:
        return set()
    events = catalog.events_by_id(ids)
    return {
        eid
        for eid, e in events.items()
        if not (e.transcript or e.ocr_text or e.caption)
        and not named & set(split_words(" ".join((*e.tags, *e.concepts, *(o.label for o in e.objects)))))
    }


def _clears(channel: str, score: float, coverage: float, config: RetrievalConfig) -> bool:
    floor = config.floors.get(channel)
    if floor is None:
        return True
    return (coverage if channel == KEYWORD_CHANNEL else score) >= floor


def _no_match(
    query_text: str, rankings: Mapping[str, Sequence[tuple[int, float]]], coverage: Mapping[int, float],
    config: RetrievalConfig, unseen: Collection[int] = (),
) -> str:  # fmt: skip
    """Why nothing cleared a floor: each channel's best score against its floor."""
    parts = []
    if unseen:
        n = len(unseen)
        parts.append(f"{n} moment{'s' * (n != 1)} resemble{'s' * (n == 1)} it, but no tag or object there names it")
    for channel, ranked in rankings.items():
        floor = config.floors.get(channel, 0.0)
        if channel == KEYWORD_CHANNEL:
            best = max(coverage.values(), default=0.0)
            terms = len(floor_terms(query_text, config.max_query_terms))
            parts.append(f"no moment holds more than {round(best * terms)} of its {terms} words (floor {floor:.0%})")
        elif ranked:
            parts.append(f"{channel} cosine {ranked[0][1]:.2f} (floor {floor:.2f})")
    shown = query_text if len(query_text) <= 60 else query_text[:59] + "…"
    return f"no confident match for {shown!r}" + (": " + "; ".join(parts) if parts else "")


def _why(channel: str, score: float, words: Sequence[str], config: RetrievalConfig) -> str:
    if channel != KEYWORD_CHANNEL:
        return f"cosine {score:.2f}"
    shown = ", ".join(words[: config.max_matched_terms])
    return f"matched: {shown} (bm25 {score:.2f})" if shown else f"bm25 {score:.2f}"


def _dense(
    catalog: Catalog,
    store: VectorStore,
    channel: str,
    dim: int,
    vector: np.ndarray,
    depth: int,
    subset: np.ndarray | None,
    config: RetrievalConfig,
) -> list[tuple[int, float]]:
    """``(event id, cosine)`` best first for one channel; exact over the catalog for small filtered sets."""
    q = np.asarray(vector, dtype=np.float32)
    if q.ndim == 2 and q.shape[0] == 1:
        q = q[0]
    if q.ndim != 1:
        raise ValueError(f"channel {channel!r}: give one query vector of shape (D,) or (1, D), got {q.shape}")
    check_dim(channel, dim, q.shape[0], "the query vector")
    if not np.isfinite(q).all():
        raise ValueError(f"channel {channel!r}: the query vector contains NaN or infinity")
    q = unit_rows(q)  # (1, D)
    if subset is not None and len(subset) <= config.exact_filter_max:
        ids, vectors = catalog.load_vectors(channel, subset)  # (M,), (M, D)
        if len(ids) == 0:
            return []
        scores = vectors @ q[0]  # (M,)
        top = (
            np.argpartition(-scores, min(depth, len(scores)) - 1)[:depth]
            if len(scores) > depth
            else np.arange(len(scores))
        )
        top = top[np.lexsort((ids[top], -scores[top]))]
        return [(int(ids[i]), float(scores[i])) for i in top]
    scores, ids = store.search(channel, q, depth, subset=subset)  # (1, depth) each
    return [(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
