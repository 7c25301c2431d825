"""longvid.llm — answer backends: the long-context VideoLLM (GPU) and the extractive answerer (CPU).

Layer 4: may import the layers below it (ingest, encoders, compression); not ``index`` or ``app``.
Every backend takes a question and the retrieved :class:`Evidence` and returns an :class:`Answer`
whose citations point only into moments it was shown::

    >>> backend = create_backend("extractive")
    >>> backend.answer("anything?", []).text
    'No moment in the library matches the question.'
"""

from .answer import Answer, AnswerBackend, Citation, Evidence, parse_citations, timecode
from .extractive import ExtractiveBackend
from .videollm import (
    PlaceholderMismatchError,
    VideoLLM,
    VideoLLMConfig,
    VideoPrompt,
    choose_attention,
    load_blocks,
    save_blocks,
)

BACKENDS = {"extractive": ExtractiveBackend}


def create_backend(name: str) -> AnswerBackend:
    """The answer backend called ``name``."""
    if name not in BACKENDS:
        raise ValueError(f"unknown answer backend {name!r}; choose one of {sorted(BACKENDS)}")
    return BACKENDS[name]()


__all__ = [
    "BACKENDS",
    "Answer",
    "AnswerBackend",
    "Citation",
    "Evidence",
    "ExtractiveBackend",
    "PlaceholderMismatchError",
    "VideoLLM",
    "VideoLLMConfig",
    "VideoPrompt",
    "choose_attention",
    "create_backend",
    "load_blocks",
    "parse_citations",
    "save_blocks",
    "timecode",
]
