"""Atomic writes: readers see the old file or the new one; modes are the usual ones, not mkstemp's 0600."""

import stat

import pytest

from longvid.ingest.atomic import atomic_path, atomic_write_bytes


def test_new_files_get_0644_and_existing_files_keep_their_mode(tmp_path):
    fresh = tmp_path / "a" / "new.json"
    atomic_write_bytes(fresh, b"{}")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644 and fresh.read_bytes() == b"{}"
    private = tmp_path / "private.json"
    private.write_bytes(b"old")
    private.chmod(0o600)
    atomic_write_bytes(private, b"new")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and private.read_bytes() == b"new"


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
