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
tested without a browser.
"""

from __future__ import annotations

import html
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
import pandas as pd

from longvid.ingest import MediaError, timecode
from longvid.llm import Answer

from .jobs import VIDEO_SUFFIXES
from .library import Library

log = logging.getLogger(__name__)

ALL_VIDEOS = "All videos"
MAX_UPLOAD_BYTES = 4 << 30  # 4 GiB
UPLOADS = "uploads"  # LIBRARY/uploads holds uploaded videos
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
    return [(library.root / "thumbs").resolve(), (library.root / UPLOADS).resolve()]


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
        if not query.strip():
            return [], []
        hits = self.library.search(query, k=8, video=video_id or None)
        gallery = [(str(h.thumbnail), f"{Path(h.path).name} {timecode(h.start_s)}") for h in hits if h.thumbnail]
        rows = [[Path(h.path).name, timecode(h.start_s), timecode(h.end_s), round(h.score, 4), h.snippet] for h in hits]
        return gallery, rows

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

    with gr.Blocks(title="longvid") as ui:
        gr.Markdown("# longvid\nAsk questions about your videos; every answer cites the moments it rests on.")
        with gr.Tab("Ask"):
            with gr.Row():
                question = gr.Textbox(label="Question", placeholder="When was the budget approved?", scale=4)
                ask_video = gr.Dropdown(app.video_choices(), value="", label="Video", scale=1)
            ask_button = gr.Button("Ask", variant="primary")
            answer_box = gr.HTML(label="Answer")
            player = gr.Video(label="Player", elem_id="lv-player", interactive=False)
            chapters = gr.HTML(label="Chapters")
            timeline = gr.BarPlot(x="second", y="relevance", label="Relevance over the video", height=160)
            evidence = gr.Gallery(label="Evidence", columns=4, height=200, object_fit="contain")
            for trigger in (ask_button.click, question.submit):
                trigger(app.ask, inputs=[question, ask_video],
                        outputs=[answer_box, player, evidence, timeline, chapters])  # fmt: skip
        with gr.Tab("Search"):
            with gr.Row():
                query = gr.Textbox(label="Search", placeholder="a cat", scale=4)
                search_video = gr.Dropdown(app.video_choices(), value="", label="Video", scale=1)
            results = gr.Gallery(label="Moments", columns=4, height=220, object_fit="contain")
            rows = gr.Dataframe(headers=["file", "start", "end", "score", "snippet"], interactive=False)
            query.submit(app.search, inputs=[query, search_video], outputs=[results, rows])
        with gr.Tab("Library"):
            path_box = gr.Textbox(label="Video path on the server", placeholder=str(app.roots[0]) if app.roots else "")
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
    return ui


def launch(ui: gr.Blocks, library: Library, allowed_roots: Sequence[str | Path], host: str = "127.0.0.1",
           port: int | None = None, auth: tuple[str, str] | None = None, block: bool = True,
           max_upload: int = MAX_UPLOAD_BYTES):  # fmt: skip
    """Serve ``ui``; files are served only from ``allowed_roots`` and the library's thumbnails and uploads
    (never its catalog)."""
    paths = [str(Path(r).resolve()) for r in allowed_roots] + [str(d) for d in served_library_dirs(library)]
    return ui.launch(server_name=host, server_port=port, auth=auth, allowed_paths=paths, head=SEEK_SCRIPT,
                     max_file_size=max_upload, prevent_thread_lock=not block, quiet=True)  # fmt: skip
