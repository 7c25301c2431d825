"""The web app in a real browser (Debian's Chromium driven by Playwright, no browser download): add the
demo video, ask, see a cited timestamp, click it and check the player seeks there, find the moments like an
evidence thumbnail; path checks."""

import html
import os
import re
import shutil
import socket
from pathlib import Path

import pytest

from longvid.app import Library
from longvid.app.web import WebApp, answer_html, build_ui, inside_roots, launch
from longvid.ingest import probe, timecode
from longvid.llm import Answer, AnswerBackend, Citation, parse_citations

from .conftest import DEMO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
README_SCREENSHOT = Path(__file__).resolve().parents[1] / "assets" / "ui.png"  # LONGVID_UPDATE_SCREENSHOT=1


def test_inside_roots_refuses_escapes(tmp_path):
    root = tmp_path / "videos"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.mp4").write_bytes(b"")
    (tmp_path / "secret.txt").write_text("no")
    (root / "link").symlink_to(tmp_path / "secret.txt")
    assert inside_roots(root / "a" / "x.mp4", [root]) == (root / "a" / "x.mp4").resolve()
    assert inside_roots(root / "a" / ".." / ".." / "secret.txt", [root]) is None
    assert inside_roots(root / "link", [root]) is None  # a symlink pointing out is out
    assert inside_roots("/etc/passwd", [root]) is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_browser_add_ask_click_citation(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    roots = [DEMO.parent]
    with Library(tmp_path / "lib", profile="embedded") as lib:
        ui = build_ui(lib, allowed_roots=roots)
        port = _free_port()
        served = launch(ui, lib, roots, port=port, block=False)
        try:
            with playwright.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync"])  # fmt: skip
                page = browser.new_page(viewport={"width": 1200, "height": 1100})
                page.goto(f"http://127.0.0.1:{port}/")  # not "networkidle": the session heartbeat stays open
                page.get_by_role("tab", name="Library").click()
                page.get_by_label("Video path on the server").fill("/etc/passwd")
                page.get_by_role("button", name="Add video").click()
                page.get_by_text("Refused").wait_for(timeout=30_000)
                with page.expect_file_chooser() as chooser:  # the browser's own file picker
                    page.locator("#lv-upload").get_by_text("Click to Upload").click()
                chooser.value.set_files(str(DEMO))
                page.get_by_text("indexed: demo.mp4").wait_for(timeout=120_000)
                page.get_by_role("tab", name="Ask").click()
                page.get_by_label("Question").fill("When was the budget for the bridge approved?")
                page.get_by_role("button", name="Ask", exact=True).click()
                cite = page.locator("a.lv-cite").first
                cite.wait_for(timeout=60_000)
                assert "00:36" in cite.inner_text()

                def player_at(t: float) -> None:
                    page.wait_for_function(
                        f"() => Math.abs(document.querySelector('#lv-player video').currentTime - {t}) < 0.5",
                        timeout=30_000,
                    )

                player_at(36)  # the player opens at the first cited moment, without a click
                page.locator(".lv-timeline a.lv-chap").first.click()  # the timeline's first chapter: 00:00
                player_at(0)
                said = page.locator("#lv-transcript a.lv-line", has_text="budget for the new bridge")
                said.click()  # a transcript line seeks to where it is said ...
                start = float(said.get_attribute("data-t"))
                player_at(start)
                page.wait_for_function(  # ... and the line being played is the one highlighted
                    "() => (document.querySelector('#lv-transcript .lv-now')?.innerText || '').includes('bridge')",
                    timeout=30_000,
                )
                cite.click()
                player_at(36)
                page.screenshot(path=str(tmp_path / "ui.png"), full_page=True)
                with page.expect_download(timeout=120_000) as download:
                    page.locator("a.lv-download").first.click()
                clip = tmp_path / "clip.mp4"
                download.value.save_as(clip)
                assert abs(probe(clip).duration_s - 12.0) < 0.2  # the cited 00:36–00:48
                page.locator(".thumbnail-item").first.click()  # the first Evidence thumbnail: the cited 00:36
                page.get_by_role("button", name="Find moments like the selected picture").first.click()
                page.wait_for_function(  # the Search tab's table, now shown, fills with moments ...
                    "() => (document.querySelector('#lv-moments')?.innerText || '').includes('demo.mp4')",
                    timeout=60_000,
                )
                rows = page.locator("#lv-moments").inner_text().split("demo.mp4")[1:]
                assert rows[0].split()[0] == "00:36"  # ... that moment first
                browser.close()
        finally:
            served.close()
    assert (tmp_path / "ui.png").stat().st_size > 10_000
    if os.environ.get("LONGVID_UPDATE_SCREENSHOT"):
        shutil.copy(tmp_path / "ui.png", README_SCREENSHOT)


def test_web_handlers_search_timeline_and_uploads(demo_library, tmp_path):
    app = WebApp(demo_library, allowed_roots=[DEMO.parent])
    (video_id,) = [value for _, value in app.video_choices() if value]
    html_answer, player, thumbs, timeline, strip, transcript = app.ask("Is there a cat?", video_id)
    assert 'class="lv-cite" href="#" data-t="12.000"' in html_answer
    assert f'src="/media/video/{video_id}?sig=' in player and "#t=12.000" in player  # at the first citation
    assert html_answer.count('class="lv-download" href="/media/clip/') == 1
    assert thumbs and thumbs[0][1].startswith("00:12")
    marks = re.findall(r'class="lv-seek (lv-\w+)" href="#" data-t="([\d.]+)"[^>]*style="left:([\d.]+)%', timeline)
    cited = [(float(t), float(left)) for kind, t, left in marks if kind == "lv-cited"]
    assert cited == [(12.0, 20.0)]  # 12 s of the demo's 60: a fifth of the way along
    assert {kind for kind, *_ in marks} == {"lv-chap", "lv-match", "lv-cited"}
    assert timeline.endswith("<span>00:00</span><span>00:15</span><span>00:30</span><span>00:45</span>"
                             "<span>01:00</span></div></div>")  # fmt: skip
    lines = re.findall(r'class="lv-seek lv-line" href="#" data-t="([\d.]+)" data-end="([\d.]+)"', transcript)
    spoken = demo_library.index.transcript(video_id)
    assert [float(t) for t, _ in lines] == [round(s.span.start_s, 3) for s in spoken] and "bridge" in transcript
    chapters = demo_library.chapters(video_id)  # the strip under the player: one seeking link per chapter
    assert strip.count('<a class="lv-chapter"') == len(chapters) >= 1
    assert all(f'data-t="{c.span.start_s:.3f}"' in strip and html.escape(c.title) in strip for c in chapters)
    gallery, rows = app.search("lighthouse deadline")
    assert rows[0][1] == "00:24" and rows[0][3] == "100%" and Path(gallery[0][0]).exists()
    assert gallery[0][1] == "100% · demo.mp4 00:24"
    assert [row[:5] for row in app.video_rows()] == [["demo.mp4", "00:01:00", 5, len(chapters), "yes"]]
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    assert app.upload(str(bad)).startswith("Refused: notes.txt is not a video file")
    small = WebApp(demo_library, [DEMO.parent], max_upload=10)
    assert "over the 10-byte limit" in small.upload(str(DEMO))
    assert app.add_path(str(DEMO.parent / ".." / ".." / "etc" / "passwd")).startswith("Refused")


class EchoBackend(AnswerBackend):
    """Writes the question back into its answer, as a model may, and cites the first moment it was shown."""

    name = "echo"

    def generate(self, question, evidence, context=""):
        text = f"You asked: {question}\nSee [{timecode(evidence[0].span.start_s)}]."
        return Answer(text, tuple(parse_citations(text, evidence)), self.name, tuple(evidence))


FAKE_CITE = '<a class="lv-cite" href="#" data-t="999" onclick="alert(2)">[9] fake 00:00</a>'


def test_web_answer_escapes_a_hostile_question(demo_library):
    question = f"<script>alert(1)</script> {FAKE_CITE} & when?"
    with Library(demo_library.root) as lib:
        lib.answerer = EchoBackend()
        app = WebApp(lib, allowed_roots=[DEMO.parent])
        (video_id,) = [value for _, value in app.video_choices() if value]
        page, *_ = app.ask(question, video_id)
        answer = lib.ask(question, video_id)
    assert answer.text.startswith(f"You asked: {question}")  # the answer does carry the payload
    assert "<script>" not in page and "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&amp; when?" in page
    assert 'data-t="999"' not in page and 'onclick="' not in page
    assert "&lt;a class=&quot;lv-cite&quot; href=&quot;#&quot; data-t=&quot;999&quot;" in page
    assert page.count('<a class="lv-cite"') == len(answer.citations) == 1  # only the real citation is a link
    assert "<br>See [00:00].</p>" in page  # lines become <br>, the rest is text


def test_answer_html_escapes_citation_fields():
    cite = Citation('v"><script>x</script>', 12.0, 24.0, path='/v/<img src=x onerror="alert(3)">.mp4')
    page = answer_html(Answer("ok", (cite,), "echo"))
    assert "<script>" not in page and "<img" not in page and 'onerror="' not in page
    assert 'data-video="v&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in page
    assert "[1] &lt;img src=x onerror=&quot;alert(3)&quot;&gt;.mp4 00:12–00:24</a>" in page
