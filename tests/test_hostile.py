"""Hostile and broken inputs, generated here, through one batch job: every file is indexed or fails with
a typed error naming it and its problem, the job carries on, and failed files leave no trace."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from longvid.app import Library
from longvid.app.jobs import run_index_job
from longvid.ingest.ffmpeg_cli import run_ffmpeg

ODD_NAMES = ("my video $(touch pwned) ;&|.mp4", "видео 🎬 'quote\".mkv", "-rf.mp4")

# file -> None (indexed) or a phrase its failure reason must contain
EXPECTED = {
    "good.mp4": None,
    "notes.mp4": "not a media file FFmpeg can read",
    "random.mkv": "not a media file FFmpeg can read",
    "empty.webm": "file is empty (0 bytes)",
    "truncated.mp4": "not a media file FFmpeg can read",  # the index (moov) was at the end
    "truncated.mkv": "the file is truncated or corrupt",
    "truncated.webm": "the file is truncated or corrupt",
    "bitflip.mp4": None,  # damaged packets are skipped with a warning, as ffmpeg does
    "bitflip.mkv": None,
    "bitflip.webm": None,
    "huge.y4m": "9000x9000 = 81000000 pixels, over the limit",
    "absurd.y4m": "cannot open",  # 100000x100000: FFmpeg itself refuses
    "zero-fps.y4m": None,  # FFmpeg assumes 25 fps
    "negative-ts.ts": None,  # MPEG-TS keeps timestamps that start at -0.6 s
    "no-timestamps.mkv": None,  # Matroska with negative times disabled: frames come without any
    "unknown-codec.mkv": "uses an unknown codec (no decoder)",
    "unknown-audio-codec.mkv": None,  # the video is indexed without a transcript
    "audio-only.m4a": "has no video stream (audio only: aac)",
    "video-only.mp4": None,
    "subs-latin1.mp4": None,
    "subs-overlap.mp4": None,
    "subs-binary.mp4": "subs-binary.srt",
    **dict.fromkeys(ODD_NAMES),
}


def _clip(out: Path, source: str, seconds: float = 4, audio: bool = True, extra: str = "") -> None:
    tone = f"-f lavfi -t {seconds} -i sine=frequency=300:sample_rate=16000 -map 1:a -c:a aac" if audio else ""
    sep = ":" if "=" in source else "="
    run_ffmpeg(f"-f lavfi -t {seconds} -i {source}{sep}size=160x90:rate=10 {tone} -map 0:v -c:v libx264"
               f" -preset ultrafast -pix_fmt yuv420p -threads 1 {extra} {{out}}", out=out)  # fmt: skip


def _flip(source: Path, target: Path, flips: int = 60, seed: int = 1) -> None:
    data = bytearray(source.read_bytes())
    rng = np.random.default_rng(seed)
    for pos in rng.integers(len(data) // 4, len(data) * 3 // 4, flips):
        data[pos] ^= 1 << int(rng.integers(0, 8))
    target.write_bytes(bytes(data))


def _y4m(path: Path, width: int, height: int, rate: str = "25:1", frames: int = 0) -> None:
    frame = b"FRAME\n" + bytes(width * height * 3 // 2) if frames else b"FRAME\n" + bytes(1000)
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F{rate} Ip A1:1 C420jpeg\n".encode() + frame * max(frames, 1))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    src = tmp_path_factory.mktemp("sources")
    _clip(root / "good.mp4", "testsrc2")
    (root / "notes.mp4").write_text("this is not a video\n" * 50)
    (root / "random.mkv").write_bytes(np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    (root / "empty.webm").touch()
    _clip(src / "a.mp4", "mandelbrot", seconds=6)
    _clip(src / "b.mkv", "life=seed=1", seconds=6)  # seeded: the flips land on the same bytes each run
    run_ffmpeg("-f lavfi -t 6 -i cellauto=seed=1:size=160x90:rate=10 -c:v libvpx-vp9 -b:v 200k -deadline realtime"
               " -threads 1 {out}", out=src / "c.webm")  # fmt: skip
    for source, suffix in ((src / "a.mp4", ".mp4"), (src / "b.mkv", ".mkv"), (src / "c.webm", ".webm")):
        data = source.read_bytes()
        (root / f"truncated{suffix}").write_bytes(data[: len(data) * 6 // 10])
        _flip(source, root / f"bitflip{suffix}")
    mkv = (src / "b.mkv").read_bytes()
    assert b"V_MPEG4/ISO/AVC" in mkv
    (root / "unknown-codec.mkv").write_bytes(mkv.replace(b"V_MPEG4/ISO/AVC", b"V_MPEG4/ISO/XYZ"))  # same length
    assert mkv.count(b"A_AAC") == 1
    (root / "unknown-audio-codec.mkv").write_bytes(mkv.replace(b"A_AAC", b"A_XYZ"))
    _y4m(root / "huge.y4m", 9000, 9000)
    _y4m(root / "absurd.y4m", 100_000, 100_000)
    _y4m(root / "zero-fps.y4m", 160, 90, rate="0:1", frames=5)
    shift = "-output_ts_offset -2 -avoid_negative_ts disabled"
    _clip(root / "negative-ts.ts", "smptehdbars", extra=shift)
    _clip(root / "no-timestamps.mkv", "pal75bars", extra=shift)
    run_ffmpeg("-f lavfi -t 3 -i sine=frequency=500 -c:a aac {out}", out=root / "audio-only.m4a")
    _clip(root / "video-only.mp4", "rgbtestsrc", audio=False)
    _clip(root / "subs-latin1.mp4", "color=c=red", audio=False)
    cue = "1\n00:00:00,500 --> 00:00:03,000\nUn café crème à Zürich\n"
    (root / "subs-latin1.srt").write_bytes(cue.encode("latin-1"))
    _clip(root / "subs-overlap.mp4", "color=c=green", audio=False)
    (root / "subs-overlap.srt").write_text("1\n00:00:00,000 --> 00:00:03,000\nfirst overlapping cue\n\n"
                                           "2\n00:00:01,000 --> 00:00:02,000\nsecond inner cue\n")  # fmt: skip
    _clip(root / "subs-binary.mp4", "color=c=blue", audio=False)
    (root / "subs-binary.srt").write_bytes(bytes(range(256)) * 8)
    for name, source in zip(ODD_NAMES, ("yuvtestsrc", "gradients=seed=3", "testsrc"), strict=True):
        _clip(root / name, source)
    assert {p.name for p in root.iterdir() if p.suffix != ".srt"} == set(EXPECTED)
    return root


def _snapshot(library: Path) -> tuple:
    """Everything a failed file could have touched: catalog rows (besides the failure log) and files."""
    with sqlite3.connect(library / "catalog.sqlite") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables if t != "failures"}
    files = sorted(str(p.relative_to(library)) for p in library.rglob("*") if p.is_file() and "catalog" not in p.name)
    return counts, files


def test_hostile_corpus_through_a_batch_job(corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where `$(touch pwned)` would land if a name ever reached a shell
    paths = sorted(p for p in corpus.iterdir() if p.suffix != ".srt")
    with Library(tmp_path / "lib", profile="embedded") as lib:
        results = {r.path.name: r for r in run_index_job(lib, paths)}
        assert set(results) == set(EXPECTED)
        for name, phrase in EXPECTED.items():
            r = results[name]
            if phrase is None:
                assert r.status == "indexed" and r.events >= 1, (name, r.reason)
            else:
                assert r.status == "failed", name
                assert phrase in r.reason and name in r.reason.replace(".srt", Path(name).suffix), (name, r.reason)
                assert r.attempts == 1, name  # bad input is not retried
        indexed = {r.video_id for r in results.values() if r.status == "indexed"}
        assert {v.video_id for v in lib.videos()} == indexed
        assert {Path(f.path).name for f in lib.index.failures()} == {n for n, p in EXPECTED.items() if p}
        assert {p.name for p in (lib.root / "thumbs").iterdir()} == indexed
        assert lib.check() == []
        by_name = {Path(v.path).name: v for v in lib.videos()}
        assert set(ODD_NAMES) <= set(by_name)  # names kept exactly
        for name in ("negative-ts.ts", "no-timestamps.mkv"):
            assert all(e.span.start_s >= 0 for e in lib.index.events(by_name[name].video_id))
        assert lib.index.transcript(by_name["video-only.mp4"].video_id) == []
        assert not by_name["unknown-audio-codec.mkv"].has_audio
        assert "café crème à Zürich" in lib.index.events(by_name["subs-latin1.mp4"].video_id)[0].transcript
        overlap = " ".join(e.transcript for e in lib.index.events(by_name["subs-overlap.mp4"].video_id))
        assert "first overlapping cue" in overlap and "second inner cue" in overlap
        assert lib.search("café Zürich", k=1)[0].video_id == by_name["subs-latin1.mp4"].video_id
    assert not (tmp_path / "pwned").exists() and not (corpus / "pwned").exists()

    before = _snapshot(tmp_path / "lib")  # a second run: the failures fail again and change nothing
    with Library(tmp_path / "lib") as lib:
        again = run_index_job(lib, paths)
        assert lib.check() == []
    assert {r.path.name for r in again if r.status == "failed"} == {n for n, p in EXPECTED.items() if p}
    assert {r.status for r in again if r.path.name in results and EXPECTED[r.path.name] is None} == {"skipped"}
    assert _snapshot(tmp_path / "lib") == before
