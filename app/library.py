"""The Python query API: a library directory of indexed videos you add to and search.

    >>> from longvid.app import Library
    >>> with Library("my-library", profile="embedded") as lib:          # doctest: +SKIP
    ...     lib.add("talk.mp4", progress=True)
    ...     for hit in lib.search("when do they mention the budget?", k=3):
    ...         print(f"{hit.start_s:7.1f}-{hit.end_s:7.1f}  {hit.score:.3f}  {hit.snippet[:60]}")

Adding is idempotent and keyed by content: the same bytes under another name are not indexed twice.
Each video goes into the catalog in one transaction after all its work is done, so an interrupted
``add`` leaves no trace and simply runs again; thumbnails are written (atomically) before the catalog
entry that points at them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from longvid.encoders.frames import frame_encoder_class
from longvid.index import CatalogError, EventIndex, Hits, RetrievalConfig, UnknownVideoError
from longvid.index.records import ChannelMatch, Chapter, Event, Hit, Overview, VideoRecord
from longvid.ingest import FrameBatch, LongvidError, MediaLimits, TimeSpan, open_video
from longvid.ingest.atomic import atomic_write_bytes
from longvid.llm import NO_MATCH, Answer, AnswerBackend, BackendOptions, Evidence, create_backend
from longvid.llm.planner import Planner

from .clips import ClipError, ClipResult, export_clip, export_reel
from .memory import build_overview, context_text
from .operations import run_plan, span_events
from .pipeline import BuiltVideo, Indexer, Progress
from .profiles import Profile, ProfileError, load_profile, profile_from_dict

log = logging.getLogger(__name__)

PROFILE_FILE = "profile.json"  # the profile the library was built with


MAX_CONTEXT_VIDEOS = 3  # videos whose overview and chapters an answer backend reads before the moments


class QueryError(LongvidError, ValueError):
    """A query or question that cannot be asked (empty)."""


@dataclass(frozen=True)
class AddResult:
    video_id: str
    path: Path
    status: str  # "indexed" or "skipped" (already in the library)
    events: int  # events the video has in the library
    built: BuiltVideo | None = None  # what indexing produced (None when skipped)


@dataclass(frozen=True)
class SearchHit:
    """One moment that matches a query: where it is, how well it matched, and what it shows."""

    video_id: str
    path: str  # the video file as it was when indexed
    start_s: float
    end_s: float
    score: float  # fused reciprocal-rank score (higher is better; comparable within one search)
    snippet: str  # what was said / written / shown there, around the match
    thumbnail: Path | None  # JPEG of the moment's keyframe
    matches: tuple[ChannelMatch, ...]  # which channels found it and why
    event: Event

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(m.channel for m in self.matches)


class Library:
    """A library directory: catalog + vectors (``longvid.index``) + thumbnails, and the models to fill it."""

    def __init__(
        self,
        path: str | Path,
        profile: str | Path | Profile | None = None,
        limits: MediaLimits | None = None,
        show_progress: bool = False,
    ):
        self.root = Path(path)
        self.profile = self._settle_profile(profile)
        self.limits = limits or MediaLimits()
        self.index = EventIndex(self.root, retrieval_config=RetrievalConfig(floors=self.profile.search.floors()))
        self.indexer = Indexer(self.profile, show_progress=show_progress, limits=self.limits)

    def _settle_profile(self, requested: str | Path | Profile | None) -> Profile:
        """The library keeps the profile it was built with; search must embed queries the same way."""
        stored = self.root / PROFILE_FILE
        built_with = profile_from_dict(json.loads(stored.read_text())) if stored.exists() else None
        if requested is None:
            return built_with or load_profile("auto")
        profile = requested if isinstance(requested, Profile) else load_profile(requested)
        if built_with is not None and _models(profile) != _models(built_with):
            raise ProfileError(
                f"{self.root} was built with profile {built_with.name!r} {_models(built_with)}, not"
                f" {profile.name!r} {_models(profile)}; open it without a profile, or use a new library"
            )
        return profile

    def record_profile(self) -> None:
        """Write ``profile.json`` unless present; writers that bypass :meth:`store` (benchmarks) call it."""
        stored = self.root / PROFILE_FILE
        if not stored.exists():
            atomic_write_bytes(stored, json.dumps(self.profile.to_dict(), indent=2).encode())

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.index.close()

    def add(
        self, video_path: str | Path, progress: bool | None = None, on_progress: Progress | None = None
    ) -> AddResult:
        """Index one video (a no-op when its content is already in the library); ``progress`` turns the
        progress bars on or off, ``on_progress(stage, fraction)`` hears how far it is (see
        :meth:`Indexer.build`)."""
        if progress is not None:
            self.indexer.show_progress = progress
        asset = open_video(video_path, self.limits)
        return self.skipped(asset.video_id, asset.path) or self.store(self.indexer.build(asset, on_progress))

    def skipped(self, video_id: str, path: Path) -> AddResult | None:
        """The "skipped" result when ``video_id`` is already in the library, else None."""
        if not self.index.has_video(video_id):
            return None
        log.info("%s is already indexed as %s", path.name, video_id)
        return AddResult(video_id, path, "skipped", len(self.index.events(video_id)))

    def store(self, built: BuiltVideo) -> AddResult:
        """Write what the pipeline built for one video (thumbnails, then one catalog transaction).

        This is the library's only writer: batch workers build in parallel and hand their results here;
        across processes the index's writer lock makes "not here yet? then store it" one atomic step.
        """
        path = Path(built.video.path)
        with self.index.writer:  # other processes may be storing the same content right now
            already = self.skipped(built.video.video_id, path)  # the same content may have been built twice
            if already is not None:
                return already
            self.record_profile()
            self._write_thumbnails(built.video.video_id, built.thumbnails)
            self.index.add_video(built.video, built.events, built.vectors, built.transcript, built.overview)
            for old in self.index.videos():  # the file at this path was another content before: that entry's
                if old.video_id != built.video.video_id and _same_file(old.path, path):  # moments are gone
                    log.info("%s changed: its entry %s is replaced by %s", path, old.video_id, built.video.video_id)
                    self.remove(old.video_id)
        return AddResult(built.video.video_id, path, "indexed", len(built.events), built)

    def check(self, repair: bool = False) -> list[str]:
        """Integrity problems, [] when healthy: the index's checks (SQLite integrity, every vector id maps
        to an event and back, FAISS vs catalog) plus files no catalog entry explains: thumbnail folders of
        unknown videos and temporary files left by writes a crash cut short. ``repair`` deletes those
        files, holding the writer and FAISS locks so that no write in progress loses its file; it never
        touches the catalog (FAISS caches rebuild themselves)."""
        problems = self.index.check()
        with contextlib.ExitStack() as locks:
            if repair:
                locks.enter_context(self.index.writer)
                locks.enter_context(self.index.vectors.file_lock())
            for path, what in self._orphans():
                problems.append(f"{path.relative_to(self.root)}: {what}" + (" (removed)" if repair else ""))
                if repair:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        return problems

    def _orphans(self) -> list[tuple[Path, str]]:
        known = {v.video_id for v in self.videos()}
        thumbs = self.root / "thumbs"
        dirs = [d for d in sorted(thumbs.iterdir()) if d.is_dir() and d.name not in known] if thumbs.exists() else []
        # only where writers hold the locks check(repair=True) takes (not tokens/: answers write there)
        temps = sorted(p for p in [*self.root.glob(".*.tmp"), *self.root.glob("thumbs/**/.*.tmp"),
                                   *self.root.glob("vectors/.*.tmp")]
                       if p.is_file() and not any(p.is_relative_to(d) for d in dirs))  # fmt: skip
        return [(d, "thumbnails of a video not in the catalog") for d in dirs] + [
            (t, "temporary file of a write cut short") for t in temps
        ]

    def videos(self) -> list[VideoRecord]:
        return self.index.videos()

    def video(self, ref: str) -> VideoRecord:
        """The video ``ref`` names: its id, a unique id prefix (4+ characters), its path or its file name.

        Raises :class:`~longvid.index.UnknownVideoError` naming what was tried.
        """
        record = self.index.video(ref)
        if record is not None:
            return record
        videos = self.videos()
        for test in (lambda v: len(ref) >= 4 and v.video_id.startswith(ref), lambda v: v.path == ref,
                     lambda v: Path(v.path).name == ref):  # fmt: skip
            found = [v for v in videos if test(v)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise UnknownVideoError(f"{ref!r} names {len(found)} videos; give its id")
        raise UnknownVideoError(
            f"no video {ref!r} in {self.root} (give an id, a path or a file name; see longvid search)"
        )

    def overview(self, video: str) -> Overview:
        """The video's overview: central sentences, chapters, what is on screen most, speech share.

        Libraries indexed before chapters existed get them here, once (built from the stored events,
        their text vectors and the transcript, then stored).
        """
        record = self.video(video)
        stored = self.index.overview(record.video_id)
        if stored is not None:
            return stored
        events = self.index.events(record.video_id)
        ids, vectors = self.index.catalog.load_vectors("text", [e.event_id for e in events])
        row = {int(i): n for n, i in enumerate(ids)}
        if len(row) != len(events):
            raise CatalogError(f"video {record.video_id}: {len(events)} events but {len(row)} text vectors")
        vectors = vectors[[row[e.event_id] for e in events]]  # (events, D), event order
        built = build_overview(record.video_id, record.duration_s, events, vectors,
                               self.index.transcript(record.video_id), self.indexer.text_embedder.embed,
                               self.profile.memory)  # fmt: skip
        self.index.set_overview(record.video_id, built)
        log.info("%s: built %d chapters (the library predates them)", record.path, len(built.chapters))
        return built

    def search_chapters(self, query: str, k: int = 3, video: str | None = None) -> list[tuple[Chapter, float]]:
        """Chapters matching a broad ``query`` (their titles and summaries, by words and by meaning)."""
        if not query.strip():
            raise QueryError("the query is empty; type what you are looking for")
        record = self.video(video) if video else None
        vector = self.indexer.text_embedder.embed([query])[0]
        return self.index.search_chapters(query, vector, k, record.video_id if record else None)

    def chapters(self, video: str) -> tuple[Chapter, ...]:
        """The video's chapters in time order (see :meth:`overview`)."""
        return self.overview(video).chapters

    def search(self, query: str, k: int = 10, video: str | None = None, time_range: TimeSpan | None = None) -> Hits:
        """Moments matching ``query`` across the library (or one ``video`` id), best first: a list of
        :class:`SearchHit`; empty, with the reason in ``.reason``, when nothing clears the profile's
        confidence floors ("no confident match for ...")."""
        if not query.strip():
            raise QueryError("the query is empty; type what you are looking for")
        vectors = {"text": self.indexer.text_embedder.embed([query])[0]}
        if frame_encoder_class(self.profile.frames.encoder).text_aligned:  # without loading the model
            vectors["frames"] = self.indexer.frame_encoder.embed_text([query])[0]
        hits = self.index.search(query, vectors, k=k, video_id=video, time_range=time_range)
        return Hits([self._to_search_hit(hit) for hit in hits], hits.reason)

    def search_image(self, image: str | Path | np.ndarray, k: int = 10, video: str | None = None) -> Hits:
        """Moments that look like ``image`` (a file Pillow reads, or an ``(H, W, 3)`` uint8 RGB array), by
        cosine of the frame encoder's features against the ones stored per moment (no floor: the nearest
        moments are what was asked for)."""
        pixels = _image_pixels(image)
        if "frames" not in self.index.catalog.channel_dims():
            raise QueryError(f"{self.root} holds no frame vectors (indexed by an older longvid): re-index its videos "
                             "into a new library to search by image")  # fmt: skip
        batch = FrameBatch("query", np.zeros(1), pixels[None])
        vector = self.indexer.frame_encoder.encode(batch).embeddings[0]  # (D,)
        record = self.video(video) if video else None
        hits = self.index.search("", {"frames": vector}, k=k, video_id=record.video_id if record else None, floors={})
        return Hits([self._to_search_hit(hit) for hit in hits], hits.reason)

    def warm(self) -> None:
        """Load what a question needs (the text model, the planner's examples, the vector files) now, so that
        a server's first question is as fast as the next."""
        self.planner.plan("what is this about")
        if self.videos():
            self.search("warm up", k=1)

    @functools.cached_property
    def planner(self) -> Planner:
        """Turns questions into plans (grammar, then nearest example questions embedded by the text model)."""
        return Planner(self.indexer.text_embedder.embed)

    def ask(self, question: str, video: str | None = None, time_range: TimeSpan | None = None) -> Answer:
        """Answer ``question`` about the library (or one ``video`` id), citing the moments it rests on;
        ``time_range`` keeps a lookup inside that span (the operations take their span from the question).
        A cited video whose source file is gone is still answered from the index, and the answer says so.

        The question first becomes a :class:`~longvid.llm.planner.Plan` (``Answer.plan``): counts, first /
        last / every occurrence, a time span, what comes before or after something, an overview, or across
        videos are answered from the memory (:mod:`longvid.app.operations`); anything else is a lookup:
        retrieval picks ``profile.answer.moments`` moments and the profile's answer backend reads them.
        """
        if not question.strip():
            raise QueryError("the question is empty; ask something about the videos")
        answer = self._ask(question, video, time_range)
        gone = sorted({c.path for c in answer.citations if c.path and not Path(c.path).is_file()})
        if not gone:
            return answer
        notes = "".join(f"\n(the source file is missing: {path}; answered from the index)" for path in gone)
        return dataclasses.replace(answer, text=answer.text + notes)

    def _ask(self, question: str, video: str | None, time_range: TimeSpan | None) -> Answer:
        record = self.video(video) if video else None
        videos = [record] if record else self.videos()
        plan = self.planner.plan(question, videos[0].duration_s if len(videos) == 1 else None)
        log.info("plan: %s", plan.describe())
        if plan.kind == "at_time" and self.answerer.name != "extractive" and len(videos) == 1:
            span, events = span_events(self, plan, videos[0])  # a generative backend reads (only) the span
            if span is not None and events:
                scores = dict.fromkeys((e.event_id for e in events), 1.0)
                return dataclasses.replace(self._answer(question, events, scores, videos[0].path), plan=plan)
        if plan.kind != "lookup":
            return run_plan(self, plan, record)
        only = record or (videos[0] if len(videos) == 1 else None)  # a one-video library: that video
        return dataclasses.replace(self._lookup(question, only.video_id if only else None, time_range), plan=plan)

    def _lookup(self, question: str, video: str | None, time_range: TimeSpan | None = None) -> Answer:
        cfg = self.profile.answer
        hits = self.search(question, k=cfg.moments, video=video, time_range=time_range)
        scores = {h.event.event_id: h.score for h in hits}
        record = self.index.video(video) if video else None
        short = record is not None and record.duration_s <= cfg.whole_video_s and time_range is None
        if not hits and not (short and self.answerer.name != "extractive"):  # a model may still read a short video
            return Answer(f"{NO_MATCH} ({hits.reason})" if hits.reason else NO_MATCH, (), cfg.backend)
        if short:
            events = self.index.events(video)  # short: the whole video, retrieval only weighs it
            path = record.path
        else:
            events = [h.event for h in hits]
            path = None
        paths = {h.video_id: h.path for h in hits}
        return self._answer(question, events, scores, path, paths)

    def _answer(self, question: str, events: list[Event], scores: dict[int | None, float], path: str | None,
                paths: dict[str, str] | None = None) -> Answer:  # fmt: skip
        """The profile's backend on ``events`` (scored), after the overviews of their videos (coarse level)."""
        paths = paths or {}
        evidence = [
            Evidence(e.video_id, path or paths[e.video_id], e.span, e.transcript, e.ocr_text, e.shown,
                     scores.get(e.event_id, 0.0))
            for e in events
        ]  # fmt: skip
        context = ""
        if self.answerer.reads_context:  # the overviews of the moments' videos: the prompt's coarse level
            videos = list(dict.fromkeys(e.video_id for e in evidence))[:MAX_CONTEXT_VIDEOS]
            context = "\n".join(context_text(self.overview(v), Path(paths.get(v) or path or v).name) for v in videos)
        return self.answerer.answer(question, evidence, context)

    @functools.cached_property
    def answerer(self) -> AnswerBackend:
        """The profile's answer backend, built on first use (assignable, e.g. to inject a model)."""
        cfg = self.profile.answer
        options = BackendOptions(
            model=cfg.model,
            device=self.profile.device,
            token_budget=cfg.token_budget,
            tokens_per_frame=cfg.tokens_per_frame,
            fps=cfg.fps,
            cache_dir=self.root / "tokens",
        )
        return create_backend(cfg.backend, options)

    def export_clip(self, video_ref: str, start_s: float, end_s: float, out: str | Path, subtitles: bool = False,
                    burn: bool = False) -> ClipResult:  # fmt: skip
        """Cut ``start_s``–``end_s`` of the video ``video_ref`` names (see :meth:`video`) from its file into
        ``out`` (see :func:`~longvid.app.clips.export_clip`). ``subtitles`` adds its stored transcript as a
        subtitle stream; ``burn`` draws it into the picture instead. Raises :class:`~longvid.app.clips.ClipError`
        when the file it was indexed from is gone."""
        record, source = self._source_file(video_ref)
        transcript = self.index.transcript(record.video_id) if subtitles or burn else None
        return export_clip(source, start_s, end_s, out, subtitles=transcript, burn=burn)

    def export_answer(self, answer: Answer, out: str | Path, title_cards: bool = True) -> ClipResult:
        """A highlight reel of the moments ``answer`` cites, in its order, each after a title card unless
        ``title_cards`` is False (see :func:`~longvid.app.clips.export_reel`)."""
        if not answer.citations:
            raise ClipError(f"the answer cites no moment, so there is no reel to write to {out}")
        moments = [(self._source_file(c.video_id)[1], c.start_s, c.end_s) for c in answer.citations]
        return export_reel(moments, out, title_cards=title_cards)

    def _source_file(self, video_ref: str) -> tuple[VideoRecord, Path]:
        """The video ``video_ref`` names and the file it was indexed from, which must still be there."""
        record = self.video(video_ref)
        path = Path(record.path)
        if not path.is_file():
            raise ClipError(f"video {record.video_id} ({path.name}) cannot be cut: the source file is missing: "
                            f"{path} (put it back, or index it where it is now)")  # fmt: skip
        return record, path

    def remove(self, video: str) -> VideoRecord:
        """Delete ``video`` (an id, id prefix, path or file name) from the library: its catalog entry (events,
        transcript, vectors, chapters), its thumbnails and cached visual tokens. The source file is not touched."""
        record = self.video(video)
        self.index.remove_video(record.video_id)
        for folder in (self.root / "thumbs" / record.video_id, self.root / "tokens" / record.video_id):
            shutil.rmtree(folder, ignore_errors=True)
        log.info("removed %s (%s)", record.path, record.video_id)
        return record

    def thumbnail_path(self, video_id: str, event_index: int) -> Path:
        return self.root / "thumbs" / video_id / f"{event_index:05d}.jpg"

    def _to_search_hit(self, hit: Hit) -> SearchHit:
        record = self.index.video(hit.video_id)
        thumb = self.thumbnail_path(hit.video_id, hit.event.index)
        return SearchHit(
            video_id=hit.video_id,
            path=record.path if record else "",
            start_s=hit.span.start_s,
            end_s=hit.span.end_s,
            score=hit.score,
            snippet=hit.snippet,
            thumbnail=thumb if thumb.exists() else None,
            matches=hit.matches,
            event=hit.event,
        )

    def _write_thumbnails(self, video_id: str, thumbnails: dict[int, bytes]) -> None:
        for index, data in thumbnails.items():
            atomic_write_bytes(self.thumbnail_path(video_id, index), data)


def _same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same place (relative ones resolved against the current folder)."""
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _image_pixels(image: str | Path | np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB from a picture file or an array; a clear error for anything else."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise QueryError(f"the image array must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        return np.ascontiguousarray(image)
    from PIL import Image, UnidentifiedImageError

    path = Path(image)
    try:
        with Image.open(path) as picture:
            return np.array(picture.convert("RGB"))  # a writable copy
    except FileNotFoundError:
        raise QueryError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError) as err:
        raise QueryError(f"{path}: not a picture Pillow can read ({err})") from None


def _models(profile: Profile) -> tuple[str, str]:
    """What must not change within one library: the embedding models."""
    return profile.frames.encoder, profile.text.model
