"""Batch indexing: folders, failures recorded with their reason, and a job killed mid-way that resumes
with every video indexed exactly once."""

import os
import signal
import subprocess
import sys
import time

import pytest

from longvid.app import Library
from longvid.app.jobs import discover, run_index_job, summary_table
from longvid.index import EventIndex
from longvid.ingest.ffmpeg_cli import run_ffmpeg

from .conftest import LAVFI_SOURCES as SOURCES

N_VIDEOS = 20  # the last one in a subfolder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    (root / "sub").mkdir()
    for i in range(N_VIDEOS):
        source = f"{SOURCES[i % len(SOURCES)]}size={160 + 16 * i}x90:rate=5"  # sizes differ: 20 distinct files
        target = root / ("sub" if i == N_VIDEOS - 1 else ".") / f"clip{i:02d}.mp4"
        run_ffmpeg(f"-f lavfi -i {source} -t 2 -c:v libx264 -preset ultrafast {{out}}", out=target)
    (root / "notes.txt").write_text("not a video, and not picked up: wrong suffix")
    return root


@pytest.fixture(scope="module")
def serial_results(folder, tmp_path_factory):
    with Library(tmp_path_factory.mktemp("serial"), profile="embedded") as lib:
        return run_index_job(lib, [folder], recursive=True)


def test_discover_finds_videos_by_suffix(folder):
    flat = discover([folder])
    assert [p.name for p in flat] == [f"clip{i:02d}.mp4" for i in range(N_VIDEOS - 1)]
    deep = discover([folder, folder / "clip00.mp4"], recursive=True)
    assert len(deep) == N_VIDEOS and deep[-1].parent.name == "sub"  # no duplicates, subfolder included
    assert discover([folder / "missing.mp4"]) == [folder / "missing.mp4"]  # kept, to fail clearly


def test_job_records_failures_and_clears_them_on_success(folder, tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    (videos / "a.mp4").write_bytes((folder / "clip00.mp4").read_bytes())
    (videos / "broken.mp4").write_text("this is not a video")
    with Library(tmp_path / "lib", profile="embedded") as lib:
        results = run_index_job(lib, [videos])
        assert [(r.path.name, r.status) for r in results] == [("a.mp4", "indexed"), ("broken.mp4", "failed")]
        (failure,) = lib.index.failures()
        assert failure.path.endswith("broken.mp4") and "not a media file" in failure.reason
        assert failure.attempts == 1  # bad input is not retried
        table = summary_table(results)
        assert "1 indexed, 0 skipped, 1 failed" in table and "broken.mp4" in table
        (videos / "broken.mp4").write_bytes((folder / "clip01.mp4").read_bytes())  # the file gets fixed
        again = run_index_job(lib, [videos])
        assert [r.status for r in again] == ["skipped", "indexed"]
        assert lib.index.failures() == []


def test_killed_job_resumes_and_indexes_each_video_once(folder, tmp_path):
    library = tmp_path / "lib"
    cmd = [sys.executable, "-m", "longvid.app.cli", "index", "--library", str(library), "--profile", "embedded",
           "--recursive", "--no-progress", str(folder)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (library / "catalog.sqlite").exists():
                with EventIndex(library) as index:
                    if len(index.videos()) >= 2:
                        break
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    with EventIndex(library) as index:
        done_before = len(index.videos())
        assert 2 <= done_before < N_VIDEOS, done_before  # killed mid-way
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{N_VIDEOS - done_before} indexed, {done_before} skipped, 0 failed" in rerun.stdout
    with EventIndex(library) as index:
        names = sorted(v.path.rsplit("/", 1)[-1] for v in index.videos())
        assert names == [f"clip{i:02d}.mp4" for i in range(N_VIDEOS)] and index.check() == []  # each once


def test_parallel_workers_build_the_same_library(folder, serial_results, tmp_path):
    serial = serial_results
    with Library(tmp_path / "parallel", profile="embedded") as lib:
        parallel = run_index_job(lib, [folder, tmp_path / "missing.mp4"], recursive=True, workers=2)
        assert lib.index.check() == []
        again = run_index_job(lib, [folder], recursive=True, workers=2)  # all skipped before any worker starts
    assert [(r.path, r.status, r.video_id, r.events) for r in parallel[:N_VIDEOS]] == [
        (r.path, r.status, r.video_id, r.events) for r in serial
    ]
    assert parallel[N_VIDEOS].status == "failed" and "file not found" in parallel[N_VIDEOS].reason
    assert {r.status for r in again} == {"skipped"}


def test_local_ray_job_builds_the_same_library(folder, serial_results, tmp_path):
    pytest.importorskip("ray")
    serial = serial_results
    with Library(tmp_path / "ray", profile="embedded") as lib:
        on_ray = run_index_job(lib, [folder], recursive=True, workers=1, ray="local")
        assert lib.index.check() == []
    assert [(r.status, r.video_id, r.events) for r in on_ray] == [(r.status, r.video_id, r.events) for r in serial]
