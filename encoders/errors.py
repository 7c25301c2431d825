"""Errors raised when a model cannot be built or loaded."""

from __future__ import annotations

from longvid.ingest import LongvidError


class ModelUnavailableError(LongvidError):
    """A model's package or files are missing, or its spec is unknown; the message says how to fix it."""
