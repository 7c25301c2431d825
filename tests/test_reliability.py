"""Crashes, concurrency and limits: kill -9 at random points then `longvid check` and resume; two
indexers on one library; the web app answering while a batch job writes; time and size limits."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longvid.app import Library
from longvid.app.cli import main
from longvid.app.profiles import load_profile
from longvid.app.web import WebApp
from longvid.index import EventIndex
from longvid.ingest import MediaLimits, TimeLimitError
from longvid.ingest.ffmpeg_cli import run_ffmpeg

from .conftest import DEMO
from .conftest import LAVFI_SOURCES as SOURCES

N = 16


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("clips")
    out = []
    for i in range(N):
        path = root / f"clip{i:02d}.mp4"
        source = f"{SOURCES[i % len(SOURCES)]}size={160 + 16 * i}x90:rate=5"  # every file different
        run_ffmpeg(f"-f lavfi -i {source} -t 3 -c:v libx264 -preset ultrafast -threads 1 {{out}}", out=path)
        out.append(path)
    return out


def _index_cmd(library: Path, paths) -> list[str]:
    return [sys.executable, "-m", "longvid.app.cli", "index", "--library", str(library), "--profile", "embedded",
            "--no-progress", *map(str, paths)]  # fmt: skip


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "longvid.app.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip


def _stored(library: Path) -> int:
    if not (library / "catalog.sqlite").exists():
        return 0
    with EventIndex(library) as index:
        return len(index.videos())


def test_kill_9_at_random_points_then_check_and_resume(clips, tmp_path):
    """Three SIGKILLs at random moments while videos are being built and stored; after each, the library
    check finds the catalog and vectors intact (a cut write may leave an orphan file, which repair
    removes); the last run completes the job with every video exactly once."""
    library = tmp_path / "lib"
    rng = random.Random(20261123)
    for kill in range(3):
        proc = subprocess.Popen(_index_cmd(library, clips), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            before = _stored(library)
            deadline = time.monotonic() + 120
            while _stored(library) <= before and time.monotonic() < deadline:  # models loaded, writing
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.4))  # somewhere in building, storing or saving FAISS files
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait()
        assert proc.returncode == -signal.SIGKILL, f"kill {kill}: the job ended before it was killed"
        with Library(library) as lib:
            problems = lib.check()
            assert all("not in the catalog" in p or "write cut short" in p for p in problems), problems
            assert all(p.endswith("(removed)") for p in lib.check(repair=True))
            assert lib.check() == []
    done = _stored(library)
    assert 3 <= done < N
    final = subprocess.run(_index_cmd(library, clips), capture_output=True, text=True, timeout=300, check=False)
    assert final.returncode == 0, final.stderr
    assert f"{N - done} indexed, {done} skipped, 0 failed" in final.stdout
    check = _cli("check", "--library", str(library))
    assert check.returncode == 0 and f"ok; {N} videos, 0 recorded failures" in check.stdout
    with EventIndex(library) as index:
        assert sorted(Path(v.path).name for v in index.videos()) == [c.name for c in clips]  # each once


def test_two_indexers_on_one_library(clips, tmp_path):
    """Two processes index overlapping sets at the same time: every video lands once, nothing fails."""
    library = tmp_path / "lib"
    first, second = clips[:8], clips[4:]
    procs = [subprocess.Popen(_index_cmd(library, part), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for part in (first, second)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    indexed = 0
    for out, _ in outs:
        summary = out.strip().splitlines()[-1]  # "N indexed, M skipped, 0 failed"
        indexed += int(summary.split()[0])
        assert summary.endswith("0 failed")
    assert indexed == N  # the 4 shared videos were indexed by exactly one of the two
    with Library(library) as lib:
        assert sorted(Path(v.path).name for v in lib.videos()) == [c.name for c in clips]
        assert lib.check() == []


def test_web_app_answers_while_a_batch_job_writes(clips, tmp_path):
    """Searches and answers from the web app's handlers never fail or stall while another process stores
    videos, and they see each new video without reopening the library."""
    library = tmp_path / "lib"
    subprocess.run(_index_cmd(library, clips[:1]), capture_output=True, check=True, timeout=300)
    # test patterns hold nothing a confidence floor accepts, and this test is about concurrency: floors off
    loose = load_profile("embedded", overrides={"search.text_floor": 0, "search.keyword_floor": 0})
    with Library(library, profile=loose) as lib:
        app = WebApp(lib, allowed_roots=[clips[0].parent])
        app.search("test pattern")  # loads the text model before timing
        job = subprocess.Popen(_index_cmd(library, clips[1:9]), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        latencies, seen = [], []
        try:
            while job.poll() is None:
                start = time.perf_counter()
                _, rows = app.search("test pattern")
                html = app.ask("what is shown?")[0]
                latencies.append(time.perf_counter() - start)
                assert rows and "lv-cite" in html
                seen.append(len(app.video_rows()))
                time.sleep(0.05)
        finally:
            job.wait(timeout=300)
        assert job.returncode == 0
        assert len(latencies) >= 5 and max(latencies) < 5.0, max(latencies)
        assert seen == sorted(seen) and seen[0] < 9  # grew while the job ran, never went back
        assert len(app.video_rows()) == 9
        assert lib.check() == []


def test_time_limits_stop_decoding_and_speech_recognition(tmp_path):
    with Library(tmp_path / "lib", profile="embedded", limits=MediaLimits(max_decode_s=0.0)) as lib:
        with pytest.raises(TimeLimitError, match=r"demo\.mp4: decoding stopped after .* over the limit of 0 s"):
            lib.add(DEMO)
        assert lib.videos() == [] and lib.check() == []
    with Library(tmp_path / "lib2", profile="embedded", limits=MediaLimits(max_asr_s=0.0)) as lib:
        with pytest.raises(TimeLimitError, match=r"demo\.mp4: speech recognition stopped after .* \(MediaLimits"):
            lib.add(DEMO)
        assert lib.videos() == []


def test_limits_from_the_command_line(clips, tmp_path, capsys):
    library = str(tmp_path / "lib")
    cases = {
        "--max-size=1K": "over the limit of 1024",
        "--max-pixels=100x50": "over the limit of 5000",
        "--max-duration=2s": "over the limit of 2 s",
        "--decode-timeout=0.000001s": "decoding stopped after",
    }
    for flag, message in cases.items():
        code = main(["index", "--library", library, "--profile", "embedded", "--no-progress", flag, str(clips[0])])
        err = capsys.readouterr().err
        assert code == 1 and message in err and clips[0].name in err, flag
    with pytest.raises(SystemExit):
        main(["index", "--max-duration=soon", str(clips[0])])
    assert "not a length" in capsys.readouterr().err
    assert _stored(tmp_path / "lib") == 0


def test_check_finds_and_repairs_orphan_files(clips, tmp_path, capsys):
    with Library(tmp_path / "lib", profile="embedded") as lib:
        lib.add(clips[0])
        (lib.root / "thumbs" / "0123456789abcdef").mkdir()
        (lib.root / "thumbs" / "0123456789abcdef" / "00000.jpg").write_bytes(b"jpeg")
        (lib.root / ".profile.json.abc123.tmp").write_bytes(b"{")
    library = str(tmp_path / "lib")
    assert main(["check", "--library", library]) == 1
    out = capsys.readouterr().out
    assert "thumbs/0123456789abcdef: thumbnails of a video not in the catalog" in out
    assert ".profile.json.abc123.tmp: temporary file of a write cut short" in out
    assert main(["check", "--library", library, "--repair"]) == 0 and "repaired" in capsys.readouterr().out
    assert not (tmp_path / "lib" / "thumbs" / "0123456789abcdef").exists()
    assert main(["check", "--library", library]) == 0 and "ok; 1 videos" in capsys.readouterr().out
    assert main(["check", "--library", str(tmp_path / "nowhere")]) == 1
