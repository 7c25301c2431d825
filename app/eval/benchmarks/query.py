"""Query benchmark: ``search`` and ``ask`` latency on a library holding 100 hours of video, cold and warm.

Run ``python -m longvid.app.eval.benchmarks.query [--hours 100] [--event-s 12] [--queries 200]``. It fills a
library (embedded profile) with ``--hours`` one-hour videos cut into events of about ``--event-s``
seconds; each event gets a synthetic transcript (words drawn from the MiniLM vocabulary with a Zipf
law, so BM25 sees a realistic spread of rare and common words) and a synthetic clustered 384-d text
vector (the distribution of ``longvid.app.eval.benchmarks.index``): the vectors are not the transcripts'
embeddings, which would take an hour of CPU to make and would not change the timing. Queries are real
questions embedded by the real model, built from words of random events.

* **cold**: a fresh process opens the library and answers one query: loading MiniLM, the FAISS files
  and SQLite included (``--cold-runs`` processes; their median and worst).
* **warm**: one process, after a first query, times every query: p50 / p99.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from longvid.index.records import Event, VideoRecord
from longvid.ingest.types import TimeSpan, TranscriptSegment

from .index import Distribution

_COLD = """
import json, sys, time
start = time.perf_counter()
from longvid.app import Library
imported = time.perf_counter()
with Library(sys.argv[1]) as lib:
    getattr(lib, sys.argv[2])(sys.argv[3], **({"k": 10} if sys.argv[2] == "search" else {}))
print(json.dumps({"import_s": imported - start, "query_s": time.perf_counter() - imported}))
"""


def vocabulary() -> list[str]:
    from longvid.encoders.text import embedded_text_model_dir

    words = (embedded_text_model_dir() / "vocab.txt").read_text().split()
    return [w for w in words if w.isalpha() and w.isascii() and len(w) >= 3]


def fill_library(root: Path, hours: int, event_s: float, seed: int = 0) -> tuple[int, list[str]]:
    """Store ``hours`` synthetic one-hour videos; returns the event count and some events' texts."""
    from longvid.app import Library

    rng = np.random.default_rng(seed)
    words = np.array(vocabulary())
    zipf = 1.0 / np.arange(1, len(words) + 1) ** 1.1
    order = rng.permutation(len(words))  # which words are common is random, not alphabetical
    zipf = zipf[np.argsort(order)] / zipf.sum()
    dist = Distribution.make(384, seed)
    per_video = int(3600 / event_s)
    samples: list[str] = []
    with Library(root, profile="embedded") as lib:
        lib.record_profile()
        for v in range(hours):
            video_id = f"synthetic{v:04d}"
            record = VideoRecord(video_id, f"/videos/{video_id}.mp4", 3600.0, 25.0, 1280, 720, True)
            events = []
            for i in range(per_video):
                text = " ".join(rng.choice(words, size=int(rng.integers(8, 30)), p=zipf))
                events.append(Event(video_id, i, TimeSpan(i * event_s, (i + 1) * event_s), transcript=text))
            if v % 10 == 0:
                samples += [events[int(i)].transcript for i in rng.integers(0, per_video, 20)]
            transcript = [TranscriptSegment(video_id, e.span, e.transcript, language="en") for e in events]
            lib.index.add_video(record, events, {"text": dist.sample(per_video, seed + v + 1)}, transcript)
            print(f"\r  stored {v + 1}/{hours} videos", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return hours * per_video, samples


def questions(samples: list[str], count: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        words = samples[i % len(samples)].split()
        picked = rng.choice(words, size=min(3, len(words)), replace=False)
        out.append(f"when do they talk about {' '.join(picked)}?")
    return out


def cold(root: Path, method: str, query: str, runs: int) -> list[dict[str, float]]:
    """Per fresh process: seconds to import longvid (torch included), then to open the library and answer."""
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _COLD, str(root), method, query], capture_output=True, text=True,
                             check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
        times.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return times


# Planned questions (answered from the memory, not by retrieval); {w} is a word of the library's talk.
PLANNED = {
    "ask: count, one video": ("How many times is {w} mentioned?", True),
    "ask: every time, one video": ("List every time they mention {w}.", True),
    "ask: at a time, one video": ("What is said at 34:30?", True),
    "ask: which videos (all 100 h)": ("Which videos mention {w}?", False),
}


def warm(root: Path, queries: list[str]) -> dict[str, np.ndarray]:
    from longvid.app import Library

    out: dict[str, list[float]] = {"search": [], "ask": [], "plan": [], **{k: [] for k in PLANNED}}
    with Library(root) as lib:
        lib.search(queries[0], k=10)  # the first query loads the model and the vectors
        lib.ask(queries[0])
        videos = [v.video_id for v in lib.videos()]
        for i, q in enumerate(queries):
            start = time.perf_counter()
            lib.search(q, k=10)
            out["search"].append(time.perf_counter() - start)
            start = time.perf_counter()
            lib.ask(q)
            out["ask"].append(time.perf_counter() - start)
            start = time.perf_counter()
            lib.planner.plan(q)  # a lookup: the grammar finds no cue, so the example classifier runs too
            out["plan"].append(time.perf_counter() - start)
            word = q.split()[-1].rstrip("?")
            for name, (template, one_video) in PLANNED.items():
                start = time.perf_counter()
                lib.ask(template.format(w=word), video=videos[i % len(videos)] if one_video else None)
                out[name].append(time.perf_counter() - start)
    return {k: np.array(v) * 1000 for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=100, help="hours of (synthetic) video in the library")
    parser.add_argument("--event-s", type=float, default=12.0, help="event length in seconds")
    parser.add_argument("--queries", type=int, default=200, help="warm queries")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes for the cold figures")
    parser.add_argument("--library", help="reuse or keep the library here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.library or tmp)
        start = time.perf_counter()
        events, samples = fill_library(root, args.hours, args.event_s)
        fill_s = time.perf_counter() - start
        qs = questions(samples, args.queries)
        size_mb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20
        print(f"machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} usable CPUs")
        print(f"library: {args.hours} h, {events} events, {size_mb:.0f} MiB on disk, filled in {fill_s:.0f} s\n")
        print("| query | cold: import s | cold: open + first query s (median, worst) | warm p50 ms | warm p99 ms |"
              "\n|---|---|---|---|---|")  # fmt: skip
        timings = warm(root, qs)
        for method in ("search", "ask"):
            runs = cold(root, method, qs[0], args.cold_runs)
            imports, first = [r["import_s"] for r in runs], [r["query_s"] for r in runs]
            w = timings[method]
            print(f"| {method} | {np.median(imports):.1f} | {np.median(first):.2f}, {max(first):.2f} "
                  f"| {np.percentile(w, 50):.1f} | {np.percentile(w, 99):.1f} |")  # fmt: skip
        for name in ("plan", *PLANNED):
            w = timings[name]
            label = "planner decision (a lookup question)" if name == "plan" else name
            print(f"| {label} | | | {np.percentile(w, 50):.1f} | {np.percentile(w, 99):.1f} |")


if __name__ == "__main__":
    main()
