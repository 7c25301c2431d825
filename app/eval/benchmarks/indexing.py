"""Indexing benchmark: video seconds indexed per wall second, by stage, and peak memory by video length.

Run ``python -m longvid.app.eval.benchmarks.indexing [--minutes 10 60 180] [--asr on|off|both]``. The test
video is ``assets/demo.mp4`` (slides, photos, narration, silence) looped to each requested length with
``ffmpeg -stream_loop`` (no re-encoding), or with ``--footage camera`` camera footage with speech
(:mod:`.footage`), then indexed with the embedded profile into a fresh library.
Each run is a separate process, so its peak RSS (VmHWM) covers models, decoding and indexing of that
run alone; flat RSS across lengths shows that memory does not grow with the video. Right before and right
after each run the ffmpeg command line decodes the same file at the pipeline's analysis rate and size;
the mean of the two is the reference that run's ratios are taken against (this machine's speed drifts
by 1.5x within minutes, so only ratios measured side by side compare). ``--repeat N`` runs each
configuration N times, interleaved, and reports the median ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from longvid.app.profiles import FramesConfig, load_profile
from longvid.ingest import SegmentConfig, detect_scenes
from longvid.ingest.ffmpeg_cli import run_ffmpeg

from .footage import make_camera_video

R = TypeVar("R")
DEMO = Path(__file__).resolve().parents[3] / "assets" / "demo.mp4"

_RUN = """
import json, re, sys, time
from pathlib import Path
from longvid.app import Library
from longvid.app.profiles import load_profile
from longvid.ingest import open_video
overrides = {"transcribe": sys.argv[3] == "on", "overlap": sys.argv[5] == "on"}
overrides |= {} if sys.argv[4] == "on" else {"objects.detector": ""}
profile = load_profile("embedded", overrides=overrides)
start = time.perf_counter()
with Library(sys.argv[2], profile=profile) as lib:
    lib.indexer.frame_encoder, lib.indexer.text_embedder.dim, lib.indexer.ocr  # load models up front
    if profile.objects.detector:
        lib.indexer.detector
    if profile.transcribe:
        lib.indexer.speech.load()
    loaded = time.perf_counter()
    built = lib.indexer.build(open_video(sys.argv[1]))
    stored = time.perf_counter()
    result = lib.store(built)
    done = time.perf_counter()
hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({"wall_s": done - loaded, "load_s": loaded - start, "events": result.events,
                  "keyframes": built.keyframes, "analysed": built.analysed,
                  "stages": {**built.seconds, "store": done - stored}, "peak_rss_mb": hwm / 1024}))
"""


def make_long_video(path: Path, minutes: float) -> float:
    loops = max(1, round(minutes))  # the demo is one minute long
    run_ffmpeg(f"-stream_loop {loops - 1} -i {{src}} -c copy {{out}}", src=DEMO, out=path)
    return loops * 60.0


def index_once(video: Path, asr: str, objects: str = "on", overlap: str = "on") -> dict:
    with tempfile.TemporaryDirectory() as lib:
        out = subprocess.run([sys.executable, "-c", _RUN, str(video), lib, asr, objects, overlap],
                             capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def ffmpeg_decode_s(video: Path, fps: float, side: int) -> float:
    """Wall seconds for the ffmpeg CLI to decode ``video`` at ``fps`` scaled to ``side`` (frames to null)."""
    start = time.perf_counter()
    run_ffmpeg(f"-threads 2 -i {{src}} -vf fps={fps},scale={side}:-2 -f rawvideo -pix_fmt rgb24 -y /dev/null",
               src=video)  # fmt: skip
    return time.perf_counter() - start


def between_references(video: Path, frames: FramesConfig, job: Callable[..., R], *args: object) -> tuple[R, float]:
    """``job(*args)``'s result, and the mean of :func:`ffmpeg_decode_s` (at the profile's analysis rate and size)
    right before and right after it."""
    before = ffmpeg_decode_s(video, frames.analysis_fps, frames.analysis_side)
    result = job(*args)
    return result, (before + ffmpeg_decode_s(video, frames.analysis_fps, frames.analysis_side)) / 2


def decode_and_cuts_s(video: Path, fps: float, side: int) -> float:
    """Wall seconds for :func:`detect_scenes` at ``fps`` and ``side`` px: decoding (its own thread, unreferenced
    frames not kept skipped), colour histograms and the cut detector, as the visual pass runs them."""
    start = time.perf_counter()
    detect_scenes(video, SegmentConfig(fps=fps, analysis_side=side))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[60.0], help="lengths of the test video")
    parser.add_argument("--asr", choices=["on", "off", "both"], default="both")
    parser.add_argument(
        "--objects",
        choices=["on", "off", "both"],
        default="on",
        help="object detection (both: each length twice, detection off then on, in one run)",
    )
    parser.add_argument("--footage", choices=["demo", "camera"], default="demo",
                        help="demo: assets/demo.mp4 looped (slides); camera: opencv-doc's sample videos at "
                        "640x360 25 fps with 20%% speech (footage.py)")  # fmt: skip
    parser.add_argument("--overlap", choices=["on", "off", "both"], default="on",
                        help="speech beside the visual pass (both: serial, then overlapped, in one run)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration, interleaved")
    args = parser.parse_args()
    frames = load_profile("embedded").frames
    print(f"machine: {os.cpu_count()} CPUs visible, {len(os.sched_getaffinity(0))} usable; embedded profile")
    what = {
        "demo": "assets/demo.mp4 looped (480x270, 10 fps, narrated)",
        "camera": "camera footage (opencv-doc samples, 640x360, 25 fps, 20% speech)",
    }[args.footage]
    for minutes in args.minutes:
        with tempfile.TemporaryDirectory() as tmp:
            video = Path(tmp) / "long.mp4"
            duration = (make_camera_video if args.footage == "camera" else make_long_video)(video, minutes)
            runs = [(a, o, v) for a in (["on", "off"] if args.asr == "both" else [args.asr])
                    for o in (["off", "on"] if args.objects == "both" else [args.objects])
                    for v in (["off", "on"] if args.overlap == "both" else [args.overlap])]  # fmt: skip
            cuts = []
            for _ in range(args.repeat):  # decode + cuts alone, as the visual pass decodes: 2 fps, 480 px
                alone_s, reference_s = between_references(video, frames, decode_and_cuts_s,
                                                          video, frames.analysis_fps, frames.analysis_side)  # fmt: skip
                cuts.append(reference_s / alone_s)
                print(f"\n{duration / 60:.0f} min: decode + cuts alone {duration / alone_s:.0f}x real time, ffmpeg CLI "
                      f"{duration / reference_s:.0f}x: **{reference_s / alone_s:.2f}x** the CLI's speed")  # fmt: skip
            if args.repeat > 1:
                got = [round(x, 2) for x in cuts]
                print(f"\ndecode + cuts / ffmpeg CLI: median {statistics.median(cuts):.2f}x of {got}")
            print(f"\n### Indexing {what}; stage columns: video s / wall s of the thread that ran the stage")
            print("| length | ASR | objects | overlap | wall s | video s / wall s | events | keyframes (analysed) "
                  "| ffmpeg CLI decode | **indexing / ffmpeg** | decode wait + cuts | encoder | OCR | objects | speech "
                  "| text embed | chapters + overview (share of wall) | store | peak RSS MB |")  # fmt: skip
            print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
            ratios: dict[tuple[str, str, str], list[float]] = {run: [] for run in runs}
            for asr, objects, overlap in runs * args.repeat:
                r, reference_s = between_references(video, frames, index_once, video, asr, objects, overlap)
                reference = duration / reference_s
                s = r["stages"]
                ratios[asr, objects, overlap].append(reference_s / r["wall_s"])
                rate = " | ".join(f"{duration / s[k]:.0f}x" if s[k] > 1e-3 else "—"
                                  for k in ("decode", "encode", "ocr", "objects", "speech", "text_embed"))  # fmt: skip
                rate += (
                    f" | {duration / s['memory']:.0f}x ({s['memory'] / r['wall_s']:.1%}) | {duration / s['store']:.0f}x"
                )
                print(f"| {duration / 60:.0f} min | {asr} | {objects} | {overlap} | {r['wall_s']:.0f} "
                      f"| {duration / r['wall_s']:.1f}x | {r['events']} | {r['keyframes']} ({r['analysed']}) "
                      f"| {reference:.0f}x | **{reference_s / r['wall_s']:.2f}** | {rate} "
                      f"| {r['peak_rss_mb']:.0f} |")  # fmt: skip
                sys.stdout.flush()
            if args.repeat > 1:
                for (asr, objects, overlap), got in ratios.items():
                    print(f"\n{duration / 60:.0f} min, ASR {asr}, objects {objects}, overlap {overlap}: indexing / "
                          f"ffmpeg median {statistics.median(got):.2f} of {[round(x, 2) for x in got]}")  # fmt: skip
    print(f"\nwall s excludes model loading (once per process: about {r['load_s']:.0f} s)")


if __name__ == "__main__":
    main()
