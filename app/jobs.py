"""Batch indexing: many files or folders into one library, resumable, with bounded retries.

``run_index_job(library, ["talks/", "extra.mp4"], recursive=True)`` indexes every video it finds, one
at a time, and returns one :class:`JobResult` per file:

* files already in the library (by content) are skipped, so a killed job simply runs again and carries
  on where it stopped — each video enters the catalog in one transaction, never half;
* bad input (:class:`~longvid.ingest.errors.MediaError`: not a video, truncated, no video stream, over a
  limit) fails at once, since trying again cannot help; other I/O or runtime errors are retried up to
  ``retries`` times;
* every failure is recorded in the catalog with its reason (``EventIndex.failures()``) and cleared when
  the file later succeeds; the job carries on with the next file;
* ``workers > 1`` builds videos in that many processes (each loads the profile's models once and gets its
  share of the cores) while this process stays the library's single writer, storing each result as it
  arrives; with fewer videos to build than workers, each is split into time chunks on the workers
  (:func:`~longvid.app.pipeline.chunk_spans`, chunks of at least 10 minutes) and joined here into what
  one worker would have built (:meth:`~longvid.app.pipeline.Indexer.join`);
* ``ray="auto"`` (a running cluster), ``ray="local"`` (start one here) or ``ray="ray://host:10001"``
  builds them on ``workers`` Ray actors instead, still storing every result from this process.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from longvid.ingest import MediaError, MediaLimits, TimeSpan, VideoAsset, open_video
from longvid.ingest.cpu import available_cores

from .library import AddResult, Library
from .pipeline import BuiltVideo, Chunk, Progress

log = logging.getLogger(__name__)

RETRYABLE = (OSError, RuntimeError)  # errors worth another attempt (I/O, a worker's crash); not bad input

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".m2ts", ".flv", ".wmv", ".3gp"}
)


@dataclass(frozen=True)
class JobResult:
    path: Path
    status: str  # "indexed", "skipped" (already in the library) or "failed"
    video_id: str | None
    events: int
    attempts: int
    seconds: float  # wall time spent on this file
    reason: str = ""  # why it failed


def discover(paths: Iterable[str | Path], recursive: bool = False) -> list[Path]:
    """Video files named by ``paths``: files as given (any suffix), folders searched for known video
    suffixes (``recursive``: in subfolders too). Sorted, without duplicates; missing paths are kept so
    that they fail with a clear error."""
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            pattern = path.rglob("*") if recursive else path.glob("*")
            for candidate in sorted(pattern):
                if candidate.is_file() and candidate.suffix.lower() in VIDEO_SUFFIXES:
                    found.setdefault(candidate.resolve())
        else:
            found.setdefault(path.resolve() if path.exists() else path)
    return list(found)


def run_index_job(
    library: Library,
    paths: Sequence[str | Path],
    recursive: bool = False,
    retries: int = 1,
    workers: int = 1,
    show_progress: bool = False,
    ray: str | None = None,
) -> list[JobResult]:
    """Index every video under ``paths`` into ``library``; see the module docstring. Results come in
    the order of the files."""
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    files = discover(paths, recursive)
    with tqdm(total=len(files), unit="video", desc="index job", disable=not show_progress) as bar:
        if workers == 1 and ray is None:
            results = []
            for path in files:
                results.append(index_file(library, path, retries))
                bar.update(1)
            return results
        return _index_parallel(library, files, retries, workers, bar, ray)


def _index_parallel(
    library: Library, files: list[Path], retries: int, workers: int, bar: tqdm, ray: str | None
) -> list[JobResult]:
    results: dict[Path, JobResult] = {}
    started = {path: time.perf_counter() for path in files}
    todo: dict[Path, VideoAsset] = {}  # probed and hashed here once; workers build from the asset
    for path in files:  # what is already in the library is skipped here, before any worker starts on it
        try:
            asset = open_video(path, library.limits)
        except MediaError as err:
            results[path] = _failed(library, path, str(err), 1, started[path])
            bar.update(1)
            continue
        skipped = library.skipped(asset.video_id, path)
        if skipped is not None:
            results[path] = JobResult(path, "skipped", skipped.video_id, skipped.events, 1, 0.0)
            bar.update(1)
        else:
            todo[path] = asset
    if todo:
        parts = workers if len(todo) < workers else 1  # too few videos to keep the workers busy: split them
        plan = {path: _spans(library.indexer.chunks(asset, parts)) for path, asset in todo.items()}
        chunks: dict[Path, list[Chunk]] = {path: [] for path in todo}
        cores = None if ray not in (None, "local") else max(1, available_cores() // workers)
        with _executor(workers, (library.profile.to_dict(), library.limits, cores), ray) as pool:
            attempts = dict.fromkeys(todo, 1)
            pending = {pool.submit(_in_worker, todo[path], span): (path, span) for path in todo for span in plan[path]}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    path, span = pending.pop(future)
                    if path in results:
                        continue  # another chunk of this file failed for good
                    try:
                        made = future.result()
                    except (MediaError, *RETRYABLE) as err:
                        again, reason = _verdict(path, err, attempts[path], retries)
                        if again:
                            attempts[path] += 1
                            pending[pool.submit(_in_worker, todo[path], span)] = (path, span)
                            continue
                        results[path] = _failed(library, path, reason, attempts[path], started[path])
                        bar.update(1)
                        continue
                    if span is not None:
                        chunks[path].append(made)
                        if len(chunks[path]) < len(plan[path]):
                            continue
                        made = library.indexer.join(todo[path], chunks.pop(path))
                    results[path] = _indexed(library, path, library.store(made), attempts[path], started[path])
                    bar.update(1)
    return [results[path] for path in files]


def _spans(chunks: list[TimeSpan]) -> list[TimeSpan | None]:
    """What the workers build of a video cut into ``chunks`` (``[None]``: the whole video in one worker)."""
    return [None] if len(chunks) == 1 else list(chunks)


def _verdict(path: Path, err: Exception, attempt: int, retries: int) -> tuple[bool, str]:
    """Whether a failed attempt is made again, and the reason to record: bad input (a ``MediaError``)
    fails the same every time, so never; I/O and runtime errors are retried up to ``retries`` times."""
    if isinstance(err, MediaError):
        return False, str(err)
    reason = f"{path}: {type(err).__name__}: {err}"
    again = attempt <= retries
    if again:
        log.warning("attempt %d of %d failed: %s", attempt, retries + 1, reason)
    return again, reason


def _indexed(library: Library, path: Path, added: AddResult, attempts: int, started: float) -> JobResult:
    library.index.clear_failure(str(path))
    return JobResult(path, added.status, added.video_id, added.events, attempts, time.perf_counter() - started)


def _failed(library: Library, path: Path, reason: str, attempts: int, started: float) -> JobResult:
    library.index.record_failure(str(path), reason, attempts)
    return JobResult(path, "failed", None, 0, attempts, time.perf_counter() - started, reason)


def _executor(workers: int, init: tuple, ray: str | None):
    """Where videos are built: a pool of spawned processes, or Ray actors (both give Futures)."""
    if ray is None:
        context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked model or thread state
        return ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=init)
    return RayBuilders(workers, init, ray)


class RayBuilders:
    """``workers`` Ray actors that each hold an Indexer; ``submit`` hands the work out round robin."""

    def __init__(self, workers: int, init: tuple, address: str):
        import ray

        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            local = address == "local"
            ray.init(address=None if local else address, num_cpus=workers if local else None,
                     include_dashboard=False, log_to_driver=False)  # fmt: skip
        builder = ray.remote(_RayBuilder)
        self._actors = [builder.remote(*init) for _ in range(workers)]
        self._next = 0

    def submit(self, fn: Callable, *args):
        actor = self._actors[self._next % len(self._actors)]
        self._next += 1
        return actor.run.remote(fn, *args).future()

    def __enter__(self) -> RayBuilders:
        return self

    def __exit__(self, *exc) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        if self._started:
            self._ray.shutdown()


class _RayBuilder:
    """A Ray actor: the profile's models, loaded once, running one build (of a video or a chunk) per call."""

    def __init__(self, profile: dict, limits: MediaLimits, cores: int | None) -> None:
        _init_worker(profile, limits, cores)

    def run(self, fn: Callable, *args):
        return fn(*args)


_WORKER: dict = {}  # per worker process: its Indexer (models loaded once)


def _init_worker(profile: dict, limits: MediaLimits, cores: int | None) -> None:
    from .pipeline import Indexer
    from .profiles import profile_from_dict

    _WORKER["indexer"] = Indexer(profile_from_dict(profile), limits=limits, cores=cores)


def _in_worker(asset: VideoAsset, span: TimeSpan | None) -> BuiltVideo | Chunk:
    """Build a video the job already probed (the parent checks for duplicates again when storing), or one
    chunk of it (``span``; the parent joins the chunks)."""
    indexer = _WORKER["indexer"]
    return indexer.build(asset) if span is None else indexer.build_chunk(asset, span)


def index_file(library: Library, path: Path, retries: int, on_progress: Progress | None = None) -> JobResult:
    """Index one file as the batch job does: skipped when its content is in the library, bad input failed at
    once, I/O and runtime errors retried ``retries`` times, a failure recorded in the catalog (and cleared
    by a later success)."""
    start = time.perf_counter()
    for attempt in itertools.count(1):
        try:
            added = library.add(path, on_progress=on_progress)
        except (MediaError, *RETRYABLE) as err:
            again, reason = _verdict(path, err, attempt, retries)
            if not again:
                return _failed(library, path, reason, attempt, start)
        else:
            return _indexed(library, path, added, attempt, start)
    raise AssertionError  # itertools.count never ends


@dataclass
class QueuedJob:
    """One video waiting in or going through an :class:`IndexQueue`; ``progress`` runs from 0 to 1 over
    decoding, speech and storing (:meth:`~longvid.app.pipeline.Indexer.build`)."""

    id: str
    path: str
    state: str = "queued"  # "queued", "running", "done" or "failed"
    stage: str = ""
    progress: float = 0.0
    video_id: str | None = None
    status: str | None = None  # "indexed" or "skipped" when done
    events: int | None = None
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None


class IndexQueue:
    """Videos indexed one at a time on a worker thread, as the batch job indexes each file (retries,
    failures recorded in the catalog): the single writer of a serving process (API jobs, a watched folder).

    >>> with Library("LIBRARY") as lib:                                        # doctest: +SKIP
    ...     jobs = IndexQueue(lib)
    ...     job = jobs.submit("talk.mp4")
    ...     jobs.wait(job.id); jobs.get(job.id).state
    'done'
    """

    def __init__(self, library: Library, retries: int = 1):
        self.library, self.retries = library, retries
        self._jobs: dict[str, QueuedJob] = {}
        self._done = threading.Condition()
        self._queue: queue.Queue[QueuedJob | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="longvid-index-queue", daemon=True)
        self._thread.start()

    def submit(self, path: str | Path) -> QueuedJob:
        job = QueuedJob(uuid.uuid4().hex[:12], str(path))
        with self._done:
            self._jobs[job.id] = job
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> QueuedJob | None:
        with self._done:
            return self._jobs.get(job_id)

    def wait(self, job_id: str, timeout_s: float | None = None) -> bool:
        """Whether the job finished (done or failed) within ``timeout_s``."""
        with self._done:
            return self._done.wait_for(lambda: self._jobs[job_id].finished_at is not None, timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop after the video being indexed (queued ones are dropped: a restart finds them again)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            job.state = "running"

            def report(stage: str, fraction: float, job: QueuedJob = job) -> None:
                job.stage, job.progress = stage, round(min(max(fraction, 0.0), 1.0), 3)

            try:
                result = index_file(self.library, Path(job.path), self.retries, report)
            except Exception as err:  # the worker outlives one bad video (not bad input: that is a result)
                log.exception("indexing %s failed", job.path)
                result = JobResult(Path(job.path), "failed", None, 0, 1, 0.0, f"{type(err).__name__}: {err}")
            with self._done:
                if result.status == "failed":
                    job.state, job.error = "failed", result.reason
                else:
                    job.state, job.stage, job.progress = "done", "done", 1.0
                    job.video_id, job.status, job.events = result.video_id, result.status, result.events
                job.finished_at = time.time()
                self._done.notify_all()


def summary_table(results: Sequence[JobResult]) -> str:
    """A plain-text table of a job's results and a closing count line."""
    rows = [("status", "events", "tries", "seconds", "file")]
    rows += [(r.status, str(r.events), str(r.attempts), f"{r.seconds:.1f}", r.path.name) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4] for row in rows]
    counts = {s: sum(r.status == s for r in results) for s in ("indexed", "skipped", "failed")}
    lines.append(f"{counts['indexed']} indexed, {counts['skipped']} skipped, {counts['failed']} failed")
    lines += [f"  failed: {r.reason}" for r in results if r.status == "failed"]
    return "\n".join(lines)
