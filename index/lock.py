"""The library's writer lock: one writer at a time across threads and processes; readers never take it.

SQLite already serialises single transactions, but storing a video is more than one: "is this content
already here?", thumbnails, then the catalog transaction. Two ``longvid index`` processes given the same
file would both see "not here" and the second would fail on insert. Holding this lock (``fcntl.flock`` on
``LIBRARY/.writer.lock``, plus a thread lock so it is re-entrant within a process) across the whole step
makes it atomic. Searches read SQLite in WAL mode and never wait for it::

    >>> lock = WriterLock(Path(tempfile.mkdtemp()) / ".writer.lock")   # doctest: +SKIP
    >>> with lock, lock:          # re-entrant in one process
    ...     pass
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path


class WriterLock:
    """A re-entrant, inter-process exclusive lock on one file (released if the holder dies)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> WriterLock:
        self._thread_lock.acquire()
        if self._depth == 0:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # the kernel drops it when the process dies, even by SIGKILL
            except BaseException:
                os.close(fd)
                self._thread_lock.release()
                raise
            self._fd = fd
        self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._thread_lock.release()
