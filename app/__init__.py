"""longvid.app — composes the stages: the Library API, the indexing pipeline, profiles, CLI, diagnostics.

Layer 6, the top: may import every other longvid package; nothing imports it.

    >>> from longvid.app import Library
    >>> lib = Library("my-library", profile="embedded")     # doctest: +SKIP
"""

from .library import AddResult, Library, SearchHit

__all__ = ["AddResult", "Library", "SearchHit"]
