"""Locate and run the ffmpeg command-line binary.

longvid decodes through libraries (PyAV, decord) and never needs ffmpeg or ffprobe on PATH; the binary
is used to *make* media (synthetic test videos) and as the reference in benchmarks. ``ffmpeg_binary()``
prefers an ffmpeg on PATH and falls back to the static build bundled in the ``imageio-ffmpeg`` wheel::

    >>> from longvid.ingest.ffmpeg_cli import ffmpeg_binary
    >>> ffmpeg_binary().name.startswith("ffmpeg")
    True
"""

from __future__ import annotations

import functools
import logging
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import LongvidError

log = logging.getLogger(__name__)


class FfmpegError(LongvidError):
    """An ffmpeg command failed; the message carries the command's last lines of output."""


@functools.cache
def ffmpeg_binary() -> Path:
    """Path of the ffmpeg binary longvid runs: ``ffmpeg`` on PATH, else imageio-ffmpeg's bundled one."""
    on_path = shutil.which("ffmpeg")
    if on_path:
        return Path(on_path)
    import imageio_ffmpeg  # deferred: only needed when ffmpeg is not on PATH

    bundled = Path(imageio_ffmpeg.get_ffmpeg_exe())
    log.debug("ffmpeg not on PATH; using imageio-ffmpeg's bundled binary %s", bundled)
    return bundled


def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version`` (e.g. ``ffmpeg version n9.0.2 ...``)."""
    out = subprocess.run([str(ffmpeg_binary()), "-version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]


def run_ffmpeg(args: str | Sequence[str], timeout_s: float | None = None, **paths: str | Path) -> None:
    """Run ``ffmpeg -hide_banner -loglevel error -y ARGS``; raise :class:`FfmpegError` on failure.

    ``args`` is a list of arguments, or one command-line string whose ``{name}`` words are replaced by
    the ``paths`` keyword arguments after splitting, so paths with spaces stay one argument::

        run_ffmpeg("-i {src} -c copy -movflags +faststart {dst}", src=a, dst=b)
    """
    if isinstance(args, str):
        args = [str(paths[word[1:-1]]) if word[:1] + word[-1:] == "{}" else word for word in shlex.split(args)]
    elif paths:
        raise TypeError("path keywords only apply to a command-line string")
    cmd = [str(ffmpeg_binary()), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    log.debug("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise FfmpegError(f"ffmpeg exited with {proc.returncode}: {' '.join(cmd)}\n{tail}")
