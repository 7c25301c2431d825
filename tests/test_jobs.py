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

SOURCES = ("testsrc2", "mandelbrot", "smptehdbars", "rgbtestsrc", "life", "cellauto")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    (root / "sub").mkdir()
    for i, source in enumerate(SOURCES):
        target = root / ("sub" if i == 5 else ".") / f"clip{i}.mp4"
        run_ffmpeg(f"-f lavfi -i {source}=size=160x90:rate=5 -t 3 -c:v libx264 -preset ultrafast {{out}}", out=target)
    (root / "notes.txt").write_text("not a video, and not picked up: wrong suffix")
    return root


def test_discover_finds_videos_by_suffix(folder):
    flat = discover([folder])
    assert [p.name for p in flat] == [f"clip{i}.mp4" for i in range(5)]
    deep = discover([folder, folder / "clip0.mp4"], recursive=True)
    assert len(deep) == 6 and deep[-1].parent.name == "sub"  # no duplicates, subfolder included
    assert discover([folder / "missing.mp4"]) == [folder / "missing.mp4"]  # kept, to fail clearly


def test_job_records_failures_and_clears_them_on_success(folder, tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    (videos / "a.mp4").write_bytes((folder / "clip0.mp4").read_bytes())
    (videos / "broken.mp4").write_text("this is not a video")
    with Library(tmp_path / "lib", profile="embedded") as lib:
        results = run_index_job(lib, [videos])
        assert [(r.path.name, r.status) for r in results] == [("a.mp4", "indexed"), ("broken.mp4", "failed")]
        (failure,) = lib.index.failures()
        assert failure.path.endswith("broken.mp4") and "not a media file" in failure.reason
        assert failure.attempts == 1  # bad input is not retried
        table = summary_table(results)
        assert "1 indexed, 0 skipped, 1 failed" in table and "broken.mp4" in table
        (videos / "broken.mp4").write_bytes((folder / "clip1.mp4").read_bytes())  # the file gets fixed
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
        assert 2 <= done_before < 6, done_before  # killed mid-way
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{6 - done_before} indexed, {done_before} skipped, 0 failed" in rerun.stdout
    with EventIndex(library) as index:
        assert len(index.videos()) == 6 and index.check() == []
        assert sorted(v.path.rsplit("/", 1)[-1] for v in index.videos()) == [f"clip{i}.mp4" for i in range(6)]


def test_parallel_workers_build_the_same_library(folder, tmp_path):
    with Library(tmp_path / "serial", profile="embedded") as lib:
        serial = run_index_job(lib, [folder], recursive=True)
    with Library(tmp_path / "parallel", profile="embedded") as lib:
        parallel = run_index_job(lib, [folder, tmp_path / "missing.mp4"], recursive=True, workers=2)
        assert lib.index.check() == []
        again = run_index_job(lib, [folder], recursive=True, workers=2)  # all skipped before any worker starts
    assert [(r.path, r.status, r.video_id, r.events) for r in parallel[:6]] == [
        (r.path, r.status, r.video_id, r.events) for r in serial
    ]
    assert parallel[6].status == "failed" and "file not found" in parallel[6].reason
    assert {r.status for r in again} == {"skipped"}


def test_local_ray_job_builds_the_same_library(folder, tmp_path):
    pytest.importorskip("ray")
    with Library(tmp_path / "serial", profile="embedded") as lib:
        serial = run_index_job(lib, [folder], recursive=True)
    with Library(tmp_path / "ray", profile="embedded") as lib:
        on_ray = run_index_job(lib, [folder], recursive=True, workers=1, ray="local")
        assert lib.index.check() == []
    assert [(r.status, r.video_id, r.events) for r in on_ray] == [(r.status, r.video_id, r.events) for r in serial]
