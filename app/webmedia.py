"""The web page's media: a library video played from where it lies (HTTP range requests, no copy and no
hashing per question), moment thumbnails, and clips cut on demand, each behind a signed URL.

The page's handlers (behind the page's login, when there is one) hand out URLs signed with a secret of
this process, so a URL works only if this server made it and cannot be edited into another file or span::

    >>> url = signed("/media/video/3f9a")
    >>> url.startswith("/media/video/3f9a?sig=") and verify("/media/video/3f9a", url.split("sig=")[1])
    True
    >>> verify("/media/video/0000", url.split("sig=")[1])
    False
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from longvid.ingest import LongvidError, timecode

from .clips import export_reel
from .library import Library

log = logging.getLogger(__name__)

_SECRET = secrets.token_bytes(32)  # per process: a restart invalidates the page's old links
MAX_CLIP_S = 600.0  # the longest clip the page cuts on demand
_VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
                ".mkv": "video/x-matroska", ".ts": "video/mp2t"}  # fmt: skip


def _signature(path: str) -> str:
    return hmac.new(_SECRET, path.encode(), hashlib.sha256).hexdigest()[:32]


def signed(path: str) -> str:
    """``path`` (with its query, if any) plus this process's signature of it."""
    return f"{path}{'&' if '?' in path else '?'}sig={_signature(path)}"


def verify(path: str, signature: str) -> bool:
    return hmac.compare_digest(_signature(path), signature)


def video_url(video_id: str) -> str:
    return signed(f"/media/video/{video_id}")


def thumb_url(video_id: str, index: int) -> str:
    return signed(f"/media/thumb/{video_id}/{index}")


def clip_url(video_id: str, start_s: float, end_s: float) -> str:
    return signed(f"/media/clip/{video_id}?start={start_s:.3f}&end={end_s:.3f}")


def inside_roots(path: str | Path, roots: Sequence[str | Path]) -> Path | None:
    """``path`` resolved (symlinks and ``..`` included) when it lies under one of ``roots``, else None."""
    resolved = Path(path).expanduser().resolve()
    return resolved if any(resolved.is_relative_to(Path(r).expanduser().resolve()) for r in roots) else None


def media_path(path: str | Path, roots: Sequence[str | Path]) -> Path | None:
    """``path`` resolved when it is a file under one of ``roots``, else None: a catalog entry pointing
    elsewhere (a moved library, a tampered catalog) is never played or cut."""
    resolved = inside_roots(path, roots)
    return resolved if resolved is not None and resolved.is_file() else None


def reel_url(moments: Sequence[tuple[str, float, float]]) -> str:
    """A signed URL of the highlight reel of ``(video_id, start_s, end_s)`` moments, in that order."""
    listed = ",".join(f"{v}:{a:.3f}:{b:.3f}" for v, a, b in moments)
    return signed(f"/media/reel?moments={listed}")


def add_media_routes(app: FastAPI, library: Library, roots: Sequence[str | Path]) -> None:
    """The three signed routes under ``/media``, playing and cutting only files under ``roots``; a bad
    signature, an unknown or missing file or one outside the roots is a 404."""

    def check(path: str, sig: str) -> None:
        if not verify(path, sig):
            raise HTTPException(404, "no such media (links are valid for this server's run only)")

    @app.get("/media/video/{video_id}", include_in_schema=False)
    def video(video_id: str, sig: str = "") -> FileResponse:
        check(f"/media/video/{video_id}", sig)
        source = media_path(library.video(video_id).path, roots)
        if source is None:
            raise HTTPException(404, "the video's file is missing or not under the folders this server plays from")
        return FileResponse(source, media_type=_VIDEO_TYPES.get(source.suffix.lower(), "application/octet-stream"))

    @app.get("/media/thumb/{video_id}/{index}", include_in_schema=False)
    def thumb(video_id: str, index: int, sig: str = "") -> FileResponse:
        check(f"/media/thumb/{video_id}/{index}", sig)
        path = library.thumbnail_path(video_id, index)
        if not path.is_file():
            raise HTTPException(404, "no such thumbnail")
        return FileResponse(path, media_type="image/jpeg")

    @app.get("/media/reel", include_in_schema=False)
    def reel(moments: str, sig: str = "") -> FileResponse:
        check(f"/media/reel?moments={moments}", sig)
        spans = []
        for item in moments.split(","):
            video_id, start, end = item.rsplit(":", 2)
            source = media_path(library.video(video_id).path, roots)
            if source is None:
                raise HTTPException(404, "a cited video's file is missing or not under the folders this server plays")
            spans.append((source, float(start), float(end)))
        if sum(b - a for _, a, b in spans) > MAX_CLIP_S:
            raise HTTPException(400, f"a reel is at most {MAX_CLIP_S:.0f} s of moments")
        folder = tempfile.TemporaryDirectory(prefix="longvid-reel-")
        try:
            made = export_reel(spans, Path(folder.name) / "answer.mp4")
        except LongvidError as err:
            folder.cleanup()
            raise HTTPException(404, str(err)) from None
        return FileResponse(made.path, media_type="video/mp4", filename="answer.mp4",
                            background=BackgroundTask(folder.cleanup))  # fmt: skip

    @app.get("/media/clip/{video_id}", include_in_schema=False)
    def clip(video_id: str, start: float, end: float, sig: str = "") -> FileResponse:
        check(f"/media/clip/{video_id}?start={start:.3f}&end={end:.3f}", sig)
        if not 0 < end - start <= MAX_CLIP_S:
            raise HTTPException(400, f"a clip is 0 to {MAX_CLIP_S:.0f} s long")
        record = library.video(video_id)
        if media_path(record.path, roots) is None:
            raise HTTPException(404, "the video's file is missing or not under the folders this server plays from")
        folder = tempfile.TemporaryDirectory(prefix="longvid-clip-")
        name = f"{Path(record.path).stem}-{timecode(start).replace(':', '.')}-{timecode(end).replace(':', '.')}.mp4"
        try:
            made = library.export_clip(video_id, start, end, Path(folder.name) / name)
        except LongvidError as err:
            folder.cleanup()
            raise HTTPException(404, str(err)) from None
        return FileResponse(made.path, media_type="video/mp4", filename=name, background=BackgroundTask(folder.cleanup))
