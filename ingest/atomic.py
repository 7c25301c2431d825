"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Every write goes to a temporary file in the target's own directory (same file system), is fsynced,
then renamed over the target with ``os.replace``; a failure removes the temporary file and leaves the
target untouched. ``fsync_dir`` makes the renames themselves durable::

    >>> from pathlib import Path
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a" / "notes.json"
    >>> atomic_write_bytes(target, b"{}")
    >>> with atomic_path(target) as tmp:        # for libraries that write to a path themselves
    ...     tmp.write_bytes(b'{"x": 1}')
    8
    >>> target.read_bytes()
    b'{"x": 1}'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; when the block ends without error, fsync it and rename
    it over ``target``. Parent directories are created."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp makes 0600 files; keep the target's mode, or give a new file the usual 0644
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Replace ``target``'s content with ``data`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def fsync_dir(directory: str | Path) -> None:
    """Make renames inside ``directory`` durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
