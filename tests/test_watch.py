"""A folder that indexes itself (``longvid watch``, ``serve --watch``), a changed file replacing its entry,
and a video whose source file is gone: still searchable, answers say so, clips refuse in one line."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from longvid.app import Library
from longvid.app.cli import main
from longvid.app.clips import ClipError
from longvid.app.jobs import index_file
from longvid.app.watch import FolderWatcher
from longvid.app.web import build_ui, launch
from longvid.ingest.ffmpeg_cli import run_ffmpeg

SAID = "1\n00:00:00,500 --> 00:00:03,500\nThe lighthouse keeper rang the bell at noon.\n"


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Two tiny videos with different content (4 s of test pattern, no audio)."""
    folder = tmp_path_factory.mktemp("clips")
    out = {}
    for name, source in (("bars", "testsrc2"), ("stripes", "smptebars")):
        out[name] = folder / f"{name}.mp4"
        run_ffmpeg(f"-f lavfi -i {source}=size=160x90:rate=5 -t 4 -c:v libx264 -preset ultrafast {{out}}",
                   out=out[name])  # fmt: skip
    return out


def test_a_file_is_handed_on_once_it_stops_growing(tmp_path, clips):
    handed: list[Path] = []
    watcher = FolderWatcher(tmp_path, handed.append, settle_s=5.0)
    video = tmp_path / "talk.mp4"
    data = clips["bars"].read_bytes()
    video.write_bytes(data[: len(data) // 2])  # a copy in progress
    (tmp_path / "notes.txt").write_text("not a video")
    (tmp_path / "empty.mp4").touch()
    assert watcher.step(now=0) == []
    assert watcher.step(now=3) == []  # unchanged for 3 s of the 5 it must stay so
    with video.open("ab") as f:
        f.write(data[len(data) // 2 :])
    assert watcher.step(now=7) == [] and watcher.step(now=11) == []  # changed at 7: settles at 12
    assert watcher.step(now=12) == [video.resolve()] and handed == [video.resolve()]
    assert watcher.step(now=30) == []  # handed on once
    os.utime(video, ns=(time.time_ns(), time.time_ns() + 10**9))  # rewritten: handed on again once settled
    assert watcher.step(now=31) == [] and watcher.step(now=36) == [video.resolve()]
    video.unlink()
    assert watcher.step(now=40) == [] and handed == [video.resolve()] * 2  # empty.mp4 is never handed on
    shutil.copy(clips["bars"], video)  # the same name again: a new file, handed on once settled
    assert watcher.step(now=41) == [] and watcher.step(now=46) == [video.resolve()]
    nested = tmp_path / "sub" / "deep.mp4"
    nested.parent.mkdir()
    shutil.copy(clips["bars"], nested)
    deep = FolderWatcher(tmp_path, handed.append, recursive=True, settle_s=0)
    deep.step(now=0)
    assert nested.resolve() in deep.step(now=1) and nested.resolve() not in watcher.step(now=60)
    with pytest.raises(NotADirectoryError, match="not a folder to watch"):
        FolderWatcher(tmp_path / "notes.txt", handed.append)


def test_watch_indexes_survives_a_restart_and_records_failures(tmp_path, clips):
    folder = tmp_path / "videos"
    folder.mkdir()
    with Library(tmp_path / "lib", profile="embedded") as lib:
        results = []

        def index(path: Path) -> None:
            results.append(index_file(lib, path, retries=0))

        stop = threading.Event()
        watcher = FolderWatcher(folder, index, settle_s=0.5, poll_s=0.2)
        thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
        thread.start()
        try:
            shutil.copy(clips["bars"], folder / "bars.mp4")
            (folder / "broken.mp4").write_text("nope")
            deadline = time.monotonic() + 60
            while len(results) < 2:
                assert time.monotonic() < deadline, results
                time.sleep(0.1)
        finally:
            stop.set()
            thread.join(10)
        assert not thread.is_alive()
        by_name = {r.path.name: r for r in results}
        assert by_name["bars.mp4"].status == "indexed" and by_name["broken.mp4"].status == "failed"
        assert [f.path for f in lib.index.failures()] == [str((folder / "broken.mp4").resolve())]
        again = FolderWatcher(folder, index, settle_s=0)  # a restart: everything is looked at again
        again.step(now=0)
        again.step(now=1)
        assert [r.status for r in results[2:] if r.path.name == "bars.mp4"] == ["skipped"]
        assert len(lib.videos()) == 1


def test_a_changed_file_replaces_its_entry(tmp_path, clips):
    video = tmp_path / "talk.mp4"
    shutil.copy(clips["bars"], video)
    with Library(tmp_path / "lib", profile="embedded") as lib:
        first = lib.add(video)
        thumbs = tmp_path / "lib" / "thumbs" / first.video_id
        assert thumbs.is_dir()
        shutil.copy(clips["stripes"], video)  # new content at the same path
        second = lib.add(video)
        assert second.status == "indexed" and second.video_id != first.video_id
        assert [v.video_id for v in lib.videos()] == [second.video_id] and not thumbs.exists()
        assert lib.check() == []


def test_a_missing_source_stays_searchable_and_says_so(tmp_path, clips, capsys):
    video = tmp_path / "harbour.mp4"
    shutil.copy(clips["bars"], video)
    video.with_suffix(".srt").write_text(SAID)
    root = tmp_path / "lib"
    with Library(root, profile="embedded") as lib:
        lib.add(video)
    video.unlink()
    with Library(root) as lib:
        hits = lib.search("lighthouse keeper bell")
        assert hits and "lighthouse keeper" in hits[0].snippet
        answer = lib.ask("When did the lighthouse keeper ring the bell?")
        assert "lighthouse keeper" in answer.text and answer.citations
        assert answer.text.endswith(f"(the source file is missing: {video}; answered from the index)")
        with pytest.raises(ClipError, match="source file is missing"):
            lib.export_clip("harbour.mp4", 0, 2, tmp_path / "out.mp4")
    assert main(["clip", "--library", str(root), "harbour.mp4", "0", "2", "-o", str(tmp_path / "out.mp4")]) == 1
    err = capsys.readouterr().err
    assert "source file is missing" in err and err.count("\n") == 1 and not (tmp_path / "out.mp4").exists()
    assert main(["remove", "--library", str(root), "harbour.mp4"]) == 0
    assert "removed harbour.mp4" in capsys.readouterr().out
    with Library(root) as lib:
        assert lib.videos() == []


def test_serve_watch_indexes_what_appears(tmp_path, clips):
    folder = tmp_path / "incoming"
    folder.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Library(tmp_path / "lib", profile="embedded") as lib:
        served = launch(build_ui(lib, [folder]), lib, [folder], port=port, block=False, watch=[folder])
        try:
            shutil.copy(clips["stripes"], folder / "stripes.mp4")
            deadline = time.monotonic() + 90
            while True:
                with urllib.request.urlopen(f"{served.url}/api/videos", timeout=30) as reply:
                    names = [v["name"] for v in json.loads(reply.read())["videos"]]
                if names:
                    break
                assert time.monotonic() < deadline, "the watched video was not indexed"
                time.sleep(0.5)
            assert names == ["stripes.mp4"]
        finally:
            served.close()


def test_longvid_watch_command_indexes_then_stops_on_ctrl_c(tmp_path, clips):
    import signal
    import subprocess
    import sys

    folder = tmp_path / "videos"
    folder.mkdir()
    watch = subprocess.Popen([sys.executable, "-m", "longvid.app.cli", "watch", str(folder), "--library",
                              str(tmp_path / "lib"), "--profile", "embedded", "--settle", "0.5"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    try:
        assert watch.stdout.readline().startswith(f"longvid: watching {folder.resolve()}")
        shutil.copy(clips["bars"], folder / "bars.mp4")
        line = watch.stdout.readline()
        assert line.split()[:3] == ["indexed", "1", "events"] and line.rstrip().endswith("bars.mp4"), line
        watch.send_signal(signal.SIGINT)
        _, err = watch.communicate(timeout=30)
    finally:
        watch.kill()
    assert watch.returncode == 130 and err.strip().endswith("longvid watch: interrupted"), err


def test_a_watch_thread_that_fails_says_so_in_the_log(tmp_path, caplog):
    from longvid.app.web import _watching

    class Broken:
        folder = tmp_path

        def run(self, stop):
            raise RuntimeError("the disk went away")

    _watching(Broken(), threading.Event())  # returns: the server goes on
    assert f"watching {tmp_path} stopped" in caplog.text and "the disk went away" in caplog.text
