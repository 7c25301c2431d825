"""Needle-in-a-video-haystack evaluation: ask for every needle through the public API and score the moments.

For each haystack (``longvid.app.eval.haystack``) the video is indexed into a library and every needle's
question is put to :meth:`Library.search` (k=5) and :meth:`Library.ask`, scoped to that video:

* **hit@1 / hit@5** – the first / any of the first five retrieved moments overlaps the needle;
* **IoU** – temporal intersection-over-union of the first moment and the needle;
* **read** – spoken and on-screen needles only: the answer cites the needle and contains one of its keys.

Results group by needle kind, haystack length and depth; :func:`heatmap` draws them like the NIAH papers::

    >>> report = run_niah([HaystackSpec(1800)], "niah-work")              # doctest: +SKIP
    >>> report.summary()["spoken"]["hit@5"]                               # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from longvid.app.library import Library
from longvid.ingest.types import TimeSpan

from .haystack import KINDS, HaystackSpec, PlacedNeedle, build_haystack

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NeedleResult:
    needle: str
    kind: str
    length_s: float  # the haystack's length
    depth: float  # where the needle sits, as a share of the haystack
    span: tuple[float, float]
    hit1: bool
    hit5: bool
    iou: float  # of the first retrieved moment and the needle
    read: bool | None  # the answer cites the needle and says its key (None: visual needles have no key)
    answer: str


@dataclass(frozen=True)
class HaystackTiming:
    length_s: float
    build_s: float  # making the video
    index_s: float  # Library.add
    query_s: float  # all of its questions, search + ask


@dataclass(frozen=True)
class NiahReport:
    results: tuple[NeedleResult, ...]
    timings: tuple[HaystackTiming, ...]

    def summary(self) -> dict[str, dict[str, float]]:
        """Per kind: needles, hit@1, hit@5, mean IoU and (spoken, on-screen) the share read."""
        out = {}
        for kind in KINDS:
            rows = [r for r in self.results if r.kind == kind]
            if not rows:
                continue
            n = len(rows)
            out[kind] = {"needles": n, "hit@1": sum(r.hit1 for r in rows) / n, "hit@5": sum(r.hit5 for r in rows) / n,
                         "iou": sum(r.iou for r in rows) / n}  # fmt: skip
            read = [r.read for r in rows if r.read is not None]
            if read:
                out[kind]["read"] = sum(read) / len(read)
        return out

    def to_json(self) -> str:
        return json.dumps({"summary": self.summary(), "results": [asdict(r) for r in self.results],
                           "timings": [asdict(t) for t in self.timings]}, indent=2)  # fmt: skip


def overlaps(moment: TimeSpan, needle: TimeSpan) -> bool:
    """A moment finds a needle when it covers at least a second of it (or half of a shorter needle)."""
    return moment.overlap_s(needle) >= min(1.0, needle.duration_s / 2)


def score_needle(library: Library, video_id: str, placed: PlacedNeedle, length_s: float) -> NeedleResult:
    """Search and ask for one needle, as a user would, and score what came back."""
    needle = placed.needle
    hits = library.search(needle.question, k=5, video=video_id)
    spans = [TimeSpan(h.start_s, h.end_s) for h in hits]
    answer = library.ask(needle.question, video=video_id)
    cited = any(overlaps(c.span, placed.span) for c in answer.citations[:1])
    said = answer.text.lower()
    read = (cited and any(key in said for key in needle.keys)) if needle.keys else None
    return NeedleResult(
        needle=needle.id,
        kind=needle.kind,
        length_s=length_s,
        depth=round(placed.depth, 4),
        span=(placed.span.start_s, placed.span.end_s),
        hit1=bool(spans) and overlaps(spans[0], placed.span),
        hit5=any(overlaps(s, placed.span) for s in spans),
        iou=round(spans[0].iou(placed.span), 4) if spans else 0.0,
        read=read,
        answer=answer.text,
    )


def run_niah(
    specs: Sequence[HaystackSpec], work_dir: str | Path, library: Library | None = None, progress: bool = False
) -> NiahReport:
    """Build, index and question every haystack in ``specs``; the library defaults to ``work_dir/library``
    on the embedded profile."""
    work = Path(work_dir)
    own = library is None
    library = library or Library(work / "library", profile="embedded")
    results, timings = [], []
    try:
        for spec in specs:
            start = time.perf_counter()
            stack = build_haystack(spec, work)
            built = time.perf_counter()
            video_id = library.add(stack.path, progress=progress).video_id
            indexed = time.perf_counter()
            for placed in stack.needles:
                results.append(score_needle(library, video_id, placed, stack.duration_s))
                log.info("%s @ %.0f s: hit@5=%s", placed.needle.id, placed.span.start_s, results[-1].hit5)
            timings.append(HaystackTiming(stack.duration_s, built - start, indexed - built,
                                          time.perf_counter() - indexed))  # fmt: skip
    finally:
        if own:
            library.close()
    return NiahReport(tuple(results), tuple(timings))


def heatmap(report: NiahReport, path: str | Path, bins: int = 10) -> Path:
    """hit@5 by haystack length (rows) and needle depth (columns), one panel per needle kind, as a PNG."""
    from .heatmap import Panel, save_heatmaps

    lengths = sorted({r.length_s for r in report.results})
    columns = tuple(f"{100 * b // bins}%" for b in range(bins))
    panels = []
    for kind in KINDS:
        rows = [r for r in report.results if r.kind == kind]
        if not rows:
            continue
        values = []
        for length in lengths:
            cells: list[list[bool]] = [[] for _ in range(bins)]
            for r in rows:
                if r.length_s == length:
                    cells[min(int(r.depth * bins), bins - 1)].append(r.hit5)
            values.append(tuple(sum(c) / len(c) if c else float("nan") for c in cells))
        panels.append(Panel(f"{kind.replace('_', '-')} needles: hit@5", tuple(_length_label(s) for s in lengths),
                            columns, tuple(values)))  # fmt: skip
    return save_heatmaps(panels, path, title="longvid needle in a video haystack (columns: depth)")


def _length_label(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"
