"""``longvid serve``: a Gradio web app over a library — add videos, ask with clickable citations, search.

    >>> from longvid.app import Library
    >>> from longvid.app.web import build_ui, launch
    >>> lib = Library("my-library")                                       # doctest: +SKIP
    >>> launch(build_ui(lib, allowed_roots=["/data/videos"]), lib, ["/data/videos"])  # doctest: +SKIP

Safe by default: it binds to 127.0.0.1; videos are added by server-side path only from under
``allowed_roots`` (anything else, ``..`` and symlinks out included, is refused) or uploaded (video
suffixes only, at most ``max_upload`` bytes, copied into ``LIBRARY/uploads``); files are served only
from those roots and the library's ``thumbs`` and ``uploads`` folders (never its catalog). A citation
in an answer is a link; clicking it seeks the player to that moment (a small script in the page's
head, delegated on ``.lv-cite`` links). The page's handlers live in :class:`WebApp` so they can be
tested without a browser. Search finds moments by words or by example: an uploaded picture, or a
thumbnail picked in the Moments or Evidence gallery (only the library's own thumbnails are read).
"""

from __future__ import annotations

import html
import logging
import re
import shutil
import threading
import time
from collections.abc import Collection, Sequence
from pathlib import Path

import gradio as gr
import numpy as np
import uvicorn

from longvid.index import Hits
from longvid.index.records import VideoRecord
from longvid.ingest import LongvidError, MediaError, timecode
from longvid.llm import Answer

from .api import create_app
from .jobs import VIDEO_SUFFIXES, IndexQueue
from .library import Library, SearchHit
from .watch import FolderWatcher
from .webmedia import add_media_routes, clip_url, inside_roots, media_path, reel_url, video_url
from .wire import relevance

log = logging.getLogger(__name__)

ALL_VIDEOS = "All videos"
MAX_UPLOAD_BYTES = 4 << 30  # 4 GiB
DEFAULT_PORT = 7860
UPLOADS = "uploads"  # LIBRARY/uploads holds uploaded videos
THUMBS = "thumbs"  # LIBRARY/thumbs holds the moments' keyframe JPEGs
MAX_IMAGE_PIXELS = 40_000_000  # a picture to search by is refused above 40 megapixels
SEARCH_K = 8  # moments a search shows
SEEK_SCRIPT = """
<script>
// A citation, chapter, timeline mark, transcript line or thumbnail seeks its player (data-player, default
// the Ask tab's); the transcript's current line follows playback.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.lv-cite, a.lv-chapter, .lv-seek");
  if (!link) return;
  event.preventDefault();
  const box = document.getElementById(link.dataset.player || "lv-player");
  const video = box && box.querySelector("video");
  if (!video) return;
  const seek = () => { video.currentTime = parseFloat(link.dataset.t); video.pause(); };
  if (video.readyState >= 1) seek(); else video.addEventListener("loadedmetadata", seek, { once: true });
});
document.addEventListener("timeupdate", (event) => {
  const panel = document.querySelector("#lv-transcript .lv-lines");
  if (!panel || !event.target.closest || !event.target.closest("#lv-player")) return;
  const t = event.target.currentTime;
  let now = null;
  for (const line of panel.querySelectorAll(".lv-line")) {
    const on = parseFloat(line.dataset.t) <= t && t < parseFloat(line.dataset.end);
    line.classList.toggle("lv-now", on);
    if (on && !now) now = line;
  }
  if (now) panel.scrollTop = now.offsetTop - panel.offsetTop - panel.clientHeight / 3;
}, true);
</script>
"""
PAGE_CSS = """
.lv-player video { width: 100%; max-height: 360px; background: #000; }
.lv-timeline { position: relative; margin: 4px 0 2px; }
.lv-track { position: relative; height: 34px; background: #eef0f3; border-radius: 4px; overflow: hidden; }
.lv-track a { position: absolute; display: block; }
.lv-track .lv-chap { top: 0; height: 12px; background: #c9d3e0; border-right: 1px solid #fff; }
.lv-track .lv-chap:nth-child(even) { background: #b4c2d6; }
.lv-track .lv-match { top: 14px; height: 20px; min-width: 3px; background: #f0a35e; }
.lv-track .lv-cited { top: 14px; height: 20px; min-width: 4px; background: #d9480f; }
.lv-ticks { display: flex; justify-content: space-between; font-size: 11px; color: #666; }
.lv-lines { max-height: 220px; overflow-y: auto; font-size: 14px; }
.lv-line { display: block; padding: 1px 4px; color: inherit; text-decoration: none; border-radius: 3px; }
.lv-line .lv-t { color: #888; font-variant-numeric: tabular-nums; margin-right: 6px; }
.lv-line.lv-now { background: #fff3bf; }
.lv-download { margin-left: 6px; font-size: 12px; }
"""


def served_library_dirs(library: Library) -> list[Path]:
    """The library folders the page may load files from: keyframe thumbnails and uploaded videos."""
    return [(library.root / THUMBS).resolve(), (library.root / UPLOADS).resolve()]


def status_text(text: str) -> str:
    """``text`` for a ``gr.Markdown`` status line, shown as written: HTML escaped, Markdown marks backslashed."""
    return re.sub(r"([\\`*_\[\]#|~])", r"\\\1", html.escape(" ".join(text.split()), quote=False))


def rgb_pixels(image: np.ndarray) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 RGB copy of a picture array as ``gr.Image`` may give it: greyscale (H, W) or
    (H, W, 1), grey + alpha, RGBA (alpha dropped), float in [0, 1] or [0, 255], or wider integers.
    Raises ValueError, with a one-line reason, for anything else."""
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4) or 0 in pixels.shape[:2]:
        raise ValueError(f"the picture must be greyscale, RGB or RGBA, got an array of shape {pixels.shape}")
    pixels = pixels[:, :, :1] if pixels.shape[2] <= 2 else pixels[:, :, :3]  # drop alpha
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    elif np.issubdtype(pixels.dtype, np.floating):
        pixels = np.nan_to_num(pixels.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        scale = 255.0 if pixels.max(initial=0.0) <= 1.0 else 1.0
        pixels = np.clip(np.rint(pixels * scale), 0, 255).astype(np.uint8)
    elif np.issubdtype(pixels.dtype, np.unsignedinteger) and pixels.dtype.itemsize == 2:
        pixels = (pixels // 257).astype(np.uint8)  # 16-bit depth to 8
    elif np.issubdtype(pixels.dtype, np.integer):
        pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    else:
        raise ValueError(f"the picture must hold numbers, got {pixels.dtype}")
    return np.ascontiguousarray(np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels)


def answer_html(answer: Answer, downloads: Collection[str] = ()) -> str:
    """The answer's text, escaped, with one clickable citation link per cited moment (and, for the videos
    in ``downloads``, a link that downloads the moment as a clip)."""
    links = " ".join(
        f'<a class="lv-cite" href="#" data-t="{c.start_s:.3f}" data-video="{html.escape(c.video_id)}">'
        f"[{i}] {html.escape(Path(c.path).name)} {timecode(c.start_s)}–{timecode(c.end_s)}</a>"
        + (f'<a class="lv-download" href="{html.escape(clip_url(c.video_id, c.start_s, c.end_s))}" download>'
           "download clip</a>" if c.video_id in downloads else "")
        for i, c in enumerate(answer.citations, start=1)
    )  # fmt: skip
    shown = [(c.video_id, c.start_s, c.end_s) for c in answer.citations if c.video_id in downloads]
    if len(shown) > 1:
        links += f' <a class="lv-download lv-reel" href="{html.escape(reel_url(shown))}" download>all as one reel</a>'
    body = "<br>".join(html.escape(line) for line in answer.text.splitlines())
    plan = f'<p class="lv-plan"><small>plan: {html.escape(answer.plan.describe())}</small></p>' if answer.plan else ""
    return f'<div class="lv-answer"><p>{body}</p><p>{links}</p>{plan}</div>'


def hits_view(hits: Sequence[SearchHit]) -> tuple[list, list[list]]:
    """(thumbnails with captions, table rows) of search hits, best first; relevance is each hit's score
    over the best one's, as a percentage."""
    shown = list(zip(hits, relevance(hits), strict=True))
    gallery = [(str(h.thumbnail), f"{r:.0%} · {Path(h.path).name} {timecode(h.start_s)}")
               for h, r in shown if h.thumbnail]  # fmt: skip
    rows = [[Path(h.path).name, timecode(h.start_s), timecode(h.end_s), f"{r:.0%}", h.snippet] for h, r in shown]
    return gallery, rows


def player_html(video_id: str | None, start_s: float = 0.0, player: str = "lv-player", problem: str = "") -> str:
    """An HTML5 player of the library video, played from its file by range requests, starting at ``start_s``;
    ``problem`` (the file is missing, not under the allowed folders) is said instead."""
    if video_id is None:
        return f'<div id="{player}" class="lv-player"></div>'
    if problem:
        return f'<div id="{player}" class="lv-player"><p>{html.escape(problem)}</p></div>'
    src = html.escape(f"{video_url(video_id)}#t={start_s:.3f}")
    return (f'<div id="{player}" class="lv-player"><video controls preload="metadata" playsinline src="{src}">'
            "</video></div>")  # fmt: skip


def timeline_html(duration_s: float, chapters: Sequence, scored: Sequence[tuple[float, float, float]],
                  cited: Sequence[tuple[float, float]], player: str = "lv-player") -> str:  # fmt: skip
    """The whole video as a bar: chapters on top, the moments retrieval weighed below (opacity by relevance)
    and the cited ones marked; each mark seeks the player; the ends labelled in the one time format."""
    if duration_s <= 0:
        return ""

    def mark(kind: str, start: float, end: float, title: str, opacity: float = 1.0) -> str:
        left, width = 100 * start / duration_s, max(100 * (end - start) / duration_s, 0.3)
        return (
            f'<a class="lv-seek {kind}" href="#" data-t="{start:.3f}" data-player="{player}" '
            f'title="{html.escape(title)}" style="left:{left:.3f}%;width:{width:.3f}%;opacity:{opacity:.2f}"></a>'
        )

    best = max((score for *_, score in scored), default=0.0) or 1.0
    marks = [
        mark(
            "lv-chap",
            c.span.start_s,
            c.span.end_s,
            f"{c.index + 1}. {c.title} {timecode(c.span.start_s)}–{timecode(c.span.end_s)}",
        )
        for c in chapters
    ]
    marks += [
        mark("lv-match", a, b, f"{timecode(a)}–{timecode(b)} relevance {score / best:.0%}", 0.25 + 0.75 * score / best)
        for a, b, score in scored
        if score > 0
    ]
    marks += [mark("lv-cited", a, b, f"cited {timecode(a)}–{timecode(b)}") for a, b in cited]
    ticks = "".join(f"<span>{timecode(duration_s * q / 4)}</span>" for q in range(5))
    track = "".join(marks)
    return f'<div class="lv-timeline"><div class="lv-track">{track}</div><div class="lv-ticks">{ticks}</div></div>'


def transcript_html(segments: Sequence, player: str = "lv-player") -> str:
    """The transcript, one seeking line per segment; the page's script highlights the line being played."""
    lines = "".join(
        f'<a class="lv-seek lv-line" href="#" data-t="{s.span.start_s:.3f}" data-end="{s.span.end_s:.3f}" '
        f'data-player="{player}"><span class="lv-t">{timecode(s.span.start_s)}</span>{html.escape(s.text)}</a>'
        for s in segments
    )  # fmt: skip
    return f'<div class="lv-lines">{lines}</div>' if lines else "<p><small>No transcript.</small></p>"


class WebApp:
    """What the page's buttons do, over one library; paths are checked against ``allowed_roots``."""

    def __init__(self, library: Library, allowed_roots: Sequence[str | Path], max_upload: int = MAX_UPLOAD_BYTES):
        self.library = library
        self.roots = [Path(r).expanduser().resolve() for r in allowed_roots]
        self.max_upload = max_upload

    def video_choices(self) -> list[tuple[str, str]]:
        return [(ALL_VIDEOS, "")] + [(Path(v.path).name, v.video_id) for v in self.library.videos()]

    def video_rows(self) -> list[list]:
        """The Library tab's table: file, length, moments, chapters, whether the file is there, id."""
        rows = []
        for v in self.library.videos():
            moments, chapters = len(self.library.index.events(v.video_id)), len(self.library.chapters(v.video_id))
            rows.append([Path(v.path).name, timecode(v.duration_s, hours=True), moments, chapters,
                         "yes" if Path(v.path).is_file() else "missing", v.video_id])  # fmt: skip
        return rows

    def remove(self, video_id: str) -> str:
        """Delete a video's entry (the file itself stays)."""
        if not video_id:
            return "Choose a video first."
        record = self.library.remove(video_id)
        return status_text(f"Removed {Path(record.path).name} from the library (the file itself is untouched).")

    def reindex(self, video_id: str, progress=gr.Progress(track_tqdm=True)) -> str:  # noqa: B008
        """Index a video's file again from scratch (after a profile change, say): its entry is replaced."""
        if not video_id:
            return "Choose a video first."
        record = self.library.video(video_id)
        if not Path(record.path).is_file():
            return status_text(f"Cannot re-index: the source file is missing: {record.path}")
        self.library.remove(video_id)
        return self._add(Path(record.path))

    def add_path(self, path_text: str, progress=gr.Progress(track_tqdm=True)) -> str:  # noqa: B008
        """Index a server-side file under the allowed roots (the pipeline's tqdm bars show in the page)."""
        path = inside_roots(path_text.strip(), self.roots) if path_text.strip() else None
        if path is None:
            return f"Refused: {path_text!r} is not a file under the allowed folders."
        return self._add(path)

    def upload(self, temp_path: str | None, progress=gr.Progress(track_tqdm=True)) -> str:  # noqa: B008
        """Index an uploaded video (copied into LIBRARY/uploads) after checking its type and size."""
        if not temp_path:
            return "Choose a video file first."
        source = Path(temp_path)
        if source.suffix.lower() not in VIDEO_SUFFIXES:
            return f"Refused: {source.name} is not a video file ({', '.join(sorted(VIDEO_SUFFIXES))})."
        if source.stat().st_size > self.max_upload:
            return f"Refused: {source.name} is {source.stat().st_size} bytes, over the {self.max_upload}-byte limit."
        target = self.library.root / UPLOADS / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return self._add(target)

    def _add(self, path: Path) -> str:
        try:
            result = self.library.add(path, progress=True)
        except MediaError as err:
            return f"Failed: {err}"
        return f"{result.status}: {path.name} ({result.events} events)"

    def ask(self, question: str, video_id: str = "") -> tuple[str, str, list, str, str, str]:
        """(answer HTML, player at the first cited moment, evidence thumbnails, the cited video's timeline,
        its chapter strip, its transcript) for a question."""
        if not question.strip():
            return "<p>Type a question.</p>", player_html(None), [], "", "", ""
        answer = self.library.ask(question, video=video_id or None)
        top = answer.citations[0] if answer.citations else None
        if top is None:
            return answer_html(answer), player_html(None), [], "", "", ""
        thumbs = []
        for c in answer.citations:
            for event in self.library.index.events(c.video_id):
                thumb = self.library.thumbnail_path(c.video_id, event.index)
                if event.span.start_s == c.start_s and thumb.exists():
                    thumbs.append((str(thumb), f"{timecode(c.start_s)}–{timecode(c.end_s)}"))
        record = self.library.video(top.video_id)
        scored = [(e.span.start_s, e.span.end_s, e.score) for e in answer.evidence if e.video_id == top.video_id]
        cited = [(c.start_s, c.end_s) for c in answer.citations if c.video_id == top.video_id]
        timeline = timeline_html(record.duration_s, self.library.chapters(top.video_id), scored, cited)
        transcript = transcript_html(self.library.index.transcript(top.video_id))
        player = player_html(top.video_id, top.start_s, problem=self.unservable(record.path))
        playable = {c.video_id for c in answer.citations if not self.unservable(c.path)}
        return answer_html(answer, playable), player, thumbs, timeline, self.chapters_html(top.video_id), transcript

    def seek_to_thumbnail(self, shown: Sequence[str], evt: gr.SelectData, player: str = "lv-player") -> str:
        """The player at the moment of the thumbnail picked in a gallery (``shown``: its paths, server-side)."""
        path = self.selected_thumbnail(shown, evt)
        moment = self.moment_of(path) if path else None
        if moment is None:
            return gr.skip()
        record, start_s = moment
        return player_html(record.video_id, start_s, player, self.unservable(record.path))

    def unservable(self, path: str) -> str:
        """Why the page will not play ``path`` ("" when it will): missing, or outside the allowed folders."""
        if media_path(path, [*self.roots, *served_library_dirs(self.library)]) is not None:
            return ""
        if not Path(path).is_file():
            return f"The source file is missing: {path}"
        return f"{Path(path).name} is not under the folders this server may play from."

    def moment_of(self, thumbnail: str) -> tuple[VideoRecord, float] | None:
        """The video and start time of one of the library's thumbnails (``thumbs/VIDEO_ID/INDEX.jpg``)."""
        path = inside_roots(thumbnail, [(self.library.root / THUMBS).resolve()])
        if path is None or not path.stem.isdigit():
            return None
        video_id, index = path.parent.name, int(path.stem)
        if not self.library.index.has_video(video_id):
            return None
        events = {e.index: e for e in self.library.index.events(video_id)}
        return (self.library.index.video(video_id), events[index].span.start_s) if index in events else None

    def chapters_html(self, video_id: str) -> str:
        """The video's overview line and its chapters as links that seek the player, escaped."""
        overview = self.library.overview(video_id)
        said = " ".join(f"“{html.escape(s.text)}”" for s in overview.sentences[:1])
        links = " ".join(
            f'<a class="lv-chapter" href="#" data-t="{c.span.start_s:.3f}" data-video="{html.escape(video_id)}">'
            f"{c.index + 1}. {html.escape(c.title)} {timecode(c.span.start_s)}</a>"
            for c in overview.chapters
        )
        return f'<div class="lv-chapters"><p><small>{said}</small></p><p>Chapters: {links}</p></div>'

    def search(self, query: str, video_id: str = "") -> tuple[list, list[list]]:
        """(thumbnails with captions, table rows) of the moments matching ``query``."""
        gallery, rows, _ = self.search_with_status(query, video_id)
        return gallery, rows

    def search_with_status(self, query: str, video_id: str = "") -> tuple[list, list[list], str]:
        """(thumbnails, rows, status line) for a text search; the status says why when nothing matched."""
        if not query.strip():
            return [], [], "Type what you are looking for."
        try:
            hits = self.library.search(query, k=SEARCH_K, video=video_id or None)
        except LongvidError as err:
            return [], [], status_text(f"Search failed: {err}")
        return self._shown(hits)

    def search_picture(self, image: np.ndarray | None, video_id: str = "") -> tuple[list, list[list], str]:
        """(thumbnails, rows, status line) of the moments that look like an uploaded picture."""
        if image is None:
            return [], [], "Choose a picture first."
        shape = np.shape(image)
        if len(shape) >= 2 and shape[0] * shape[1] > MAX_IMAGE_PIXELS:
            return [], [], status_text(f"Refused: the picture is {shape[1]}x{shape[0]} pixels, over the "
                                       f"{MAX_IMAGE_PIXELS // 1_000_000}-megapixel limit.")  # fmt: skip
        try:
            pixels = rgb_pixels(image)
        except ValueError as err:
            return [], [], status_text(f"Refused: {err}.")
        return self._search_image(pixels, video_id)

    def search_thumbnail(self, path: str | None, video_id: str = "") -> tuple[list, list[list], str]:
        """(thumbnails, rows, status line) of the moments that look like one of the library's thumbnails;
        any other path (the catalog, a file elsewhere, ``..`` or a symlink out) is refused unread."""
        if not path:
            return [], [], "Select a picture in the gallery first."
        resolved = inside_roots(path, [(self.library.root / THUMBS).resolve()])
        if resolved is None or not resolved.is_file():
            log.warning("refused to search by a picture outside the library's thumbnails: %r", path)
            return [], [], "Refused: only a thumbnail shown in a gallery can be searched by."
        return self._search_image(resolved, video_id)

    def selected_thumbnail(self, shown: Sequence[str], evt: gr.SelectData) -> str | None:
        """The thumbnail picked in a gallery (``shown``: the paths that gallery was given, kept server-side,
        since the browser only sees Gradio's cached copies), or None when nothing is selected."""
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) and evt.index else evt.index
        if not getattr(evt, "selected", True) or type(index) is not int or not 0 <= index < len(shown):
            return None
        return str(shown[index])

    def _search_image(self, image: Path | np.ndarray, video_id: str) -> tuple[list, list[list], str]:
        try:
            hits = self.library.search_image(image, k=SEARCH_K, video=video_id or None)
        except LongvidError as err:
            return [], [], status_text(f"Search failed: {err}")
        return self._shown(hits)

    def _shown(self, hits: Hits) -> tuple[list, list[list], str]:
        """(thumbnails with captions, table rows, status line) of search hits."""
        gallery, rows = hits_view(hits)
        reason = hits.reason or "no matching moments"
        return gallery, rows, "" if hits else status_text(reason)


def build_ui(library: Library, allowed_roots: Sequence[str | Path]) -> gr.Blocks:
    """The web app's page for ``library``."""
    app = WebApp(library, allowed_roots)

    def refresh():
        choices = app.video_choices()
        return app.video_rows(), *(gr.update(choices=choices) for _ in range(3))

    def paths(gallery: list) -> list[str]:  # what a gallery was given, kept server-side for its .select
        return [item[0] for item in gallery]

    def ask(question, video_id):
        out = app.ask(question, video_id)
        return *out, paths(out[2]), None

    def searched(gallery, table, status):
        return gallery, table, status, paths(gallery), None

    def by_text(query_text, video_id):
        return searched(*app.search_with_status(query_text, video_id))

    def by_picture(image, video_id):
        return searched(*app.search_picture(image, video_id))

    def by_thumbnail(path, video_id):
        if not path:  # nothing selected: say so, keep what is shown
            return gr.skip(), gr.skip(), app.search_thumbnail(path)[2], gr.skip(), gr.skip(), gr.Tabs(selected="search")
        return (*searched(*app.search_thumbnail(path, video_id)), gr.Tabs(selected="search"))

    def pick_evidence(shown: list[str], evt: gr.SelectData):  # remember the pick (for "like this"), and seek
        return app.selected_thumbnail(shown, evt), app.seek_to_thumbnail(shown, evt)

    def pick_result(shown: list[str], evt: gr.SelectData):
        return app.selected_thumbnail(shown, evt), app.seek_to_thumbnail(shown, evt, player="lv-search-player")

    with gr.Blocks(title="longvid") as ui:
        gr.Markdown("# longvid\nAsk questions about your videos; every answer cites the moments it rests on.")
        with gr.Tabs() as tabs:
            with gr.Tab("Ask", id="ask"):
                with gr.Row():
                    question = gr.Textbox(label="Question", scale=4,
                                          placeholder="What is this video about? When is a dog shown?")  # fmt: skip
                    ask_video = gr.Dropdown(app.video_choices(), value="", label="Video", scale=1)
                ask_button = gr.Button("Ask", variant="primary")
                answer_box = gr.HTML(label="Answer")
                player = gr.HTML(player_html(None))
                timeline = gr.HTML(label="Timeline")
                chapters = gr.HTML(label="Chapters")
                with gr.Row():
                    transcript = gr.HTML(label="Transcript", elem_id="lv-transcript")
                    with gr.Column():
                        evidence = gr.Gallery(label="Evidence", columns=3, height="auto", object_fit="contain",
                                              allow_preview=False)  # fmt: skip
                        evidence_like = gr.Button("Find moments like the selected picture", size="sm")
            with gr.Tab("Search", id="search"):
                with gr.Row():
                    query = gr.Textbox(label="Search", placeholder="words said or shown: a whiteboard, the deadline",
                                       scale=4)  # fmt: skip
                    search_video = gr.Dropdown(app.video_choices(), value="", label="Video", scale=1)
                search_button = gr.Button("Search", variant="primary")
                search_status = gr.Markdown()
                with gr.Row():
                    picture = gr.Image(type="numpy", label="Or find moments like a picture", height=200)
                    picture_button = gr.Button("Find moments like this", scale=0)
                results = gr.Gallery(label="Moments", columns=4, height="auto", object_fit="contain",
                                     allow_preview=False)  # fmt: skip
                results_like = gr.Button("Find moments like the selected picture", size="sm")
                search_player = gr.HTML(player_html(None, player="lv-search-player"))
                rows = gr.Dataframe(
                    headers=["file", "start", "end", "relevance", "snippet"], interactive=False, elem_id="lv-moments"
                )
            with gr.Tab("Library", id="library"):
                example = str(app.roots[0]) if app.roots else ""
                path_box = gr.Textbox(label="Video path on the server", placeholder=example)
                add_button = gr.Button("Add video")
                upload_box = gr.File(
                    label="Or upload a video", file_types=sorted(VIDEO_SUFFIXES), type="filepath", elem_id="lv-upload"
                )
                status = gr.Markdown()
                table = gr.Dataframe(headers=["file", "length", "moments", "chapters", "file on disk", "video id"],
                                     value=app.video_rows, interactive=False)  # fmt: skip
                with gr.Row():
                    manage_video = gr.Dropdown(app.video_choices(), value="", label="Video", scale=3)
                    remove_button = gr.Button("Remove from the library", scale=1)
                    reindex_button = gr.Button("Re-index", scale=1)
                dropdowns = [table, ask_video, search_video, manage_video]
                add_button.click(app.add_path, inputs=path_box, outputs=status).then(refresh, outputs=dropdowns)
                upload_box.upload(app.upload, inputs=upload_box, outputs=status).then(refresh, outputs=dropdowns)
                remove_button.click(app.remove, inputs=manage_video, outputs=status).then(refresh, outputs=dropdowns)
                reindex_button.click(app.reindex, inputs=manage_video, outputs=status).then(refresh, outputs=dropdowns)
        evidence_paths, evidence_pick = gr.State([]), gr.State(None)  # server-side: never the browser's word
        result_paths, result_pick = gr.State([]), gr.State(None)
        found = [results, rows, search_status, result_paths, result_pick]
        answered = [answer_box, player, evidence, timeline, chapters, transcript, evidence_paths, evidence_pick]
        for trigger in (ask_button.click, question.submit):
            trigger(ask, inputs=[question, ask_video], outputs=answered)
        for trigger in (search_button.click, query.submit):
            trigger(by_text, inputs=[query, search_video], outputs=found)
        picture_button.click(by_picture, inputs=[picture, search_video], outputs=found)
        evidence.select(pick_evidence, inputs=evidence_paths, outputs=[evidence_pick, player])
        results.select(pick_result, inputs=result_paths, outputs=[result_pick, search_player])
        evidence_like.click(by_thumbnail, inputs=[evidence_pick, search_video], outputs=[*found, tabs])
        results_like.click(by_thumbnail, inputs=[result_pick, search_video], outputs=[*found, tabs])
    return ui


def _watching(watcher: FolderWatcher, stop: threading.Event) -> None:
    """A watched folder's thread: a failure is logged (the server goes on serving), never lost."""
    try:
        watcher.run(stop)
    except Exception:
        log.exception("watching %s stopped: new videos there are no longer indexed", watcher.folder)


class Served:
    """A running ``longvid serve``: its URL, and :meth:`close` to stop it (and its indexing jobs)."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread | None, url: str, jobs: IndexQueue,
                 stop_watching: threading.Event):  # fmt: skip
        self.server, self.thread, self.url, self.jobs, self.stop_watching = server, thread, url, jobs, stop_watching

    def close(self) -> None:
        self.server.should_exit = True
        self.stop_watching.set()
        if self.thread is not None:
            self.thread.join(10)
        self.jobs.close()


def launch(ui: gr.Blocks, library: Library, allowed_roots: Sequence[str | Path], host: str = "127.0.0.1",
           port: int | None = None, auth: tuple[str, str] | None = None, block: bool = True,
           max_upload: int = MAX_UPLOAD_BYTES, api_key: str | None = None,
           watch: Sequence[str | Path] = ()) -> Served:  # fmt: skip
    """Serve ``ui`` at ``/`` and the HTTP API (:mod:`longvid.app.api`, ``api_key`` guarding it) on one port;
    files are served only from ``allowed_roots`` and the library's thumbnails and uploads (never its
    catalog). Videos appearing in the ``watch`` folders are indexed (:mod:`longvid.app.watch`) by the same
    queue as the API's. ``block=False`` returns once the server is listening."""
    paths = [str(Path(r).resolve()) for r in allowed_roots] + [str(d) for d in served_library_dirs(library)]
    jobs = IndexQueue(library)
    stop_watching = threading.Event()
    for folder in watch:
        watcher = FolderWatcher(folder, jobs.submit)
        threading.Thread(target=_watching, args=(watcher, stop_watching), name=f"watch {folder}", daemon=True).start()
    app = create_app(library, allowed_roots, api_key=api_key, jobs=jobs)
    add_media_routes(app, library, [*allowed_roots, *served_library_dirs(library)])
    app = gr.mount_gradio_app(
        app,
        ui,
        path="/",
        auth=auth,
        allowed_paths=paths,
        head=SEEK_SCRIPT,
        css=PAGE_CSS,
        max_file_size=max_upload,
        server_name=host,
        server_port=port or DEFAULT_PORT,
        footer_links=["gradio", "settings"],
    )  # fmt: skip (no "Use via API": see /docs)
    config = uvicorn.Config(app, host=host, port=port or DEFAULT_PORT, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    url = f"http://{host}:{config.port}"
    if block:
        try:
            server.run()
        finally:
            stop_watching.set()
            jobs.close()
        return Served(server, None, url, jobs, stop_watching)
    thread = threading.Thread(target=server.run, name="longvid-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise OSError(f"longvid serve could not listen on {host}:{config.port}")
        time.sleep(0.05)
    return Served(server, thread, url, jobs, stop_watching)
