"""Typed errors of the event store. Each message names the value, the limit and the fix.

Catch :class:`CatalogError` to handle any library problem; the subclasses say which::

    try:
        index.add_video(video, events, vectors)
    except VideoExistsError:
        ...  # already indexed: skip it, or remove_video() first to re-index
    except CountMismatchError as err:
        print(err)  # "channel 'text': 12 vectors for 13 events of video abc123; ..."
"""

from __future__ import annotations

from longvid.ingest.errors import LongvidError


class CatalogError(LongvidError):
    """Base class of every error the index raises on purpose (catalog, vectors, retrieval)."""


class SchemaVersionError(CatalogError):
    """``catalog.sqlite`` was written by a newer longvid whose schema this version cannot read."""


class VideoExistsError(CatalogError):
    """``add_video`` was given a video that is already in the library."""


class UnknownVideoError(CatalogError):
    """A video id that is not in the library."""


class CountMismatchError(CatalogError, ValueError):
    """Two stages disagree on a count (events vs. vectors); the message gives both numbers."""


class DimensionMismatchError(CatalogError, ValueError):
    """A vector's dimension differs from its channel's; the message gives both numbers."""


class MemoryBudgetError(CatalogError):
    """Not even the most compact vector index fits the configured memory budget."""
