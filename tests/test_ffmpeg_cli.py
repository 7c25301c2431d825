"""Choosing the ffmpeg binary by capability: version parsing on real version lines, and the choice between
fake binaries (tiny shell scripts that print a given ``ffmpeg version ...`` line and record their calls)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from longvid.ingest import ffmpeg_cli
from longvid.ingest.ffmpeg_cli import (
    ENV_OVERRIDE,
    MIN_VERSION,
    NEWEST_OPTIONS,
    FfmpegError,
    ffmpeg_binary,
    ffmpeg_choice,
    ffmpeg_version,
    parse_version,
    run_ffmpeg,
)

COPYRIGHT = "Copyright (c) 2000-2024 the FFmpeg developers"
BUNDLED_VERSION = "n9.0.2-17-g2a571b6068-20260930"
GIT_BUILD = "N-112345-gabcdef0123"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"ffmpeg version n7.1 {COPYRIGHT}", (7, 1, 0)),  # FFmpeg's own release tags
        (f"ffmpeg version 7.0.2-static https://johnvansickle.com/ffmpeg/  {COPYRIGHT}", (7, 0, 2)),
        (f"ffmpeg version 5.1.6-0+deb12u1 {COPYRIGHT}", (5, 1, 6)),  # Debian 12
        (f"ffmpeg version 4.4.2-0ubuntu0.22.04.1 {COPYRIGHT}", (4, 4, 2)),  # Ubuntu 22.04
        (f"ffmpeg version 6.1.1-full_build-www.gyan.dev {COPYRIGHT}", (6, 1, 1)),  # Windows builds
        (f"ffmpeg version {BUNDLED_VERSION} {COPYRIGHT}", (9, 0, 2)),  # imageio-ffmpeg's static build
        (f"ffmpeg version 12.0 {COPYRIGHT}", (12, 0, 0)),
        ("7.0.2-static", (7, 0, 2)),  # the version word alone, as FfmpegChoice.version holds it
        (f"ffmpeg version {GIT_BUILD} {COPYRIGHT}", None),  # git master: no release number
        (f"ffmpeg version 2024-05-13-git-37db0454e4-full_build-www.gyan.dev {COPYRIGHT}", None),
        (f"ffmpeg version git-2023-10-01-abcdef0 {COPYRIGHT}", None),
        ("", None),
    ],
)
def test_parse_version_on_real_version_lines(line, expected):
    assert parse_version(line) == expected


def _fake_ffmpeg(directory: Path, version_line: str, options: tuple[str, ...] = (), name: str = "ffmpeg") -> Path:
    """A shell script answering ``-version`` with ``version_line`` and ``-h full`` with ``options``; every
    call appends its arguments to ``<name>.calls`` next to it. An empty ``version_line``: it fails."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    calls = directory / f"{name}.calls"
    listing = "".join(f"{option} <value>  an option\\n" for option in options)
    answers = (
        f"  -version) printf '%s\\nbuilt with gcc 12\\n' '{version_line}' ;;\n"
        f"  '-hide_banner -h full') printf 'Advanced options:\\n-y  overwrite output files\\n{listing}' ;;\n"
        if version_line
        else "  *) echo 'cannot run' >&2; exit 1 ;;\n"
    )
    path.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\ncase "$*" in\n{answers}esac\nexit 0\n')
    path.chmod(0o755)
    return path


def _calls(binary: Path) -> list[str]:
    log = binary.with_name(f"{binary.name}.calls")
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch):
    """No override, and a choice made afresh in each test (and again after it, for the other tests)."""
    monkeypatch.delenv(ENV_OVERRIDE, raising=False)
    ffmpeg_choice.cache_clear()
    yield
    ffmpeg_choice.cache_clear()


@pytest.fixture
def bundled(tmp_path, monkeypatch) -> Path:
    """imageio-ffmpeg's binary replaced by a fake new one, so every choice below is between fakes."""
    fake = _fake_ffmpeg(tmp_path / "wheel", f"ffmpeg version {BUNDLED_VERSION} {COPYRIGHT}", NEWEST_OPTIONS,
                        name="ffmpeg-linux-x86_64-v9.0.2")  # fmt: skip
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: str(fake))
    return fake


def _first_on_path(monkeypatch, directory: Path) -> None:
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize(
    ("version", "chosen"),
    [
        ("n7.1", True),
        ("7.0.2-static", True),
        ("6.0", True),  # exactly MIN_VERSION
        ("5.1.6-0+deb12u1", False),
        ("4.4.2-0ubuntu0.22.04.1", False),
    ],
)
def test_path_ffmpeg_is_chosen_only_from_the_minimum_version(tmp_path, monkeypatch, bundled, version, chosen):
    on_path = _fake_ffmpeg(tmp_path / "bin", f"ffmpeg version {version} {COPYRIGHT}")
    _first_on_path(monkeypatch, on_path.parent)
    choice = ffmpeg_choice()
    assert choice.path == (on_path if chosen else bundled)
    assert choice.version == (version if chosen else BUNDLED_VERSION)
    assert version in choice.reason and ("older than 6.0" in choice.reason) is not chosen
    assert _calls(on_path) == ["-version"]  # a release number is enough: no option probe
    assert ffmpeg_binary() == choice.path


def test_old_path_ffmpeg_is_passed_over_for_the_bundled_one_and_run_ffmpeg_runs_that(
    tmp_path, monkeypatch, bundled, caplog
):
    old = _fake_ffmpeg(tmp_path / "bin", f"ffmpeg version 5.1.6-0+deb12u1 {COPYRIGHT}")
    _first_on_path(monkeypatch, old.parent)
    with caplog.at_level("INFO", logger=ffmpeg_cli.__name__):
        run_ffmpeg("-f lavfi -i testsrc2 {out}", out=tmp_path / "out.mp4")
    assert f"-hide_banner -nostdin -loglevel error -y -f lavfi -i testsrc2 {tmp_path / 'out.mp4'}" in _calls(bundled)
    assert _calls(old) == ["-version"]
    assert ffmpeg_choice().reason == (f"imageio-ffmpeg's bundled binary, since the ffmpeg on PATH ({old}) is version"
                                      " 5.1.6-0+deb12u1, older than 6.0 as -display_rotation needs")  # fmt: skip
    assert any(str(bundled) in r.getMessage() and "5.1.6" in r.getMessage() for r in caplog.records)
    assert ffmpeg_version().startswith(f"ffmpeg version {BUNDLED_VERSION}")


@pytest.mark.parametrize("has_options", [True, False])
def test_git_build_on_path_is_judged_by_its_options(tmp_path, monkeypatch, bundled, has_options):
    git = _fake_ffmpeg(tmp_path / "bin", f"ffmpeg version {GIT_BUILD} {COPYRIGHT}",
                       NEWEST_OPTIONS if has_options else ("-noautorotate",))  # fmt: skip
    _first_on_path(monkeypatch, git.parent)
    choice = ffmpeg_choice()
    assert choice.path == (git if has_options else bundled)
    assert _calls(git) == ["-version", "-hide_banner -h full"]
    assert ("lacks -display_rotation" in choice.reason) is not has_options


def test_override_wins_unchecked_even_when_old(tmp_path, monkeypatch, bundled):
    new = _fake_ffmpeg(tmp_path / "bin", f"ffmpeg version n7.1 {COPYRIGHT}")
    _first_on_path(monkeypatch, new.parent)
    mine = _fake_ffmpeg(tmp_path / "mine", f"ffmpeg version 4.4.2-0ubuntu0.22.04.1 {COPYRIGHT}", name="my-ffmpeg")
    monkeypatch.setenv(ENV_OVERRIDE, str(mine))
    choice = ffmpeg_choice()
    assert (choice.path, choice.version, choice.version_tuple) == (mine, "4.4.2-0ubuntu0.22.04.1", (4, 4, 2))
    assert ENV_OVERRIDE in choice.reason
    assert _calls(new) == [] and _calls(bundled) == []  # nothing else was even probed


def test_override_by_name_is_looked_up_on_path_and_a_missing_one_is_an_error(tmp_path, monkeypatch):
    mine = _fake_ffmpeg(tmp_path / "bin", f"ffmpeg version n7.1 {COPYRIGHT}", name="ffmpeg7")
    _first_on_path(monkeypatch, mine.parent)
    monkeypatch.setenv(ENV_OVERRIDE, "ffmpeg7")
    assert ffmpeg_choice().path == mine
    ffmpeg_choice.cache_clear()
    monkeypatch.setenv(ENV_OVERRIDE, str(tmp_path / "nowhere" / "ffmpeg"))
    with pytest.raises(FfmpegError, match=rf"{ENV_OVERRIDE}=.*nowhere/ffmpeg.* is not an executable ffmpeg"):
        ffmpeg_choice()


def test_the_candidates_are_probed_once_per_process(tmp_path, monkeypatch, bundled):
    old = _fake_ffmpeg(tmp_path / "bin", f"ffmpeg version 5.1.6-0+deb12u1 {COPYRIGHT}")
    _first_on_path(monkeypatch, old.parent)
    first = ffmpeg_choice()
    assert ffmpeg_choice() is first and ffmpeg_binary() == bundled
    run_ffmpeg(["-version"])
    assert _calls(old) == ["-version"]
    assert _calls(bundled) == ["-version", "-hide_banner -nostdin -loglevel error -y -version"]


def test_a_path_ffmpeg_that_fails_or_is_absent_gives_the_bundled_one(tmp_path, monkeypatch, bundled):
    broken = _fake_ffmpeg(tmp_path / "bin", "")
    _first_on_path(monkeypatch, broken.parent)
    choice = ffmpeg_choice()
    assert choice.path == bundled and f"the ffmpeg on PATH ({broken}) does not run" in choice.reason
    ffmpeg_choice.cache_clear()
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    choice = ffmpeg_choice()
    assert choice.path == bundled and choice.reason.endswith("there is no ffmpeg on PATH")


def test_without_a_bundled_binary_an_old_path_one_is_the_last_resort(tmp_path, monkeypatch, caplog):
    old = _fake_ffmpeg(tmp_path / "bin", f"ffmpeg version 5.1.6-0+deb12u1 {COPYRIGHT}")
    monkeypatch.setenv("PATH", str(old.parent))
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: "ffmpeg")  # what it returns without a wheel binary
    with caplog.at_level("WARNING", logger=ffmpeg_cli.__name__):
        choice = ffmpeg_choice()
    assert (choice.path, choice.version) == (old, "5.1.6-0+deb12u1")
    assert any("imageio-ffmpeg has no binary of its own" in r.getMessage() for r in caplog.records)


def test_the_real_bundled_binary_meets_the_minimum_and_lists_the_newest_options():
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    first = subprocess.run([exe, "-version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    assert parse_version(first) >= MIN_VERSION, first
    listing = subprocess.run([exe, "-hide_banner", "-h", "full"], capture_output=True, text=True, check=True).stdout
    assert all(option in listing for option in NEWEST_OPTIONS)


def test_an_installed_ffmpeg_older_than_the_minimum_really_lacks_the_newest_options():
    """Checks MIN_VERSION against a real old binary (Debian 12's 5.1 in CI's second media run)."""
    system = shutil.which("ffmpeg")
    if system is None:
        pytest.skip("no ffmpeg on PATH")
    first = subprocess.run([system, "-version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    version = parse_version(first)
    if version is None or version >= MIN_VERSION:
        pytest.skip(f"the ffmpeg on PATH is not older than the minimum: {first}")
    listing = subprocess.run([system, "-hide_banner", "-h", "full"], capture_output=True, text=True, check=True).stdout
    assert [o for o in NEWEST_OPTIONS if o in listing] == [], first
    assert ffmpeg_choice().path != Path(system)
