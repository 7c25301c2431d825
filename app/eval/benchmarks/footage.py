"""Camera footage for the indexing benchmark: real videos that are not slides, with speech part of the time.

``make_camera_video(path, minutes)`` joins the sample videos of Debian's ``opencv-doc`` package (people
walking in a street, a film scene, a tree in the wind: 2 minutes in all), scaled and padded to 640x360 at
25 fps, every other pass mirrored so that no stretch repeats exactly, and mixes the NIAH sentences into
the soundtrack at random times, one sentence every ~15 s (about 20% of the time speech). H.264 + AAC.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from longvid.app.eval.haystack import clip_seconds, load_needles, write_soundtrack
from longvid.ingest.ffmpeg_cli import run_ffmpeg

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
SOURCES = ("vtest.avi", "Megamind.avi", "tree.avi")  # 79.5 s, 11.3 s and 29.6 s
SIZE, FPS = (640, 360), 25
SPEECH_SHARE = 0.2


def make_camera_video(path: Path, minutes: float, seed: int = 0) -> float:
    """Write ``minutes`` of camera footage with speech to ``path``; its duration in seconds."""
    missing = [name for name in SOURCES if not (OPENCV_DATA / name).is_file()]
    if missing:
        raise SystemExit(f"camera footage needs Debian's opencv-doc ({OPENCV_DATA}): apt-get install opencv-doc")
    width, height = SIZE
    fit = (f"scale={width}:{height}:force_original_aspect_ratio=decrease,pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,"
           f"fps={FPS},setsar=1")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        parts = []
        for mirrored in (False, True):  # one pass as shot, one mirrored: 4 minutes before any repeat
            for name in SOURCES:
                out = work / f"{'m-' if mirrored else ''}{name}.mp4"
                flip = ",hflip" if mirrored else ""
                run_ffmpeg(f"-i {{src}} -vf {fit}{flip} -an -c:v libx264 -preset veryfast -crf 23 -g 250 "
                           "-pix_fmt yuv420p {out}", src=OPENCV_DATA / name, out=out)  # fmt: skip
                parts.append(out)
        listing = work / "parts.txt"
        listing.write_text("".join(f"file '{p}'\n" for p in parts))
        base = work / "base.mp4"
        run_ffmpeg("-f concat -safe 0 -i {listing} -c copy {out}", listing=listing, out=base)
        duration = minutes * 60.0
        video = work / "video.mp4"
        run_ffmpeg(f"-stream_loop -1 -i {{src}} -t {duration:.3f} -c copy {{out}}", src=base, out=video)
        audio = work / "speech.wav"
        write_soundtrack(audio, duration, _sentences(duration, seed), np.random.default_rng(seed))
        run_ffmpeg("-i {video} -i {audio} -map 0:v -map 1:a -c:v copy -c:a aac -b:a 64k -shortest {out}",
                   video=video, audio=audio, out=path)  # fmt: skip
    return duration


def _sentences(duration_s: float, seed: int) -> list:
    """(sentence, start) pairs, one about every ``mean / SPEECH_SHARE`` seconds, never overlapping."""
    needles = load_needles()
    pool = [*needles.of_kind("spoken"), *needles.distractor_speech]
    rng = np.random.default_rng(seed)
    mean = float(np.mean([clip_seconds(n) for n in pool]))
    placed, t = [], float(rng.uniform(0, 5))
    while t < duration_s - 10:
        sentence = pool[int(rng.integers(len(pool)))]
        placed.append((sentence, round(t, 2)))
        t += clip_seconds(sentence) + rng.uniform(0.5, 1.5) * mean * (1 / SPEECH_SHARE - 1)
    return placed
