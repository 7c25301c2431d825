"""Seeing on a CPU: tags searchable by their general words, detected objects and counts, confidence floors.

The demo shows scikit-image's cat photo at 12-24 s (tagged "Egyptian cat", detected as a cat) and a cup of
coffee at 48-60 s (tagged "espresso", detected as a cup).
"""

from __future__ import annotations

import re
import shutil
import sqlite3

import numpy as np
import pytest

from longvid.app import Library
from longvid.app.cli import main
from longvid.app.profiles import load_profile
from longvid.encoders.concepts import confident_labels, general_words
from longvid.encoders.frames import create_frame_encoder
from longvid.index.catalog import SCHEMA_VERSION
from longvid.index.records import Event
from longvid.ingest import FrameBatch, TimeSpan, sample_frames
from longvid.llm import NO_MATCH

from .conftest import DEMO

NONSENSE = "purple quantum giraffe spaceship"


def test_general_words_find_what_fine_labels_name(demo_library):
    for query in ("cat", "animal", "a mammal", "When is a cat shown?"):
        hits = demo_library.search(query, k=3)
        assert hits and hits[0].start_s == 12.0, query
    keyword = demo_library.search("animal", k=1)[0]
    assert "keyword" in keyword.channels  # "animal" is nowhere in a label: it is the tags' general word
    assert demo_library.search("cup", k=1)[0].start_s == 48.0  # the detector's object, not an ImageNet tag


def test_objects_are_stored_counted_and_shown(demo_library):
    cat = next(e for e in demo_library.index.events(demo_library.videos()[0].video_id) if e.span.start_s == 12.0)
    assert [o.label for o in cat.objects] == ["cat"]
    assert all(0 <= v <= 1 for o in cat.objects for v in o.box) and cat.objects[0].score >= 0.3
    assert cat.shown[0] == "1 cat" and "Egyptian cat (cat)" in cat.shown
    answer = demo_library.ask("How many cups are in the shot at 0:50?")
    assert answer.plan.kind == "count" and "counts 1 cup" in answer.text
    assert [(c.start_s, c.end_s) for c in answer.citations] == [(48.0, 60.0)]
    none = demo_library.ask("How many dogs are in the shot at 0:50?")
    assert "counts 0 dog" in none.text


def test_no_tag_below_the_floor_is_stored_or_stated(demo_library):
    """Every stored tag had at least the floor's probability on one of the moment's keyframes."""
    profile = load_profile("embedded")
    encoder = create_frame_encoder(profile.frames.encoder)
    batch = next(sample_frames(DEMO, fps=2.0))
    feats = encoder.encode(batch)
    best: dict[str, float] = {}
    for tags, scores in zip(feats.tags, feats.tag_scores, strict=True):
        for tag, p in zip(tags, scores, strict=True):
            best[tag] = max(best.get(tag, 0.0), p)
    below = {tag for tag, p in best.items() if p < profile.frames.tag_floor}
    assert below  # the encoder does propose weaker tags (the rocket's "drilling platform" among them)
    for event in demo_library.index.events(demo_library.videos()[0].video_id):
        assert not below & set(event.tags), event
        answer = demo_library.ask(f"What is shown at {int(event.span.mid_s // 60)}:{int(event.span.mid_s % 60):02d}?")
        assert not any(tag in answer.text for tag in below), answer.text


def test_a_query_about_nothing_indexed_finds_nothing_and_says_why(demo_library, capsys):
    hits = demo_library.search(NONSENSE)
    assert hits == [] and hits.reason.startswith(f"no confident match for '{NONSENSE}'")
    assert "text cosine" in hits.reason and "floor 0.32" in hits.reason
    answer = demo_library.ask(NONSENSE)
    assert answer.text.startswith(NO_MATCH) and "no confident match" in answer.text and not answer.citations
    assert main(["search", "--library", str(demo_library.root), NONSENSE]) == 0
    assert capsys.readouterr().out.startswith("no confident match for")
    # without floors the same search returns moments scored like real hits: the floor is what refuses them
    loose = demo_library.index.search(NONSENSE, {"text": demo_library.indexer.text_embedder.embed([NONSENSE])[0]},
                                      floors={})  # fmt: skip
    assert len(loose) > 0


def test_a_schema_3_library_gets_general_words_for_its_old_tags(demo_library, tmp_path):
    root = tmp_path / "old"
    shutil.copytree(demo_library.root, root)
    with sqlite3.connect(root / "catalog.sqlite") as conn:  # back to schema 3: no concepts, no objects
        for name in ("events_fts_insert", "events_fts_delete", "events_fts_update"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP VIEW events_text")
        conn.execute("DROP TABLE events_fts")
        conn.execute("ALTER TABLE events DROP COLUMN concepts")
        conn.execute("ALTER TABLE events DROP COLUMN objects")
        tags = "(SELECT group_concat(value, ', ') FROM json_each(events.tags))"
        conn.execute(f"CREATE VIEW events_text AS SELECT id, transcript, ocr_text, {tags} AS tags, caption FROM events")
        conn.execute(
            "CREATE VIRTUAL TABLE events_fts USING fts5 (transcript, ocr_text, tags, caption, content = "
            "'events_text', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        conn.execute(
            f"INSERT INTO events_fts (rowid, transcript, ocr_text, tags, caption) SELECT id, transcript, "
            f"ocr_text, {tags}, caption FROM events"
        )
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (3)")
    with Library(root) as lib:
        (version,) = lib.index.catalog._reader().execute("SELECT max(version) FROM schema_version").fetchone()
        assert version == SCHEMA_VERSION == 4
        hits = lib.search("animal", k=1)
        assert hits[0].start_s == 12.0 and "keyword" in hits[0].channels  # backfilled from the stored tags
        assert lib.check() == []


def test_the_profile_floors_are_the_calibrated_ones():
    """``longvid eval calibrate`` on the bundled held-out set chooses exactly the embedded profile's floors."""
    pytest.importorskip("skimage")
    from longvid.app.eval.calibrate import calibrate

    chosen = calibrate()
    profile = load_profile("embedded")
    assert chosen.tags.floor == profile.frames.tag_floor
    assert chosen.objects.floor == profile.objects.min_score
    assert chosen.text.floor == profile.search.text_floor
    assert chosen.keyword.floor == profile.search.keyword_floor
    tags = dict((f, p) for f, p, _ in chosen.tags.rows)
    assert tags[chosen.tags.floor] >= 0.9 > tags[0.1]  # the floor is what makes shown tags right


def test_the_encoder_gives_each_tag_its_probability():
    encoder = create_frame_encoder("efficientnet-lite0")
    pixels = np.zeros((2, 64, 64, 3), np.uint8)
    feats = encoder.encode(FrameBatch("v", np.arange(2.0), pixels))
    assert [len(r) for r in feats.tags] == [len(r) for r in feats.tag_scores]
    assert all(0.01 <= p <= 1 for row in feats.tag_scores for p in row)
    assert all(list(row) == sorted(row, reverse=True) and len(row) <= 20 for row in feats.tag_scores)


def test_probability_split_among_breeds_still_says_dog():
    """No breed clears the floor, their sum does: the frame is tagged with the most specific word that does."""
    floor = load_profile("embedded").frames.tag_floor
    labels = ("Staffordshire bullterrier", "American Staffordshire terrier", "boxer", "tabby")
    said = confident_labels(labels, (0.42, 0.40, 0.1, 0.05), floor)
    assert [w for w, _ in said] == ["bullterrier"] and said[0][1] == pytest.approx(0.82)
    event = Event("v", 0, TimeSpan(0, 5), tags=("bullterrier",), concepts=general_words(["bullterrier"]))
    assert event.shown == ("bullterrier (dog)",) and {"dog", "animal"} <= set(event.concepts)
    assert confident_labels(labels, (0.3, 0.2, 0.1, 0.05), floor) == ()  # "dog" at 0.6: still under the floor


def test_a_picture_is_not_found_for_a_thing_its_tags_do_not_name(tmp_path):
    """A question naming only tagger words ("is there a cat?") is not answered by a moment that only pictures
    describe and whose tags name something else, however close the words are (cat / bird: cosine 0.42)."""
    from longvid.index.records import VideoRecord

    with Library(tmp_path / "lib", profile="embedded") as lib:
        tags = [(("bird",), ("animal",)), (("giraffe",), ("ruminant", "animal")), (("tabby",), ("cat", "animal"))]
        events = [Event("v", i, TimeSpan(10.0 * i, 10.0 * i + 10), tags=t, concepts=c) for i, (t, c) in enumerate(tags)]
        events.append(Event("v", 3, TimeSpan(30.0, 40.0), transcript="Our cat sleeps all day on the sofa."))
        vectors = lib.indexer.text_embedder.embed([e.text for e in events])
        lib.index.add_video(
            VideoRecord("v", "/videos/v.mp4", 40.0, 25.0, 640, 360, True, {}), events, {"text": vectors}
        )
        assert [h.start_s for h in lib.search("Is there a cat?", k=5)] in ([20.0, 30.0], [30.0, 20.0])
        assert [h.start_s for h in lib.search("a bird", k=5)] == [0.0]
        # a video with no cat anywhere: the bird resembles one, and the reason says so
        lib.index.add_video(VideoRecord("w", "/videos/w.mp4", 20.0, 25.0, 640, 360, True, {}),
                            [Event("w", e.index, e.span, tags=e.tags, concepts=e.concepts) for e in events[:2]],
                            {"text": vectors[:2]})  # fmt: skip
        hits = lib.search("cat", k=5, video="w")
        assert not hits and re.search(r"\d moments? resembles? it, but no tag or object there names it", hits.reason)
