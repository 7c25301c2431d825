"""The ``longvid`` command line.

    longvid doctor                 what this machine offers (GPU, flash-attn, FAISS, decoders, ffmpeg)
    longvid probe FILE [--json]    containers, streams, codecs, duration, rotation of a media file
    longvid scenes FILE [--json]   scene cuts with start/end times
    longvid index PATHS...         index videos and folders into a library (skips what is already there)
    longvid check                  library integrity: SQLite, vector ids <-> events, orphan files
    longvid search "QUERY"         find the moments that match, across the library
    longvid ask "QUESTION"         answer a question, citing the moments (start-end seconds) it rests on
    longvid chapters VIDEO         a video's chapters (--md, --json); longvid summary VIDEO: its overview
    longvid export VIDEO           its transcript (--transcript srt|vtt|json) or chapters (--chapters
                                   youtube|json|ffmetadata), to stdout or -o FILE
    longvid clip VIDEO START END   cut a moment into -o FILE.mp4 (--subtitles mux|burn: the transcript)
    longvid eval mc|niah           multiple-choice accuracy; needle-in-a-video-haystack evaluation
    longvid serve                  the web app (127.0.0.1 by default): add videos, ask, click citations

Bad input exits with status 1 and one line on stderr naming the file and the problem; usage errors
exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from longvid.ingest import LongvidError, MediaLimits, SegmentConfig, detect_scenes, open_video, probe, timecode
from longvid.ingest.backends import BACKENDS

from . import argtypes, wire

if TYPE_CHECKING:
    from longvid.index.records import Overview

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # addresses of serve that only this machine reaches

DEFAULT_LIBRARY = "longvid-library"


def _clock(t_s: float) -> str:  # listings: hours always, milliseconds
    return timecode(t_s, hours=True, decimals=3)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from . import doctor

    if args.self_test:
        results = doctor.self_test()
        for result in results:
            print(result.line())
        return 0 if all(r.ok for r in results) else 1
    report = doctor.collect()
    print(json.dumps(report, indent=2) if args.json else doctor.render(report))
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    info = probe(args.file)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    duration = f"{info.duration_s:.3f} s" if info.duration_s is not None else "unknown"
    print(
        f"{info.path}\n  container {info.container}, {info.size_bytes} bytes, duration {duration}, "
        f"{info.bit_rate // 1000} kb/s"
    )
    for v in info.video:
        print(
            f"  #{v.index} video    {v.codec} {v.width}x{v.height} {v.fps:.3f} fps, {v.frame_count or '?'} frames,"
            f" rotation {v.rotation}, {v.pix_fmt}"
        )
    for a in info.audio:
        print(f"  #{a.index} audio    {a.codec} {a.sample_rate} Hz, {a.channels} ch, language {a.language or '?'}")
    for s in info.subtitles:
        kind = "text" if s.is_text else "bitmap"
        print(f"  #{s.index} subtitle {s.codec} ({kind}), language {s.language or '?'}")
    return 0


def _cmd_scenes(args: argparse.Namespace) -> int:
    if args.min_scene >= args.max_scene:
        args.parser.error(f"--min-scene ({args.min_scene}) must be shorter than --max-scene ({args.max_scene})")
    config = SegmentConfig(fps=args.fps, min_scene_s=args.min_scene, max_scene_s=args.max_scene)
    asset = open_video(args.file)
    scenes = detect_scenes(asset, config, backend=args.backend, show_progress=args.progress)
    if args.json:
        out = {
            "video": {"video_id": asset.video_id, "path": str(asset.path), "duration_s": asset.duration_s},
            "config": asdict(config),
            "scenes": [
                {"index": s.index, "start_s": s.span.start_s, "end_s": s.span.end_s, "cut": s.cut} for s in scenes
            ],
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"{asset.path.name}: {len(scenes)} scenes over {_clock(asset.duration_s)} (id {asset.video_id})")
    for s in scenes:
        print(
            f"  {s.index:4d}  {_clock(s.span.start_s)} - {_clock(s.span.end_s)}  ({s.span.duration_s:7.2f} s, {s.cut})"
        )
    return 0


def library_help() -> str:
    """The ``--library`` option's help, shared by every subcommand that takes one."""
    return f"library directory (default: $LONGVID_LIBRARY or ./{DEFAULT_LIBRARY})"


def library_path(args: argparse.Namespace) -> Path:
    return Path(args.library or os.environ.get("LONGVID_LIBRARY") or DEFAULT_LIBRARY)


def _existing_library(args: argparse.Namespace) -> Path | None:
    """The library to read, or None (after saying why) when there is none there yet."""
    path = library_path(args)
    if not (path / "catalog.sqlite").exists():
        print(f"longvid {args.command}: error: no library at {path}; index videos first: "
              f"longvid index --library {path} VIDEO...", file=sys.stderr)  # fmt: skip
        return None
    return path


def _cmd_index(args: argparse.Namespace) -> int:
    from .jobs import run_index_job, summary_table
    from .library import Library

    limits = MediaLimits(max_pixels=args.max_pixels, max_duration_s=args.max_duration, max_file_bytes=args.max_size,
                         max_decode_s=args.decode_timeout, max_asr_s=args.asr_timeout)  # fmt: skip
    with Library(library_path(args), profile=args.profile, show_progress=args.progress, limits=limits) as lib:
        results = run_index_job(lib, args.paths, recursive=args.recursive, retries=args.retries,
                                workers=args.workers, show_progress=args.progress, ray=args.ray)  # fmt: skip
    if not results:
        print("longvid index: error: no video files found", file=sys.stderr)
        return 1
    print(summary_table(results))
    for r in results:
        if r.status == "failed":
            print(f"longvid index: error: {r.reason}", file=sys.stderr)
    return 1 if any(r.status == "failed" for r in results) else 0


def _cmd_watch(args: argparse.Namespace) -> int:
    import threading

    from .jobs import index_file
    from .library import Library
    from .watch import FolderWatcher

    with Library(library_path(args), profile=args.profile) as lib:

        def index(path: Path) -> None:
            r = index_file(lib, path, args.retries)
            line = f"{r.status:8} {r.events:4d} events  {r.seconds:6.1f} s  {path}"
            print(line if r.status != "failed" else f"{line}\n  failed: {r.reason}", flush=True)

        watchers = [FolderWatcher(folder, index, args.recursive, settle_s=args.settle) for folder in args.folders]
        print(f"longvid: watching {', '.join(str(w.folder) for w in watchers)} into {lib.root} (Ctrl-C stops)",
              flush=True)  # fmt: skip
        stop = threading.Event()
        threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in watchers[1:]]
        for thread in threads:
            thread.start()
        try:
            watchers[0].run(stop)
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from .library import Library

    path = _existing_library(args)
    if path is None:
        return 1
    with Library(path) as lib:
        record = lib.remove(args.video)
    print(f"removed {Path(record.path).name} ({record.video_id}) from {path}; the file itself is untouched")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .library import Library

    path = _existing_library(args)
    if path is None:
        return 1
    with Library(path) as lib:
        problems = lib.check(repair=args.repair)
        videos, failures = len(lib.videos()), len(lib.index.failures())
    for problem in problems:
        print(f"problem: {problem}")
    fixed = args.repair and all(p.endswith("(removed)") for p in problems)
    verdict = "ok" if not problems else "repaired" if fixed else f"{len(problems)} problem(s)"
    print(f"{path}: {verdict}; {videos} videos, {failures} recorded failures")
    return 0 if not problems or fixed else 1


def _cmd_search(args: argparse.Namespace) -> int:
    if (args.query is None) == (args.image is None):
        args.parser.error("give a query in words or --image PICTURE (one of the two)")
    if args.server and args.image is not None:
        args.parser.error("--server searches by words; search by --image without it (the picture is read here)")
    if args.server:
        found = _remote(args.server, "/api/search", {"query": args.query, "k": args.k, "video": args.video})
    else:
        from .library import Library  # here: a --server call never loads the models' libraries

        path = _existing_library(args)
        if path is None:
            return 1
        with Library(path, profile=args.profile) as lib:
            if args.image is not None:
                hits = lib.search_image(args.image, k=args.k, video=args.video)
            else:
                hits = lib.search(args.query, k=args.k, video=args.video)
        found = wire.hits_json(hits, hits.reason)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    if not found["hits"]:
        print(found["reason"] or "no matching moments")
    for rank, h in enumerate(found["hits"], start=1):
        why = "; ".join(f"{m['channel']}: {m['why']}" for m in h["matches"])
        print(f"{rank:2d}. {h['video']} {_clock(h['start_s'])}-{_clock(h['end_s'])}  relevance {h['relevance']:.2f}")
        print(f"    {h['snippet'].replace(chr(10), ' | ')[:160]}")
        print(f"    ({why})")
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    if args.server and args.reel:
        args.parser.error("--reel cuts the moments here; ask without --server")
    if args.server:
        answer = _remote(args.server, "/api/ask", {"question": args.question, "video": args.video})
    else:
        from .library import Library

        path = _existing_library(args)
        if path is None:
            return 1
        with Library(path, profile=args.profile) as lib:
            asked = lib.ask(args.question, video=args.video)
            reel = lib.export_answer(asked, args.reel) if args.reel else None
        answer = wire.answer_json(asked)
        if reel is not None:
            print(f"wrote {reel.path}: {len(asked.citations)} moments, {reel.duration_s:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    print(answer["answer"])
    for i, c in enumerate(answer["citations"], start=1):
        print(f"  [{i}] {c['video']} {_clock(c['start_s'])}-{_clock(c['end_s'])}  (video {c['video_id']})")
    if answer["plan"]:
        print(f"  plan: {answer['plan']['description']}")
    return 0


def _remote(server: str, route: str, body: dict) -> dict:
    """POST ``body`` to a running ``longvid serve`` (its API key from ``$LONGVID_API_KEY``); its JSON reply,
    or its error message as a :class:`LongvidError`."""
    import httpx

    key = os.environ.get("LONGVID_API_KEY")
    url = server.rstrip("/") + route
    try:
        reply = httpx.post(url, json=body, timeout=600, headers={"Authorization": f"Bearer {key}"} if key else {})
    except httpx.HTTPError as err:
        raise LongvidError(f"cannot reach longvid serve at {server} ({err})") from None
    try:
        data = reply.json()
    except ValueError:
        raise LongvidError(f"{url} answered {reply.status_code} without JSON: is it longvid serve?") from None
    if reply.status_code != 200:
        message = data.get("error", {}).get("message", reply.text) if isinstance(data, dict) else reply.text
        raise LongvidError(f"{url}: {message}")
    return data


def _cmd_chapters(args: argparse.Namespace) -> int:
    from .library import Library

    path = _existing_library(args)
    if path is None:
        return 1
    with Library(path, profile=args.profile) as lib:
        video = lib.video(args.video)
        overview = lib.overview(video.video_id)
    if args.command == "summary":
        print(json.dumps(wire.overview_json(overview), indent=2) if args.json else render_summary(overview, video.path))
        return 0
    chapters = overview.chapters
    if args.json:
        print(json.dumps(wire.overview_json(overview)["chapters"], indent=2))
    elif args.md:
        print(f"# {Path(video.path).name}\n")
        for c in chapters:
            print(f"## {c.index + 1}. {c.title} ({timecode(c.span.start_s)}–{timecode(c.span.end_s)})\n")
            for s in c.summary:
                print(f"- {s.text} [{timecode(s.span.start_s)}]")
            print()
    else:
        for c in chapters:
            print(f"{c.index + 1:3d}. {_clock(c.span.start_s)}-{_clock(c.span.end_s)}  {c.title}")
    return 0


def render_summary(overview: Overview, path: str) -> str:
    """The overview as text for people: length, speech, central sentences, chapters, what is on screen."""
    lines = [f"{Path(path).name}: {timecode(overview.duration_s)}, {overview.speech_share:.0%} speech"
             + (f" ({overview.language})" if overview.language else "")]  # fmt: skip
    lines += [f"  “{s.text}”  [{timecode(s.span.start_s)}]" for s in overview.sentences]
    lines.append(f"chapters ({len(overview.chapters)}):")
    lines += [
        f"  {c.index + 1}. {timecode(c.span.start_s)}–{timecode(c.span.end_s)}  {c.title}" for c in overview.chapters
    ]
    if overview.on_screen:
        lines.append("on screen most: " + "; ".join(overview.on_screen))
    if overview.concepts:
        lines.append("shown most: " + ", ".join(overview.concepts))
    return "\n".join(lines)


def _cmd_export(args: argparse.Namespace) -> int:
    from longvid.ingest.atomic import atomic_path

    from .exports import export_chapters, export_transcript
    from .library import Library

    path = _existing_library(args)
    if path is None:
        return 1
    with Library(path, profile=args.profile) as lib:
        if args.transcript:
            text = export_transcript(lib, args.video, args.transcript)
        else:
            text = export_chapters(lib, args.video, args.chapters)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    with atomic_path(args.output) as tmp:  # a reader of FILE never sees half of it
        tmp.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def _cmd_clip(args: argparse.Namespace) -> int:
    from .clips import export_clip
    from .library import Library

    given = Path(args.video)
    if given.is_file() and args.subtitles is None:  # a file, cut as it is: no library needed
        clip = export_clip(given, args.start, args.end, args.output)
    else:
        path = library_path(args)
        if not (path / "catalog.sqlite").exists():
            what = "--subtitles come from a library's transcript" if given.is_file() else f"no file {args.video}"
            print(f"longvid clip: error: {what}, and there is no library at {path}; index the video first: "
                  f"longvid index --library {path} VIDEO", file=sys.stderr)  # fmt: skip
            return 1
        ref = str(given.resolve()) if given.is_file() else args.video  # the library stores absolute paths
        with Library(path) as lib:
            clip = lib.export_clip(ref, args.start, args.end, args.output, subtitles=args.subtitles is not None,
                                   burn=args.subtitles == "burn")  # fmt: skip
    how = "stream copy" if clip.method == "copy" else "re-encoded"
    if args.subtitles:
        how += f", {clip.cues} subtitle cues {'burned in' if args.subtitles == 'burn' else 'muxed'}"
    print(f"wrote {clip.path}: {_clock(clip.start_s)}-{_clock(clip.end_s)}, {clip.duration_s:.3f} s ({how})")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .library import Library
    from .web import build_ui, launch

    roots = args.root or [os.getcwd()]
    auth = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        if not password:
            args.parser.error("--auth must be USER:PASSWORD")
        auth = (user, password)
    api_key = args.api_key or os.environ.get("LONGVID_API_KEY") or None
    if api_key is None and args.host not in LOOPBACK:
        log.warning("serving the API on %s without --api-key: anyone who can reach it can use it", args.host)
    watched = [Path(d) for d in args.watch or ()]
    for folder in watched:
        if not folder.is_dir():
            args.parser.error(f"--watch {folder}: not a folder")
    roots += [str(d) for d in watched]  # what is watched is served too
    with Library(library_path(args), profile=args.profile) as lib:
        print(f"longvid: serving {lib.root} on http://{args.host}:{args.port} (videos from {', '.join(roots)});"
              f" API at /api and /v1, reference at /docs")  # fmt: skip
        lib.warm()
        launch(build_ui(lib, roots), lib, roots, host=args.host, port=args.port, auth=auth, api_key=api_key,
               watch=watched)  # fmt: skip
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="longvid", description="Index long videos and answer questions about them, citing the moments."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("doctor", help="report GPU, attention kernels, FAISS, decoders and ffmpeg found here")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument(
        "--self-test",
        action="store_true",
        help="check this host instead: CUDA, a tiny Qwen2.5-VL forward (bf16 on CUDA), FAISS GPU, attention kernel; "
        "one line each, exit status 1 if any fails",
    )
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser("probe", help="describe a media file's container and streams")
    p.add_argument("file", help="any media file FFmpeg can read")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=_cmd_probe)

    defaults = SegmentConfig()
    p = sub.add_parser("scenes", help="detect scene cuts and print scenes with start/end times")
    p.add_argument("file", help="a video file")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument(
        "--fps", type=argtypes.positive, default=defaults.fps, help="frames analysed per second (default %(default)s)"
    )
    p.add_argument(
        "--min-scene",
        type=argtypes.positive,
        default=defaults.min_scene_s,
        help="shortest scene in seconds (default %(default)s)",
    )
    p.add_argument(
        "--max-scene",
        type=argtypes.positive,
        default=defaults.max_scene_s,
        help="longest scene in seconds before a forced split (default %(default)s)",
    )
    p.add_argument("--backend", choices=sorted(BACKENDS), default=None, help="frame decoder (default: pyav)")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=sys.stderr.isatty(),
        help="show a progress bar (default: when stderr is a terminal)",
    )
    p.set_defaults(func=_cmd_scenes, parser=p)

    lib_help = library_help()
    p = sub.add_parser("index", help="index videos into a library; already indexed files are skipped")
    p.add_argument("paths", nargs="+", help="video files and folders")
    p.add_argument("-r", "--recursive", action="store_true", help="search folders' subfolders too")
    p.add_argument(
        "--retries", type=argtypes.count_or_zero, default=1, help="retries after an I/O or runtime error (default 1)"
    )
    p.add_argument("--workers", type=argtypes.count, default=1,
                   help="processes building videos in parallel, each with its own models and share of the cores;"
                        " fewer videos than workers: each video is split into time chunks (default 1)")  # fmt: skip
    p.add_argument("--ray", metavar="ADDRESS", help="build on Ray actors: auto, local or ray://HOST:PORT")
    p.add_argument("--library", help=lib_help)
    p.add_argument("--profile", help="embedded, gpu, auto or a .toml file (default: the library's own, else auto)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=sys.stderr.isatty(),
                   help="show progress bars (default: when stderr is a terminal)")  # fmt: skip
    limits = MediaLimits()
    p.add_argument("--max-duration", type=argtypes.duration, default=limits.max_duration_s,
                   help="refuse longer videos, e.g. 3h (default 48h)")  # fmt: skip
    p.add_argument("--max-pixels", type=argtypes.pixels, default=limits.max_pixels,
                   help="refuse larger frames: WIDTHxHEIGHT or a pixel count (default 8192x8192)")  # fmt: skip
    p.add_argument("--max-size", type=argtypes.byte_size, help="refuse larger files, e.g. 4G (default: no limit)")
    p.add_argument(
        "--decode-timeout", type=argtypes.duration, help="give up on a file whose decoding takes longer, e.g. 20m"
    )
    p.add_argument(
        "--asr-timeout", type=argtypes.duration, help="give up on a file whose speech recognition takes longer"
    )
    p.set_defaults(func=_cmd_index)

    def reader_options(p: argparse.ArgumentParser) -> None:  # what search and ask share
        p.add_argument("--video", help="only this video id")
        p.add_argument("--server", default=os.environ.get("LONGVID_SERVER"),
                       help="ask a running longvid serve at this URL instead of opening the library here: answers "
                       "in milliseconds, the models already loaded (default: $LONGVID_SERVER)")  # fmt: skip
        p.add_argument("--library", help=lib_help)
        p.add_argument("--profile", help="default: the profile the library was built with")
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")

    p = sub.add_parser("watch", help="index new and changed videos in folders as they appear (until Ctrl-C)")
    p.add_argument("folders", nargs="+", help="folders to watch")
    p.add_argument("-r", "--recursive", action="store_true", help="their subfolders too")
    p.add_argument("--settle", type=argtypes.positive, default=5.0,
                   help="seconds a file must stay unchanged before it is indexed (default %(default)s)")  # fmt: skip
    p.add_argument("--retries", type=argtypes.count_or_zero, default=1, help="retries after an I/O error (default 1)")
    p.add_argument("--library", help=lib_help)
    p.add_argument("--profile", help="embedded, gpu, auto or a .toml file (default: the library's own, else auto)")
    p.set_defaults(func=_cmd_watch)

    p = sub.add_parser("remove", help="delete a video's entry from the library (the file itself is kept)")
    p.add_argument("video", help="video id, id prefix, path or file name")
    p.add_argument("--library", help=lib_help)
    p.set_defaults(func=_cmd_remove)

    p = sub.add_parser("check", help="check a library's integrity: SQLite, vectors vs events, orphan files")
    p.add_argument("--library", help=lib_help)
    p.add_argument("--repair", action="store_true", help="delete orphan files (the catalog is never changed)")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("search", help="find the moments matching a query across the library")
    p.add_argument("query", nargs="?", help="what you are looking for, in words")
    p.add_argument("--image", help="find moments that look like this picture instead (any file Pillow reads)")
    p.add_argument("-k", type=argtypes.count, default=5, help="how many moments (default %(default)s)")
    reader_options(p)
    p.set_defaults(func=_cmd_search, parser=p)

    p = sub.add_parser("ask", help="answer a question about the library, citing the moments")
    p.add_argument("question", help="the question, in words")
    p.add_argument("--reel", metavar="FILE.mp4", help="also write the cited moments as one highlight reel")
    reader_options(p)
    p.set_defaults(func=_cmd_ask, parser=p)

    p = sub.add_parser("chapters", help="a video's chapters: spans, titles (and summaries with --md / --json)")
    p.add_argument("video", help="video id, id prefix, path or file name")
    p.add_argument("--library", help=lib_help)
    p.add_argument("--profile", help="default: the profile the library was built with")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print machine-readable JSON")
    form.add_argument("--md", action="store_true", help="print Markdown: a heading per chapter, its summary")
    p.set_defaults(func=_cmd_chapters)

    p = sub.add_parser("summary", help="a video's overview: central sentences, chapters, what is on screen most")
    p.add_argument("video", help="video id, id prefix, path or file name")
    p.add_argument("--library", help=lib_help)
    p.add_argument("--profile", help="default: the profile the library was built with")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=_cmd_chapters, md=False)

    from .exports import CHAPTER_FORMATS, TRANSCRIPT_FORMATS

    p = sub.add_parser("export", help="write a video's transcript (subtitles, JSON) or chapters to a file",
                       description="Write a video's transcript or its chapters, to stdout or -o FILE. One kind "
                       "per call: give --transcript or --chapters (run twice for both). YouTube lines start at "
                       "0:00 even when the first chapter starts later.")  # fmt: skip
    p.add_argument("video", help="video id, id prefix, path or file name")
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--transcript", choices=list(TRANSCRIPT_FORMATS),
                      help="SubRip, WebVTT, or JSON with word times")  # fmt: skip
    kind.add_argument("--chapters", choices=list(CHAPTER_FORMATS),
                      help="YouTube description lines, JSON, or FFmpeg metadata (ffmpeg -map_chapters)")  # fmt: skip
    p.add_argument("-o", "--output", metavar="FILE", help="write FILE (atomically) instead of printing")
    p.add_argument("--library", help=lib_help)
    p.add_argument("--profile", help="default: the profile the library was built with")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("clip", help="cut a moment of a video into a new file (stream copy on a keyframe)")
    p.add_argument("video", help="a video file, or a library video's id, id prefix, path or file name")
    p.add_argument("start", type=argtypes.clock, help="where the clip starts: seconds, MM:SS or HH:MM:SS")
    p.add_argument("end", type=argtypes.clock, help="where it ends (past the video's end: its end)")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the clip to write: .mp4, .m4v or .mov")
    p.add_argument("--subtitles", choices=["mux", "burn"],
                   help="add the library's transcript: as a subtitle stream, or burned into the picture")  # fmt: skip
    p.add_argument("--library", help=lib_help)
    p.set_defaults(func=_cmd_clip)

    p = sub.add_parser("serve", help="the web app: add videos, ask questions, click citations to seek")
    p.add_argument("--library", help=lib_help)
    p.add_argument("--profile", help="default: the library's own, else auto")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s: this machine only)")
    p.add_argument("--port", type=argtypes.port, default=7860, help="port (default %(default)s)")
    p.add_argument("--root", action="append", help="folder videos may be added from (repeatable; default: cwd)")
    p.add_argument("--auth", help="USER:PASSWORD required to use the app")
    p.add_argument("--api-key", help="bearer token the HTTP API requires (default: $LONGVID_API_KEY; none on loopback)")
    p.add_argument("--watch", action="append", metavar="DIR",
                   help="index new and changed videos in this folder as they appear (repeatable)")  # fmt: skip
    p.set_defaults(func=_cmd_serve, parser=p)

    for command in entry_points(group="longvid.commands"):  # optional subpackages' commands (longvid eval)
        command.load()(sub)
    return parser


def _one_line(err: BaseException) -> str:
    """The error's message on one line (multi-line messages, such as ffmpeg's output, joined by ' | ')."""
    if isinstance(err, OSError) and err.filename and err.strerror:  # "notes.json: No such file or directory"
        return f"{err.filename}: {err.strerror}"
    return " | ".join(line.strip() for line in str(err).splitlines() if line.strip()) or type(err).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (LongvidError, OSError) as err:  # bad input, a bad profile or library, a missing model or file
        log.debug("%s failed", args.command, exc_info=True)
        print(f"longvid {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"longvid {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
