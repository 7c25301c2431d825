"""Indexing benchmark: video seconds indexed per wall second, by stage, and peak memory.

Run ``python -m longvid.app.benchmarks.indexing [--minutes 60] [--asr on|off|both]``. The test video is
``assets/demo.mp4`` (slides, photos, narration, silence) looped to the requested length with
``ffmpeg -stream_loop`` (no re-encoding), then indexed with the embedded profile into a fresh library,
once with speech recognition and once without. Each run is a separate process, so its peak RSS (VmHWM)
covers models, decoding and indexing of that run alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from longvid.ingest.ffmpeg_cli import run_ffmpeg

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo.mp4"

_RUN = """
import json, re, sys, time
from pathlib import Path
from longvid.app import Library
from longvid.app.profiles import load_profile
profile = load_profile("embedded", overrides={"transcribe": sys.argv[3] == "on"})
start = time.perf_counter()
with Library(sys.argv[2], profile=profile) as lib:
    load = time.perf_counter()
    lib.indexer.frame_encoder, lib.indexer.text_embedder.dim, lib.indexer.ocr  # load models up front
    if profile.transcribe:
        lib.indexer.speech.load()
    loaded = time.perf_counter()
    result = lib.add(sys.argv[1])
    done = time.perf_counter()
hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
built = result.built
print(json.dumps({"wall_s": done - loaded, "load_s": loaded - start, "events": result.events,
                  "keyframes": built.keyframes, "analysed": built.analysed, "stages": built.seconds,
                  "peak_rss_mb": hwm / 1024}))
"""


def make_long_video(path: Path, minutes: float) -> float:
    loops = max(1, round(minutes))  # the demo is one minute long
    run_ffmpeg(f"-stream_loop {loops - 1} -i {{src}} -c copy {{out}}", src=DEMO, out=path)
    return loops * 60.0


def index_once(video: Path, asr: str) -> dict:
    with tempfile.TemporaryDirectory() as lib:
        out = subprocess.run([sys.executable, "-c", _RUN, str(video), lib, asr], capture_output=True, text=True,
                             check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the test video")
    parser.add_argument("--asr", choices=["on", "off", "both"], default="both")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs visible, {len(os.sched_getaffinity(0))} usable; embedded profile")
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "long.mp4"
        duration = make_long_video(video, args.minutes)
        print(f"\n### Indexing {duration / 60:.0f} min of assets/demo.mp4 looped (480x270, 10 fps, narrated)")
        print("| ASR | wall s | video s / wall s | events | keyframes (analysed) | decode+cuts s | encoder s | OCR s "
              "| speech s | text embed s | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|")  # fmt: skip
        for asr in ["on", "off"] if args.asr == "both" else [args.asr]:
            r = index_once(video, asr)
            s = r["stages"]
            stages = " | ".join(f"{s[k]:.0f}" for k in ("decode", "encode", "ocr", "speech"))
            frames = f"{r['keyframes']} ({r['analysed']})"
            print(f"| {asr} | {r['wall_s']:.0f} | {duration / r['wall_s']:.1f}x | {r['events']} | {frames} "
                  f"| {stages} | {s['text_embed']:.1f} | {r['peak_rss_mb']:.0f} |")  # fmt: skip
            sys.stdout.flush()
        print(
            "\nwall s excludes model loading (done once per process: about "
            f"{r['load_s']:.0f} s); video s / wall s = real-time factor"
        )


if __name__ == "__main__":
    main()
