"""Search by example: a picture finds the moments that look like it, by the frame encoder's features."""

from __future__ import annotations

import json

import numpy as np
import pytest
import skimage.data
from PIL import Image

from longvid.app import Library
from longvid.app.cli import main
from longvid.app.library import QueryError
from longvid.index.records import Event, VideoRecord
from longvid.ingest import TimeSpan, sample_frames

from .conftest import DEMO


def test_a_frame_of_the_video_finds_its_moment(demo_library):
    batch = next(sample_frames(DEMO, fps=0.5))  # frames 2 s apart: index 8 is 16 s (the cat), 13 is 26 s
    for index, start in ((8, 12.0), (13, 24.0), (25, 48.0)):
        hits = demo_library.search_image(batch.pixels[index], k=3)
        assert hits[0].start_s == start and [m.channel for m in hits[0].matches] == ["frames"]
        assert hits[0].score > hits[1].score


def test_the_source_photos_find_where_they_are_shown(demo_library, tmp_path):
    """The demo shows scikit-image's cat at 12-24 s and coffee at 48-60 s; the files themselves find them."""
    for photo, start in ((skimage.data.chelsea(), 12.0), (skimage.data.coffee(), 48.0)):
        path = tmp_path / "query.png"
        Image.fromarray(photo).save(path)
        assert demo_library.search_image(path, k=1)[0].start_s == start


def test_bad_pictures_are_one_clear_error(demo_library, tmp_path):
    with pytest.raises(QueryError, match=r"missing\.png: file not found"):
        demo_library.search_image(tmp_path / "missing.png")
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(QueryError, match=r"notes\.png: not a picture Pillow can read"):
        demo_library.search_image(tmp_path / "notes.png")
    with pytest.raises(QueryError, match=r"must be \(H, W, 3\) uint8"):
        demo_library.search_image(np.zeros((4, 4), np.float32))


def test_a_library_without_frame_vectors_says_so(tmp_path):
    with Library(tmp_path / "old", profile="embedded") as lib:
        record = VideoRecord("v", "/videos/v.mp4", 10.0, 25.0, 64, 64, False)
        events = [Event("v", 0, TimeSpan(0, 10), transcript="hello")]
        lib.index.add_video(record, events, {"text": lib.indexer.text_embedder.embed(["hello"])})
        with pytest.raises(QueryError, match="holds no frame vectors"):
            lib.search_image(np.zeros((32, 32, 3), np.uint8))


def test_cli_search_by_image(demo_library, tmp_path, capsys):
    path = tmp_path / "coffee.jpg"
    Image.fromarray(skimage.data.coffee()).save(path)
    root = str(demo_library.root)
    assert main(["search", "--library", root, "--image", str(path), "-k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["start_s"] == 48.0
    with pytest.raises(SystemExit) as both:
        main(["search", "--library", root, "--image", str(path), "coffee"])
    assert both.value.code == 2 and "one of the two" in capsys.readouterr().err
