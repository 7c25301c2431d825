"""Batch indexing: many files or folders into one library, resumable, with bounded retries.

``run_index_job(library, ["talks/", "extra.mp4"], recursive=True)`` indexes every video it finds, one
at a time, and returns one :class:`JobResult` per file:

* files already in the library (by content) are skipped, so a killed job simply runs again and carries
  on where it stopped — each video enters the catalog in one transaction, never half;
* bad input (:class:`~longvid.ingest.errors.MediaError`: not a video, truncated, no video stream, over a
  limit) fails at once, since trying again cannot help; other I/O or runtime errors are retried up to
  ``retries`` times;
* every failure is recorded in the catalog with its reason (``EventIndex.failures()``) and cleared when
  the file later succeeds; the job carries on with the next file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from longvid.ingest import MediaError

from .library import Library

log = logging.getLogger(__name__)

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
    show_progress: bool = False,
) -> list[JobResult]:
    """Index every video under ``paths`` into ``library``; see the module docstring."""
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    files = discover(paths, recursive)
    results = []
    with tqdm(total=len(files), unit="video", desc="index job", disable=not show_progress) as bar:
        for path in files:
            results.append(_index_one(library, path, retries))
            bar.update(1)
    return results


def _index_one(library: Library, path: Path, retries: int) -> JobResult:
    start = time.perf_counter()
    reason = ""
    for attempt in range(1, retries + 2):
        try:
            result = library.add(path)
        except MediaError as err:  # bad input: the same next time
            reason = str(err)
            break
        except (OSError, RuntimeError) as err:
            reason = f"{path}: {type(err).__name__}: {err}"
            log.warning("attempt %d of %d failed: %s", attempt, retries + 1, reason)
            continue
        library.index.clear_failure(str(path))
        return JobResult(path, result.status, result.video_id, result.events, attempt, time.perf_counter() - start)
    library.index.record_failure(str(path), reason, attempt)
    return JobResult(path, "failed", None, 0, attempt, time.perf_counter() - start, reason)


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
