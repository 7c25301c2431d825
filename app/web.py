"""``longvid serve``: a Gradio web app over a library — add videos, ask with clickable citations, search.

    >>> from longvid.app import Library
    >>> from longvid.app.web import build_ui, launch
    >>> lib = Library("my-library")                                     # doctest: +SKIP
    >>> launch(build_ui(lib, allowed_roots=["/data/videos"]), port=7860)  # doctest: +SKIP

Safe by default: it binds to 127.0.0.1; videos are added by server-side path only from under
``allowed_roots`` (anything else, ``..`` tricks included, is refused); the player and thumbnails are
served only from those roots and the library folder. A citation in an answer is a link; clicking it
seeks the player to that moment (a small script in the page's head, delegated on ``.lv-cite`` links).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path

import gradio as gr

from longvid.ingest import MediaError
from longvid.llm import Answer, timecode

from .library import Library

log = logging.getLogger(__name__)

SEEK_SCRIPT = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.lv-cite");
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


def answer_html(answer: Answer) -> str:
    """The answer's text, escaped, with one clickable citation link per cited moment."""
    links = " ".join(
        f'<a class="lv-cite" href="#" data-t="{c.start_s:.3f}" data-video="{html.escape(c.video_id)}">'
        f"[{i}] {html.escape(Path(c.path).name)} {timecode(c.start_s)}–{timecode(c.end_s)}</a>"
        for i, c in enumerate(answer.citations, start=1)
    )
    body = "<br>".join(html.escape(line) for line in answer.text.splitlines())
    return f'<div class="lv-answer"><p>{body}</p><p>{links}</p></div>'


def build_ui(library: Library, allowed_roots: Sequence[str | Path]) -> gr.Blocks:
    """The web app's page for ``library``; videos may be added only from under ``allowed_roots``."""
    roots = [Path(r).expanduser().resolve() for r in allowed_roots]

    def video_rows() -> list[list]:
        return [[v.video_id, Path(v.path).name, round(v.duration_s, 1)] for v in library.videos()]

    def add(path_text: str, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's own idiom)
        path = inside_roots(path_text.strip(), roots) if path_text.strip() else None
        if path is None:
            return f"Refused: {path_text!r} is not a file under the allowed folders.", video_rows()
        try:
            result = library.add(path, progress=True)
        except MediaError as err:
            return f"Failed: {err}", video_rows()
        return f"{result.status}: {path.name} ({result.events} events)", video_rows()

    def ask(question: str):
        if not question.strip():
            return "<p>Type a question.</p>", None, []
        answer = library.ask(question)
        top = answer.citations[0] if answer.citations else None
        player = inside_roots(top.path, roots) if top else None
        thumbs = [(str(p), f"{timecode(c.start_s)}") for c in answer.citations
                  if (p := library.thumbnail_path(c.video_id, _event_index(library, c))).exists()]  # fmt: skip
        return answer_html(answer), str(player) if player else None, thumbs

    with gr.Blocks(title="longvid") as ui:
        gr.Markdown("# longvid\nAsk questions about your videos; every answer cites the moments it rests on.")
        with gr.Tab("Ask"):
            question = gr.Textbox(label="Question", placeholder="When was the budget approved?")
            ask_button = gr.Button("Ask", variant="primary")
            answer_box = gr.HTML(label="Answer")
            player = gr.Video(label="Player", elem_id="lv-player", interactive=False)
            evidence = gr.Gallery(label="Evidence", columns=4, height=180)
            ask_button.click(ask, inputs=question, outputs=[answer_box, player, evidence])
            question.submit(ask, inputs=question, outputs=[answer_box, player, evidence])
        with gr.Tab("Library"):
            path_box = gr.Textbox(label="Video path on the server", placeholder=str(roots[0]) if roots else "")
            add_button = gr.Button("Add video")
            status = gr.Markdown()
            table = gr.Dataframe(headers=["video id", "file", "seconds"], value=video_rows, interactive=False)
            add_button.click(add, inputs=path_box, outputs=[status, table])
    return ui


def _event_index(library: Library, citation) -> int:
    for event in library.index.events(citation.video_id):
        if event.span.start_s == citation.start_s:
            return event.index
    return -1


def launch(ui: gr.Blocks, library: Library, allowed_roots: Sequence[str | Path], host: str = "127.0.0.1",
           port: int | None = None, auth: tuple[str, str] | None = None, block: bool = True):  # fmt: skip
    """Serve ``ui``; files are served only from ``allowed_roots`` and the library folder."""
    paths = [str(Path(r).resolve()) for r in allowed_roots] + [str(library.root.resolve())]
    return ui.launch(server_name=host, server_port=port, auth=auth, allowed_paths=paths, head=SEEK_SCRIPT,
                     prevent_thread_lock=not block, quiet=True)  # fmt: skip
