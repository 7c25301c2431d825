"""longvid.llm — answer backends: the long-context VideoLLM (GPU), a local text LM, the extractive answerer.

Layer 4: may import the layers below it (ingest, encoders, compression); not ``index`` or ``app``.
Every backend takes a question and the retrieved :class:`Evidence` and returns an :class:`Answer`
whose citations point only into moments it was shown. All of them are built by name through one
registry, :func:`create_backend`, from one :class:`BackendOptions`; importing this package loads no
model library (torch and transformers come with the backend that needs them)::

    >>> backend_names()
    ['extractive', 'textllm', 'videollm']
    >>> backend = create_backend("extractive")
    >>> backend.answer("anything?", []).text
    'No moment in the library matches the question.'
    >>> options = BackendOptions(model="/models/tiny-lm", device="cpu")
    >>> create_backend("textllm", options)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from .answer import (
    BACKENDS,
    NO_MATCH,
    Answer,
    AnswerBackend,
    BackendOptions,
    Citation,
    Evidence,
    UnknownBackendError,
    backend_names,
    create_backend,
    parse_citations,
    register_backend,
)
from .extractive import ExtractiveBackend

_VIDEOLLM_NAMES = frozenset(
    {"PlaceholderMismatchError", "VideoLLM", "VideoLLMConfig", "VideoPrompt", "choose_attention", "load_blocks",
     "save_blocks"}
)  # fmt: skip


@register_backend("extractive")
def _extractive(options: BackendOptions) -> AnswerBackend:
    """Quotes the moments themselves; reads no option."""
    return ExtractiveBackend()


@register_backend("textllm")
def _textllm(options: BackendOptions) -> AnswerBackend:
    """A local causal LM from the folder ``options.model``."""
    from .textllm import TextLLMBackend

    return TextLLMBackend.from_pretrained(options.model, device=options.device, dtype=options.weights_dtype)


@register_backend("videollm")
def _videollm(options: BackendOptions) -> AnswerBackend:
    """Qwen2.5-VL ``options.model`` fed compressed visual tokens, cached under ``options.cache_dir``."""
    from .video_answer import VideoLLMBackend
    from .videollm import VideoLLM, VideoLLMConfig

    config = VideoLLMConfig(
        model=options.model,
        device=options.device,
        dtype=options.weights_dtype,
        token_budget=options.token_budget,
        tokens_per_frame=options.tokens_per_frame,
    )
    return VideoLLMBackend(VideoLLM.from_pretrained(options.model, config), options.cache_dir, fps=options.fps)


def __getattr__(name: str) -> Any:
    """The VideoLLM names (``longvid.llm.VideoLLM`` ...), imported on first use: they need torch."""
    if name in _VIDEOLLM_NAMES:
        from . import videollm

        return getattr(videollm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BACKENDS",
    "NO_MATCH",
    "Answer",
    "AnswerBackend",
    "BackendOptions",
    "Citation",
    "Evidence",
    "ExtractiveBackend",
    "PlaceholderMismatchError",
    "UnknownBackendError",
    "VideoLLM",
    "VideoLLMConfig",
    "VideoPrompt",
    "backend_names",
    "choose_attention",
    "create_backend",
    "load_blocks",
    "parse_citations",
    "register_backend",
    "save_blocks",
]
