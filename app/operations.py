"""Running a :class:`~longvid.llm.planner.Plan` over the memory: scans, counts, time spans, neighbours, overviews.

Every operation but ``lookup`` (which :meth:`Library.ask` answers by retrieval, as before) is answered
here, exactly and extractively, on every profile: the text says what the plan did and cites every moment it
used.

* **scans** (``first`` / ``last`` / ``every`` / ``count`` / ``across_videos``) read *all* the moments whose
  text holds every word of the target (SQLite FTS5, porter-stemmed, so "mentions" finds "mentioned"), in
  time order — not the top k: spoken sentences for what is *said*, the visual tags of events for what is
  *shown*, the on-screen text for what is *written*, and all three when the question does not say; a
  picture or text shown across several consecutive events counts once; ``first`` / ``last`` without a
  target ("what is the last thing said") read every moment of the channel;
* **at_time** reads the span (or the chapter) the question names: what is said, written and shown there; a
  count at a point in time whose target names an object kind ("how many people are in the shot at
  12:30") counts the detector's objects in that moment's frame;
* **before / after** finds the sentence (or moment) the target names, or the moment holding the time the
  question names ("right after 34:30"), and reads its neighbour;
* **overview** reads the video's overview and chapters; without a video, each video's.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from longvid.encoders.concepts import object_labels
from longvid.index.records import Event, Overview, VideoRecord
from longvid.index.retrieval import fts_query
from longvid.ingest import TimeSpan, timecode
from longvid.ingest.words import split_words
from longvid.llm import Answer, Citation
from longvid.llm.planner import Plan

if TYPE_CHECKING:
    from .library import Library

log = logging.getLogger(__name__)

MAX_LISTED = 20  # occurrences written out in an answer (all are cited)
MAX_READ = 12  # moments quoted when reading a span
_VERBS = {"said": "said", "shown": "shown", "written": "written", None: "found"}


@dataclass(frozen=True)
class Moment:
    """One occurrence a scan found: where, and the words or labels that matched."""

    video_id: str
    span: TimeSpan
    text: str  # the sentence said, the text written, or the tags shown
    source: str  # "said", "written" or "shown"


def run_plan(library: Library, plan: Plan, video: VideoRecord | None) -> Answer:
    """The answer to a non-lookup ``plan`` over ``library`` (``video``: the one the question is about)."""
    if plan.kind == "across_videos":
        return _across(library, plan) if plan.target else _each_overview(library, plan)
    videos = library.videos() if video is None else [video]
    if video is None and len(videos) == 1:
        video = videos[0]
    if plan.kind == "count" and plan.span is not None and plan.span.duration_s == 0 and video is not None:
        counted = _count_objects_at(library, plan, video)  # "how many people are in the shot at 12:30"
        if counted is not None:
            return counted
    if plan.kind in ("count", "first", "last", "every"):
        return _scan_answer(library, plan, video)
    if video is None:  # the rest reads one video: without one, the library must hold exactly one
        if plan.kind == "overview":
            return _each_overview(library, plan)
        if len(videos) != 1:
            return Answer(f"Say which video: the library holds {len(videos)} (ask with --video ID).", (), "planner",
                          plan=plan)  # fmt: skip
        video = videos[0]
    if plan.kind == "overview":
        if plan.span is not None or plan.chapter is not None:  # "summarise the last ten minutes"
            return _span_overview(library, plan, video)
        part = _part_about(library, plan, video) if plan.target else None
        return part or _overview_answer(library.overview(video.video_id), video, plan)
    if plan.kind == "at_time":
        return _read_span(library, plan, video)
    return _neighbour(library, plan, video)


# ------------------------------------------------------------------------------------------- scans
def scan(library: Library, target: str, channel: str | None, video_id: str | None = None,
         span: TimeSpan | None = None) -> list[Moment]:  # fmt: skip
    """Every moment whose text holds all of ``target``'s words, in time order (per video); a target without
    words: every moment of the channel (each sentence said, each text written, each picture tagged)."""
    catalog = library.index.catalog
    everything = not split_words(target)  # "what is the last thing said"
    videos = ([video_id] if video_id else [v.video_id for v in library.videos()]) if everything else []
    found: list[Moment] = []
    if channel in (None, "said"):
        if everything:
            segments = [s for v in videos for s in library.index.transcript(v)]
        else:
            match = fts_query(target, all_terms=True)
            segments = [s for s, _ in catalog.match_segments(match, video_id)] if match else []
        found += [Moment(s.video_id, s.span, s.text, "said") for s in segments]
    for source, column, field in (("written", "ocr_text", "ocr_text"), ("shown", "tags", "shown")):
        if channel not in (None, source):
            continue
        if everything:  # the events that have something of the channel: text read, or tags and objects
            events = [e for v in videos for e in library.index.events(v) if getattr(e, field)]
        else:
            match = fts_query(target, all_terms=True, columns=[column])
            events = catalog.match_events(match, video_id) if match else []
        said = [m for m in found if m.source == "said"]
        for run in [[e] for e in events] if everything else _runs(events):  # every moment is its own thing
            run_span = TimeSpan(run[0].span.start_s, run[-1].span.end_s)
            if channel is None and any(m.video_id == run[0].video_id and m.span.overlap_s(run_span) > 0 for m in said):
                continue  # already found as speech: one moment, not two
            text = _best_line(run[0].ocr_text, target) if source == "written" else ", ".join(run[0].shown)
            found.append(Moment(run[0].video_id, run_span, text, source))
    if span is not None:
        found = [m for m in found if m.span.overlap_s(span) > 0 or span.contains(m.span.start_s)]
    return sorted(found, key=lambda m: (m.video_id, m.span.start_s))


def _best_line(text: str, target: str) -> str:
    """The line of ``text`` that holds the most of ``target``'s words (the first on a tie)."""
    wanted = set(split_words(target))
    lines = [line for line in text.splitlines() if line.strip()] or [text]
    return max(lines, key=lambda line: len(wanted & set(split_words(line))))


def _runs(events: Sequence[Event]) -> list[list[Event]]:
    """Consecutive events (of one video, touching) grouped: one appearance on screen, however many events."""
    runs: list[list[Event]] = []
    for e in events:
        last = runs[-1][-1] if runs else None
        if last is not None and last.video_id == e.video_id and e.index == last.index + 1:
            runs[-1].append(e)
        else:
            runs.append([e])
    return runs


def _scan_answer(library: Library, plan: Plan, video: VideoRecord | None) -> Answer:
    span = _anchor(library, plan, video) if video is not None else plan.span
    moments = scan(library, plan.target, plan.channel, video.video_id if video else None, span)
    paths = _paths(library)
    names = _names(paths)
    verb = _VERBS[plan.channel]
    where = f" in {names.get(video.video_id, video.video_id)}" if video else ""
    if not moments:
        text = f"“{plan.target}” is never {verb}{where}: no moment holds all of its words."
        if plan.kind == "count":
            text = f"“{plan.target}” is {verb} 0 times{where}."
        if not plan.target:
            text = f"Nothing is {verb}{where}."
        return Answer(text, (), "planner", plan=plan)
    if plan.kind in ("first", "last"):
        m = moments[0] if plan.kind == "first" else moments[-1]
        if not plan.target:  # "what is the last thing said": the channel's first or last moment
            thing = f"thing {verb}" if plan.channel else "moment"
            text = f"The {plan.kind} {thing} in {names.get(m.video_id, m.video_id)} is at {_range(m.span)}: “{m.text}”"
            return Answer(text, (_cite(paths, m),), "planner", plan=plan)
        text = (f"“{plan.target}” is {plan.kind} {verb} at {_range(m.span)} in {names.get(m.video_id, m.video_id)}: "
                f"“{m.text}” ({_times(len(moments))} in all).")  # fmt: skip
        return Answer(text, (_cite(paths, m),), "planner", plan=plan)
    seen_s = sum(m.span.duration_s for m in moments)
    head = f"“{plan.target}” is {verb} {_times(len(moments))}{where}, for {timecode(seen_s)} in all"
    lines = [f"{_place(m, names, video)} “{m.text}”" for m in moments[:MAX_LISTED]]
    if len(moments) > MAX_LISTED:
        lines.append(f"and {len(moments) - MAX_LISTED} more")
    text = head + ": " + "; ".join(lines) + "."
    return Answer(text, tuple(_cite(paths, m) for m in moments), "planner", plan=plan)


def _across(library: Library, plan: Plan) -> Answer:
    paths = _paths(library)
    names = _names(paths)
    match = fts_query(plan.target, all_terms=True)
    if plan.channel == "said" and match:  # counted inside SQLite: a common word may be said 10,000 times
        firsts = {v: (n, Moment(v, span, text, "said")) for v, n, span, text in
                  library.index.catalog.segment_counts(match)}  # fmt: skip
    else:
        firsts = {}
        for m in scan(library, plan.target, plan.channel):
            n, first = firsts.get(m.video_id, (0, m))
            firsts[m.video_id] = (n + 1, first)
    if not firsts:
        return Answer(f"No video {_VERBS[plan.channel]} “{plan.target}”.", (), "planner", plan=plan)
    ranked = sorted(firsts.items(), key=lambda kv: (-kv[1][0], kv[0]))
    lines = [f"{names.get(v, v)} ({_times(n)}, first at {timecode(m.span.start_s)})"
             for v, (n, m) in ranked]  # fmt: skip
    several = len(firsts) != 1
    text = f"{len(firsts)} video{'s' * several} mention{'s' * (not several)} “{plan.target}”: " + "; ".join(lines) + "."
    return Answer(text, tuple(_cite(paths, m) for _, (_, m) in ranked), "planner", plan=plan)


# ---------------------------------------------------------------------------------- reading spans
def _anchor(library: Library, plan: Plan, video: VideoRecord) -> TimeSpan | None:
    """The span the plan names: its time span, or its chapter's."""
    if plan.chapter is None:
        return plan.span
    chapters = library.chapters(video.video_id)
    if not chapters:
        return plan.span
    index = plan.chapter if plan.chapter >= 0 else len(chapters) + plan.chapter
    return chapters[min(max(index, 0), len(chapters) - 1)].span


def span_events(library: Library, plan: Plan, video: VideoRecord) -> tuple[TimeSpan | None, list[Event]]:
    """The span an ``at_time`` plan names and the video's events in it (a point: the one containing it,
    else the nearest), in time order."""
    span = _anchor(library, plan, video)
    if span is None:
        return None, []
    events = library.index.events(video.video_id)
    if span.duration_s == 0:
        inside = [e for e in events if e.span.contains(span.start_s)]
        return span, inside or sorted(events, key=lambda e: abs(e.span.mid_s - span.start_s))[:1]
    return span, [e for e in events if e.span.overlap_s(span) > 0]


def _count_objects_at(library: Library, plan: Plan, video: VideoRecord) -> Answer | None:
    """How many detected objects the target names the shot at a point in time holds; None when the target
    names no object kind (then the question is a count of occurrences)."""
    span, events = span_events(library, plan, video)
    labels = object_labels(split_words(plan.target))
    if span is None or not events or not labels:
        return None
    event = events[0]
    found = [o for o in event.objects if o.label in labels]
    what = " or ".join(sorted(labels))
    shown = ", ".join(event.shown[:6]) or "nothing detected"
    text = (f"At {timecode(span.start_s)} in {Path(video.path).name} ({_range(event.span)}) the detector counts "
            f"{len(found)} {what} in the shot (shown: {shown}).")  # fmt: skip
    return Answer(text, (Citation(video.video_id, event.span.start_s, event.span.end_s, video.path),), "planner",
                  plan=plan)  # fmt: skip


def _read_span(library: Library, plan: Plan, video: VideoRecord) -> Answer:
    span, inside = span_events(library, plan, video)
    if span is None:
        return Answer("The question names no time I can read.", (), "planner", plan=plan)
    if not inside:
        length = timecode(video.duration_s)
        return Answer(f"{Path(video.path).name} has nothing at {_range(span)} (it is {length} long).", (), "planner",
                      plan=plan)  # fmt: skip
    transcript = library.index.transcript(video.video_id)
    parts, cited = [], []
    for e in inside[:MAX_READ]:
        said = [
            s.text
            for s in transcript
            if s.span.overlap_s(e.span) > 0 and (span.duration_s == 0 or s.span.overlap_s(span) > 0)
        ]
        bits = []
        if said and plan.channel in (None, "said"):
            bits.append("said “" + " ".join(said) + "”")
        if e.ocr_text and plan.channel in (None, "written"):
            bits.append("on screen “" + " / ".join(e.ocr_text.splitlines()) + "”")
        if e.shown and plan.channel in (None, "shown"):
            bits.append("shown: " + ", ".join(e.shown))
        parts.append(f"{_range(e.span)} " + ("; ".join(bits) if bits else "nothing said or written"))
        cited.append(Citation(e.video_id, e.span.start_s, e.span.end_s, video.path, " ".join(said)))
    more = f" (and {len(inside) - MAX_READ} more moments)" if len(inside) > MAX_READ else ""
    where = "At " + (timecode(span.start_s) if span.duration_s == 0 else _range(span))
    text = f"{where} in {Path(video.path).name}: " + " | ".join(parts) + more + "."
    return Answer(text, tuple(cited), "planner", plan=plan)


def _neighbour(library: Library, plan: Plan, video: VideoRecord) -> Answer:
    """What is said (or shown) right after or before the moment a point in time or the target names."""
    catalog = library.index.catalog
    name = Path(video.path).name
    if plan.span is not None and plan.span.duration_s == 0:  # "what happens right after 34:30"
        _, inside = span_events(library, plan, video)
        if not inside:
            return Answer(f"{name} has no moments.", (), "planner", plan=plan)
        return _next_event(library, plan, video, inside[0])
    match = fts_query(plan.target)
    ranked = catalog.match_segments(match, video.video_id, limit=1) if match else []
    transcript = library.index.transcript(video.video_id)
    if ranked and transcript:
        anchor = ranked[0][0]
        if plan.kind == "after":
            others = [s for s in transcript if s.span.start_s >= anchor.span.end_s - 1e-6 and s.text != anchor.text]
            pick = others[0] if others else None
        else:
            others = [s for s in transcript if s.span.end_s <= anchor.span.start_s + 1e-6 and s.text != anchor.text]
            pick = others[-1] if others else None
        if pick is None:
            edge = "end" if plan.kind == "after" else "start"
            return Answer(f"Nothing is said {plan.kind} “{anchor.text}” ({_range(anchor.span)}): it is the {edge}.",
                          (Citation(video.video_id, anchor.span.start_s, anchor.span.end_s, video.path, anchor.text),),
                          "planner", plan=plan)  # fmt: skip
        text = (f"{'Right after' if plan.kind == 'after' else 'Right before'} “{anchor.text}” "
                f"({_range(anchor.span)}) in {name}, at {_range(pick.span)}: “{pick.text}”")  # fmt: skip
        return Answer(text, (Citation(video.video_id, pick.span.start_s, pick.span.end_s, video.path, pick.text),
                             Citation(video.video_id, anchor.span.start_s, anchor.span.end_s, video.path, anchor.text)),
                      "planner", plan=plan)  # fmt: skip
    hits = library.search(plan.target, k=1, video=video.video_id)  # no speech names it: find the moment
    if not hits:
        return Answer(f"Nothing in {name} matches “{plan.target}”.", (), "planner", plan=plan)
    return _next_event(library, plan, video, hits[0].event)


def _next_event(library: Library, plan: Plan, video: VideoRecord, anchor: Event) -> Answer:
    """The moment right after (or before) ``anchor``: what is said, written and shown in it."""
    name = Path(video.path).name
    events = library.index.events(video.video_id)
    at = anchor.index + (1 if plan.kind == "after" else -1)
    if not 0 <= at < len(events):
        return Answer(f"Nothing comes {plan.kind} {_range(anchor.span)} in {name}.", (), "planner", plan=plan)
    e = events[at]
    bits = [b for b in (e.transcript and f"said “{e.transcript}”", e.ocr_text and f"on screen “{e.ocr_text}”",
                        e.shown and "shown: " + ", ".join(e.shown)) if b]  # fmt: skip
    text = f"{plan.kind.capitalize()} the moment at {_range(anchor.span)} in {name}, at {_range(e.span)}: " + (
        "; ".join(bits) or "nothing said or written"
    )
    return Answer(text, (Citation(e.video_id, e.span.start_s, e.span.end_s, video.path, e.transcript),), "planner",
                  plan=plan)  # fmt: skip


# -------------------------------------------------------------------------------------- overviews
def _overview_answer(overview: Overview, video: VideoRecord, plan: Plan) -> Answer:
    name = Path(video.path).name
    lines = [f"{name} ({timecode(overview.duration_s)}, {overview.speech_share:.0%} speech"
             + (f", {overview.language}" if overview.language else "") + ")."]  # fmt: skip
    if overview.sentences:
        lines.append(
            "In its own words: " + " ".join(f"“{s.text}” [{timecode(s.span.start_s)}]" for s in overview.sentences)
        )
    if overview.chapters:
        lines.append(f"{len(overview.chapters)} chapter{'s' * (len(overview.chapters) != 1)}: " + "; ".join(
            f"{c.index + 1}. {c.title} ({_range(c.span)})" for c in overview.chapters))  # fmt: skip
    if overview.on_screen:
        lines.append("On screen most: " + "; ".join(overview.on_screen) + ".")
    if overview.concepts:
        lines.append("Shown most: " + ", ".join(overview.concepts) + ".")
    cites = [Citation(video.video_id, s.span.start_s, s.span.end_s, video.path, s.text) for s in overview.sentences]
    return Answer(" ".join(lines), tuple(cites), "planner", plan=plan)


def _span_overview(library: Library, plan: Plan, video: VideoRecord) -> Answer:
    """ "Summarise the second half": the chapters the span (or the named chapter) overlaps, each with its title
    and the summary sentences said inside the span (the chapter's part of the span cited when none is)."""
    span = _anchor(library, plan, video)
    if span is None:  # a chapter named, and no chapters: the whole video
        return _overview_answer(library.overview(video.video_id), video, plan)
    name = Path(video.path).name
    chapters = [
        c for c in library.chapters(video.video_id) if c.span.overlap_s(span) > 0 or c.span.contains(span.start_s)
    ]
    if not chapters:
        return Answer(f"{name} has nothing at {_range(span)} (it is {timecode(video.duration_s)} long).", (),
                      "planner", plan=plan)  # fmt: skip
    parts, cites = [], []
    for c in chapters:
        said = [s for s in c.summary if span.duration_s == 0 or span.contains(s.span.start_s)]
        quoted = " ".join(f"“{s.text}” [{timecode(s.span.start_s)}]" for s in said)
        parts.append(f"{c.index + 1}. {c.title} ({_range(c.span)})" + (f": {quoted}" if quoted else ""))
        cites += [Citation(video.video_id, s.span.start_s, s.span.end_s, video.path, s.text) for s in said]
        if not said:
            start = max(c.span.start_s, span.start_s)
            cites.append(Citation(video.video_id, start, max(start, min(c.span.end_s, span.end_s)), video.path))
    many = len(chapters) != 1
    text = f"{_range(span)} of {name} is in {len(chapters)} chapter{'s' * many}: " + "; ".join(parts) + "."
    return Answer(text, tuple(cites), "planner", plan=plan)


def _part_about(library: Library, plan: Plan, video: VideoRecord) -> Answer | None:
    """ "Summarise the part about X": the chapter that says or shows X most (a scan, as for counting; ties
    go to the best chapter search match), with its summary; None when no moment names X (the whole
    overview answers then)."""
    chapters = library.chapters(video.video_id)
    mentions = Counter(
        next(c.index for c in chapters if c.span.start_s <= m.span.start_s < c.span.end_s or c is chapters[-1])
        for m in scan(library, plan.target, None, video.video_id)
    )
    if not mentions:
        return None
    rank = {
        c.index: r
        for r, (c, _) in enumerate(library.search_chapters(plan.target, k=len(chapters), video=video.video_id))
    }
    chapter = chapters[max(mentions, key=lambda i: (mentions[i], -rank.get(i, len(chapters))))]
    said = " ".join(f"“{s.text}” [{timecode(s.span.start_s)}]" for s in chapter.summary)
    text = (f"The part about “{plan.target}” is chapter {chapter.index + 1} of {Path(video.path).name}, "
            f"{_range(chapter.span)}: {chapter.title}." + (f" In its own words: {said}" if said else ""))  # fmt: skip
    cites = [Citation(video.video_id, s.span.start_s, s.span.end_s, video.path, s.text) for s in chapter.summary]
    cites = cites or [Citation(video.video_id, chapter.span.start_s, chapter.span.end_s, video.path)]
    return Answer(text, tuple(cites), "planner", plan=plan)


def _each_overview(library: Library, plan: Plan) -> Answer:
    videos = library.videos()
    if not videos:
        return Answer("The library holds no video yet.", (), "planner", plan=plan)
    lines, cites = [], []
    for v in videos:
        overview = library.overview(v.video_id)
        first = overview.sentences[0] if overview.sentences else None
        titles = "; ".join(c.title for c in overview.chapters)
        about = f"“{first.text}” [{timecode(first.span.start_s)}]" if first else "no speech"
        lines.append(f"{Path(v.path).name} ({timecode(v.duration_s)}): {about}; chapters: {titles}")
        if first:
            cites.append(Citation(v.video_id, first.span.start_s, first.span.end_s, v.path, first.text))
    return Answer(f"{len(videos)} video{'s' * (len(videos) != 1)}: " + " | ".join(lines) + ".", tuple(cites),
                  "planner", plan=plan)  # fmt: skip


# ---------------------------------------------------------------------------------------- helpers
def _range(span: TimeSpan) -> str:
    return f"{timecode(span.start_s)}–{timecode(span.end_s)}"


def _place(m: Moment, names: dict[str, str], video: VideoRecord | None) -> str:
    return (
        timecode(m.span.start_s)
        if video is not None
        else f"{names.get(m.video_id, m.video_id)} {timecode(m.span.start_s)}"
    )


def _cite(paths: dict[str, str], m: Moment) -> Citation:
    return Citation(m.video_id, m.span.start_s, m.span.end_s, paths.get(m.video_id, ""), m.text)


def _paths(library: Library) -> dict[str, str]:
    """Each video's path by id (one catalog read for a whole answer)."""
    return {v.video_id: v.path for v in library.videos()}


def _names(paths: dict[str, str]) -> dict[str, str]:
    return {video_id: Path(path).name for video_id, path in paths.items()}


def _times(n: int) -> str:
    return f"{n} time{'s' * (n != 1)}"
