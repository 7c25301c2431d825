"""Answers: citation parsing and validation, the extractive backend, and ask() end to end on the demo."""

import json
import logging
import subprocess
import sys
from dataclasses import replace

import pytest

from longvid.app.cli import main
from longvid.ingest import LongvidError, TimeSpan, timecode
from longvid.llm import (
    BACKENDS,
    NO_MATCH,
    Answer,
    AnswerBackend,
    BackendOptions,
    Evidence,
    ExtractiveBackend,
    UnknownBackendError,
    backend_names,
    create_backend,
    parse_citations,
    register_backend,
)

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
    with pytest.raises(ValueError, match="unknown answer backend 'oracle'") as err:
        create_backend("oracle")
    assert isinstance(err.value, UnknownBackendError) and isinstance(err.value, LongvidError)
    assert "choose one of ['extractive', 'textllm', 'videollm']" in str(err.value)


class ScriptedBackend(AnswerBackend):
    """A backend whose "model" writes a fixed reply; citations are parsed as every backend parses them."""

    name = "scripted"

    def __init__(self, reply: str):
        self.reply = reply
        self.calls: list[tuple[str, int]] = []

    def generate(self, question, evidence, context=""):
        self.calls.append((question, len(evidence)))
        return Answer(self.reply, tuple(parse_citations(self.reply, evidence)), self.name, tuple(evidence))


def test_shared_answer_keeps_valid_citations_in_order_of_mention(caplog):
    reply = "Roadmap <t=01:00:05>, approved [00:35], again [00:40], range [00:40-01:00:02], invented [00:20:00]."
    backend = ScriptedBackend(reply)
    with caplog.at_level(logging.INFO, logger="longvid.llm.answer"):
        answer = backend.answer("what was decided?", SHOWN)
    assert [(c.video_id, c.start_s, c.end_s) for c in answer.citations] == [("v1", 3600.0, 3615.0), ("v1", 30.0, 42.0)]
    assert answer.text == reply and answer.backend == "scripted" and answer.evidence == tuple(SHOWN)
    assert "citing the best retrieved moment" not in caplog.text  # no fallback when the text cites
    assert backend.calls == [("what was decided?", 3)]


def test_shared_fallback_cites_the_top_scored_moment_and_says_so(caplog):
    shown = [replace(SHOWN[0], score=0.1), replace(SHOWN[1], score=0.7), SHOWN[2]]  # the best is not first
    backend = ScriptedBackend("I cannot tell; maybe [00:20:00] or [99:99].")  # cites only unshown moments
    with caplog.at_level(logging.INFO, logger="longvid.llm.answer"):
        answer = backend.answer("when?", shown)
    assert [(c.video_id, c.start_s, c.end_s, c.path) for c in answer.citations] == [
        ("v1", 3600.0, 3615.0, "/videos/talk.mp4")
    ]
    assert answer.text == "I cannot tell; maybe [00:20:00] or [99:99]."  # the text is left as generated
    said = "scripted: the generated text cites no moment it was shown; citing the best retrieved moment"
    assert f"{said}, v1 01:00:00-01:00:15" in caplog.text


def test_shared_no_evidence_answer_never_generates():
    backend = ScriptedBackend("[00:35]")
    answer = backend.answer("anything", [])
    assert answer == Answer(NO_MATCH, (), "scripted", ()) and backend.calls == []


def test_registry_builds_every_backend_by_name_with_its_options(monkeypatch):
    assert backend_names() == ["extractive", "textllm", "videollm"]
    monkeypatch.setattr("longvid.llm.answer.BACKENDS", dict(BACKENDS))  # registrations here end with the test
    seen = []

    @register_backend("echo")
    def build(options):
        seen.append(options)
        return ScriptedBackend(f"on {options.device}")

    options = BackendOptions(model="m", device="cuda:1", token_budget=64, tokens_per_frame=4, fps=0.5)
    backend = create_backend("echo", options)
    assert seen == [options] and backend.reply == "on cuda:1"
    assert create_backend("echo").reply == "on cpu" and seen[-1] == BackendOptions()
    with pytest.raises(ValueError, match="answer backend 'echo' is already registered"):
        register_backend("echo")(build)
    assert isinstance(create_backend("extractive", options), ExtractiveBackend)
    assert backend_names() == ["echo", "extractive", "textllm", "videollm"]
    monkeypatch.undo()
    assert backend_names() == ["extractive", "textllm", "videollm"]


def test_backend_options_are_checked_and_pick_the_dtype_by_device():
    assert BackendOptions(device="cuda").weights_dtype == "bfloat16"
    assert BackendOptions(device="cpu").weights_dtype == "float32"
    assert BackendOptions(device="cuda", dtype="float16").weights_dtype == "float16"
    with pytest.raises(ValueError, match="dtype must be"):
        BackendOptions(dtype="int8")
    with pytest.raises(ValueError, match="token_budget must be >= 1, got 0"):
        BackendOptions(token_budget=0)
    with pytest.raises(ValueError, match="fps must be > 0, got 0"):
        BackendOptions(fps=0)


def test_importing_the_answer_backends_loads_no_model_library():
    code = (
        "import sys, longvid.llm as llm; llm.create_backend('extractive'); "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


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
