"""The ``longvid`` command line: doctor, probe, scenes; exit codes and messages on bad input."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from longvid.app.cli import main

from .conftest import DEMO


def test_console_script_doctor_runs():
    beside = Path(sys.executable).parent / "longvid"  # the venv's bin/, active or not
    exe = str(beside) if beside.exists() else shutil.which("longvid")
    assert exe, "the longvid console script is not installed"
    out = subprocess.run([exe, "doctor"], capture_output=True, text=True, check=True, timeout=120).stdout
    for key in ("torch", "GPU", "attention", "faiss", "frame decoders", "ffmpeg binary", "profile auto", "-> embedded"):
        assert key in out
    assert "MISSING" not in out  # every embedded model resolves from an installed package
    assert "sdpa" in out or "flash_attention_2" in out


def test_doctor_json(capsys):
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "pyav" in report["decoders"]
    assert Path(report["models"]["text all-MiniLM-L6-v2"]).exists()
    assert Path(report["ffmpeg"]["binary"]).exists()


def test_probe_json(capsys):
    assert main(["probe", "--json", str(DEMO)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["video"][0]["codec"] == "h264" and info["audio"][0]["sample_rate"] == 16000


def test_scenes_on_demo_video(capsys):
    """The demo is five 12-second slides joined by hard cuts (assets/README.md)."""
    assert main(["scenes", "--json", "--no-progress", str(DEMO)]) == 0
    out = json.loads(capsys.readouterr().out)
    starts = [s["start_s"] for s in out["scenes"]]
    assert starts == pytest.approx([0.0, 12.0, 24.0, 36.0, 48.0], abs=0.15)
    assert out["scenes"][-1]["end_s"] == pytest.approx(60.0)
    assert out["config"]["fps"] == 2.0  # results echo the settings that produced them

    assert main(["scenes", str(DEMO)]) == 0
    text = capsys.readouterr().out
    assert "5 scenes" in text and "00:00:12.000" in text


def test_bad_input_exits_1_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "holiday.mp4"
    bad.write_text("not a video")
    assert main(["scenes", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: not a media file FFmpeg can read" in err and "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["scenes", "--fps", "-1", str(DEMO)])
    assert exc.value.code == 2
    assert "'-1' must be positive" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["scenes", "--min-scene", "50", "--max-scene", "10", str(DEMO)])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("flag", "message"),
    [("--max-size=4Q", "is not a size like 4G"), ("--max-pixels=4x5x6", "is not WIDTHxHEIGHT"),
     ("--max-duration=-2m", "must be positive"), ("--asr-timeout=soon", "is not a length")],
)  # fmt: skip
def test_limit_flags_are_parsed_or_refused(flag, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["index", flag, str(DEMO)])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_limit_flags_reach_the_library(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr("longvid.app.jobs.run_index_job", lambda lib, *a, **k: seen.update(limits=lib.limits) or [])
    main(["index", "--library", str(tmp_path / "lib"), "--max-size=1.5K", "--max-pixels=640x360",
              "--max-duration=1.5h", "--decode-timeout=90s", "--asr-timeout=2m", str(DEMO)])  # fmt: skip
    limits = seen["limits"]
    assert (limits.max_file_bytes, limits.max_pixels, limits.max_duration_s) == (1536, 230400, 5400.0)
    assert (limits.max_decode_s, limits.max_asr_s) == (90.0, 120.0)
