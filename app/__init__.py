"""longvid.app — composes the stages: the Library API, the indexing pipeline, profiles, CLI, diagnostics.

Layer 6, the top: may import every other longvid package; nothing imports it.

    >>> from longvid.app import Library
    >>> lib = Library("my-library", profile="embedded")     # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .library import AddResult, Library, SearchHit

__all__ = ["AddResult", "Library", "SearchHit"]


def __getattr__(name: str):
    """``Library`` and friends load the models' libraries (torch, ...) on first use, not on ``import longvid.app``:
    the command line starts in a fraction of a second when it only talks to a running server."""
    if name in __all__:
        from . import library

        return getattr(library, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
