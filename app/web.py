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
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import uvicorn

from longvid.index import Hits
from longvid.ingest import LongvidError, MediaError, timecode
from longvid.llm import Answer

from .api import create_app
from .jobs import VIDEO_SUFFIXES, IndexQueue
from .library import Library, SearchHit
from .watch import FolderWatcher

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
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.lv-cite, a.lv-chapter");
  if (!link) return;
  event.preventDefault();
  const video = document.querySelector("#lv-player video");
  if (!video) return;
  const seek = () => { video.currentTime = parseFloat(link.dataset.t); video.pause(); };
  if (video.readyState >= 1) seek(); else video.addEventListener("loadedmetadata", seek, { once: true });
});
</script>
"""


def inside_roots(path: str | Path, roots: Sequence[Path]) -> Path | None:
    """``path`` resolved (symlinks and ``..`` included) when it lies under one of ``roots``, else None."""
    resolved = Path(path).expanduser().resolve()
    return resolved if any(resolved.is_relative_to(root) for root in roots) else None


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


def answer_html(answer: Answer) -> str:
    """The answer's text, escaped, with one clickable citation link per cited moment."""
    links = " ".join(
        f'<a class="lv-cite" href="#" data-t="{c.start_s:.3f}" data-video="{html.escape(c.video_id)}">'
        f"[{i}] {html.escape(Path(c.path).name)} {timecode(c.start_s)}–{timecode(c.end_s)}</a>"
        for i, c in enumerate(answer.citations, start=1)
    )
    body = "<br>".join(html.escape(line) for line in answer.text.splitlines())
    plan = f'<p class="lv-plan"><small>plan: {html.escape(answer.plan.describe())}</small></p>' if answer.plan else ""
    return f'<div class="lv-answer"><p>{body}</p><p>{links}</p>{plan}</div>'


def hits_view(hits: Sequence[SearchHit]) -> tuple[list, list[list]]:
    """(thumbnails with captions, table rows) of search hits, best first."""
    gallery = [(str(h.thumbnail), f"{Path(h.path).name} {timecode(h.start_s)}") for h in hits if h.thumbnail]
    rows = [[Path(h.path).name, timecode(h.start_s), timecode(h.end_s), round(h.score, 4), h.snippet] for h in hits]
    return gallery, rows


class WebApp:
    """What the page's buttons do, over one library; paths are checked against ``allowed_roots``."""

    def __init__(self, library: Library, allowed_roots: Sequence[str | Path], max_upload: int = MAX_UPLOAD_BYTES):
        self.library = library
        self.roots = [Path(r).expanduser().resolve() for r in allowed_roots]
        self.max_upload = max_upload

    def video_choices(self) -> list[tuple[str, str]]:
        return [(ALL_VIDEOS, "")] + [(Path(v.path).name, v.video_id) for v in self.library.videos()]

    def video_rows(self) -> list[list]:
        return [[v.video_id, Path(v.path).name, round(v.duration_s, 1)] for v in self.library.videos()]

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

    def ask(self, question: str, video_id: str = "") -> tuple[str, str | None, list, pd.DataFrame, str]:
        """(answer HTML, player file, evidence thumbnails, relevance timeline, chapter strip) for a question."""
        if not question.strip():
            return "<p>Type a question.</p>", None, [], self.timeline([], None), ""
        answer = self.library.ask(question, video=video_id or None)
        top = answer.citations[0] if answer.citations else None
        player = self._servable(top.path) if top else None
        thumbs = []
        for c in answer.citations:
            for event in self.library.index.events(c.video_id):
                thumb = self.library.thumbnail_path(c.video_id, event.index)
                if event.span.start_s == c.start_s and thumb.exists():
                    thumbs.append((str(thumb), f"{timecode(c.start_s)}–{timecode(c.end_s)}"))
        scores = [(e.span.start_s, e.span.end_s, e.score) for e in answer.evidence]
        strip = self.chapters_html(top.video_id) if top else ""
        return answer_html(answer), player, thumbs, self.timeline(scores, top.video_id if top else None), strip

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

    def timeline(self, scores: Sequence[tuple[float, float, float]], video_id: str | None) -> pd.DataFrame:
        """Relevance per event over the cited video's duration (0 where retrieval did not look)."""
        if video_id is None:
            return pd.DataFrame({"second": [], "relevance": []})
        by_start = {start: score for start, _, score in scores}
        events = self.library.index.events(video_id)
        return pd.DataFrame({"second": [e.span.start_s for e in events],
                             "relevance": [by_start.get(e.span.start_s, 0.0) for e in events]})  # fmt: skip

    def _servable(self, path: str) -> str | None:
        resolved = inside_roots(path, [*self.roots, *served_library_dirs(self.library)])
        return str(resolved) if resolved else None


def build_ui(library: Library, allowed_roots: Sequence[str | Path]) -> gr.Blocks:
    """The web app's page for ``library``."""
    app = WebApp(library, allowed_roots)

    def refresh():
        return app.video_rows(), gr.update(choices=app.video_choices()), gr.update(choices=app.video_choices())

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

    with gr.Blocks(title="longvid") as ui:
        gr.Markdown("# longvid\nAsk questions about your videos; every answer cites the moments it rests on.")
        with gr.Tabs() as tabs:
            with gr.Tab("Ask", id="ask"):
                with gr.Row():
                    question = gr.Textbox(label="Question", placeholder="When was the budget approved?", scale=4)
                    ask_video = gr.Dropdown(app.video_choices(), value="", label="Video", scale=1)
                ask_button = gr.Button("Ask", variant="primary")
                answer_box = gr.HTML(label="Answer")
                player = gr.Video(label="Player", elem_id="lv-player", interactive=False)
                chapters = gr.HTML(label="Chapters")
                timeline = gr.BarPlot(x="second", y="relevance", label="Relevance over the video", height=160)
                evidence = gr.Gallery(label="Evidence", columns=4, height=200, object_fit="contain")
                evidence_like = gr.Button("Find moments like the selected picture", size="sm")
            with gr.Tab("Search", id="search"):
                with gr.Row():
                    query = gr.Textbox(label="Search", placeholder="a cat", scale=4)
                    search_video = gr.Dropdown(app.video_choices(), value="", label="Video", scale=1)
                search_button = gr.Button("Search", variant="primary")
                search_status = gr.Markdown()
                with gr.Row():
                    picture = gr.Image(type="numpy", label="Or find moments like a picture", height=200)
                    picture_button = gr.Button("Find moments like this", scale=0)
                results = gr.Gallery(label="Moments", columns=4, height=220, object_fit="contain")
                results_like = gr.Button("Find moments like the selected picture", size="sm")
                rows = gr.Dataframe(
                    headers=["file", "start", "end", "score", "snippet"], interactive=False, elem_id="lv-moments"
                )
            with gr.Tab("Library", id="library"):
                example = str(app.roots[0]) if app.roots else ""
                path_box = gr.Textbox(label="Video path on the server", placeholder=example)
                add_button = gr.Button("Add video")
                upload_box = gr.File(label="Or upload a video", file_types=sorted(VIDEO_SUFFIXES), type="filepath")
                status = gr.Markdown()
                table = gr.Dataframe(headers=["video id", "file", "seconds"], value=app.video_rows, interactive=False)
                add_button.click(app.add_path, inputs=path_box, outputs=status).then(
                    refresh, outputs=[table, ask_video, search_video]
                )
                upload_box.upload(app.upload, inputs=upload_box, outputs=status).then(
                    refresh, outputs=[table, ask_video, search_video]
                )
        evidence_paths, evidence_pick = gr.State([]), gr.State(None)  # server-side: never the browser's word
        result_paths, result_pick = gr.State([]), gr.State(None)
        found = [results, rows, search_status, result_paths, result_pick]
        answered = [answer_box, player, evidence, timeline, chapters, evidence_paths, evidence_pick]
        for trigger in (ask_button.click, question.submit):
            trigger(ask, inputs=[question, ask_video], outputs=answered)
        for trigger in (search_button.click, query.submit):
            trigger(by_text, inputs=[query, search_video], outputs=found)
        picture_button.click(by_picture, inputs=[picture, search_video], outputs=found)
        evidence.select(app.selected_thumbnail, inputs=evidence_paths, outputs=evidence_pick)
        results.select(app.selected_thumbnail, inputs=result_paths, outputs=result_pick)
        evidence_like.click(by_thumbnail, inputs=[evidence_pick, search_video], outputs=[*found, tabs])
        results_like.click(by_thumbnail, inputs=[result_pick, search_video], outputs=[*found, tabs])
    return ui


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
        threading.Thread(target=watcher.run, args=(stop_watching,), name=f"watch {folder}", daemon=True).start()
    app = create_app(library, allowed_roots, api_key=api_key, jobs=jobs)
    app = gr.mount_gradio_app(app, ui, path="/", auth=auth, allowed_paths=paths, head=SEEK_SCRIPT,
                              max_file_size=max_upload, server_name=host, server_port=port or DEFAULT_PORT)  # fmt: skip
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
