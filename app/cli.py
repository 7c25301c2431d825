"""The ``longvid`` command line.

    longvid doctor                 what this machine offers (GPU, flash-attn, FAISS, decoders, ffmpeg)
    longvid probe FILE [--json]    containers, streams, codecs, duration, rotation of a media file
    longvid scenes FILE [--json]   scene cuts with start/end times

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

from longvid.ingest import MediaError, SegmentConfig, detect_scenes, open_video, probe
from longvid.ingest.backends import BACKENDS

from . import doctor

log = logging.getLogger(__name__)


def _timecode(t_s: float) -> str:
    minutes, seconds = divmod(t_s, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:06.3f}"


def _cmd_doctor(args: argparse.Namespace) -> int:
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


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


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
    print(f"{asset.path.name}: {len(scenes)} scenes over {_timecode(asset.duration_s)} (id {asset.video_id})")
    for s in scenes:
        print(
            f"  {s.index:4d}  {_timecode(s.span.start_s)} - {_timecode(s.span.end_s)}"
            f"  ({s.span.duration_s:7.2f} s, {s.cut})"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="longvid", description="Index long videos and answer questions about them, citing the moments."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("doctor", help="report GPU, attention kernels, FAISS, decoders and ffmpeg found here")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
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
        "--fps", type=_positive, default=defaults.fps, help="frames analysed per second (default %(default)s)"
    )
    p.add_argument(
        "--min-scene",
        type=_positive,
        default=defaults.min_scene_s,
        help="shortest scene in seconds (default %(default)s)",
    )
    p.add_argument(
        "--max-scene",
        type=_positive,
        default=defaults.max_scene_s,
        help="longest scene in seconds before a forced split (default %(default)s)",
    )
    p.add_argument(
        "--backend", choices=sorted(BACKENDS), default=None, help="frame decoder (default: decord if installed)"
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=sys.stderr.isatty(),
        help="show a progress bar (default: when stderr is a terminal)",
    )
    p.set_defaults(func=_cmd_scenes, parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except MediaError as err:
        print(f"longvid {args.command}: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and closed early: not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
