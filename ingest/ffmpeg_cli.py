"""Locate and run the ffmpeg command-line binary.

longvid decodes through libraries (PyAV, decord) and never needs ffmpeg or ffprobe on PATH; the binary
is used to *make* media (synthetic test videos) and as the reference in benchmarks. The binary is chosen
by capability, once per process: an ``ffmpeg`` on PATH when its version is at least :data:`MIN_VERSION`
(or, for a build whose version cannot be read, when it lists every option in :data:`NEWEST_OPTIONS`),
else the static build bundled in the ``imageio-ffmpeg`` wheel. ``LONGVID_FFMPEG=/path/to/ffmpeg`` names a
binary to use as it is, unchecked. ``ffmpeg_choice()`` says which binary, its version and why::

    >>> from longvid.ingest.ffmpeg_cli import MIN_VERSION, ffmpeg_binary, ffmpeg_choice, parse_version
    >>> parse_version("ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024 the FFmpeg developers")
    (5, 1, 6)
    >>> parse_version("ffmpeg version 5.1.6-0+deb12u1") < MIN_VERSION  # Debian 12's: passed over
    True
    >>> parse_version("ffmpeg version N-112345-gabcdef0123") is None  # a git build: its options are probed
    True
    >>> ffmpeg_choice().path == ffmpeg_binary()  # probed on the first call, cached after
    True
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import LongvidError

log = logging.getLogger(__name__)

# The newest ffmpeg option longvid passes, and the release that added it: tests/test_frames.py writes
# rotation metadata with ``-display_rotation`` (FFmpeg 6.0; Debian 12's 5.1 rejects it). Raise these
# when a newer option is used anywhere run_ffmpeg is called (library, benchmarks, evaluation, tests).
MIN_VERSION = (6, 0, 0)
NEWEST_OPTIONS = ("-display_rotation",)
ENV_OVERRIDE = "LONGVID_FFMPEG"  # names a binary to use as is, without any check
_PROBE_TIMEOUT_S = 30.0
_VERSION = re.compile(r"^(?:ffmpeg version\s+)?n?(\d+)\.(\d+)(?:\.(\d+))?")


class FfmpegError(LongvidError):
    """An ffmpeg command failed, or no usable ffmpeg binary was found; the message says which and why."""


@dataclass(frozen=True)
class FfmpegChoice:
    """The ffmpeg binary longvid runs, and why that one (``longvid doctor`` shows it)."""

    path: Path  # the binary run_ffmpeg runs
    version: str  # as `ffmpeg -version` prints it ("7.0.2-static", "n7.1", "N-112345-g..."); "" if it printed none
    reason: str  # why this binary, in words: the override, or the PATH binary's version against MIN_VERSION

    @property
    def version_tuple(self) -> tuple[int, int, int] | None:
        """``version`` as (major, minor, patch); None for builds without a release number (git builds)."""
        return parse_version(self.version)


def parse_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) from ``ffmpeg -version``'s first line or its version word; None if it has none.

    Release builds print ``n7.1``, ``7.0.2-static``, ``5.1.6-0+deb12u1`` or ``4.4.2-0ubuntu0.22.04.1``
    (a missing patch number is 0); git builds print ``N-112345-gabcdef`` or a date, which say nothing
    about the options, so they give None and the caller probes the options instead.
    """
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


@functools.cache
def ffmpeg_choice() -> FfmpegChoice:
    """Choose the ffmpeg binary once per process: ``$LONGVID_FFMPEG``, else a capable one on PATH, else the
    one bundled with imageio-ffmpeg. Raises :class:`FfmpegError` when the override is not a binary or
    when there is no ffmpeg at all."""
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        found = shutil.which(override)
        if found is None:
            raise FfmpegError(f"{ENV_OVERRIDE}={override!r} is not an executable ffmpeg; point it at one or unset it")
        choice = FfmpegChoice(Path(found), _version_word(Path(found)) or "", f"set by {ENV_OVERRIDE} (not checked)")
        log.info("using ffmpeg %s: %s", choice.path, choice.reason)
        return choice
    on_path = shutil.which("ffmpeg")
    if on_path is None:
        return _bundled("there is no ffmpeg on PATH", last_resort=None)
    path = Path(on_path)
    version = _version_word(path)
    capable, why = _judge(path, version)
    if capable:
        log.debug("using ffmpeg %s: %s", path, why)
        return FfmpegChoice(path, version or "", why)
    return _bundled(why, last_resort=None if version is None else FfmpegChoice(path, version, why))


def _bundled(why: str, last_resort: FfmpegChoice | None) -> FfmpegChoice:
    """imageio-ffmpeg's binary, used because of ``why``; ``last_resort`` (the PATH binary passed over, if it
    runs) when imageio-ffmpeg has none."""
    import imageio_ffmpeg  # deferred: only needed when PATH has no capable ffmpeg

    try:
        exe = imageio_ffmpeg.get_ffmpeg_exe()  # without a binary in the wheel it returns "ffmpeg" (PATH's)
    except RuntimeError as err:  # no binary in the wheel for this platform, none on PATH
        raise FfmpegError(f"no ffmpeg found: {why}, and imageio-ffmpeg has none ({err}); install ffmpeg "
                          f">= {_dotted(MIN_VERSION)} or set {ENV_OVERRIDE}") from err  # fmt: skip
    bundled = Path(shutil.which(exe) or exe)
    if last_resort is not None and bundled == last_resort.path:
        log.warning("using ffmpeg %s although %s: imageio-ffmpeg has no binary of its own", bundled, why)
        return last_resort
    choice = FfmpegChoice(bundled, _version_word(bundled) or "", f"imageio-ffmpeg's bundled binary, since {why}")
    if choice.version_tuple is not None and choice.version_tuple < MIN_VERSION:
        log.warning("the bundled ffmpeg %s is %s, older than %s: commands using %s will fail",
                    bundled, choice.version, _dotted(MIN_VERSION), ", ".join(NEWEST_OPTIONS))  # fmt: skip
    log.log(logging.INFO if last_resort else logging.DEBUG, "using ffmpeg %s: %s", bundled, choice.reason)
    return choice


def ffmpeg_binary() -> Path:
    """Path of the ffmpeg binary longvid runs (see :func:`ffmpeg_choice`)."""
    return ffmpeg_choice().path


def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version`` (e.g. ``ffmpeg version n9.0.2 ...``)."""
    out = subprocess.run([str(ffmpeg_binary()), "-version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]


def _judge(path: Path, version: str | None) -> tuple[bool, str]:
    """Whether the PATH binary ``path`` can run every command longvid passes, and why, in words."""
    need = f"{_dotted(MIN_VERSION)} as {', '.join(NEWEST_OPTIONS)} needs"
    if version is None:
        return False, f"the ffmpeg on PATH ({path}) does not run (`-version` fails)"
    parsed = parse_version(version)
    if parsed is not None:
        if parsed >= MIN_VERSION:
            return True, f"the ffmpeg on PATH is version {version}, at least {need}"
        return False, f"the ffmpeg on PATH ({path}) is version {version}, older than {need}"
    missing = _missing_options(path)
    if missing is None:
        return False, f"the ffmpeg on PATH ({path}), version {version!r}, cannot list its options"
    if missing:
        return False, f"the ffmpeg on PATH ({path}), version {version!r}, lacks {', '.join(missing)}"
    return True, f"the ffmpeg on PATH, version {version!r} (no release number), has {', '.join(NEWEST_OPTIONS)}"


def _version_word(path: Path) -> str | None:
    """The word after ``ffmpeg version`` in ``path -version`` ("" if it prints no such line); None when
    the binary does not run."""
    out = _run_quietly([str(path), "-version"])
    if out is None:
        return None
    first = out.splitlines()[0] if out.strip() else ""
    words = first.split()
    return words[2] if words[:2] == ["ffmpeg", "version"] and len(words) > 2 else ""


def _missing_options(path: Path) -> list[str] | None:
    """Which of :data:`NEWEST_OPTIONS` ``path -h full`` does not list; None when the binary cannot say."""
    out = _run_quietly([str(path), "-hide_banner", "-h", "full"])
    if out is None:
        return None
    return [option for option in NEWEST_OPTIONS if re.search(rf"^\s*{re.escape(option)}\b", out, re.MULTILINE) is None]


def _run_quietly(cmd: list[str]) -> str | None:
    """stdout of ``cmd``, or None (logged) when it cannot start, fails or hangs."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        log.debug("probing %s failed: %s", cmd[0], err)
        return None
    if proc.returncode != 0:
        log.debug("probing %s failed with exit status %d: %s", cmd[0], proc.returncode, proc.stderr.strip()[-200:])
        return None
    return proc.stdout


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version[:2] if version[2:] == (0,) else version))


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
