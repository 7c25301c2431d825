"""``longvid eval``: the evaluations as subcommands, registered through the ``longvid.commands`` entry point.

    longvid eval mc FILE.json       multiple-choice accuracy (Video-MME / MLVU style JSON) through ask
    longvid eval niah [--quick]     needle in a video haystack: spoken, on-screen and visual needles
    longvid eval questions [--quick]  counts, first/last, at a time, after/before, overview, chapter boundaries
    longvid eval plans FILE.csv     how the question planner reads labelled questions (question,kind)
    longvid eval calibrate          the confidence floors, measured on held-out labelled data

This module imports only the standard library and the product at import time, so ``longvid eval --help``
works after a plain install; a command whose extra is missing says which one in a line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from longvid.app import argtypes
from longvid.app.cli import library_help, library_path

from . import require_extra


def _cmd_mc(args: argparse.Namespace) -> int:
    from longvid.app.library import Library

    from .mc import evaluate_mc, load_items

    items = load_items(args.file)
    with Library(library_path(args), profile=args.profile) as lib:
        report = evaluate_mc(lib, items)
    for r in report.results:
        mark = "ok " if r.correct else "MISS"
        print(f"{mark} {r.item.question}  chose {r.item.options[r.chosen]!r}, right {r.item.options[r.item.answer]!r}")
    right = sum(r.correct for r in report.results)
    print(f"accuracy {right}/{len(report.results)} = {report.accuracy:.3f}")
    return 0


def _cmd_plans(args: argparse.Namespace) -> int:
    from longvid.app.profiles import load_profile
    from longvid.encoders.text import TextEmbedder
    from longvid.llm.planner import Planner

    from .plans import evaluate_plans, load_plan_items

    items = load_plan_items(args.file)
    embedder = TextEmbedder(load_profile(args.profile).text.model)
    report = evaluate_plans(Planner(embedder.embed), items, duration_s=args.duration)
    for item, plan in report.misses()[: args.misses]:
        print(f"MISS {item.question!r}: {plan.kind}, want {item.label} ({plan.why})")
    print("label                questions  right  accuracy  planned as")
    for label, (right, total) in report.by_label().items():
        planned = ", ".join(f"{kind} {n}" for kind, n in report.planned_as(label).most_common())
        print(f"{label:<20} {total:>9}  {right:>5}  {right / total:8.3f}  {planned}")
    print(f"accuracy {report.right}/{len(items)} = {report.accuracy:.3f}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    require_extra("longvid eval calibrate", ["skimage"])
    from .calibrate import calibrate, load_calibration

    print(calibrate(load_calibration(args.file)).report())
    return 0


def _cmd_niah(args: argparse.Namespace) -> int:
    require_extra("longvid eval niah", ["skimage"])
    from longvid.app.library import Library

    from .haystack import HaystackSpec
    from .niah import heatmap, run_niah

    work = Path(args.work)
    lengths = [1800.0] if args.quick else args.lengths
    sized = {"size": args.size} if args.size else {}
    specs = [HaystackSpec(length_s=s, per_kind=args.per_kind, seed=args.seed, **sized) for s in lengths]
    with Library(work / "library", profile=args.profile) as lib:
        report = run_niah(specs, work, library=lib, progress=args.progress)
    (work / "niah-report.json").write_text(report.to_json())
    picture = heatmap(report, args.heatmap or work / "niah-heatmap.png")
    print("kind       needles  hit@1  hit@5   IoU   read")
    summary = report.summary()
    for kind, row in summary.items():
        read = f"{row['read']:.2f}" if "read" in row else "   -"
        print(f"{kind:<10} {row['needles']:>7}  {row['hit@1']:.2f}  {row['hit@5']:.2f}  {row['iou']:.2f}  {read}")
    for t in report.timings:
        print(f"haystack {t.length_s / 60:.1f} min: built in {t.build_s:.0f} s, indexed in {t.index_s:.0f} s"
              f" ({t.length_s / max(t.index_s, 1e-9):.0f}x real time), questions in {t.query_s:.1f} s")  # fmt: skip
    print(f"report {work / 'niah-report.json'}, heatmap {picture}")
    if args.min_hit5 is not None:
        low = [k for k in ("spoken", "on_screen") if summary.get(k, {}).get("hit@5", 0.0) < args.min_hit5]
        if low:
            print(f"longvid eval niah: hit@5 below {args.min_hit5} for {', '.join(low)}", file=sys.stderr)
            return 1
    return 0


def _cmd_questions(args: argparse.Namespace) -> int:
    require_extra("longvid eval questions", ["skimage"])
    from longvid.app.library import Library

    from .questions import TalkSpec, run_questions

    work = Path(args.work)
    lengths = [1800.0] if args.quick else args.lengths
    specs = [TalkSpec(length_s=s, seed=args.seed + i) for i, s in enumerate(lengths)]
    with Library(work / "library", profile=args.profile) as lib:
        report = run_questions(specs, work, library=lib, per_kind=args.per_kind)
    (work / "questions-report.json").write_text(report.to_json())
    summary = report.summary()
    print("kind       questions  accuracy  median ms")
    for kind, row in summary.items():
        if "accuracy" in row:
            print(f"{kind:<10} {row['questions']:>9}  {row['accuracy']:8.2f}  {row['median_ms']:9.0f}")
    for t in report.talks:
        print(f"talk {t.length_s / 60:.1f} min: {t.blocks} topic blocks, {t.chapters} chapters, boundary F1 "
              f"{t.boundary_f1:.2f} (P {t.boundary_precision:.2f}, R {t.boundary_recall:.2f}), overview names "
              f"{t.topics_named:.0%} of the topics, indexed in {t.index_s:.0f} s")  # fmt: skip
    print(f"report {work / 'questions-report.json'}")
    if args.min_accuracy is not None:
        low = [k for k, row in summary.items() if row.get("accuracy", 1.0) < args.min_accuracy]
        if low:
            print(f"longvid eval questions: accuracy below {args.min_accuracy} for {', '.join(low)}", file=sys.stderr)
            return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``eval`` and its evaluations to the ``longvid`` subcommands ``sub``."""
    p = sub.add_parser("eval", help="evaluations: multiple-choice accuracy, needle in a video haystack")
    evals = p.add_subparsers(dest="evaluation", required=True, metavar="EVALUATION")
    e = evals.add_parser("mc", help="Video-MME / MLVU style multiple-choice JSON, answered through ask")
    e.add_argument("file", help="JSON list of {video, question, options|candidates, answer}")
    e.add_argument("--library", help=library_help())
    e.add_argument("--profile", help="default: the library's own, else auto")
    e.set_defaults(func=_cmd_mc)
    e = evals.add_parser("niah", help="needle in a video haystack: spoken, on-screen and visual needles at known times")
    e.add_argument("--quick", action="store_true", help="one 30-minute haystack (the CI run); ignores --lengths")
    e.add_argument("--lengths", type=argtypes.duration, nargs="+", default=[1800.0, 3600.0, 7200.0],
                   help="haystack lengths, e.g. 30m 1h 2h (the default)")  # fmt: skip
    e.add_argument("--per-kind", type=argtypes.count, default=10,
                   help="needles of each kind per haystack (default 10, the most)")  # fmt: skip
    e.add_argument("--seed", type=int, default=0, help="haystack layout seed (default 0)")
    e.add_argument("--size", type=argtypes.frame_size, metavar="WxH",
                   help="haystack frame size (default 320x180: small, so that hours build fast)")  # fmt: skip
    e.add_argument("--work", default="niah-work", help="videos, clip pool, library, report (default %(default)s)")
    e.add_argument("--heatmap", help="PNG to draw (default: WORK/niah-heatmap.png)")
    e.add_argument("--profile", default="embedded", help="profile for the evaluation library (default %(default)s)")
    e.add_argument("--min-hit5", type=float, help="exit 1 if spoken or on-screen hit@5 is below this")
    e.add_argument("--progress", action=argparse.BooleanOptionalAction, default=sys.stderr.isatty(),
                   help="show progress bars (default: when stderr is a terminal)")  # fmt: skip
    e.set_defaults(func=_cmd_niah)
    e = evals.add_parser("questions", help="counts, first/last, at a time, after/before, overview, chapters "
                         "on talks with a known timeline")  # fmt: skip
    e.add_argument("--quick", action="store_true", help="one 30-minute talk (the CI run); ignores --lengths")
    e.add_argument("--lengths", type=argtypes.duration, nargs="+", default=[3600.0],
                   help="talk lengths, e.g. 30m 1h (default 1h)")  # fmt: skip
    e.add_argument("--per-kind", type=argtypes.count, default=8, help="questions of each kind per talk (default 8)")
    e.add_argument("--seed", type=int, default=0, help="talk layout seed (default 0)")
    e.add_argument("--work", default="questions-work", help="videos, library, report (default %(default)s)")
    e.add_argument("--profile", default="embedded", help="profile for the evaluation library (default %(default)s)")
    e.add_argument("--min-accuracy", type=float, help="exit 1 if any question kind scores below this")
    e.set_defaults(func=_cmd_questions)
    e = evals.add_parser("plans", help="how the question planner reads labelled questions (CSV: question,kind)")
    e.add_argument("file", help="CSV with 'question' and 'kind' columns (kinds joined by | when several are right)")
    e.add_argument("--duration", type=argtypes.duration, default=3600.0,
                   help="the length of the video the questions are about (default 1h)")  # fmt: skip
    e.add_argument("--profile", default="embedded", help="whose text model classifies (default %(default)s)")
    e.add_argument(
        "--misses", type=argtypes.count_or_zero, default=20, help="misplanned questions to print (default 20)"
    )
    e.set_defaults(func=_cmd_plans)
    e = evals.add_parser("calibrate", help="the confidence floors (tags, objects, search), measured on held-out "
                         "labelled photos and questions")  # fmt: skip
    e.add_argument("--file", help="calibration TOML (default: the bundled assets/calibration/calibration.toml)")
    e.set_defaults(func=_cmd_calibrate)
