"""Shared fixtures: synthetic media made with ffmpeg / PyAV, with known ground truth.

Tests never touch the network: HF_HUB_OFFLINE is set before any test module imports a model library.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from longvid.app.eval.synth import Shot, SynthTruth, make_shot_video, write_numbered_frames
from longvid.ingest.ffmpeg_cli import run_ffmpeg

os.environ["HF_HUB_OFFLINE"] = "1"

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo.mp4"
# lavfi sources with their option separator, for many distinct test files; the random ones seeded
LAVFI_SOURCES = ("testsrc2=", "mandelbrot=", "smptehdbars=", "rgbtestsrc=", "life=seed=1:", "cellauto=seed=1:")
CFR_FPS = 25
CFR_FRAMES = 100


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def shots_video(media_dir) -> SynthTruth:
    """33 s, 320x180, 25 fps H.264 + 440 Hz AAC; cuts: 3 hard, 4 gradual."""
    shots = [
        Shot("testsrc2", 5.0),
        Shot("mandelbrot", 4.0, "fade", 1.0),
        Shot("life=seed=1", 6.0),
        Shot("smptehdbars", 5.0, "fadeblack", 1.0),
        Shot("cellauto=seed=1", 4.0, "dissolve", 1.0),
        Shot("gradients", 5.0),
        Shot("rgbtestsrc", 4.0, "wipeleft", 1.0),
        Shot("testsrc2", 4.0),
    ]
    return make_shot_video(media_dir / "shots.mp4", shots)


@pytest.fixture(scope="session")
def cfr_video(media_dir) -> Path:
    """100 numbered frames at exactly 25 fps (frame i shows the number i at i/25 s)."""
    path = media_dir / "cfr.mp4"
    write_numbered_frames(path, [i / CFR_FPS for i in range(CFR_FRAMES)])
    return path


@pytest.fixture(scope="session")
def vfr_timestamps() -> list[float]:
    """Irregular frame times on a millisecond grid: gaps from 10 ms to 400 ms."""
    rng = np.random.default_rng(7)
    gaps = rng.choice([10, 33, 40, 41, 100, 250, 400], size=120)
    return (np.concatenate([[0], np.cumsum(gaps[:-1])]) / 1000.0).tolist()


@pytest.fixture(scope="session")
def vfr_video(media_dir, vfr_timestamps) -> Path:
    path = media_dir / "vfr.mkv"
    write_numbered_frames(path, vfr_timestamps)
    return path


@pytest.fixture(scope="session")
def silent_video(media_dir) -> Path:
    """Video only, no audio stream."""
    path = media_dir / "silent.mp4"
    run_ffmpeg("-f lavfi -i testsrc2=size=160x90:rate=10 -t 4 -c:v libx264 -preset ultrafast {out}", out=path)
    return path


@pytest.fixture(scope="session")
def audio_only(media_dir) -> Path:
    path = media_dir / "tone.m4a"
    run_ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=44100 -t 3 -c:a aac {out}", out=path)
    return path


@pytest.fixture
def decoded_frames(monkeypatch) -> list[int]:
    """The pts of every frame PyAV decodes during the test: the decoder's own work, not only what is kept."""
    from longvid.ingest.backends import pyav_backend

    decoded: list[int] = []
    real = pyav_backend.decode_stream

    def counting(*args, **kwargs):
        for frame in real(*args, **kwargs):
            decoded.append(frame.pts)
            yield frame

    monkeypatch.setattr(pyav_backend, "decode_stream", counting)
    return decoded


@pytest.fixture(scope="session")
def demo_library(tmp_path_factory):
    """assets/demo.mp4 indexed with the embedded profile (real models), shared by the tests that search it."""
    from longvid.app import Library

    with Library(tmp_path_factory.mktemp("library"), profile="embedded") as lib:
        assert lib.add(DEMO).status == "indexed"
        yield lib
