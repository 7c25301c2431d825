"""Data files that ship with longvid: model profiles (``profiles/*.toml``)."""
