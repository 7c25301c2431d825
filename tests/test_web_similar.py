"""The web app's "find moments like this": search by an uploaded picture or by a gallery thumbnail (only the
library's own thumbnails are read), the Search button, and the reason shown when a text search finds nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import skimage.color
import skimage.data
from gradio.state_holder import SessionState

from longvid.app.library import QueryError
from longvid.app.web import MAX_IMAGE_PIXELS, WebApp, build_ui, rgb_pixels, status_text

from .conftest import DEMO

NONSENSE = "purple quantum giraffe spaceship"
REFUSED = "Refused: only a thumbnail shown in a gallery can be searched by."


@pytest.fixture
def app(demo_library) -> WebApp:
    return WebApp(demo_library, allowed_roots=[DEMO.parent])


def _select(index) -> gr.SelectData:
    return gr.SelectData(None, {"index": index, "value": {"image": {"path": "/etc/passwd"}, "caption": "x"}})


def test_rgb_pixels_takes_what_gr_image_may_give():
    cat = skimage.data.chelsea()
    rgba = np.dstack([cat, np.full(cat.shape[:2], 255, np.uint8)])
    assert np.array_equal(rgb_pixels(rgba), cat)
    grey = skimage.data.camera()  # (H, W) uint8
    assert rgb_pixels(grey).shape == (*grey.shape, 3) and np.array_equal(rgb_pixels(grey)[..., 2], grey)
    assert np.array_equal(rgb_pixels(grey[..., None]), rgb_pixels(grey))
    assert np.array_equal(rgb_pixels(cat / 255.0), cat)  # float in [0, 1]
    assert np.array_equal(rgb_pixels(cat.astype(np.float64)), cat)  # float in [0, 255]
    assert np.array_equal(rgb_pixels(cat.astype(np.uint16) * 257), cat)  # 16-bit
    assert rgb_pixels(np.ones((2, 2), bool)).tolist() == [[[255] * 3] * 2] * 2
    for bad in (np.zeros((4, 4, 5), np.uint8), np.zeros((0, 4, 3), np.uint8), np.zeros(4), np.array([["a"]])):
        with pytest.raises(ValueError):
            rgb_pixels(bad)


def test_status_text_shows_markup_as_written():
    assert status_text("no match for '<b>x</b>' *y* [z](javascript:1)\n") == (
        r"no match for '&lt;b&gt;x&lt;/b&gt;' \*y\* \[z\](javascript:1)"
    )


def test_a_picture_finds_where_it_is_shown(app):
    cat, coffee = skimage.data.chelsea(), skimage.data.coffee()
    rgba = np.dstack([cat, np.full(cat.shape[:2], 200, np.uint8)])
    for picture, start in ((cat, "00:12"), (rgba, "00:12"), (skimage.color.rgb2gray(cat), "00:12"), (coffee, "00:48")):
        gallery, rows, status = app.search_picture(picture)
        assert rows[0][1] == start and status == "", (picture.shape, picture.dtype, rows[:2])
        assert gallery[0][1].endswith(start) and Path(gallery[0][0]).exists()
    (video_id,) = [value for _, value in app.video_choices() if value]
    assert app.search_picture(cat, video_id)[1][0][1] == "00:12"  # the video filter applies
    gallery, rows, status = app.search_picture(cat, "no-such-video")
    assert (gallery, rows) == ([], []) and status.startswith("Search failed: ")


def test_a_picture_that_cannot_be_searched_says_why(app, demo_library, monkeypatch):
    assert app.search_picture(None) == ([], [], "Choose a picture first.")
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (8000, 6000, 3))  # 48 MP, never allocated
    assert MAX_IMAGE_PIXELS < 8000 * 6000
    gallery, rows, status = app.search_picture(huge)
    assert (gallery, rows) == ([], []) and status.startswith("Refused: the picture is 6000x8000 pixels, over the 40")
    gallery, rows, status = app.search_picture(np.zeros((4, 4, 5), np.uint8))
    assert (gallery, rows) == ([], []) and status.startswith("Refused: the picture must be greyscale, RGB or RGBA")

    def no_frames(*args, **kwargs):
        raise QueryError(f"{demo_library.root} holds no frame vectors (indexed by an older longvid)")

    monkeypatch.setattr(demo_library, "search_image", no_frames)
    gallery, rows, status = app.search_picture(skimage.data.chelsea())
    assert (gallery, rows) == ([], []) and status.startswith("Search failed: ") and "holds no frame vectors" in status


def test_a_selected_thumbnail_finds_its_moment(app):
    gallery, _, _ = app.search_with_status("a cat")  # the Search tab's Moments gallery
    shown = [path for path, _ in gallery]
    index = next(i for i, (_, caption) in enumerate(gallery) if caption.endswith("00:12"))
    picked = app.selected_thumbnail(shown, _select(index))  # the path kept server-side, not the browser's value
    assert picked == shown[index] and picked != "/etc/passwd"
    gallery, rows, status = app.search_thumbnail(picked)
    assert rows[0][1] == "00:12" and gallery[0][0] == picked and status == ""

    _, _, evidence, *_ = app.ask("Is there a cat?")  # the Ask tab's Evidence gallery
    picked = app.selected_thumbnail([path for path, _ in evidence], _select(0))
    assert evidence[0][1].startswith("00:12") and app.search_thumbnail(picked)[1][0][1] == "00:12"
    player = app.seek_to_thumbnail([path for path, _ in evidence], _select(0))  # selecting one also seeks
    assert "#t=12.000" in player and 'id="lv-player"' in player
    player = app.seek_to_thumbnail(shown, _select(index), player="lv-search-player")
    assert "#t=12.000" in player and 'id="lv-search-player"' in player
    assert app.moment_of("/etc/passwd") is None and app.moment_of(str(Path(picked).parent / "99999.jpg")) is None

    for index in (len(shown), -1, "0", None, 1.0, True):  # what a browser may send beyond the gallery
        assert app.selected_thumbnail(shown, _select(index)) is None
    assert app.search_thumbnail(None) == ([], [], "Select a picture in the gallery first.")


def test_only_the_library_thumbnails_are_read(app, demo_library, monkeypatch, tmp_path):
    thumbs = demo_library.root / "thumbs"
    (tmp_path / "outside.jpg").write_bytes((next(thumbs.rglob("*.jpg"))).read_bytes())
    link = thumbs / "link-out.jpg"
    link.symlink_to(tmp_path / "outside.jpg")
    read: list = []
    monkeypatch.setattr(demo_library, "search_image", lambda image, **kw: read.append(image))
    try:
        catalog = demo_library.root / "catalog.sqlite"
        assert catalog.is_file()
        for path in (catalog, "/etc/passwd", thumbs / ".." / catalog.name, link, tmp_path / "outside.jpg", thumbs,
                     thumbs / "missing.jpg", str(DEMO)):  # fmt: skip
            assert app.search_thumbnail(str(path)) == ([], [], REFUSED), path
    finally:
        link.unlink()
    assert read == []


def test_text_search_says_why_nothing_matched(app):
    gallery, rows, status = app.search_with_status(NONSENSE)
    assert (gallery, rows) == ([], []) and status.startswith(f"no confident match for '{NONSENSE}'")
    assert app.search(NONSENSE) == ([], [])  # the old shape still works
    gallery, rows, status = app.search_with_status("lighthouse deadline")
    assert rows[0][1] == "00:24" and status == "" and (gallery, rows) == app.search("lighthouse deadline")
    assert app.search_with_status("  ") == ([], [], "Type what you are looking for.")


def _by_label(ui: gr.Blocks, kind: str, label: str) -> list[int]:
    return [c["id"] for c in ui.config["components"]
            if c["type"] == kind and label in (c["props"].get("label"), c["props"].get("value"))]  # fmt: skip


def test_the_page_wires_find_moments_like_this(demo_library):
    ui = build_ui(demo_library, [DEMO.parent])
    (picture,) = _by_label(ui, "image", "Or find moments like a picture")
    (like_this,) = _by_label(ui, "button", "Find moments like this")
    like_selected = _by_label(ui, "button", "Find moments like the selected picture")  # under Evidence, Moments
    (search_button,) = _by_label(ui, "button", "Search")
    galleries = _by_label(ui, "gallery", "Evidence") + _by_label(ui, "gallery", "Moments")
    assert len(like_selected) == 2 and len(galleries) == 2
    deps = {(target, event): dep for dep in ui.config["dependencies"] for target, event in dep["targets"]}
    assert picture in deps[(like_this, "click")]["inputs"] and (search_button, "click") in deps
    for gallery, button in zip(galleries, like_selected, strict=True):
        assert deps[(gallery, "select")]["collects_event_data"] and (button, "click") in deps

    # through Gradio itself: a text search fills the Moments gallery, selecting a thumbnail, then the button
    fns = {(target, event): ui.fns[dep["id"]] for (target, event), dep in deps.items()}
    session = SessionState(ui)
    moments, moments_like = galleries[1], like_selected[1]

    def call(target, event, inputs, event_data=None):
        fn = fns[(target, event)]
        return asyncio.run(ui.process_api(fn, inputs, state=session, event_data=event_data))["data"]

    (query,) = _by_label(ui, "textbox", "Search")
    data = call(search_button, "click", ["a cat", ""])
    index = next(i for i, item in enumerate(data[0]) if item["caption"].endswith("00:12"))
    unpicked = call(moments_like, "click", [None, ""])
    assert unpicked[2] == "Select a picture in the gallery first." and unpicked[0] == {"__type__": "update"}
    # the browser sees Gradio's cached copy (/tmp/gradio/...), so the pick is looked up server-side by index
    picked = call(moments, "select", [None], gr.SelectData(None, {"index": index, "value": data[0][index]}))
    assert "#t=12.000" in picked[1] and 'id="lv-search-player"' in picked[1]  # the pick plays there too
    found = call(moments_like, "click", [None, ""])
    assert found[1]["data"][0][1] == "00:12" and found[2] == ""
    assert (query, "submit") in deps
