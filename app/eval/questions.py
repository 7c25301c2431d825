"""Questions beyond lookup, scored from a known timeline: counts, first / last, at a time, right after /
before, the overview, and chapter boundaries.

A *talk* is a long video (the haystack's filler clips) whose speech is a sidecar SRT file: topical blocks
of 3–8 minutes, each drawing its sentences from one topic of ``assets/niah/topics.toml``, so that every
sentence's time and every topic boundary is known. (Subtitles rather than speech recognition: this
evaluation measures the memory and the planner; ``longvid eval niah`` measures hearing.) Questions are
generated from the timeline and put to :meth:`Library.ask`; each is scored by its plan's answer:

* **count** — the number the answer states equals the number of sentences holding the word;
* **first / last / at_time / after / before** — the first citation overlaps the right sentence;
* **overview** — the share of the talk's topics the overview names (a topic keyword in the answer);
* **chapters** — boundary precision / recall / F1 against the block boundaries, within ``tolerance_s``.

    >>> talk = build_talk(TalkSpec(length_s=1800), "work/")                    # doctest: +SKIP
    >>> report = run_questions([TalkSpec(1800)], "work/")                        # doctest: +SKIP
    >>> report.summary()["count"]["accuracy"]                                    # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import json
import logging
import re
import time
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from longvid.app.library import Library
from longvid.ingest.ffmpeg_cli import run_ffmpeg
from longvid.ingest.types import TimeSpan, timecode
from longvid.ingest.words import STOPWORDS, split_words
from longvid.llm.planner import Planner

from .haystack import HaystackSpec, filler_pool, niah_asset
from .synth import matched

log = logging.getLogger(__name__)

QUESTION_KINDS = ("count", "first", "last", "at_time", "after", "before")
_NUMBER = re.compile(r"\b(\d+) times?\b")


@dataclass(frozen=True)
class Topic:
    id: str
    keywords: tuple[str, ...]  # words that name the topic (an overview naming one of them names the topic)
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class TalkSpec:
    length_s: float = 1800.0  # target length; the video ends at the first filler clip past it
    seed: int = 0
    min_block_s: float = 180.0  # shortest topical block
    max_block_s: float = 480.0  # longest topical block
    min_gap_s: float = 6.0  # silence between two sentences, drawn in [min_gap_s, max_gap_s]
    max_gap_s: float = 24.0
    words_per_s: float = 2.5  # speaking rate, for the subtitle cue lengths


@dataclass(frozen=True)
class Said:
    span: TimeSpan
    text: str
    block: int  # index of the topical block it belongs to


@dataclass(frozen=True)
class Block:
    topic: str
    span: TimeSpan


@dataclass(frozen=True)
class Talk:
    path: Path
    spec: TalkSpec
    duration_s: float
    blocks: tuple[Block, ...]
    sentences: tuple[Said, ...]  # every sentence said, in time order


@dataclass(frozen=True)
class Question:
    kind: str  # one of QUESTION_KINDS
    text: str
    truth: TimeSpan  # the sentence the first citation must overlap (count: the first occurrence)
    count: int | None = None  # count: how many sentences hold the word


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    correct: bool
    plan: str  # the plan's description
    answer: str
    seconds: float  # time to answer


@dataclass(frozen=True)
class TalkScore:
    length_s: float
    blocks: int
    chapters: int
    boundary_precision: float
    boundary_recall: float
    boundary_f1: float
    topics_named: float  # share of the talk's topics the overview names
    index_s: float
    true_boundaries: tuple[float, ...]  # where the topic changes (s)
    found_boundaries: tuple[float, ...]  # where the chapters start (s), the first excluded
    results: tuple[QuestionResult, ...] = field(repr=False)


@dataclass(frozen=True)
class QuestionsReport:
    talks: tuple[TalkScore, ...]

    def summary(self) -> dict[str, dict[str, float]]:
        """Accuracy per question kind, with chapter F1 and overview coverage (means over talks)."""
        out: dict[str, dict[str, float]] = {}
        for kind in QUESTION_KINDS:
            rows = [r for t in self.talks for r in t.results if r.question.kind == kind]
            if rows:
                out[kind] = {"questions": len(rows), "accuracy": sum(r.correct for r in rows) / len(rows),
                             "median_ms": 1000 * float(np.median([r.seconds for r in rows]))}  # fmt: skip
        out["chapters"] = {"talks": len(self.talks), "f1": float(np.mean([t.boundary_f1 for t in self.talks]))}
        out["overview"] = {
            "talks": len(self.talks),
            "topics_named": float(np.mean([t.topics_named for t in self.talks])),
        }
        return out

    def to_json(self) -> str:
        return json.dumps({"summary": self.summary(), "talks": [asdict(t) for t in self.talks]}, indent=2,
                          default=str)  # fmt: skip


def load_topics(path: str | Path | None = None) -> tuple[Topic, ...]:
    """The topics of talk (``assets/niah/topics.toml`` unless ``path`` names another file)."""
    data = tomllib.loads(Path(path).read_text() if path else niah_asset("topics.toml").read_text())
    return tuple(Topic(t["id"], tuple(t["keywords"]), tuple(t["sentences"])) for t in data["topic"])


def build_talk(spec: TalkSpec, work_dir: str | Path, topics: Sequence[Topic] | None = None) -> Talk:
    """Encode a talk (filler video + sidecar SRT) into ``work_dir`` and return its timeline."""
    topics = tuple(topics or load_topics())
    work = Path(work_dir)
    (work / "pool").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    video_spec = HaystackSpec(length_s=spec.length_s, seed=spec.seed)
    pool = filler_pool(video_spec, work)
    clips, total, last = [], 0.0, -1
    while total < spec.length_s:
        pick = int(rng.choice([i for i in range(len(pool)) if i != last]))
        clips.append(pool[pick])
        total, last = total + pool[pick].duration_s, pick
    blocks = _blocks(spec, total, topics, rng)
    by_id = {t.id: t for t in topics}
    sentences = []
    for index, block in enumerate(blocks):
        lines = list(rng.permutation(by_id[block.topic].sentences))
        t, k = block.span.start_s + float(rng.uniform(1, 5)), 0
        while t < block.span.end_s - 5:
            text = str(lines[k % len(lines)])
            end = min(t + max(2.0, len(text.split()) / spec.words_per_s), block.span.end_s - 0.5)
            sentences.append(Said(TimeSpan(round(t, 2), round(end, 2)), text, index))
            t, k = end + float(rng.uniform(spec.min_gap_s, spec.max_gap_s)), k + 1
    stem = f"talk-{round(spec.length_s)}s-seed{spec.seed}"
    listing = work / f"{stem}.txt"
    listing.write_text("".join(f"file '{c.clip.resolve()}'\n" for c in clips))
    out = work / f"{stem}.mp4"
    run_ffmpeg(f"-f concat -safe 0 -i {{listing}} -c:v copy -t {total:.3f} -movflags +faststart {{out}}",
               listing=listing, out=out)  # fmt: skip
    (work / f"{stem}.srt").write_text(_srt(sentences))
    log.info("talk %s: %.0f s, %d blocks, %d sentences", out.name, total, len(blocks), len(sentences))
    return Talk(out, spec, total, tuple(blocks), tuple(sentences))


def _blocks(spec: TalkSpec, total: float, topics: Sequence[Topic], rng: np.random.Generator) -> list[Block]:
    """Topical blocks covering ``[0, total)``, lengths in [min, max], neighbours on different topics."""
    order = [t.id for t in topics]
    blocks: list[Block] = []
    t = 0.0
    while t < total:
        length = float(rng.uniform(spec.min_block_s, spec.max_block_s))
        end = total if total - (t + length) < spec.min_block_s else t + length
        if not blocks or len(blocks) % len(order) == 0:
            order = list(rng.permutation(order))
            if blocks and order[0] == blocks[-1].topic:
                order.append(order.pop(0))
        blocks.append(Block(order[len(blocks) % len(order)], TimeSpan(round(t, 2), round(end, 2))))
        t = end
    return blocks


def _srt(sentences: Sequence[Said]) -> str:
    def stamp(t: float) -> str:
        return timecode(t, hours=True, decimals=3).replace(".", ",")

    return "".join(f"{i}\n{stamp(s.span.start_s)} --> {stamp(s.span.end_s)}\n{s.text}\n\n"
                   for i, s in enumerate(sentences, start=1))  # fmt: skip


def make_questions(talk: Talk, per_kind: int = 8, seed: int = 0) -> list[Question]:
    """Questions whose answers the timeline knows: ``per_kind`` of each kind (fewer where the talk lacks
    material)."""
    rng = np.random.default_rng(seed)
    said = talk.sentences
    words = [set(split_words(s.text)) for s in said]
    counts = Counter(w for ws in words for w in ws)
    grammar = Planner()  # the grammar alone: a question is asked only when it plans to its own word

    def fair(w: str) -> bool:  # no other form of the word in the talk (what a stemmer might merge with it)
        others = (v for v in counts if v != w)
        return (len(w) >= 5 and w not in STOPWORDS and not w.isdigit()
                and not any(v[:5] == w[:5] or w.startswith(v) or v.startswith(w) for v in others)
                and grammar.plan(f"How many times is {w} mentioned?").target == w)  # fmt: skip

    fair_words = sorted(w for w in counts if fair(w))
    repeated = [w for w in fair_words if 2 <= counts[w] <= 15]
    unique = [w for w in fair_words if counts[w] == 1]
    questions: list[Question] = []
    for w in rng.permutation(repeated)[:per_kind] if repeated else []:
        at = [s.span for s, ws in zip(said, words, strict=True) if w in ws]
        questions.append(Question("count", f"How many times is {w} mentioned?", at[0], len(at)))
    for kind, phrase in (("first", "When is {} first mentioned?"), ("last", "When is {} mentioned for the last time?")):
        for w in rng.permutation(repeated)[:per_kind] if repeated else []:
            at = [s.span for s, ws in zip(said, words, strict=True) if w in ws]
            questions.append(Question(kind, phrase.format(w), at[0] if kind == "first" else at[-1]))
    for i in sorted(rng.choice(len(said), size=min(per_kind, len(said)), replace=False)):
        s = said[int(i)]
        questions.append(Question("at_time", f"What is said at {timecode(s.span.mid_s)}?", s.span))
    position = {w: next(i for i, ws in enumerate(words) if w in ws) for w in unique}
    for kind, phrase, step in (("after", "What is said right after the sentence about {}?", 1),
                               ("before", "What is said just before the sentence about {}?", -1)):  # fmt: skip
        usable = [w for w in unique if 0 <= position[w] + step < len(said)]
        for w in rng.permutation(usable)[:per_kind] if usable else []:
            questions.append(Question(kind, phrase.format(w), said[position[w] + step].span))
    return questions


def score_talk(library: Library, talk: Talk, per_kind: int = 8, tolerance_s: float = 15.0,
               topics: Sequence[Topic] | None = None) -> TalkScore:  # fmt: skip
    """Index ``talk`` into ``library`` and score its questions, chapters and overview."""
    topics = {t.id: t for t in (topics or load_topics())}
    start = time.perf_counter()
    video_id = library.add(talk.path).video_id
    index_s = time.perf_counter() - start
    results = []
    for q in make_questions(talk, per_kind, seed=talk.spec.seed):
        start = time.perf_counter()
        answer = library.ask(q.text, video=video_id)
        seconds = time.perf_counter() - start
        if q.kind == "count":
            stated = _NUMBER.search(answer.text)
            correct = stated is not None and int(stated.group(1)) == q.count
        else:
            correct = bool(answer.citations) and answer.citations[0].span.overlap_s(q.truth) > 0
        plan = answer.plan.describe() if answer.plan else ""
        results.append(QuestionResult(q, correct, plan, answer.text, seconds))
        if not correct:
            log.info("missed %s %r (truth %s): %s | %s", q.kind, q.text, q.truth, plan, answer.text[:200])
    chapters = library.chapters(video_id)
    found = [c.span.start_s for c in chapters[1:]]
    truth = [b.span.start_s for b in talk.blocks[1:]]
    precision, recall, f1 = _boundary_f1(found, truth, tolerance_s)
    overview = library.ask("What is this video about?", video=video_id).text.lower()
    talked = {b.topic for b in talk.blocks}
    named = sum(any(k in overview for k in topics[t].keywords) for t in talked) / len(talked)
    return TalkScore(talk.duration_s, len(talk.blocks), len(chapters), precision, recall, f1, named, index_s,
                     tuple(truth), tuple(found), tuple(results))  # fmt: skip


def _boundary_f1(found: Sequence[float], truth: Sequence[float], tolerance_s: float) -> tuple[float, float, float]:
    """Precision, recall, F1 of boundaries matched one-to-one within ``tolerance_s`` (greedy, nearest first)."""
    hits = matched(found, truth, [tolerance_s] * len(truth))
    precision = hits / len(found) if found else float(not truth)
    recall = hits / len(truth) if truth else 1.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def run_questions(specs: Sequence[TalkSpec], work_dir: str | Path, library: Library | None = None,
                  per_kind: int = 8) -> QuestionsReport:  # fmt: skip
    """Build, index and score one talk per spec (into ``library``, else ``work_dir/library``)."""
    work = Path(work_dir)
    own = library is None
    lib = library or Library(work / "library", profile="embedded")
    try:
        talks = [score_talk(lib, build_talk(spec, work), per_kind) for spec in specs]
    finally:
        if own:
            lib.close()
    return QuestionsReport(tuple(talks))
