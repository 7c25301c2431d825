"""The hierarchical memory and the question planner over a library with a known timeline.

The library is built from text alone (no video decoding): two videos whose events and transcript
sentences sit at known times. Video A talks for 10 minutes about a city budget, then 10 minutes about a
river trip (two topics, so one chapter boundary at 600 s); the budget is mentioned in exactly 8
sentences, among near-misses ("budge", "budgetary" is never said, "the bridge" is); a sentence about keys
is followed by a known one. Video B never mentions the budget but mentions the bridge.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from longvid.app import Library
from longvid.app.cli import main
from longvid.app.memory import MemoryConfig, build_overview
from longvid.index.records import Event, VideoRecord
from longvid.ingest import TimeSpan, TranscriptSegment, timecode
from longvid.llm.planner import Planner

BUDGET = [
    "The city budget for next year was presented this morning.",
    "Taxes pay for the budget of the schools and the parks.",
    "A council member asked who controls the budget.",
    "The mayor said the budget must be balanced.",
    "Spending on roads takes a third of the budget.",
    "Critics call the budget too generous to the police.",
    "The final vote on the budget is set for March.",
    "Citizens may comment on the budget online until Friday.",
]
BUDGET_FILLER = [
    "Revenue from parking fees rose by four percent.",
    "The treasurer explained the spending plan line by line.",
    "Salaries of city workers will rise slightly.",
    "The council will not budge on the school funding.",
    "A new bridge over the canal needs more money.",
    "Debt payments cost the city millions each year.",
    "Property taxes stay the same as last year.",
    "The finance committee meets again in two weeks.",
]
RIVER = [
    "We rented a canoe and paddled down the river.",
    "The water was cold and clear near the rapids.",
    "Herons stood in the shallows watching for fish.",
    "We camped on a sandy bank under tall willows.",
    "At dawn mist rose from the river surface.",
    "I left my keys in the pocket of the life jacket.",
    "Then we carried the canoe around a small waterfall.",
    "Trout jumped near the boat in the evening light.",
    "The current grew stronger below the old mill.",
    "A kingfisher flashed blue over the water.",
    "We swam in a deep pool beside the rocks.",
    "The trip ended at a wooden pier in the village.",
]
SENTENCE_S = 4.0


def _timeline() -> list[tuple[float, str]]:
    """(start seconds, sentence) of video A: budget talk in 0-600 s, the river trip in 600-1200 s."""
    budget_part = [s for pair in zip(BUDGET, BUDGET_FILLER, strict=True) for s in pair]  # 16 sentences
    river_part = RIVER + RIVER[:4][::-1]  # 16 sentences (the first four repeated: a talk repeats itself)
    times = [i * 600 / 16 + 5 for i in range(16)]
    return [(t, s) for t, s in zip(times, budget_part, strict=True)] + [
        (600 + t, s) for t, s in zip(times, river_part, strict=True)
    ]


def _video(lib: Library, video_id: str, timeline: list[tuple[float, str]], duration_s: float, ocr=None) -> None:
    """Store a video made of 30 s events holding ``timeline``'s sentences (and ``ocr`` text by event)."""
    ocr = ocr or {}
    segments = [TranscriptSegment(video_id, TimeSpan(t, t + SENTENCE_S), s, language="en") for t, s in timeline]
    events = []
    for i in range(int(duration_s // 30)):
        span = TimeSpan(30.0 * i, 30.0 * i + 30)
        said = " ".join(s for t, s in timeline if span.contains(t))
        events.append(Event(video_id, i, span, (span.mid_s,), said, ocr.get(i, ""), ("person",) if said else ()))
    vectors = lib.indexer.text_embedder.embed([e.text for e in events])
    overview = build_overview(video_id, duration_s, events, vectors, segments, lib.indexer.text_embedder.embed,
                              lib.profile.memory)  # fmt: skip
    record = VideoRecord(video_id, f"/videos/{video_id}.mp4", duration_s, 25.0, 640, 360, True, {})
    lib.index.add_video(record, events, {"text": vectors}, segments, overview)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    with Library(tmp_path_factory.mktemp("memory-lib"), profile="embedded") as lib:
        _video(lib, "talk-a", _timeline(), 1200.0, ocr={39: "KEYS\nlost and found"})
        _video(lib, "talk-b", [(10.0, "The new bridge opens to traffic in May."),
                               (70.0, "Cyclists get their own lane on the bridge.")], 120.0)  # fmt: skip
        yield lib


def _times(answer) -> list[float]:
    return [c.start_s for c in answer.citations]


def test_chapters_follow_the_topics(library):
    chapters = library.chapters("talk-a")
    assert len(chapters) == 2 and chapters[0].span.start_s == 0 and chapters[1].span.end_s == 1200
    # the talk turns to the river at 600 s; 570-600 s is silent, so a cut at either end of it is right
    assert chapters[0].span.end_s == chapters[1].span.start_s in (570.0, 600.0)
    first, second = chapters
    assert "budget" in first.title.lower() and any(w in second.title.lower() for w in ("river", "canoe", "water"))
    for c in chapters:
        assert 1 <= len(c.summary) <= 2
        assert all(c.span.start_s <= s.span.start_s < c.span.end_s for s in c.summary)
        assert c.span.start_s <= c.keyframe_s < c.span.end_s
    overview = library.overview("talk-a")
    assert len(overview.sentences) == 3 and overview.language == "en"
    assert overview.speech_share == pytest.approx(32 * SENTENCE_S / 1200)
    spans = {(s.span.start_s, s.text) for s in overview.sentences}
    assert spans <= {(t, s) for t, s in _timeline()}  # every summary sentence cites where it was said


def test_segmentation_respects_min_and_max_length():
    """One topic all along: no boundary under the cut-off; over max_chapter_s: split, each >= min."""
    vocab = ["budget", "river"]

    def embed(texts):
        rows = np.array([[t.count(w) for w in vocab] + [1e-3] for t in texts], np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    events = [Event("v", i, TimeSpan(30.0 * i, 30.0 * i + 30), transcript="budget") for i in range(40)]
    one = build_overview("v", 1200.0, events, embed([e.text for e in events]), [], embed,
                         MemoryConfig(min_chapter_s=90, max_chapter_s=2000))  # fmt: skip
    assert [(c.span.start_s, c.span.end_s) for c in one.chapters] == [(0.0, 1200.0)]
    topics = [
        Event("v", i, e.span, transcript="budget" if (i // 4) % 2 == 0 else "river") for i, e in enumerate(events)
    ]
    many = build_overview("v", 1200.0, topics, embed([e.text for e in topics]), [], embed,
                          MemoryConfig(min_chapter_s=90, max_chapter_s=300, chapter_cost=0.5))  # fmt: skip
    spans = [c.span for c in many.chapters]
    assert spans[0].start_s == 0 and spans[-1].end_s == 1200 and len(spans) == 10  # a cut every 120 s
    assert all(90 <= s.duration_s <= 300 for s in spans)


def test_count_is_exact_and_cites_every_sentence(library):
    answer = library.ask("How many times is the budget mentioned?", video="talk-a")
    assert answer.plan.kind == "count" and answer.plan.target == "budget"
    expected = [t for t, s in _timeline() if s in BUDGET]
    assert len(expected) == 8
    assert "8 times" in answer.text and _times(answer) == expected


def test_first_last_every(library):
    budget = [t for t, s in _timeline() if s in BUDGET]
    first = library.ask("When is the budget first mentioned?", video="talk-a")
    last = library.ask("When is the budget mentioned for the last time?", video="talk-a")
    every = library.ask("List every time they mention the budget.", video="talk-a")
    assert (first.plan.kind, last.plan.kind, every.plan.kind) == ("first", "last", "every")
    assert _times(first) == [budget[0]] and _times(last) == [budget[-1]] and _times(every) == budget
    assert "“" + BUDGET[0] + "”" in first.text


def test_at_time_reads_the_span(library):
    at = library.ask("What is said at 10:40?", video="talk-a")
    assert at.plan.kind == "at_time" and _times(at) == [630.0]
    said = [s for t, s in _timeline() if 630 <= t < 660]
    assert all(s in at.text for s in said)
    first_minutes = library.ask("What happens in the first two minutes?", video="talk-a")
    assert _times(first_minutes) == [0.0, 30.0, 60.0, 90.0]
    chapter = library.ask("What is said in the second chapter?", video="talk-a")
    second = library.chapters("talk-a")[1].span
    assert _times(chapter)[0] == second.start_s and len(chapter.citations) == 12  # its first 12 moments read
    end = library.ask("What is written at the end?", video="talk-a")
    assert end.plan.channel == "written" and "KEYS / lost and found" in end.text


def test_after_and_before_read_the_neighbour(library):
    keys = next(t for t, s in _timeline() if "keys" in s)
    after = library.ask("What is said right after the sentence about the keys?", video="talk-a")
    before = library.ask("What was said just before the sentence about my keys?", video="talk-a")
    times = [t for t, _ in _timeline()]
    nxt, prev = times[times.index(keys) + 1], times[times.index(keys) - 1]
    assert after.plan.kind == "after" and _times(after) == [nxt, keys]
    assert before.plan.kind == "before" and _times(before) == [prev, keys]
    assert RIVER[6] in after.text


def test_time_words_people_use(library):
    """Durations, halves, "before/after a time" and "right after a time" reach the operations."""
    events = library.index.events("talk-a")
    after = library.ask("What happens right after 10:40?", video="talk-a")
    before = library.ask("What is said just before the 10 minute 40 second mark?", video="talk-a")
    assert (after.plan.kind, before.plan.kind) == ("after", "before")
    assert _times(after) == [660.0] and _times(before) == [600.0]  # the moments next to the one holding 10:40
    assert events[22].transcript and events[22].transcript in after.text
    into = library.ask("What's said 10m40s in?", video="talk-a")
    assert into.plan.kind == "at_time" and _times(into) == [630.0]
    half = library.ask("What is said in the second half?", video="talk-a")
    assert half.plan.span == TimeSpan(600.0, 1200.0) and _times(half)[0] == 600.0
    last = library.ask("What is the last thing said?", video="talk-a")
    assert last.plan.kind == "last" and _times(last) == [_timeline()[-1][0]] and _timeline()[-1][1] in last.text
    shown = library.ask("What is the last thing shown?", video="talk-a")  # one moment, not a run of tagged ones
    tagged = [e.span for e in events if e.shown][-1]
    assert [(c.start_s, c.end_s) for c in shown.citations] == [(tagged.start_s, tagged.end_s)]
    written = library.ask("What's the first thing written on screen?", video="talk-a")
    assert _times(written) == [events[39].span.start_s] and "KEYS" in written.text
    early = library.ask("How many times is the budget mentioned before 5:00?", video="talk-a")
    expected = [t for t, s in _timeline() if s in BUDGET and t < 300]
    assert early.plan.kind == "count" and _times(early) == expected and f"{len(expected)} times" in early.text


def test_show_me_every(library):
    """ "Show me every X" / "show me all the X" is a scan of every moment, not a top-k lookup."""
    every = library.ask("Show me every person", video="talk-a")
    assert (every.plan.kind, every.plan.target, every.plan.channel) == ("every", "person", "shown")
    tagged = [e.span for e in library.index.events("talk-a") if "person" in e.shown]
    cited = [TimeSpan(c.start_s, c.end_s) for c in every.citations]
    assert sum(span.duration_s for span in cited) == sum(span.duration_s for span in tagged)
    assert all(any(c.contains(span.mid_s) for c in cited) for span in tagged)
    assert f"for {timecode(sum(span.duration_s for span in tagged))} in all" in every.text
    how_long = library.ask("How long is a person on screen?", video="talk-a")
    assert (how_long.plan.kind, how_long.plan.channel) == ("every", "shown") and how_long.citations == every.citations
    budget = library.ask("Show me all the moments the budget is mentioned", video="talk-a")
    assert budget.plan.kind == "every" and _times(budget) == [t for t, s in _timeline() if s in BUDGET]


def test_overview_and_across_videos(library):
    about = library.ask("What is this video about?", video="talk-a")
    assert about.plan.kind == "overview" and "2 chapters" in about.text
    assert _times(about) == [s.span.start_s for s in library.overview("talk-a").sentences]
    which = library.ask("Which of my videos talk about the bridge?")
    assert which.plan.kind == "across_videos" and which.text.startswith("2 videos mention")
    assert {c.video_id for c in which.citations} == {"talk-a", "talk-b"}
    budget = library.ask("Which videos mention the budget?")
    assert budget.text.startswith("1 video mentions") and [c.video_id for c in budget.citations] == ["talk-a"]
    each = library.ask("Summarise each video")
    assert each.plan.kind == "across_videos" and "talk-a.mp4" in each.text and "talk-b.mp4" in each.text


def test_a_summary_of_a_span_reads_its_chapters(library):
    river, budget = library.chapters("talk-a")[1], library.chapters("talk-a")[0]
    late = library.ask("Summarise the last ten minutes", video="talk-a")
    assert late.plan.kind == "overview" and late.plan.span == TimeSpan(600.0, 1200.0)
    assert f"1 chapter: {river.index + 1}. {river.title}" in late.text and budget.title not in late.text
    assert _times(late) == [s.span.start_s for s in river.summary if s.span.start_s >= 600]
    early = library.ask("What are the main points in the first half?", video="talk-a")
    assert budget.title in early.text and river.title not in early.text
    both = library.ask("Give me a recap of 8:00 to 12:00", video="talk-a")
    assert "2 chapters" in both.text and budget.title in both.text and river.title in both.text
    assert all(480 <= t <= 720 for t in _times(both))
    named = library.ask("Summarise the second chapter", video="talk-a")
    assert _times(named) == [s.span.start_s for s in river.summary]


def test_chapters_are_searchable_and_answer_the_part_about_something(library):
    river, budget = library.chapters("talk-a")[1], library.chapters("talk-a")[0]
    found = library.search_chapters("a canoe trip on the water", k=2)
    assert [(c.video_id, c.index) for c, _ in found][:1] == [("talk-a", river.index)]  # by meaning and words
    assert library.search_chapters("city finances", k=1)[0][0].index == budget.index  # by meaning alone
    part = library.ask("Summarise the part about the council", video="talk-a")
    assert part.plan.kind == "overview" and part.text.startswith("The part about “council” is chapter 1")
    assert _times(part) == [s.span.start_s for s in budget.summary]
    whole = library.ask("Summarise the lecture", video="talk-a")  # no chapter names a lecture: the overview
    assert "2 chapters" in whole.text


def test_lookups_stay_lookups(library):
    answer = library.ask("Where did I leave my keys?", video="talk-a")
    assert answer.plan.kind == "lookup" and answer.backend == "extractive"
    keys = next(t for t, s in _timeline() if "keys" in s)
    assert any(c.start_s <= keys < c.end_s for c in answer.citations)  # the keys sentence's moment


def test_a_library_from_before_gets_its_memory_on_first_use(tmp_path):
    root = tmp_path / "old"
    with Library(root, profile="embedded") as lib:
        _video(lib, "talk-a", _timeline(), 1200.0)
    with sqlite3.connect(root / "catalog.sqlite") as conn:  # turn it into a schema-2 catalog
        for name in ("segments_fts_insert", "segments_fts_delete"):
            conn.execute(f"DROP TRIGGER {name}")
        for table in ("segments_fts", "chapters_fts", "chapters", "overviews"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("UPDATE schema_version SET version = 2")
    with Library(root) as lib:
        assert lib.index.overview("talk-a") is None  # upgraded: the tables exist, nothing built yet
        assert len(lib.chapters("talk-a")) == 2  # built now, and stored
        assert lib.index.overview("talk-a") is not None
        assert "8 times" in lib.ask("How many times is the budget mentioned?").text  # sentence search rebuilt


def test_planner_grammar_and_classifier(library):
    grammar = Planner()
    cases = {
        "How often does a dog appear?": ("count", "dog", "shown"),
        "What is said between 12:00 and 15:30?": ("at_time", "", "said"),
        "What happens at 1:02:15?": ("at_time", "", None),
        "Summarise it": ("overview", "", None),
        "When is the logo first shown?": ("first", "logo", "shown"),
        "What is written on the board at minute 12?": ("at_time", "board", "written"),
        "When was the budget for the bridge approved?": ("lookup", "budget bridge approved", None),
    }
    for question, (kind, target, channel) in cases.items():
        plan = grammar.plan(question, duration_s=3600)
        assert (plan.kind, plan.target, plan.channel) == (kind, target, channel), question
    questions = ("What is said at 34:30?", "in the last ten minutes what happens?", "What happens at the very end?")
    spans = [grammar.plan(q, duration_s=3600).span for q in questions]
    assert spans == [TimeSpan(2070, 2070), TimeSpan(3000, 3600), TimeSpan(3420, 3600)]
    classifier = library.planner  # with the real text model
    plan = classifier.plan("Which subjects does the talk cover?")
    assert plan.kind == "overview" and "nearest example" in plan.why
    assert classifier.plan("What is the vault code?").kind == "lookup"
    assert classifier.plan("When does a dog appear?").kind == "lookup"  # never a scan by resemblance
    assert classifier.plan("Who is speaking about the new bridge?").kind == "lookup"  # names no videos


@pytest.mark.parametrize(
    ("question", "kind", "target", "channel", "span"),
    [
        ("What happens at 1h20m?", "at_time", "", None, (4800, 4800)),
        ("What's on screen at 12m30s?", "at_time", "", "written", (750, 750)),
        ("what is happening 10 minutes into the video", "at_time", "", None, (600, 600)),
        ("What did he say around the 20 minute mark?", "at_time", "", "said", (1200, 1200)),
        ("What is said at 5 min?", "at_time", "", "said", (300, 300)),
        ("What is shown an hour and a half in?", "at_time", "", "shown", (5400, 5400)),
        ("What happens in the first half an hour?", "at_time", "", None, (0, 1800)),
        ("What happens in the first couple of minutes?", "at_time", "", None, (0, 120)),
        ("What happens in the second half?", "at_time", "", None, (3600, 7200)),
        ("What is said in the last quarter of the video?", "at_time", "", "said", (5400, 7200)),
        ("What happens in the middle of the video?", "at_time", "", None, (2400, 4800)),
        ("What happens after 10 minutes?", "at_time", "", None, (600, 7200)),
        ("What is said until 2:00?", "at_time", "", "said", (0, 120)),
        ("What happens right after 34:30?", "after", "", None, (2070, 2070)),
        ("When is the dog first seen after the 20 minute mark?", "first", "dog", "shown", (1200, 7200)),
        ("What is the last thing said?", "last", "", "said", None),
        ("What's the first thing shown?", "first", "", "shown", None),
        ("Show me all the dogs", "every", "dogs", "shown", None),
        ("Find every scene with a car", "every", "car", None, None),
        ("How does the dog react after seeing the toy?", "after", "seeing toy", None, None),
        ("Can you give me a quick rundown?", "overview", "", None, None),
        ("Give me the key takeaways", "overview", "", None, None),
        ("Break this video down", "overview", "", None, None),
        ("Sum it up", "overview", "", None, None),
        ("What is each of my videos about?", "across_videos", "", None, None),
        ("Give me a timeline of the video", "overview", "", None, None),
        ("Summarise the last ten minutes", "overview", "", None, (6600, 7200)),
        ("between 5 and 10 minutes what happens", "at_time", "", None, (300, 600)),
        ("from minute 5 to minute 10", "at_time", "", None, (300, 600)),
        ("What is said 8:00-12:00?", "at_time", "", "said", (480, 720)),
        ("whats happening at 5m", "at_time", "", None, (300, 300)),
        ("Who speaks first?", "first", "", "said", None),
        ("How long is the video?", "overview", "", None, None),
        ("For how long is the dog shown?", "every", "dog", "shown", None),
        ("What is on screen at 3:00?", "at_time", "", "written", (180, 180)),
        ("What language is spoken?", "overview", "", "said", None),
        ("When did they break up?", "lookup", "break up", None, None),
        ("What did she say about 5 minutes ago?", "lookup", "5 minutes ago", "said", None),
        ("I can't hear what the dog's owner says at 3:00", "at_time", "hear dog owner", "said", (180, 180)),
    ],
)
def test_planner_reads_plain_phrasings(question, kind, target, channel, span):
    plan = Planner().plan(question, duration_s=7200)
    assert (plan.kind, plan.target, plan.channel) == (kind, target, channel)
    assert plan.span == (None if span is None else TimeSpan(*span))


def test_cli_chapters_summary_and_plan(library, capsys):
    root = str(library.root)
    assert main(["chapters", "--library", root, "talk-a", "--json"]) == 0
    chapters = json.loads(capsys.readouterr().out)
    assert [c["start_s"] for c in chapters] == [c.span.start_s for c in library.chapters("talk-a")]
    assert len(chapters) == 2 and chapters[1]["end_s"] == 1200.0
    assert main(["chapters", "--library", root, "talk-a.mp4", "--md"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# talk-a.mp4") and md.count("\n## ") == 2
    assert main(["summary", "--library", root, "talk-a"]) == 0
    assert "chapters (2):" in capsys.readouterr().out
    assert main(["ask", "--library", root, "--video", "talk-a", "--json", "How many times is the budget said?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["plan"]["kind"] == "count" and len(out["citations"]) == 8
    assert main(["chapters", "--library", root, "nope"]) == 1
    assert "no video 'nope'" in capsys.readouterr().err
