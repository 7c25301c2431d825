"""Answers: citation parsing and validation, the extractive backend, and ask() end to end on the demo."""

import json

import pytest

from longvid.app.cli import main
from longvid.ingest import TimeSpan
from longvid.llm import Evidence, ExtractiveBackend, create_backend, parse_citations, timecode

from .conftest import DEMO

SHOWN = [
    Evidence("v1", "/videos/talk.mp4", TimeSpan(30.0, 42.0), transcript="Intro. The budget was approved.", score=0.9),
    Evidence("v1", "/videos/talk.mp4", TimeSpan(3600.0, 3615.0), ocr_text="ROADMAP\nShip in May", score=0.5),
    Evidence("v2", "/videos/cats.mp4", TimeSpan(0.0, 10.0), tags=("tabby", "Egyptian cat"), score=0.2),
]


def test_parse_citations_keeps_only_shown_moments():
    text = "Approved [00:35], roadmap at <t=01:00:05>, range [00:40-01:00:02], invented [00:20:00] and [99:99]."
    cites = parse_citations(text, SHOWN)
    assert [(c.video_id, c.start_s, c.end_s) for c in cites] == [("v1", 30.0, 42.0), ("v1", 3600.0, 3615.0)]
    assert parse_citations("no citations here", SHOWN) == []


def test_timecode():
    assert (timecode(5.4), timecode(65), timecode(3725)) == ("00:05", "01:05", "01:02:05")


def test_extractive_quotes_the_best_sentence_and_cites_each_moment():
    answer = ExtractiveBackend().answer("when was the budget approved?", SHOWN)
    assert answer.backend == "extractive"
    lines = answer.text.splitlines()
    assert lines[0] == "At 00:30–00:42 in talk.mp4: said “The budget was approved.”"
    assert len(answer.citations) == 1  # the others score below 60% of the best
    assert answer.citations[0].span == TimeSpan(30.0, 42.0) and answer.citations[0].quote == "The budget was approved."
    wide = ExtractiveBackend(min_relative_score=0.0).answer("roadmap", SHOWN)
    assert "on screen “ROADMAP / Ship in May”" in wide.text and "shown: tabby, Egyptian cat" in wide.text
    assert [c.video_id for c in wide.citations] == ["v1", "v1", "v2"]


def test_extractive_with_no_evidence_says_so():
    assert ExtractiveBackend().answer("anything", []).text.startswith("No moment")
    with pytest.raises(ValueError, match="unknown answer backend 'oracle'"):
        create_backend("oracle")


def test_ask_answers_from_the_demo_with_citations(demo_library):
    answer = demo_library.ask("When was the budget for the new bridge approved?")
    assert "approved by the board" in answer.text
    assert answer.citations[0].start_s == pytest.approx(36.0, abs=2.0) and answer.citations[0].path == str(DEMO)
    deadline = demo_library.ask("What is the deadline of the lighthouse project?")
    assert "March 3" in deadline.text and deadline.citations[0].start_s == pytest.approx(24.0, abs=2.0)


def test_cli_ask(demo_library, capsys):
    assert main(["ask", "--library", str(demo_library.root), "--json", "Is there a cat?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "cat" in out["answer"].lower() and out["citations"][0]["start_s"] == pytest.approx(12.0, abs=2.0)


def test_cli_ask_without_a_library_says_how_to_make_one(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["ask", "--library", str(missing), "anything?"]) == 1
    assert f"no library at {missing}; index videos first" in capsys.readouterr().err
    assert not missing.exists()  # asking never creates a library
