"""Every subcommand, fed a bad profile, a missing library, a bad path or a bad flag value, exits non-zero
with one line on stderr naming the problem, and never a traceback.

Most cases run in-process through ``main`` (an uncaught exception fails the test outright); a few run the
installed console script, as a user would, and look for ``Traceback`` in what it printed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from longvid.app import Library
from longvid.app.cli import main


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    """An empty library, a text file posing as a video, a JSON file that is not JSON, paths that do not exist."""
    root = tmp_path_factory.mktemp("cli-errors")
    with Library(root / "lib", profile="embedded"):
        pass
    (root / "notes.mp4").write_text("not a video")
    (root / "broken.json").write_text("{not json")
    (root / "bad.toml").write_text("[frames]\nno_such_key = 1\n")
    return {"lib": str(root / "lib"), "text": str(root / "notes.mp4"), "json": str(root / "broken.json"),
            "toml": str(root / "bad.toml"), "missing": str(root / "missing.mp4"), "nolib": str(root / "nolib"),
            "root": str(root)}  # fmt: skip


# (argv with {placeholders}, exit status, words the one line must contain)
CASES = [
    # bad profile
    ("search --library {lib} --profile fast budget", 1, "unknown profile 'fast'"),
    ("ask --library {lib} --profile fast 'what?'", 1, "unknown profile 'fast'"),
    ("index --library {lib} --profile fast {text}", 1, "unknown profile 'fast'"),
    ("serve --library {lib} --profile fast", 1, "unknown profile 'fast'"),
    ("eval mc --library {lib} --profile fast {json}", 1, "broken.json"),
    ("index --library {lib} --profile {toml} {text}", 1, "no_such_key"),
    ("search --library {lib} --profile {missing} budget", 1, "missing.mp4"),
    # missing library
    ("search --library {nolib} budget", 1, "no library at"),
    ("ask --library {nolib} 'what?'", 1, "no library at"),
    ("check --library {nolib}", 1, "no library at"),
    ("remove --library {nolib} talk.mp4", 1, "no library at"),
    ("remove --library {lib} talk.mp4", 1, "no video 'talk.mp4'"),
    ("export --library {lib} talk.mp4 --transcript srt", 1, "no video 'talk.mp4'"),
    ("ask --server http://127.0.0.1:9 'what?'", 1, "cannot reach longvid serve at http://127.0.0.1:9"),
    ("watch --library {lib} {missing}", 1, "missing.mp4: not a folder to watch"),
    ("serve --library {lib} --watch {missing}", 2, "--watch"),
    # bad paths
    ("probe {missing}", 1, "file not found"),
    ("probe {text}", 1, "not a media file"),
    ("probe {root}", 1, "is a directory"),
    ("scenes {missing}", 1, "file not found"),
    ("index --library {lib} {missing}", 1, "file not found"),
    ("index --library {lib} {text}", 1, "not a media file"),
    ("eval mc --library {lib} {missing}", 1, "missing.mp4"),
    ("eval mc --library {lib} {json}", 1, "broken.json"),
    # bad flag values (usage errors: status 2)
    ("scenes --fps 0 {text}", 2, "--fps: '0' must be positive"),
    ("scenes --fps fast {text}", 2, "--fps: 'fast' is not a number"),
    ("scenes --min-scene 9 --max-scene 3 {text}", 2, "--min-scene (9.0) must be shorter"),
    ("scenes --backend vlc {text}", 2, "invalid choice: 'vlc'"),
    ("index --workers 0 {text}", 2, "--workers: '0' must be positive"),
    ("index --retries=-1 {text}", 2, "--retries: '-1' must be zero or more"),
    ("index --max-size lots {text}", 2, "--max-size: 'lots' is not a size"),
    ("index --max-pixels 1x2x3 {text}", 2, "--max-pixels: '1x2x3' is not WIDTHxHEIGHT"),
    ("index --max-duration=-3h {text}", 2, "--max-duration: '-3h' must be positive"),
    ("search --library {lib} -k 0 budget", 2, "-k: '0' must be positive"),
    ("serve --port 70000", 2, "--port: '70000' is not a port number"),
    ("serve --auth nopassword", 2, "--auth must be USER:PASSWORD"),
    ("eval niah --per-kind 0", 2, "--per-kind: '0' must be positive"),
    ("eval niah --lengths forever", 2, "--lengths: 'forever' is not a length"),
    ("eval niah --size 321x180", 2, "--size: '321x180' is not a frame size"),
    ("watch --settle 0 {root}", 2, "--settle: '0' must be positive"),
    ("search --server http://127.0.0.1:9 --image {text}", 2, "--server searches by words"),
    ("doctor --bogus", 2, "unrecognized arguments: --bogus"),
    ("frobnicate", 2, "invalid choice: 'frobnicate'"),
]


def _argv(template: str, places: dict[str, str]) -> list[str]:
    import shlex

    return [part.format(**places) for part in shlex.split(template)]


@pytest.mark.parametrize(("template", "status", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_a_status(template, status, words, places, capsys, monkeypatch):
    monkeypatch.chdir(places["root"])  # `serve` without --library must not touch the working tree's library
    try:
        code = main(_argv(template, places))
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == status, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("longvid") and "error" in last, err
    assert words in last, last
    if status == 1:  # a failure is exactly one line (usage errors print the usage first, as argparse does)
        assert len(err.strip().splitlines()) == 1, err


def test_ffmpeg_failure_is_one_line(capsys):
    """A multi-line error (ffmpeg's own output) is joined into one line."""
    from longvid.app.cli import _one_line
    from longvid.ingest.ffmpeg_cli import FfmpegError

    assert _one_line(FfmpegError("ffmpeg exited with 1: ffmpeg -i x\nx: No such file\n\n")) == (
        "ffmpeg exited with 1: ffmpeg -i x | x: No such file"
    )
    assert _one_line(FileNotFoundError(2, "No such file or directory", "notes.json")) == (
        "notes.json: No such file or directory"
    )


def _console_script() -> str:
    beside = Path(sys.executable).parent / "longvid"
    exe = str(beside) if beside.exists() else shutil.which("longvid")
    assert exe, "the longvid console script is not installed"
    return exe


@pytest.mark.parametrize(
    "template",
    [
        "search --library {lib} --profile fast budget",
        "probe {text}",
        "eval mc --library {lib} {json}",
        "index --library {lib} {missing}",
    ],
)
def test_console_script_prints_no_traceback(template, places):
    proc = subprocess.run([_console_script(), *_argv(template, places)], capture_output=True, text=True,
                          timeout=120, cwd=places["root"], check=False)  # fmt: skip
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_eval_niah_without_its_extra_says_which(monkeypatch, capsys, tmp_path):
    """`longvid eval niah` after a plain install: one line naming the extra, before any work."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "skimage" else real(name, *a))
    assert main(["eval", "niah", "--quick", "--work", str(tmp_path / "w")]) == 1
    assert capsys.readouterr().err.strip() == (
        'longvid eval: error: longvid eval niah needs scikit-image: pip install -e ".[eval]"'
    )
    assert not (tmp_path / "w").exists()
