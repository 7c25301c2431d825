"""Ingest benchmark: decode throughput against the ffmpeg CLI, and scene cuts against PySceneDetect.

Run ``python -m longvid.app.eval.benchmarks.ingest [--minutes 10] [--videos 8]`` (needs the ``bench`` extra for
PySceneDetect). It makes its own synthetic media in a temporary folder and prints two tables:

1. Decode: video seconds per wall second when sampling 1 frame per second from an H.264 file, for
   each longvid backend (native size and resized to 224 px), next to the ffmpeg command line doing the
   same job (``-vf fps=1`` to raw RGB) in the same run.
2. Scenes: precision / recall / F1 and wall time of ``detect_scenes`` and of PySceneDetect's
   ContentDetector and AdaptiveDetector (defaults) on videos with known hard cuts and gradual
   transitions.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from longvid.app.eval.synth import CutScore, SynthTruth, make_shot_video, random_shots, score_cuts
from longvid.ingest import detect_scenes, open_video, sample_frames
from longvid.ingest.backends import available_backends
from longvid.ingest.ffmpeg_cli import ffmpeg_binary, run_ffmpeg

TOLERANCE_S = 0.5


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def make_long_video(path: Path, minutes: float, size: tuple[int, int] = (1280, 720), fps: int = 25) -> Path:
    """``minutes`` of 720p25 H.264 (testsrc2, a keyframe every 10 s) to decode."""
    run_ffmpeg(
        f"-f lavfi -i testsrc2=size={size[0]}x{size[1]}:rate={fps} -t {minutes * 60} -c:v libx264 -preset ultrafast"
        f" -g {10 * fps} -pix_fmt yuv420p {{out}}",
        out=path,
    )
    return path


def ffmpeg_reference(path: Path, fps: float, size: tuple[int, int] | None) -> list[str]:
    """The ffmpeg command line that decodes ``path`` to raw RGB frames at ``fps`` into a pipe."""
    scale = f",scale={size[0]}:{size[1]}" if size else ""
    return [str(ffmpeg_binary()), "-hide_banner", "-loglevel", "error", "-i", str(path),
            "-vf", f"fps={fps}{scale}", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]  # fmt: skip


def bench_decode(path: Path) -> list[tuple[str, float, int]]:
    """(what, wall seconds, frames) for the ffmpeg CLI and each backend, at native size and 224 px."""
    asset = open_video(path)
    rows = []
    for size in (None, asset.fit(224)):
        label = "native" if size is None else f"{size[0]}x{size[1]}"
        cmd = ffmpeg_reference(path, 1.0, size)
        width, height = size or (asset.width, asset.height)
        frame_bytes = 3 * width * height
        wall, out = _timed(lambda cmd=cmd: subprocess.run(cmd, capture_output=True, check=True).stdout)
        shown = " ".join(cmd[4:]).replace(str(path), path.name)  # the arguments after -loglevel error
        rows.append((f"ffmpeg CLI ({label}): `ffmpeg {shown}`", wall, len(out) // frame_bytes))
        for backend in available_backends():
            wall, frames = _timed(
                lambda b=backend, s=size: sum(len(x) for x in sample_frames(asset, 1.0, size=s, backend=b))
            )
            rows.append((f"longvid {backend} ({label})", wall, frames))
    return rows


def _pyscenedetect_cuts(path: Path, detector_name: str) -> list[float]:
    from scenedetect import AdaptiveDetector, ContentDetector, detect

    detector = {"content": ContentDetector, "adaptive": AdaptiveDetector}[detector_name]()
    return [start.seconds for start, _ in detect(str(path), detector)[1:]]


def bench_scenes(truths: list[SynthTruth]) -> list[tuple[str, CutScore, float]]:
    methods: dict[str, Callable[[Path], list[float]]] = {
        "longvid detect_scenes (2 fps, colour histograms)": lambda p: [s.span.start_s for s in detect_scenes(p)[1:]],
    }
    try:
        import scenedetect  # noqa: F401

        methods["PySceneDetect ContentDetector (every frame)"] = lambda p: _pyscenedetect_cuts(p, "content")
        methods["PySceneDetect AdaptiveDetector (every frame)"] = lambda p: _pyscenedetect_cuts(p, "adaptive")
    except ImportError:
        print("PySceneDetect not installed (pip install -e '.[bench]'); comparing longvid alone")
    rows = []
    for name, method in methods.items():
        total, wall = CutScore(0, 0, 0), 0.0
        for truth in truths:
            seconds, found = _timed(lambda m=method, t=truth: m(t.path))
            wall += seconds
            total = total + score_cuts(found, truth.cuts, TOLERANCE_S)
        rows.append((name, total, wall))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the 720p decode test video")
    parser.add_argument("--videos", type=int, default=8, help="number of 12-shot videos for the scene test")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, "
          f"{len(os.sched_getaffinity(0))} cores")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        video = make_long_video(Path(tmp) / "long.mp4", args.minutes)
        duration = open_video(video).duration_s
        print(f"\n### Decode: {duration / 60:.0f} min of 1280x720 25 fps H.264, sampled at 1 fps")
        print("| decoder | wall s | frames | video s / wall s | vs ffmpeg CLI |\n|---|---|---|---|---|")
        reference = None
        for what, wall, frames in bench_decode(video):
            if what.startswith("ffmpeg"):
                reference = wall
            print(f"| {what} | {wall:.1f} | {frames} | {duration / wall:.0f}x | {reference / wall:.2f} |")

        rng = np.random.default_rng(12345)
        truths = [make_shot_video(Path(tmp) / f"shots{k}.mp4", random_shots(rng, 12), audio_hz=None)
                  for k in range(args.videos)]  # fmt: skip
        n_cuts = sum(len(t.cuts) for t in truths)
        n_gradual = sum(c.kind != "hard" for t in truths for c in t.cuts)
        total_s = sum(t.duration_s for t in truths)
        print(f"\n### Scenes: {args.videos} videos, {total_s:.0f} s, {n_cuts} cuts ({n_gradual} gradual), "
              f"320x180 25 fps; a cut counts when found within {TOLERANCE_S} s + half its transition")  # fmt: skip
        print("| method | precision | recall | F1 | wall s | video s / wall s |\n|---|---|---|---|---|---|")
        for name, score, wall in bench_scenes(truths):
            print(f"| {name} | {score.precision:.3f} | {score.recall:.3f} | {score.f1:.3f} | {wall:.1f} "
                  f"| {total_s / wall:.0f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
