"""longvid.index — the event store (SQLite) and vector indexes (FAISS), hybrid retrieval.

Layer 5: imports ``longvid.ingest`` only, and loads no model: callers pass query vectors in.

A library is a folder: ``catalog.sqlite`` (the source of truth: videos, events, transcript, vectors,
keyword index, a journal of changes) and ``vectors/<channel>.faiss`` (derived caches, brought up to date
from the journal or rebuilt from the catalog, so a crash can never leave the two disagreeing). Typical use::

    >>> import numpy as np, tempfile
    >>> from longvid.ingest import TimeSpan
    >>> from longvid.index import Event, EventIndex, VideoRecord
    >>> with EventIndex(tempfile.mkdtemp()) as index:
    ...     video = VideoRecord("v1", "talk.mp4", 20.0, 25.0, 640, 360, True, {"text_model": "demo"})
    ...     events = [Event("v1", 0, TimeSpan(0, 10), transcript="welcome everyone", tags=("person",)),
    ...               Event("v1", 1, TimeSpan(10, 20), transcript="the budget forecast for next year"),
    ...               Event("v1", 2, TimeSpan(20, 30), ocr_text="Q&A", tags=("person", "microphone"))]
    ...     ids = index.add_video(video, events, {"text": np.eye(3, 8, dtype=np.float32)})  # (3 events, D=8)
    ...     hits = index.search("Budget?", {"text": np.eye(1, 8, 1, dtype=np.float32)}, k=1)
    >>> hits[0].event.span
    TimeSpan(start_s=10.0, end_s=20.0)
    >>> hits[0].snippet, [m.why for m in hits[0].matches]
    ('the budget forecast for next year', ['matched: budget (bm25 0.44)', 'cosine 1.00'])
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType

import numpy as np
from filelock import FileLock

from longvid.ingest.features import unit_rows
from longvid.ingest.types import TimeSpan, TranscriptSegment

from .catalog import Catalog, check_vectors
from .errors import (
    CatalogError,
    CountMismatchError,
    DimensionMismatchError,
    MemoryBudgetError,
    SchemaVersionError,
    UnknownVideoError,
    VideoExistsError,
)
from .records import ChannelMatch, Chapter, Event, Failure, Hit, Hits, Overview, Sentence, VideoRecord
from .retrieval import RetrievalConfig, fts_query, rrf, search_chapters
from .retrieval import search as _search
from .vectors import ChannelIndex, IndexLayout, VectorConfig, VectorStore, check_dim, choose_layout

log = logging.getLogger(__name__)

__all__ = [
    "CatalogError",
    "ChannelIndex",
    "ChannelMatch",
    "Chapter",
    "CountMismatchError",
    "DimensionMismatchError",
    "Event",
    "EventIndex",
    "Failure",
    "Hit",
    "Hits",
    "IndexLayout",
    "MemoryBudgetError",
    "Overview",
    "RetrievalConfig",
    "SchemaVersionError",
    "Sentence",
    "UnknownVideoError",
    "VectorConfig",
    "VideoExistsError",
    "VideoRecord",
    "choose_layout",
    "fts_query",
    "rrf",
]


class EventIndex:
    """A library folder: add and remove videos, list them, search their events.

    ``memory_budget_bytes`` bounds each channel's FAISS index (past it, float32 codes become SQ8, then
    PQ); ``vector_config`` and ``retrieval_config`` tune the rest (its budget is replaced by
    ``memory_budget_bytes``). Safe to use from several threads; several processes may open one library:
    writes take :attr:`writer` (an inter-process file lock), reads take nothing.
    """

    def __init__(
        self,
        root: str | Path,
        memory_budget_bytes: int = 2 << 30,
        *,
        vector_config: VectorConfig | None = None,
        retrieval_config: RetrievalConfig | None = None,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.vector_config = replace(vector_config or VectorConfig(), memory_budget_bytes=memory_budget_bytes)
        self.retrieval_config = retrieval_config or RetrievalConfig()
        # One writer at a time, across threads and processes (flock: dropped by the kernel if the holder dies,
        # even by SIGKILL; re-entrant in a thread). Storing a video is more than one SQLite transaction: "is
        # this content already here?", thumbnails, then the catalog; holding it across the whole step makes
        # that atomic. Searches read SQLite in WAL mode and never take it.
        self.writer = FileLock(self.root / ".writer.lock")
        self.catalog = Catalog(self.root / "catalog.sqlite")
        try:
            self.vectors = VectorStore(self.root / "vectors", self.vector_config)
            self.vectors.sync(self.catalog)
        except BaseException:
            self.catalog.close()
            raise

    # ------------------------------------------------------------------------------------------ reads
    def has_video(self, video_id: str) -> bool:
        return self.catalog.has_video(video_id)

    def video(self, video_id: str) -> VideoRecord | None:
        return self.catalog.video(video_id)

    def videos(self) -> list[VideoRecord]:
        """Every video in the library, oldest first."""
        return self.catalog.videos()

    def events(self, video_id: str) -> list[Event]:
        """A video's events in time order ([] for an unknown video)."""
        return self.catalog.events(video_id)

    def failures(self) -> list[Failure]:
        """Files a batch job could not index (oldest first), with the reason."""
        return self.catalog.failures()

    def record_failure(self, path: str, reason: str, attempts: int, video_id: str | None = None) -> None:
        self.catalog.record_failure(path, reason, attempts, video_id)

    def clear_failure(self, path: str) -> None:
        self.catalog.clear_failure(path)

    def transcript(self, video_id: str) -> list[TranscriptSegment]:
        """A video's transcript segments in time order."""
        return self.catalog.transcript(video_id)

    def overview(self, video_id: str) -> Overview | None:
        """A video's overview and chapters; None when the library predates them."""
        return self.catalog.overview(video_id)

    def set_overview(self, video_id: str, overview: Overview) -> None:
        """Store (or replace) a video's overview and chapters."""
        with self.writer:
            self.catalog.set_overview(video_id, overview)

    # ----------------------------------------------------------------------------------------- writes
    def add_video(
        self,
        video: VideoRecord,
        events: Sequence[Event],
        vectors: Mapping[str, np.ndarray],
        transcript: Sequence[TranscriptSegment] = (),
        overview: Overview | None = None,
    ) -> list[int]:
        """Store a video, its events, their vectors and its transcript; all of it or (on error) none.

        ``vectors[channel]`` is ``(len(events), D)`` float32, row ``i`` for ``events[i]``; it is
        L2-normalised here. Returns the event ids in ``events`` order. Raises
        :class:`VideoExistsError` if the video is already stored, :class:`CountMismatchError` /
        :class:`DimensionMismatchError` (with both numbers) when the pieces do not fit.
        """
        known = self.catalog.channel_dims()
        normalized: dict[str, np.ndarray] = {}
        for channel, vecs in vectors.items():
            arr = np.asarray(vecs)
            check_vectors(channel, arr, len(events), video.video_id)
            if channel in known:
                check_dim(channel, known[channel], arr.shape[1], f"those of video {video.video_id}")
            normalized[channel] = unit_rows(arr)  # (N, D) float32, unit rows
        with self.writer:
            ids, _ = self.catalog.add_video(video, events, normalized, transcript, overview)
            self._sync_after_write(video.video_id)
        return ids

    def remove_video(self, video_id: str) -> None:
        """Delete a video and everything of it (events, transcript, vectors) in one transaction."""
        with self.writer:
            if self.catalog.remove_video(video_id) is None:
                raise UnknownVideoError(f"video {video_id} is not in {self.root}; has_video() tells before removing")
            self._sync_after_write(video_id)

    def _sync_after_write(self, video_id: str) -> None:
        try:
            self.vectors.sync(self.catalog)
        except (RuntimeError, MemoryError) as err:  # the catalog has the change; FAISS catches up on next use
            log.error("video %s: catalog updated, FAISS update failed (%s); it is retried on next use", video_id, err)
            self.vectors.invalidate()

    def flush(self) -> None:
        """Save FAISS indexes too large to be saved after every write (``VectorConfig.autosave_max_bytes``)."""
        self.vectors.flush()

    # ----------------------------------------------------------------------------------------- search
    def search_chapters(
        self, query_text: str, query_vector: np.ndarray | None = None, k: int = 3, video_id: str | None = None
    ) -> list[tuple[Chapter, float]]:
        """The ``k`` chapters best matching a broad question (keyword + text embedding), best first."""
        return search_chapters(self.catalog, query_text, query_vector, k, video_id, self.retrieval_config.k0)

    def search(
        self,
        query_text: str,
        query_vectors: Mapping[str, np.ndarray] | None = None,
        k: int = 10,
        video_id: str | None = None,
        time_range: TimeSpan | None = None,
        expand: int = 1,
        floors: Mapping[str, float] | None = None,
    ) -> Hits:
        """The ``k`` best events for a question, best first (see :mod:`longvid.index.retrieval`); events
        that clear no channel's floor are left out, and an empty result says why (``Hits.reason``).

        ``query_vectors[channel]`` is the question embedded by the encoder that built ``channel``
        (``(D,)`` or ``(1, D)``). ``video_id`` / ``time_range`` keep only events of that video /
        overlapping that span; each hit carries ``expand`` neighbouring events on either side. ``floors``
        replaces the configured confidence floors for this search (``{}``: none).
        """
        self.vectors.sync(self.catalog)  # picks up writes of other processes (one cheap query otherwise)
        return _search(
            self.catalog,
            self.vectors,
            query_text,
            query_vectors or {},
            k=k,
            video_id=video_id,
            time_range=time_range,
            expand=expand,
            config=self.retrieval_config if floors is None else replace(self.retrieval_config, floors=floors),
        )

    def check(self) -> list[str]:
        """Integrity problems, [] when healthy: SQLite integrity, FTS5 vs events, vector ids vs events
        (both ways, per video and channel), FAISS ids and counts vs the catalog."""
        problems = self.catalog.check()
        self.vectors.sync(self.catalog)
        problems += self.vectors.check(self.catalog)
        for problem in problems:
            log.warning("%s: %s", self.root, problem)
        return problems

    # ------------------------------------------------------------------------------------------ close
    def close(self) -> None:
        """Save unsaved FAISS indexes and close the catalog."""
        try:
            self.vectors.close()
        finally:
            self.catalog.close()

    def __enter__(self) -> EventIndex:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
