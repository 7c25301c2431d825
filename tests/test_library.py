"""End to end with the embedded profile: index the demo video, then find a spoken phrase, an on-screen
phrase and a shown object at the right time (assets/README.md lists what the demo holds, and when)."""

import json
import shutil
from pathlib import Path

import pytest

from longvid.app import Library
from longvid.app.cli import main
from longvid.app.profiles import ProfileError, load_profile

from .conftest import DEMO


@pytest.mark.parametrize(
    ("query", "start_s", "channel"),
    [
        ("the budget for the new bridge", 36.0, "keyword"),  # spoken
        ("when do the engineers present the prototype?", 24.0, "text"),  # spoken, by meaning
        ("lighthouse project deadline", 24.0, "keyword"),  # on screen
        ("cat", 12.0, "keyword"),  # shown (visual tag)
        ("espresso", 48.0, "keyword"),  # shown, in a silent stretch
    ],
)
def test_search_finds_the_moment(demo_library, query, start_s, channel):
    hits = demo_library.search(query, k=3)
    assert hits, query
    best = hits[0]
    assert abs(best.start_s - start_s) <= 2.0, (query, [(h.start_s, h.snippet) for h in hits])
    assert channel in best.channels
    assert best.thumbnail is not None and best.thumbnail.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    assert best.path == str(DEMO)


def test_events_carry_what_was_said_shown_and_written(demo_library):
    (video,) = demo_library.videos()
    events = demo_library.index.events(video.video_id)
    assert [round(e.span.start_s) for e in events] == [0, 12, 24, 36, 48]
    assert "bridge" in events[3].transcript.lower()
    assert "LIGHTHOUSE PROJECT" in events[2].ocr_text
    assert any("cat" in tag for tag in events[1].tags)
    assert events[4].transcript == ""  # the last slide is silent
    assert video.settings["profile"]["name"] == "embedded"  # results echo what built them


def test_adding_again_is_a_no_op_keyed_by_content(demo_library, tmp_path):
    copy = tmp_path / "same bytes, new name.mp4"
    shutil.copy(DEMO, copy)
    result = demo_library.add(copy)
    assert (result.status, result.events) == ("skipped", 5)
    assert len(demo_library.videos()) == 1


def test_library_remembers_its_profile(demo_library):
    root = demo_library.root
    with Library(root) as reopened:  # no profile given: the one it was built with
        assert reopened.profile.name == "embedded"
        assert reopened.search("bridge budget", k=1)[0].start_s == pytest.approx(36.0, abs=2.0)
        assert "frame_encoder" not in vars(reopened.indexer)  # searching text never loads the frame model
    clip = load_profile("embedded", overrides={"frames.encoder": "open_clip:ViT-B-32"})
    with pytest.raises(ProfileError, match="was built with profile 'embedded'"):
        Library(root, profile=clip)


def test_cli_index_and_search(demo_library, tmp_path, capsys):
    root = str(demo_library.root)
    assert main(["index", "--library", root, "--no-progress", str(DEMO)]) == 0
    assert "skipped" in capsys.readouterr().out
    assert main(["search", "--library", root, "--json", "-k", "2", "lighthouse deadline"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert abs(hits[0]["start_s"] - 24.0) <= 2.0 and Path(hits[0]["thumbnail"]).exists()
    bad = tmp_path / "broken.mp4"
    bad.write_text("nope")
    assert main(["index", "--library", root, "--no-progress", str(bad)]) == 1
    assert "broken.mp4: not a media file" in capsys.readouterr().err


def test_profiles_reject_unknown_keys_and_bad_names(tmp_path):
    with pytest.raises(ProfileError, match=r"unknown key\(s\) \['encodr'\]; allowed: \['analysis_fps'"):
        load_profile("embedded", overrides={"frames.encodr": "x"})
    with pytest.raises(ProfileError, match="unknown profile 'fast'; choose one of"):
        load_profile("fast")
    custom = tmp_path / "mine.toml"
    custom.write_text('device = "cpu"\n[ocr]\nenabled = false\n')
    assert load_profile(custom).ocr.enabled is False
    assert load_profile("gpu").speech.model == "large-v3-turbo"


@pytest.mark.gpu
@pytest.mark.slow
def test_gpu_profile_end_to_end(tmp_path):
    """The gpu profile's real models from the hub (SigLIP, Whisper large-v3-turbo, BGE): text searches frames."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    with Library(tmp_path / "lib", profile="gpu") as lib:
        lib.add(DEMO)
        hit = lib.search("a photo of a cat", k=1)[0]
        assert abs(hit.start_s - 12.0) <= 2.0 and "frames" in hit.channels
