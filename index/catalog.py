"""The SQLite catalog ``LIBRARY/catalog.sqlite``: videos, events, transcript, vectors, keyword index.

The catalog is the source of truth of a library. It holds every video's record and settings, its
events, its transcript segments and its embedding vectors (float32 blobs), plus an FTS5 table over the
events' text for BM25 keyword search. The FAISS files under ``LIBRARY/vectors/`` are caches derived
from it (see :mod:`longvid.index.vectors`).

* WAL journal, ``foreign_keys=ON``, ``synchronous=FULL``: a committed write survives a crash or power
  loss, readers never wait for a writer, and a writer never sees a half-written video.
* Adding a video (record, events, transcript, vectors) is one ``BEGIN IMMEDIATE`` transaction, so it
  is all there or not at all; removing a video is one transaction too.
* ``meta.generation`` goes up by one in every write transaction, and the ``changes`` journal says
  which event ids that write added or removed. A FAISS file records the generation it reflects; an
  older file is brought up to date by replaying the journal (:meth:`Catalog.delta`), so neither a
  crash nor another process's write ever leaves a search looking at vectors the catalog lacks.
* Each thread reads through its own connection; writes go through one connection under a lock.

Example::

    >>> import numpy as np, tempfile
    >>> from longvid.ingest import TimeSpan
    >>> from longvid.index.catalog import Catalog
    >>> from longvid.index.records import Event, VideoRecord
    >>> cat = Catalog(tempfile.mkdtemp() + "/catalog.sqlite")
    >>> video = VideoRecord("v1", "/videos/talk.mp4", 12.0, 25.0, 640, 360, True, {"encoder": "demo"})
    >>> ids, generation = cat.add_video(video, [Event("v1", 0, TimeSpan(0, 12), transcript="hello")],
    ...                                 {"text": np.ones((1, 4), np.float32) / 2})
    >>> cat.events("v1")[0].transcript, generation
    ('hello', 1)
    >>> cat.close()
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from longvid.encoders.concepts import general_words
from longvid.encoders.objects import DetectedObject
from longvid.ingest.types import TimeSpan, TranscriptSegment, Word

from .errors import (
    CatalogError,
    CountMismatchError,
    DimensionMismatchError,
    SchemaVersionError,
    UnknownVideoError,
    VideoExistsError,
)
from .records import Chapter, Event, Failure, Overview, Sentence, VideoRecord
from .vectors import VectorDelta

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4  # 2: failures; 3: chapters, overviews, sentence search; 4: event concepts and objects
JOURNAL_KEEP = 10_000  # writes remembered in the changes table (older FAISS files are rebuilt, not replayed)
KEYWORD_CHANNEL = "keyword"  # reserved: the FTS5 channel's name in search results
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")  # also a file name under vectors/
_CHUNK = 900  # ids per "IN (...)" query, below SQLite's bound-parameter limit

_FAILURES_TABLE = """CREATE TABLE failures (          -- files a batch job could not index, and why
    path      TEXT PRIMARY KEY,
    video_id  TEXT,
    reason    TEXT NOT NULL,
    attempts  INTEGER NOT NULL,
    failed_at REAL NOT NULL                         -- unix seconds
);"""
# Schema 3: the hierarchical memory (chapters and an overview per video) and FTS5 over transcript segments,
# so that scans ("every time X is said") and counts find sentences, not only whole events.
_MEMORY_SCHEMA = """
CREATE TABLE chapters (
    video_id   TEXT NOT NULL REFERENCES videos (video_id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,                    -- time order
    start_s    REAL NOT NULL,
    end_s      REAL NOT NULL,
    title      TEXT NOT NULL,
    summary    TEXT NOT NULL DEFAULT '[]',          -- JSON [[start_s, end_s, sentence], ...]
    keyframe_s REAL,
    on_screen  TEXT NOT NULL DEFAULT '[]',          -- JSON list of strings
    concepts   TEXT NOT NULL DEFAULT '[]',          -- JSON list of strings
    vec        BLOB,                                -- unit float32 text embedding of the chapter
    PRIMARY KEY (video_id, idx)
);
CREATE VIRTUAL TABLE chapters_fts USING fts5 (text, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TRIGGER chapters_fts_insert AFTER INSERT ON chapters BEGIN
    INSERT INTO chapters_fts (rowid, text) VALUES (new.rowid, new.title || ' ' ||
        coalesce((SELECT group_concat(json_extract(value, '$[2]'), ' ') FROM json_each(new.summary)), ''));
END;
CREATE TRIGGER chapters_fts_delete AFTER DELETE ON chapters BEGIN
    DELETE FROM chapters_fts WHERE rowid = old.rowid;
END;
CREATE TABLE overviews (
    video_id     TEXT PRIMARY KEY REFERENCES videos (video_id) ON DELETE CASCADE,
    sentences    TEXT NOT NULL,                     -- JSON [[start_s, end_s, sentence], ...]
    on_screen    TEXT NOT NULL,                     -- JSON list of strings
    concepts     TEXT NOT NULL,                     -- JSON list of strings
    speech_share REAL NOT NULL,
    language     TEXT
);
CREATE VIRTUAL TABLE segments_fts USING fts5 (
    text, content = 'transcript_segments', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER segments_fts_insert AFTER INSERT ON transcript_segments BEGIN
    INSERT INTO segments_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER segments_fts_delete AFTER DELETE ON transcript_segments BEGIN
    INSERT INTO segments_fts (segments_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""
# The text columns FTS5 indexes; tags and their general words (concepts: of the objects too) are stored as
# JSON and indexed together as "a, b, c" in the tags column (see events_text).
_TAGS_TEXT = ("(SELECT group_concat(value, ', ') FROM (SELECT value FROM json_each({0}.tags)"
              " UNION ALL SELECT value FROM json_each({0}.concepts)))")  # fmt: skip
_EVENTS_FTS = f"""
CREATE VIEW events_text AS
    SELECT id, transcript, ocr_text, {_TAGS_TEXT.format("events")} AS tags, caption FROM events;
CREATE VIRTUAL TABLE events_fts USING fts5 (
    transcript, ocr_text, tags, caption,
    content = 'events_text', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
    INSERT INTO events_fts (rowid, transcript, ocr_text, tags, caption)
    VALUES (new.id, new.transcript, new.ocr_text, {_TAGS_TEXT.format("new")}, new.caption);
END;
CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
    INSERT INTO events_fts (events_fts, rowid, transcript, ocr_text, tags, caption)
    VALUES ('delete', old.id, old.transcript, old.ocr_text, {_TAGS_TEXT.format("old")}, old.caption);
END;
CREATE TRIGGER events_fts_update AFTER UPDATE ON events BEGIN
    INSERT INTO events_fts (events_fts, rowid, transcript, ocr_text, tags, caption)
    VALUES ('delete', old.id, old.transcript, old.ocr_text, {_TAGS_TEXT.format("old")}, old.caption);
    INSERT INTO events_fts (rowid, transcript, ocr_text, tags, caption)
    VALUES (new.id, new.transcript, new.ocr_text, {_TAGS_TEXT.format("new")}, new.caption);
END;
"""
_SCHEMA = f"""
CREATE TABLE schema_version (version INTEGER NOT NULL);
{_FAILURES_TABLE}
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta (key, value) VALUES ('generation', 0);

CREATE TABLE changes (                               -- one row per write: what the generation changed
    generation INTEGER PRIMARY KEY,
    op         TEXT NOT NULL CHECK (op IN ('add', 'remove')),
    video_id   TEXT NOT NULL,
    event_ids  TEXT NOT NULL,                       -- JSON [[first, last], ...] id ranges
    at         REAL NOT NULL                        -- unix seconds
);

CREATE TABLE videos (
    video_id   TEXT PRIMARY KEY,
    path       TEXT NOT NULL,
    duration_s REAL NOT NULL,
    fps        REAL NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    has_audio  INTEGER NOT NULL,
    settings   TEXT NOT NULL,        -- JSON: the models and options that built this entry
    added_at   REAL NOT NULL         -- unix seconds
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,   -- also the id in every FAISS index
    video_id   TEXT NOT NULL REFERENCES videos (video_id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,                    -- position in the video (time order)
    start_s    REAL NOT NULL,
    end_s      REAL NOT NULL,
    keyframes  TEXT NOT NULL DEFAULT '[]',          -- JSON list of seconds
    transcript TEXT NOT NULL DEFAULT '',
    ocr_text   TEXT NOT NULL DEFAULT '',
    tags       TEXT NOT NULL DEFAULT '[]',          -- JSON list of strings
    caption    TEXT NOT NULL DEFAULT '',
    concepts   TEXT NOT NULL DEFAULT '[]',          -- JSON list of strings: general words of tags and objects
    objects    TEXT NOT NULL DEFAULT '[]',          -- JSON [[label, score, x0, y0, x1, y1], ...], box in 0..1
    UNIQUE (video_id, idx)
);
CREATE INDEX events_by_time ON events (video_id, start_s);

CREATE TABLE transcript_segments (
    id       INTEGER PRIMARY KEY,
    video_id TEXT NOT NULL REFERENCES videos (video_id) ON DELETE CASCADE,
    start_s  REAL NOT NULL,
    end_s    REAL NOT NULL,
    text     TEXT NOT NULL,
    source   TEXT NOT NULL,                          -- 'asr' or 'subtitle'
    language TEXT,
    words    TEXT NOT NULL DEFAULT '[]'             -- JSON list of [start_s, end_s, text, probability]
);
CREATE INDEX transcript_by_time ON transcript_segments (video_id, start_s);

CREATE TABLE channels (
    channel TEXT PRIMARY KEY,
    dim     INTEGER NOT NULL CHECK (dim > 0),
    count   INTEGER NOT NULL CHECK (count >= 0)     -- vectors stored in this channel
);

CREATE TABLE vectors (
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    channel  TEXT NOT NULL REFERENCES channels (channel),
    dim      INTEGER NOT NULL,
    vec      BLOB NOT NULL,                          -- dim little-endian float32, L2-normalised
    PRIMARY KEY (channel, event_id)
);
CREATE INDEX vectors_by_event ON vectors (event_id);

{_EVENTS_FTS}
{_MEMORY_SCHEMA}"""
_FTS_FIX = "rebuild it: INSERT INTO events_fts (events_fts) VALUES ('rebuild')"
_CHAPTER_COLUMNS = "idx, start_s, end_s, title, summary, keyframe_s, on_screen, concepts, vec"
_CHAPTER_ROW = "c.video_id, " + ", ".join(f"c.{column}" for column in _CHAPTER_COLUMNS.split(", "))  # for _chapter()
_EVENT_COLUMNS = "id, video_id, idx, start_s, end_s, keyframes, transcript, ocr_text, tags, caption, concepts, objects"
_VIDEO_COLUMNS = "video_id, path, duration_s, fps, width, height, has_audio, settings, added_at"


def check_channel_name(channel: str) -> None:
    """Raise ``ValueError`` unless ``channel`` is usable as a vector channel (and a file name)."""
    if not isinstance(channel, str) or not _CHANNEL_NAME.match(channel) or channel == KEYWORD_CHANNEL:
        raise ValueError(
            f"invalid vector channel name {channel!r}: use 1-64 letters, digits, '_', '-' or '.', "
            f"not starting with '.' or '-', and not the reserved name {KEYWORD_CHANNEL!r}"
        )


def check_vectors(channel: str, vecs: np.ndarray, events: int, video_id: str) -> None:
    """Raise unless ``vecs`` is a finite ``(events, D)`` float array, ``D > 0``, for a valid ``channel``:
    ``ValueError``, or :class:`CountMismatchError` / :class:`DimensionMismatchError` with both numbers."""
    check_channel_name(channel)
    if not isinstance(vecs, np.ndarray) or vecs.ndim != 2 or not np.issubdtype(vecs.dtype, np.floating):
        raise ValueError(
            f"channel {channel!r}: vectors must be a (N, D) float array, got "
            f"{getattr(vecs, 'shape', None)} {getattr(vecs, 'dtype', type(vecs).__name__)}"
        )
    if len(vecs) != events:
        raise CountMismatchError(
            f"channel {channel!r}: {len(vecs)} vectors for {events} events of video {video_id}; "
            "give exactly one vector per event, in event order"
        )
    if vecs.shape[1] == 0:
        raise DimensionMismatchError(f"channel {channel!r}: vectors have dimension 0")
    if not np.isfinite(vecs).all():
        raise ValueError(f"channel {channel!r}: vectors of video {video_id} contain NaN or infinity")


def _chapter(video_id, idx, a, b, title, summary, keyframe_s, screen, tags, vec) -> Chapter:
    vector = tuple(np.frombuffer(vec, "<f4").tolist()) if vec else ()
    return Chapter(video_id, idx, TimeSpan(a, b), title, _sentences(summary), keyframe_s,
                   tuple(json.loads(screen)), tuple(json.loads(tags)), vector)  # fmt: skip


def _sentences_json(sentences: Iterable[Sentence]) -> str:
    return json.dumps([[s.span.start_s, s.span.end_s, s.text] for s in sentences])


def _sentences(text: str) -> tuple[Sentence, ...]:
    return tuple(Sentence(t, TimeSpan(a, b)) for a, b, t in json.loads(text))


def _event(row: sqlite3.Row | tuple) -> Event:
    eid, video_id, idx, start_s, end_s, keyframes, transcript, ocr_text, tags, caption, concepts, objects = row
    return Event(
        video_id=video_id,
        index=idx,
        span=TimeSpan(start_s, end_s),
        keyframes_s=tuple(json.loads(keyframes)),
        transcript=transcript,
        ocr_text=ocr_text,
        tags=tuple(json.loads(tags)),
        caption=caption,
        event_id=eid,
        concepts=tuple(json.loads(concepts)),
        objects=tuple(
            DetectedObject(label, score, (x0, y0, x1, y1)) for label, score, x0, y0, x1, y1 in json.loads(objects)
        ),
    )


def _video(row: tuple) -> VideoRecord:
    video_id, path, duration_s, fps, width, height, has_audio, settings, added_at = row
    return VideoRecord(video_id, path, duration_s, fps, width, height, bool(has_audio), json.loads(settings), added_at)


def _filter_sql(video_id: str | None, time_range: TimeSpan | None, alias: str = "events") -> tuple[str, list]:
    """SQL conditions (joined by AND, "1" when none) selecting events of a video / overlapping a span.

    An event overlaps ``[a, b)`` when it starts before ``b`` and ends after ``a``; a zero-length
    event at ``t`` counts when ``a <= t < b``; a zero-length range ``[t, t]`` selects events containing ``t``.
    """
    conditions, params = [], []
    if video_id is not None:
        conditions.append(f"{alias}.video_id = ?")
        params.append(video_id)
    if time_range is not None:
        a, b = time_range.start_s, time_range.end_s
        if b > a:
            conditions.append(f"{alias}.start_s < ? AND ({alias}.end_s > ? OR {alias}.start_s >= ?)")
            params += [b, a, a]
        else:
            conditions.append(f"{alias}.start_s <= ? AND ({alias}.end_s > ? OR {alias}.start_s = ?)")
            params += [a, a, a]
    return (" AND ".join(conditions) or "1"), params


def _ranges(ids: Sequence[int]) -> list[list[int]]:
    """Sorted ids as inclusive ``[first, last]`` runs: ``[3, 4, 5, 9]`` -> ``[[3, 5], [9, 9]]``."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def _expand(ranges: str) -> list[int]:
    return [i for first, last in json.loads(ranges) for i in range(first, last + 1)]


def _marks(values: Sequence) -> str:
    """``?, ?, ?`` placeholders for ``values``."""
    return ",".join("?" * len(values))


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield [int(x) for x in ids[i : i + _CHUNK]]


class Catalog:
    """One library's ``catalog.sqlite``. Thread-safe; several processes may open the same file."""

    def __init__(self, path: str | Path, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        self._init_schema()

    # ----------------------------------------------------------------------------------------- plumbing
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.DatabaseError as err:
            raise CatalogError(
                f"{self.path}: cannot open the catalog ({err}); check the path is a longvid library's "
                "catalog.sqlite and that the folder is writable"
            ) from err
        self._connections.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection (WAL: it never waits for the writer)."""
        if self._closed:
            raise CatalogError(f"{self.path}: the catalog is closed; open a new EventIndex")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._write_lock:
                conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same committed state."""
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed whole, or rolled back on any error."""
        if self._closed:
            raise CatalogError(f"{self.path}: the catalog is closed; open a new EventIndex")
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _init_schema(self) -> None:
        with self._transaction() as conn:
            exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone()
            if not exists:
                for statement in _split_sql(_SCHEMA):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
                log.info("created catalog %s (schema %d)", self.path, SCHEMA_VERSION)
                return
            (version,) = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            if version == 1:  # schema 2 only adds the failures table
                conn.execute(_FAILURES_TABLE)
                conn.execute("INSERT INTO schema_version (version) VALUES (2)")
                log.info("upgraded catalog %s to schema 2", self.path)
                version = 2
            if version == 2:  # schema 3 adds the memory tables (chapters come on first use) and sentence search
                for statement in _split_sql(_MEMORY_SCHEMA):
                    conn.execute(statement)
                conn.execute("INSERT INTO segments_fts (segments_fts) VALUES ('rebuild')")
                conn.execute("INSERT INTO schema_version (version) VALUES (3)")
                log.info("upgraded catalog %s to schema 3", self.path)
                version = 3
            if version == 3:  # schema 4: events get concepts (their tags' general words) and objects
                self._upgrade_to_4(conn)
                version = 4
        if version != SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.path} has catalog schema {version} but this longvid reads schema {SCHEMA_VERSION}; "
                "upgrade longvid (or re-index into a new library folder)"
            )

    def _upgrade_to_4(self, conn: sqlite3.Connection) -> None:
        """Add the concepts and objects columns; fill concepts from the stored tags; re-index keywords."""
        have = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
        for column in ("concepts", "objects"):
            if column not in have:
                conn.execute(f"ALTER TABLE events ADD COLUMN {column} TEXT NOT NULL DEFAULT '[]'")
        for name in ("events_fts_insert", "events_fts_delete", "events_fts_update"):
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute("DROP VIEW IF EXISTS events_text")
        conn.execute("DROP TABLE IF EXISTS events_fts")
        rows = conn.execute("SELECT id, tags FROM events").fetchall()
        conn.executemany("UPDATE events SET concepts = ? WHERE id = ?",
                         [(json.dumps(list(general_words(json.loads(tags))), ensure_ascii=False), eid)
                          for eid, tags in rows])  # fmt: skip
        for statement in _split_sql(_EVENTS_FTS):
            conn.execute(statement)
        conn.execute("INSERT INTO events_fts (rowid, transcript, ocr_text, tags, caption) SELECT id, transcript,"
                     f" ocr_text, {_TAGS_TEXT.format('events')}, caption FROM events")  # fmt: skip
        conn.execute("INSERT INTO schema_version (version) VALUES (4)")
        log.info("upgraded catalog %s to schema 4 (%d events given general words)", self.path, len(rows))

    def close(self) -> None:
        """Close every connection this catalog opened (from any thread)."""
        with self._write_lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    # ---------------------------------------------------------------------------------------------- reads
    def generation(self) -> int:
        """The write counter: +1 per committed write transaction."""
        return int(self._reader().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    def failures(self) -> list[Failure]:
        rows = (
            self._reader()
            .execute("SELECT path, reason, attempts, failed_at, video_id FROM failures ORDER BY failed_at")
            .fetchall()
        )
        return [
            Failure(path, reason, int(attempts), float(at), video_id) for path, reason, attempts, at, video_id in rows
        ]

    def record_failure(self, path: str, reason: str, attempts: int, video_id: str | None = None) -> None:
        """Remember that ``path`` failed (replacing an earlier record of it)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO failures (path, video_id, reason, attempts, failed_at) VALUES (?, ?, ?, ?, ?)",
                (path, video_id, reason, attempts, time.time()),
            )

    def clear_failure(self, path: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM failures WHERE path = ?", (path,))

    def has_video(self, video_id: str) -> bool:
        return self._reader().execute("SELECT 1 FROM videos WHERE video_id = ?", (video_id,)).fetchone() is not None

    def video(self, video_id: str) -> VideoRecord | None:
        row = self._reader().execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE video_id = ?", (video_id,)).fetchone()
        return _video(row) if row else None

    def videos(self) -> list[VideoRecord]:
        """Every video, oldest first."""
        rows = self._reader().execute(f"SELECT {_VIDEO_COLUMNS} FROM videos ORDER BY added_at, video_id")
        return [_video(r) for r in rows]

    def events(self, video_id: str) -> list[Event]:
        """A video's events in time order ([] for an unknown video)."""
        rows = self._reader().execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE video_id = ? ORDER BY idx", (video_id,)
        )
        return [_event(r) for r in rows]

    def events_by_id(self, ids: Sequence[int]) -> dict[int, Event]:
        """Stored events by id; ids not (or no longer) in the catalog are absent from the result."""
        found: dict[int, Event] = {}
        conn = self._reader()
        for chunk in _chunks(ids):
            sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE id IN ({_marks(chunk)})"
            for row in conn.execute(sql, chunk):
                found[row[0]] = _event(row)
        return found

    def neighbours(self, event: Event, expand: int) -> tuple[Event, ...]:
        """Up to ``expand`` events before and ``expand`` after ``event`` in its video, in time order."""
        if expand <= 0:
            return ()
        conn = self._reader()
        before = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE video_id = ? AND idx < ? ORDER BY idx DESC LIMIT ?",
            (event.video_id, event.index, expand),
        ).fetchall()
        after = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE video_id = ? AND idx > ? ORDER BY idx LIMIT ?",
            (event.video_id, event.index, expand),
        ).fetchall()
        return tuple(_event(r) for r in [*reversed(before), *after])

    def transcript(self, video_id: str) -> list[TranscriptSegment]:
        """A video's transcript segments in time order."""
        rows = self._reader().execute(
            "SELECT start_s, end_s, text, source, language, words FROM transcript_segments "
            "WHERE video_id = ? ORDER BY start_s, id",
            (video_id,),
        )
        return [
            TranscriptSegment(
                video_id,
                TimeSpan(start_s, end_s),
                text,
                tuple(Word(TimeSpan(ws, we), wt, wp) for ws, we, wt, wp in json.loads(words)),
                source,
                language,
            )
            for start_s, end_s, text, source, language, words in rows
        ]

    def channel_dims(self) -> dict[str, int]:
        """Vector channels that hold at least one vector, and their dimension."""
        return dict(self._reader().execute("SELECT channel, dim FROM channels WHERE count > 0").fetchall())

    def load_vectors(self, channel: str, ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A channel's vectors: ``(ids (N,) int64, vectors (N, D) float32)``, all or those of ``ids``."""
        with self._snapshot() as conn:
            return self._load_vectors(conn, channel, ids)

    def delta(self, channel: str, since: int | None = None) -> VectorDelta | None:
        """What ``channel``'s vectors gained and lost after generation ``since`` (everything when None).

        Read in one snapshot, so the delta leads exactly to the generation it names. None when the
        journal no longer reaches back to ``since`` (or ``since`` is ahead of the catalog): rebuild then.
        """
        with self._snapshot() as conn:
            generation = int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
            row = conn.execute("SELECT count FROM channels WHERE channel = ?", (channel,)).fetchone()
            count = row[0] if row else 0
            if since is None:
                ids, vectors = self._load_vectors(conn, channel)
                return VectorDelta(generation, np.zeros(0, np.int64), ids, vectors, count)
            if since > generation:
                return None
            rows = conn.execute(
                "SELECT op, event_ids FROM changes WHERE generation > ? ORDER BY generation", (since,)
            ).fetchall()
            if len(rows) != generation - since:
                return None
            added = [i for op, ranges in rows if op == "add" for i in _expand(ranges)]
            removed = [i for op, ranges in rows if op == "remove" for i in _expand(ranges)]
            ids, vectors = self._load_vectors(conn, channel, added)  # those still stored
        drop = np.unique(np.array(removed + added, np.int64))  # re-adding an id first drops it: replay is idempotent
        return VectorDelta(generation, drop, ids, vectors, count)

    def _load_vectors(
        self, conn: sqlite3.Connection, channel: str, ids: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows are copied one by one into a preallocated array: 1M x 384 vectors need 1.5 GB once, not twice."""
        row = conn.execute("SELECT dim, count FROM channels WHERE channel = ?", (channel,)).fetchone()
        if row is None:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        dim, count = row
        if ids is None:
            queries = [("SELECT event_id, vec FROM vectors WHERE channel = ? ORDER BY event_id", [channel])]
        else:
            count = len(ids)
            sql = "SELECT event_id, vec FROM vectors WHERE channel = ? AND event_id IN ({})"
            queries = [(sql.format(_marks(c)), [channel, *c]) for c in _chunks(sorted(ids))]
        out_ids = np.empty(count, np.int64)
        out = np.empty((count, dim), np.float32)
        n = 0
        for sql, params in queries:
            for eid, blob in conn.execute(sql, params):
                if n == count:
                    raise CatalogError(f"{self.path}: channel {channel!r} holds more vectors than its count {count}")
                out_ids[n] = eid
                out[n] = np.frombuffer(blob, "<f4")
                n += 1
        if ids is None and n != count:
            raise CatalogError(
                f"{self.path}: channel {channel!r} lists {count} vectors but {n} are stored; run check() "
                "and re-index the affected videos"
            )
        return out_ids[:n], out[:n]

    def vector_ids(self, channel: str) -> np.ndarray:
        """Event ids (int64, ascending) that have a vector in ``channel``."""
        rows = self._reader().execute("SELECT event_id FROM vectors WHERE channel = ? ORDER BY event_id", (channel,))
        return np.fromiter((r[0] for r in rows), np.int64)

    def filter_ids(self, video_id: str | None = None, time_range: TimeSpan | None = None) -> np.ndarray:
        """Ids (int64) of the events of ``video_id`` overlapping ``time_range`` (either may be None)."""
        where, params = _filter_sql(video_id, time_range)
        rows = self._reader().execute(f"SELECT id FROM events WHERE {where} ORDER BY id", params).fetchall()
        return np.fromiter((r[0] for r in rows), np.int64, len(rows))

    def keyword_search(
        self, match: str, limit: int, video_id: str | None = None, time_range: TimeSpan | None = None
    ) -> list[tuple[int, float]]:
        """``(event id, bm25)`` of the best FTS5 matches for a *sanitised* MATCH expression, best first.

        BM25 as SQLite reports it: more negative is better.
        """
        where, params = _filter_sql(video_id, time_range, alias="e")
        sql = (
            "SELECT events_fts.rowid, bm25(events_fts) AS score "
            "FROM events_fts JOIN events e ON e.id = events_fts.rowid "
            f"WHERE events_fts MATCH ? AND {where} ORDER BY score LIMIT ?"
        )
        return [(int(r[0]), float(r[1])) for r in self._reader().execute(sql, [match, *params, limit])]

    def term_counts(self, matches: Sequence[str], ids: Sequence[int]) -> dict[int, int]:
        """For each of ``ids``: how many of the *sanitised* MATCH expressions ``matches`` (one term each) it
        matches; events matching none are left out."""
        counts: dict[int, int] = {}
        conn = self._reader()
        for chunk in _chunks(ids):
            sql = f"SELECT rowid FROM events_fts WHERE events_fts MATCH ? AND rowid IN ({_marks(chunk)})"
            for match in matches:
                for (eid,) in conn.execute(sql, [match, *chunk]):
                    counts[int(eid)] = counts.get(int(eid), 0) + 1
        return counts

    def highlights(self, match: str, ids: Sequence[int], start: str, end: str) -> dict[int, str]:
        """Each matching event's text (as :attr:`Event.text` builds it) with matched tokens between marks."""
        out: dict[int, str] = {}
        conn = self._reader()
        columns = ", ".join(f"highlight(events_fts, {i}, ?, ?)" for i in range(4))
        for chunk in _chunks(ids):
            sql = f"SELECT rowid, {columns} FROM events_fts WHERE events_fts MATCH ? AND rowid IN ({_marks(chunk)})"
            for eid, *parts in conn.execute(sql, [start, end] * 4 + [match, *chunk]):
                out[int(eid)] = "\n".join(p for p in parts if p)
        return out

    def overview(self, video_id: str) -> Overview | None:
        """The video's overview with its chapters; None when none was built (an older library)."""
        conn = self._reader()
        row = conn.execute(
            "SELECT o.sentences, o.on_screen, o.concepts, o.speech_share, o.language, v.duration_s "
            "FROM overviews o JOIN videos v ON v.video_id = o.video_id WHERE o.video_id = ?",
            (video_id,),
        ).fetchone()
        if row is None:
            return None
        sentences, on_screen, concepts, speech_share, language, duration_s = row
        chapters = tuple(_chapter(video_id, *row) for row in conn.execute(
            f"SELECT {_CHAPTER_COLUMNS} FROM chapters WHERE video_id = ? ORDER BY idx", (video_id,)))  # fmt: skip
        return Overview(video_id, duration_s, _sentences(sentences), chapters, tuple(json.loads(on_screen)),
                        tuple(json.loads(concepts)), speech_share, language)  # fmt: skip

    def match_segments(
        self, match: str, video_id: str | None = None, limit: int | None = None
    ) -> list[tuple[TranscriptSegment, float]]:
        """Transcript segments matching a *sanitised* FTS5 MATCH expression, with their BM25 (more negative
        is better): in time order (by video) without ``limit``, else the ``limit`` best."""
        conn = self._reader()
        where, params = _filter_sql(video_id, None, alias="s")
        if video_id is not None:  # a video's sentences are stored together: FTS5 skips to their rowid range
            lo, hi = conn.execute(
                "SELECT min(id), max(id) FROM transcript_segments WHERE video_id = ?", (video_id,)
            ).fetchone()
            if lo is None:
                return []
            where += " AND segments_fts.rowid BETWEEN ? AND ?"
            params += [lo, hi]
        order = "s.video_id, s.start_s" if limit is None else "score"
        sql = (
            "SELECT s.video_id, s.start_s, s.end_s, s.text, s.source, s.language, bm25(segments_fts) AS score "
            "FROM segments_fts JOIN transcript_segments s ON s.id = segments_fts.rowid "
            f"WHERE segments_fts MATCH ? AND {where} ORDER BY {order} LIMIT ?"
        )
        rows = conn.execute(sql, [match, *params, -1 if limit is None else limit])
        return [(TranscriptSegment(v, TimeSpan(a, b), text, (), source, language), float(score))
                for v, a, b, text, source, language, score in rows]  # fmt: skip

    def segment_counts(self, match: str) -> list[tuple[str, int, TimeSpan, str]]:
        """Per video, how many transcript segments match a *sanitised* FTS5 expression, and the first one:
        ``(video_id, count, its span, its text)``, counted inside SQLite."""
        sql = (
            "SELECT video_id, n, start_s, end_s, text FROM (SELECT s.video_id, s.start_s, s.end_s, s.text, "
            "count(*) OVER (PARTITION BY s.video_id) AS n, "
            "row_number() OVER (PARTITION BY s.video_id ORDER BY s.start_s, s.id) AS r "
            "FROM segments_fts JOIN transcript_segments s ON s.id = segments_fts.rowid WHERE segments_fts MATCH ?) "
            "WHERE r = 1 ORDER BY video_id"
        )
        return [(v, int(n), TimeSpan(a, b), text) for v, n, a, b, text in self._reader().execute(sql, (match,))]

    def chapter_matches(self, match: str, video_id: str | None = None, limit: int = 50) -> list[tuple[Chapter, float]]:
        """Chapters whose title and summary match a *sanitised* FTS5 expression, best BM25 first."""
        where, params = _filter_sql(video_id, None, alias="c")
        sql = (f"SELECT {_CHAPTER_ROW}, "
               "bm25(chapters_fts) AS score FROM chapters_fts JOIN chapters c ON c.rowid = chapters_fts.rowid "
               f"WHERE chapters_fts MATCH ? AND {where} ORDER BY score LIMIT ?")  # fmt: skip
        return [(_chapter(*row[:-1]), float(row[-1])) for row in self._reader().execute(sql, [match, *params, limit])]

    def all_chapters(self, video_id: str | None = None) -> list[Chapter]:
        """Every chapter (of one video, or of the library), with its vector, by video and time."""
        where, params = _filter_sql(video_id, None, alias="c")
        sql = (f"SELECT {_CHAPTER_ROW} FROM chapters c "
               f"WHERE {where} ORDER BY c.video_id, c.idx")  # fmt: skip
        return [_chapter(*row) for row in self._reader().execute(sql, params)]

    def match_events(self, match: str, video_id: str | None = None) -> list[Event]:
        """Events matching a *sanitised* FTS5 MATCH expression (column filters allowed), in time order."""
        where, params = _filter_sql(video_id, None, alias="e")
        columns = ", ".join(f"e.{c}" for c in _EVENT_COLUMNS.split(", "))
        sql = (
            f"SELECT {columns} FROM events_fts JOIN events e ON e.id = events_fts.rowid "
            f"WHERE events_fts MATCH ? AND {where} ORDER BY e.video_id, e.start_s"
        )
        return [_event(r) for r in self._reader().execute(sql, [match, *params])]

    # --------------------------------------------------------------------------------------------- writes
    def set_overview(self, video_id: str, overview: Overview) -> None:
        """Replace a stored video's overview and chapters (one transaction)."""
        with self._transaction() as conn:
            if not conn.execute("SELECT 1 FROM videos WHERE video_id = ?", (video_id,)).fetchone():
                raise UnknownVideoError(f"video {video_id} is not in {self.path}")
            conn.execute("DELETE FROM chapters WHERE video_id = ?", (video_id,))
            conn.execute("DELETE FROM overviews WHERE video_id = ?", (video_id,))
            self._insert_memory(conn, video_id, overview)

    def _insert_memory(self, conn: sqlite3.Connection, video_id: str, overview: Overview) -> None:
        if overview.video_id != video_id or any(c.video_id != video_id for c in overview.chapters):
            raise ValueError(f"the overview or a chapter belongs to another video than {video_id}")
        conn.execute(
            "INSERT INTO overviews (video_id, sentences, on_screen, concepts, speech_share, language) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (video_id, _sentences_json(overview.sentences), json.dumps(list(overview.on_screen)),
             json.dumps(list(overview.concepts)), overview.speech_share, overview.language),
        )  # fmt: skip
        conn.executemany(
            f"INSERT INTO chapters (video_id, {_CHAPTER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(video_id, c.index, c.span.start_s, c.span.end_s, c.title, _sentences_json(c.summary), c.keyframe_s,
              json.dumps(list(c.on_screen)), json.dumps(list(c.concepts)),
              np.asarray(c.vector, "<f4").tobytes() if c.vector else None) for c in overview.chapters],
        )  # fmt: skip

    def add_video(
        self,
        video: VideoRecord,
        events: Sequence[Event],
        vectors: Mapping[str, np.ndarray],
        transcript: Sequence[TranscriptSegment] = (),
        overview: Overview | None = None,
    ) -> tuple[list[int], int]:
        """Store a video with its events, transcript, vectors and (when given) its overview and chapters in
        one transaction.

        ``vectors[channel]`` is ``(len(events), D)`` float32, row ``i`` belonging to ``events[i]``,
        already L2-normalised. Returns the new event ids (in ``events`` order) and the new generation.
        Raises :class:`VideoExistsError`, :class:`CountMismatchError`, :class:`DimensionMismatchError`
        or ``ValueError``; on any error nothing of the video is stored.
        """
        _check_video_input(video, events, vectors, transcript)
        settings = _settings_json(video)
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM videos WHERE video_id = ?", (video.video_id,)).fetchone():
                raise VideoExistsError(
                    f"video {video.video_id} ({video.path}) is already in {self.path}; "
                    "skip it, or remove_video() it first to re-index"
                )
            self._insert_video(conn, video, settings)
            ids = self._insert_events(conn, events)
            self._insert_transcript(conn, video.video_id, transcript)
            self._insert_vectors(conn, video.video_id, ids, vectors)
            if overview is not None:
                self._insert_memory(conn, video.video_id, overview)
            generation = self._record_change(conn, "add", video.video_id, ids)
        log.info(
            "catalog: added video %s (%d events, channels %s) at generation %d",
            video.video_id,
            len(ids),
            sorted(vectors),
            generation,
        )
        return ids, generation

    def remove_video(self, video_id: str) -> int | None:
        """Delete a video and everything of it in one transaction; the new generation, None if absent."""
        with self._transaction() as conn:
            if not conn.execute("SELECT 1 FROM videos WHERE video_id = ?", (video_id,)).fetchone():
                return None
            ids = [r[0] for r in conn.execute("SELECT id FROM events WHERE video_id = ? ORDER BY id", (video_id,))]
            removed = dict(
                conn.execute(
                    "SELECT v.channel, count(*) FROM vectors v JOIN events e ON e.id = v.event_id "
                    "WHERE e.video_id = ? GROUP BY v.channel",
                    (video_id,),
                ).fetchall()
            )
            conn.execute(
                "DELETE FROM vectors WHERE event_id IN (SELECT id FROM events WHERE video_id = ?)", (video_id,)
            )
            for channel, n in removed.items():
                conn.execute("UPDATE channels SET count = count - ? WHERE channel = ?", (n, channel))
            conn.execute("DELETE FROM channels WHERE count = 0")
            conn.execute("DELETE FROM transcript_segments WHERE video_id = ?", (video_id,))
            conn.execute("DELETE FROM events WHERE video_id = ?", (video_id,))
            conn.execute("DELETE FROM videos WHERE video_id = ?", (video_id,))
            generation = self._record_change(conn, "remove", video_id, ids)
        log.info("catalog: removed video %s (%d events) at generation %d", video_id, len(ids), generation)
        return generation

    def _insert_video(self, conn: sqlite3.Connection, video: VideoRecord, settings: str) -> None:
        conn.execute(
            f"INSERT INTO videos ({_VIDEO_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (video.video_id, video.path, video.duration_s, video.fps, video.width, video.height,
             int(video.has_audio), settings, time.time()),
        )  # fmt: skip

    def _insert_events(self, conn: sqlite3.Connection, events: Sequence[Event]) -> list[int]:
        ids = []
        sql = (
            "INSERT INTO events (video_id, idx, start_s, end_s, keyframes, transcript, ocr_text, tags, caption,"
            " concepts, objects) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        for ev in events:
            cur = conn.execute(
                sql,
                (ev.video_id, ev.index, ev.span.start_s, ev.span.end_s, json.dumps(list(ev.keyframes_s)),
                 ev.transcript, ev.ocr_text, json.dumps(list(ev.tags), ensure_ascii=False), ev.caption,
                 json.dumps(list(ev.concepts), ensure_ascii=False),
                 json.dumps([[o.label, o.score, *o.box] for o in ev.objects], ensure_ascii=False)),
            )  # fmt: skip
            ids.append(int(cur.lastrowid))
        return ids

    def _insert_transcript(
        self, conn: sqlite3.Connection, video_id: str, segments: Iterable[TranscriptSegment]
    ) -> None:
        conn.executemany(
            "INSERT INTO transcript_segments (video_id, start_s, end_s, text, source, language, words) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (video_id, s.span.start_s, s.span.end_s, s.text, s.source, s.language,
                 json.dumps([[w.span.start_s, w.span.end_s, w.text, w.probability] for w in s.words]))
                for s in segments
            ],
        )  # fmt: skip

    def _insert_vectors(
        self, conn: sqlite3.Connection, video_id: str, ids: Sequence[int], vectors: Mapping[str, np.ndarray]
    ) -> None:
        for channel, vecs in vectors.items():
            dim = int(vecs.shape[1])
            row = conn.execute("SELECT dim FROM channels WHERE channel = ?", (channel,)).fetchone()
            if row is not None and row[0] != dim:
                raise DimensionMismatchError(
                    f"channel {channel!r} holds {row[0]}-d vectors but video {video_id} brings {dim}-d ones; "
                    "encode with the model that built the channel, or store these under a new channel name"
                )
            if not ids:
                continue
            conn.execute(
                "INSERT INTO channels (channel, dim, count) VALUES (?, ?, ?) "
                "ON CONFLICT (channel) DO UPDATE SET count = count + excluded.count",
                (channel, dim, len(ids)),
            )
            little = np.ascontiguousarray(vecs, dtype="<f4")
            conn.executemany(
                "INSERT INTO vectors (event_id, channel, dim, vec) VALUES (?, ?, ?, ?)",
                [(eid, channel, dim, little[i].tobytes()) for i, eid in enumerate(ids)],
            )

    @staticmethod
    def _record_change(conn: sqlite3.Connection, op: str, video_id: str, ids: Sequence[int]) -> int:
        """Bump the generation, journal what it changed, forget journal rows older than JOURNAL_KEEP writes."""
        (generation,) = conn.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'generation' RETURNING value"
        ).fetchone()
        conn.execute(
            "INSERT INTO changes (generation, op, video_id, event_ids, at) VALUES (?, ?, ?, ?, ?)",
            (generation, op, video_id, json.dumps(_ranges(ids)), time.time()),
        )
        conn.execute("DELETE FROM changes WHERE generation <= ?", (generation - JOURNAL_KEEP,))
        return int(generation)

    # -------------------------------------------------------------------------------------------- checks
    def check(self) -> list[str]:
        """Integrity problems of the catalog itself ([] when healthy); see ``EventIndex.check``."""
        problems: list[str] = []
        with self._write_lock:  # the FTS5 integrity check is an INSERT: run it on the writer
            conn = self._writer
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if rows != ["ok"]:
                problems += [f"sqlite integrity_check: {r}" for r in rows]
            for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
                problems.append(f"foreign key: {table} row {rowid} points to a missing {parent} row")
            try:
                conn.execute("INSERT INTO events_fts (events_fts) VALUES ('integrity-check')")
            except sqlite3.DatabaseError as err:
                problems.append(f"keyword index (FTS5) is damaged: {err}; {_FTS_FIX}")
            (missing,) = conn.execute(
                "SELECT count(*) FROM events WHERE id NOT IN (SELECT id FROM events_fts_docsize)"
            ).fetchone()
            (extra,) = conn.execute(
                "SELECT count(*) FROM events_fts_docsize WHERE id NOT IN (SELECT id FROM events)"
            ).fetchone()
            if missing or extra:
                problems.append(
                    f"keyword index (FTS5) lacks {missing} events and lists {extra} deleted ones; {_FTS_FIX}"
                )
        with self._snapshot() as conn:
            problems += _check_vectors(conn)
        return problems


def _check_vectors(conn: sqlite3.Connection) -> list[str]:
    problems = []
    (orphans,) = conn.execute(
        "SELECT count(*) FROM vectors v LEFT JOIN events e ON e.id = v.event_id WHERE e.id IS NULL"
    ).fetchone()
    if orphans:
        problems.append(f"{orphans} vectors belong to no event")
    (bad,) = conn.execute("SELECT count(*) FROM vectors WHERE length(vec) != 4 * dim").fetchone()
    if bad:
        problems.append(f"{bad} vector blobs do not hold dim float32 values")
    stored = {(c, d): n for c, d, n in conn.execute("SELECT channel, dim, count(*) FROM vectors GROUP BY channel, dim")}
    listed = {(c, d): n for c, d, n in conn.execute("SELECT channel, dim, count FROM channels WHERE count > 0")}
    if stored != listed:
        problems.append(f"channel table {listed} disagrees with the stored vectors {stored} ((channel, dim): count)")
    rows = conn.execute(
        "SELECT e.video_id, v.channel, count(*), (SELECT count(*) FROM events e2 WHERE e2.video_id = e.video_id) "
        "FROM vectors v JOIN events e ON e.id = v.event_id GROUP BY e.video_id, v.channel"
    )
    for video_id, channel, n, total in rows:
        if n != total:
            problems.append(f"video {video_id}: {n} {channel!r} vectors for {total} events")
    return problems


def _check_video_input(
    video: VideoRecord,
    events: Sequence[Event],
    vectors: Mapping[str, np.ndarray],
    transcript: Sequence[TranscriptSegment],
) -> None:
    """Raise before any write when the pieces of a video do not fit together."""
    seen: set[int] = set()
    for ev in events:
        if ev.video_id != video.video_id:
            raise ValueError(f"event {ev.index} belongs to video {ev.video_id}, not to {video.video_id} being added")
        if ev.event_id is not None:
            raise ValueError(
                f"event {ev.index} of video {video.video_id} already has event_id {ev.event_id}; "
                "pass events with event_id=None (dataclasses.replace(ev, event_id=None))"
            )
        if ev.index in seen:
            raise ValueError(f"video {video.video_id} has two events with index {ev.index}")
        seen.add(ev.index)
    for seg in transcript:
        if seg.video_id != video.video_id:
            raise ValueError(f"a transcript segment belongs to video {seg.video_id}, not to {video.video_id}")
    for channel, vecs in vectors.items():
        check_vectors(channel, vecs, len(events), video.video_id)
        if vecs.dtype != np.float32:
            raise ValueError(f"channel {channel!r}: vectors must be float32 (unit rows), got {vecs.dtype}")


def _settings_json(video: VideoRecord) -> str:
    try:
        return json.dumps(dict(video.settings), sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"VideoRecord.settings of {video.video_id} must be JSON-serialisable: {err}") from err


def _split_sql(script: str) -> list[str]:
    """Statements of a schema script; trigger bodies (BEGIN ... END;) stay whole."""
    statements, current = [], []
    for line in script.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        current.append(line)
        text = "\n".join(current)
        if text.rstrip().endswith(";") and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    return statements
