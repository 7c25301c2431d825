"""Footage nobody here made: OpenCV's sample street video (Debian's opencv-doc: pedestrians filmed from above,
768x576, 10 fps, MS-MPEG4) indexed end to end, then asked about in plain words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from longvid.app import Library
from longvid.ingest import open_video

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")

pytestmark = pytest.mark.skipif(not VTEST.is_file(), reason=f"needs Debian's opencv-doc ({VTEST})")


@pytest.fixture(scope="module")
def street(tmp_path_factory):
    with Library(tmp_path_factory.mktemp("street"), profile="embedded") as lib:
        added = lib.add(VTEST)
        yield lib, added.video_id


def test_people_in_a_street_are_found_counted_and_searchable(street):
    lib, video_id = street
    events = lib.index.events(video_id)
    assert events and events[-1].span.end_s == pytest.approx(open_video(VTEST).duration_s, abs=0.2)
    with_people = [e for e in events if any(o.label == "person" for o in e.objects)]
    assert len(with_people) >= 0.8 * len(events)  # people walk through the whole video
    hits = lib.search("When are people shown?", k=5)  # "people": the group WordNet's persons are members of
    assert hits and all(any(o.label == "person" for o in h.event.objects) for h in hits)
    answer = lib.ask("How many people are in the shot at 0:30?")
    counted = int(re.search(r"counts (\d+) person", answer.text).group(1))
    at = next(e for e in events if e.span.start_s <= 30 < e.span.end_s)
    assert counted == sum(o.label == "person" for o in at.objects) >= 2
    assert answer.citations[0].start_s == at.span.start_s


def test_what_is_not_there_is_not_found(street):
    lib, _ = street
    for question in ("When is a giraffe shown?", "purple quantum giraffe spaceship"):
        assert lib.search(question, k=5) == [], question
