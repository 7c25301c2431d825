"""One long video split across workers: throughput of a batch job with ``--workers N`` against one worker.

Run ``python -m longvid.app.eval.benchmarks.workers [--minutes 120] [--workers 2] [--footage camera|demo]``.
The video is camera footage with speech (:mod:`.footage`) or the demo looped; two batch jobs index it into
fresh libraries, each in its own process and each from a cold start (worker processes spawned and their
models loaded, as ``longvid index`` does):

* the reference: one worker on one core (torch, onnxruntime and CTranslate2 on one thread, and the process
  pinned to one core, so that its decoding thread cannot borrow the other);
* ``--workers N``: N single-threaded worker processes (the cores split between them), the video cut into
  N chunks (:func:`~longvid.app.pipeline.chunk_spans`) that the job joins.

It prints both wall times, the throughput ratio, the per-chunk overhead (model loading in a worker, and the
join in the job's process) and whether the two libraries hold the same events and transcript.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .footage import make_camera_video
from .indexing import make_long_video

_RUN = """
import json, os, resource, sys, time
from longvid.app import Library
from longvid.app.jobs import run_index_job
workers = int(sys.argv[3])
start = time.perf_counter()
with Library(sys.argv[2], profile="embedded") as lib:
    if workers == 1:  # one worker on one core, in this process: every thread it starts inherits the pinning
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        lib.indexer.cores = 1
    [result] = run_index_job(lib, [sys.argv[1]], workers=workers)
    wall = time.perf_counter() - start
    events = [[e.span.start_s, e.span.end_s, e.transcript, e.ocr_text] for e in lib.index.events(result.video_id)]
    transcript = [[s.span.start_s, s.span.end_s, s.text] for s in lib.index.transcript(result.video_id)]
own, children = (resource.getrusage(who).ru_maxrss / 1024 for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(json.dumps({"wall_s": wall, "status": result.status, "events": events, "transcript": transcript,
                  "job_rss_mb": own, "worker_rss_mb": children if workers > 1 else own}))
"""


def index_job(video: Path, workers: int) -> dict:
    """One cold batch job over ``video`` in a fresh library, in its own process."""
    with tempfile.TemporaryDirectory() as lib:
        out = subprocess.run([sys.executable, "-c", _RUN, str(video), lib, str(workers)],
                             capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=120.0, help="length of the test video")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the split run")
    parser.add_argument("--footage", choices=["demo", "camera"], default="camera")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs visible, {len(os.sched_getaffinity(0))} usable; embedded profile")
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "long.mp4"
        duration = (make_camera_video if args.footage == "camera" else make_long_video)(video, args.minutes)
        one = index_job(video, 1)
        many = index_job(video, args.workers)
    spans_differ = sum(a[:2] != b[:2] for a, b in zip(one["events"], many["events"], strict=False))
    overhead = (args.workers * many["wall_s"] - one["wall_s"]) / args.workers
    print(f"\n### {duration / 60:.0f} min of {args.footage} footage, cold batch jobs (model loading included)")
    print("| job | wall s | video s / wall s | throughput vs 1 worker | events | transcript segments "
          "| peak RSS per worker MB | job process MB |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in (("1 worker, 1 core", one), (f"{args.workers} workers, 1 core each, the video split", many)):
        rate, gain = duration / r["wall_s"], one["wall_s"] / r["wall_s"]
        print(f"| {name} | {r['wall_s']:.0f} | {rate:.1f}x | {gain:.2f}x | {len(r['events'])} "
              f"| {len(r['transcript'])} | {r['worker_rss_mb']:.0f} | {r['job_rss_mb']:.0f} |")  # fmt: skip
    print(f"\nper-chunk overhead: {overhead:.1f} core-seconds ((workers x split wall - 1-worker wall) / chunks)")
    print(
        f"same events: {one['events'] == many['events']} ({spans_differ} spans differ of {len(one['events'])});"
        f" same transcript: {one['transcript'] == many['transcript']}"
    )
    only_one = [s for s in one["transcript"] if s not in many["transcript"]]
    only_many = [s for s in many["transcript"] if s not in one["transcript"]]
    for name, rows in (("1 worker only", only_one), ("split only", only_many)):
        for start, end, text in rows[:10]:
            print(f"  {name}: {start:.2f}-{end:.2f} {text}")


if __name__ == "__main__":
    main()
