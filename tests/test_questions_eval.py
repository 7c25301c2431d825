"""``longvid eval questions --quick``: a 30-minute talk with a known timeline, its ground truth checked, and
the bars CI holds the memory and the planner to (8 questions of each kind; the README has the full run)."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from longvid.app import Library
from longvid.app.cli import main
from longvid.app.eval.questions import QUESTION_KINDS, TalkSpec, build_talk, load_topics, make_questions, run_questions
from longvid.ingest import read_subtitles
from longvid.ingest.probe import probe
from longvid.ingest.words import split_words


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    work = tmp_path_factory.mktemp("questions")
    with Library(work / "library", profile="embedded") as lib:
        report = run_questions([TalkSpec(1800.0)], work, library=lib)
    return work, report


def test_the_talk_is_what_its_timeline_says(tmp_path):
    spec = TalkSpec(900.0, seed=3)
    talk = build_talk(spec, tmp_path)
    assert abs(probe(talk.path).duration_s - talk.duration_s) < 0.5 and talk.duration_s >= 900
    cues = read_subtitles(talk.path.with_suffix(".srt"), video_id="t")
    assert [c.text for c in cues] == [s.text for s in talk.sentences]
    assert [t for c in cues for t in (c.span.start_s, c.span.end_s)] == pytest.approx(
        [t for s in talk.sentences for t in (s.span.start_s, s.span.end_s)], abs=1e-3
    )
    blocks = talk.blocks
    assert blocks[0].span.start_s == 0 and blocks[-1].span.end_s == talk.duration_s
    assert all(a.span.end_s == b.span.start_s and a.topic != b.topic for a, b in itertools.pairwise(blocks))
    assert all(spec.min_block_s <= b.span.duration_s <= spec.max_block_s + spec.min_block_s for b in blocks)
    sentences_of = {t.id: set(t.sentences) for t in load_topics()}
    assert all(s.text in sentences_of[blocks[s.block].topic] for s in talk.sentences)
    for q in make_questions(talk, per_kind=4):
        if q.kind == "count":
            word = q.text.split()[4]
            assert q.count == sum(word in split_words(s.text) for s in talk.sentences) >= 2


def test_quick_run_holds_its_bars(quick):
    _, report = quick
    summary = report.summary()
    for kind in QUESTION_KINDS:
        assert summary[kind]["questions"] == 8
        assert summary[kind]["accuracy"] >= 0.75, (kind, summary[kind])
        assert summary[kind]["median_ms"] < 200, (kind, summary[kind])
    assert summary["chapters"]["f1"] >= 0.6, report.talks[0]
    assert summary["overview"]["topics_named"] >= 0.8


def test_cli_report_and_gate(quick, capsys):
    work, _ = quick
    assert main(["eval", "questions", "--quick", "--work", str(work), "--min-accuracy", "1.01"]) == 1
    out = capsys.readouterr()
    assert "accuracy below 1.01" in out.err and "boundary F1" in out.out
    saved = json.loads((work / "questions-report.json").read_text())
    assert set(QUESTION_KINDS) <= set(saved["summary"]) and saved["talks"][0]["blocks"] >= 4


def test_eval_plans_reads_a_labelled_csv(tmp_path, capsys):
    """``longvid eval plans``: per-label accuracy, what each label was planned as, the misses."""
    path = tmp_path / "plans.csv"
    path.write_text(
        "question,kind\n"
        "How many times is the budget mentioned?,count\n"
        "What happens right after 34:30?,after\n"
        "how did the dog react after it barked,after\n"
        "Where did I leave my keys?,lookup\n"
        "Why does she laugh at the end?,lookup|at_time\n"
        "What is said in the first half?,lookup\n"
    )
    assert main(["eval", "plans", str(path), "--duration", "1h"]) == 0
    out = capsys.readouterr().out
    assert "MISS 'What is said in the first half?': at_time, want lookup" in out
    assert "accuracy 5/6 = 0.833" in out
    assert re.search(r"^lookup\|at_time\s+1\s+1\s+1\.000\s+at_time 1$", out, re.M)
    assert re.search(r"^lookup\s+2\s+1\s+0\.500\s+(lookup 1, at_time 1|at_time 1, lookup 1)$", out, re.M)
    bad = tmp_path / "bad.csv"
    bad.write_text("question,type\nWhere are my keys?,CW\n")
    assert main(["eval", "plans", str(bad)]) == 1
    assert (
        capsys.readouterr().err.strip()
        == f"longvid eval: error: {bad}: needs a header row with 'question' and 'kind' columns"
    )
    bad.write_text("question,kind\nWhere are my keys?,search\n")
    assert main(["eval", "plans", str(bad)]) == 1
    assert f"{bad}:2: needs a question and kinds from lookup, at_time" in capsys.readouterr().err
