"""A folder that indexes itself: new and changed videos are indexed once they stop growing.

``longvid watch DIR`` (and ``longvid serve --watch DIR``) runs a :class:`FolderWatcher`. It wakes on
file-system events (``watchfiles``; every ``poll_s`` seconds anyway, so network folders work too) and
hands a video to the indexer once its size and modification time have not changed for ``settle_s``
seconds: a copy in progress is waited for, not indexed half-written. Each (path, size, mtime) is handed
on once. After a restart every video is handed on again, and the batch job's skip logic (content hash)
makes the ones already indexed cost a hash. A failure is recorded in the catalog, as the batch job does.
A changed file that indexes as new content replaces the entry its path had before. A deleted file's
entry stays: it is still searchable by its transcript, text and overview (``longvid remove`` deletes it).

    >>> watcher = FolderWatcher("videos", index=print, settle_s=0)          # doctest: +SKIP
    >>> watcher.step()   # one look: hands on every settled, unseen video   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .jobs import discover

log = logging.getLogger(__name__)

SETTLE_S = 5.0  # a file unchanged this long is complete
POLL_S = 2.0  # look at least this often, events or not


class FolderWatcher:
    """Hands each settled new or changed video under ``folder`` to ``index(path)`` once."""

    def __init__(self, folder: str | Path, index: Callable[[Path], object], recursive: bool = False,
                 settle_s: float = SETTLE_S, poll_s: float = POLL_S):  # fmt: skip
        self.folder = Path(folder).expanduser().resolve()
        if not self.folder.is_dir():
            raise NotADirectoryError(f"{folder}: not a folder to watch")
        self.index, self.recursive, self.settle_s, self.poll_s = index, recursive, settle_s, poll_s
        self._seen: dict[Path, tuple[int, int, float]] = {}  # path -> (size, mtime_ns, when that was first seen)
        self._handed: dict[Path, tuple[int, int]] = {}  # path -> the (size, mtime_ns) handed on

    def step(self, now: float | None = None) -> list[Path]:
        """Look once; hand on (and return) the videos that settled since the last look."""
        now = time.monotonic() if now is None else now
        ready = []
        present = set()
        for path in discover([self.folder], self.recursive):
            try:
                stat = path.stat()
            except OSError:  # gone between the listing and now
                continue
            present.add(path)
            state = (stat.st_size, stat.st_mtime_ns)
            seen = self._seen.get(path)
            if seen is None or seen[:2] != state:
                self._seen[path] = (*state, now)  # new or still changing: the settling clock starts again
                continue
            if self._handed.get(path) != state and now - seen[2] >= self.settle_s and stat.st_size > 0:
                self._handed[path] = state
                ready.append(path)
        for path in set(self._seen) - present:
            del self._seen[path]
            self._handed.pop(path, None)
        for path in ready:
            log.info("watch: %s settled; indexing", path)
            self.index(path)
        return ready

    def run(self, stop: threading.Event) -> None:
        """Look on every file-system event and every ``poll_s`` seconds until ``stop`` is set (Ctrl-C, in the
        main thread, raises ``KeyboardInterrupt`` as usual)."""
        import watchfiles

        self.step()
        wait_ms = round(self.poll_s * 1000)
        events = watchfiles.watch(self.folder, recursive=self.recursive, stop_event=stop, yield_on_timeout=True,
                                  rust_timeout=wait_ms, debounce=wait_ms // 2)  # fmt: skip
        for _ in events:
            self.step()
            if stop.is_set():
                break
