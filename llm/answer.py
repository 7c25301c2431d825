"""Answers with citations, the evidence they may cite, and the interface every answer backend implements.

A backend sees a question and the :class:`Evidence` retrieval chose (moments with what was said, written
and shown there) and returns an :class:`Answer` whose :class:`Citation` s point into those moments.
Citations in generated text are parsed and *validated*: a citation survives only if it lands inside a
moment the backend was actually shown, so a model cannot cite what it never saw::

    >>> from longvid.ingest import TimeSpan
    >>> shown = [Evidence("v1", "talk.mp4", TimeSpan(30.0, 42.0), transcript="the budget was approved")]
    >>> [c.span for c in parse_citations("Approved at [00:35]; see also [01:10:00].", shown)]
    [TimeSpan(start_s=30.0, end_s=42.0)]

A backend implements :meth:`AnswerBackend.generate` only; :meth:`AnswerBackend.answer` around it says so
when there is no evidence, and when the generated text cites none of the moments shown it cites the
best-scored one (and logs that it did)::

    >>> class Echo(AnswerBackend):
    ...     name = "echo"
    ...     def generate(self, question, evidence, context=""):
    ...         text = f"You asked {question!r}."
    ...         return Answer(text, tuple(parse_citations(text, evidence)), self.name, tuple(evidence))
    >>> Echo().answer("when?", []).text
    'No moment in the library matches the question.'
    >>> [c.span for c in Echo().answer("when?", shown).citations]
    [TimeSpan(start_s=30.0, end_s=42.0)]

Backends are built by name through one registry, so their heavy imports wait until one is asked for::

    >>> try:
    ...     create_backend("echo")
    ... except UnknownBackendError as err:
    ...     print(err)
    unknown answer backend 'echo'; choose one of ['extractive', 'textllm', 'videollm'] (answer.backend in the profile)
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from longvid.ingest import LongvidError, TimeSpan, timecode

from .planner import Plan

log = logging.getLogger(__name__)

NO_MATCH = "No moment in the library matches the question."  # the answer when retrieval found nothing


@dataclass(frozen=True)
class Evidence:
    """One moment shown to an answer backend."""

    video_id: str
    path: str  # the video file, for readable answers
    span: TimeSpan
    transcript: str = ""  # what was said
    ocr_text: str = ""  # what was written on screen
    tags: tuple[str, ...] = ()  # what was shown (visual labels)
    score: float = 0.0  # retrieval score (higher is better)


@dataclass(frozen=True)
class Citation:
    """A moment an answer rests on."""

    video_id: str
    start_s: float
    end_s: float
    path: str = ""
    quote: str = ""  # the words of the evidence that support the answer, when known

    @property
    def span(self) -> TimeSpan:
        return TimeSpan(self.start_s, self.end_s)


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...] = ()
    backend: str = ""  # which backend produced it
    evidence: tuple[Evidence, ...] = field(default=(), repr=False)  # what the backend was shown
    plan: Plan | None = None  # the operation the question became (longvid.llm.planner)


class AnswerBackend(ABC):
    """Turns a question and retrieved evidence into a cited answer.

    Subclasses implement :meth:`generate`; :meth:`answer` handles what every backend shares.
    """

    name: str
    reads_context: bool = False  # whether generate() uses ``context`` (callers skip building it otherwise)

    def answer(self, question: str, evidence: Sequence[Evidence], context: str = "") -> Answer:
        """An answer citing only moments in ``evidence``; ``context`` is coarse text about the videos (their
        overviews and chapters) that a generative backend may read before the moments.

        No evidence: :data:`NO_MATCH`, citing nothing. Otherwise :meth:`generate`'s answer; when it cites
        no moment, the best-scored moment it was shown is cited instead (logged), so that every answer
        points at the moment it most likely rests on.
        """
        if not evidence:
            return Answer(NO_MATCH, (), self.name, ())
        draft = self.generate(question, evidence, context)
        if draft.citations:
            return draft
        top = max(draft.evidence or evidence, key=lambda e: e.score)
        log.info(
            "%s: the generated text cites no moment it was shown; citing the best retrieved moment, %s %s-%s",
            self.name, top.video_id, timecode(top.span.start_s), timecode(top.span.end_s),
        )  # fmt: skip
        return replace(draft, citations=(Citation(top.video_id, top.span.start_s, top.span.end_s, top.path),))

    @abstractmethod
    def generate(self, question: str, evidence: Sequence[Evidence], context: str = "") -> Answer:
        """The backend's own answer from non-empty ``evidence``: its text, the valid citations in it (maybe
        none: :meth:`answer` then falls back) and, as ``Answer.evidence``, the moments it was shown."""


class UnknownBackendError(LongvidError, ValueError):
    """An answer backend name that is not registered; the message lists the registered ones."""


@dataclass(frozen=True)
class BackendOptions:
    """What :func:`create_backend` builds a backend with; each backend reads the fields it needs."""

    model: str = "Qwen/Qwen2.5-VL-7B-Instruct"  # videollm: hub name or checkpoint path; textllm: a local LM folder
    device: str = "cpu"  # torch device the model runs on ("cpu", "cuda", "cuda:1")
    dtype: str | None = None  # weights dtype ("float32", "bfloat16", "float16"); None = bfloat16 on CUDA, else float32
    token_budget: int = 16384  # videollm: most visual tokens in one prompt
    tokens_per_frame: int = 16  # videollm: HiCo tokens per frame in the token cache
    fps: float = 1.0  # videollm: frames per second sampled inside a moment
    cache_dir: Path | None = None  # videollm: where compressed visual tokens are cached; None = no cache

    def __post_init__(self) -> None:
        if self.dtype not in (None, "float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be float32, bfloat16, float16 or None (by device), got {self.dtype!r}")
        for name in ("token_budget", "tokens_per_frame"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.fps > 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")

    @property
    def weights_dtype(self) -> str:
        """``dtype``, or when unset the device's default: ``bfloat16`` on CUDA, ``float32`` elsewhere.

        >>> BackendOptions(device="cuda:1").weights_dtype, BackendOptions().weights_dtype
        ('bfloat16', 'float32')
        """
        if self.dtype is not None:
            return self.dtype
        return "bfloat16" if self.device.startswith("cuda") else "float32"


BackendFactory = Callable[[BackendOptions], AnswerBackend]
BACKENDS: dict[str, BackendFactory] = {}  # name -> factory, by register_backend; longvid.llm adds the built-ins


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Decorator registering ``factory(options) -> AnswerBackend`` under ``name``.

    A factory imports its backend's module when called, so registering costs no import.
    """

    def register(factory: BackendFactory) -> BackendFactory:
        if name in BACKENDS:
            raise ValueError(f"answer backend {name!r} is already registered")
        BACKENDS[name] = factory
        return factory

    return register


def backend_names() -> list[str]:
    """The registered answer backends, sorted."""
    return sorted(BACKENDS)


def create_backend(name: str, options: BackendOptions | None = None) -> AnswerBackend:
    """The answer backend registered as ``name``, built with ``options`` (defaults when None).

    Raises :class:`UnknownBackendError` naming the registered backends when ``name`` is not one of them.
    """
    if name not in BACKENDS:
        raise UnknownBackendError(
            f"unknown answer backend {name!r}; choose one of {backend_names()} (answer.backend in the profile)"
        )
    return BACKENDS[name](options or BackendOptions())


_TIME = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:\.\d+)?"
_CITE = re.compile(rf"(?:<t=|\[)\s*({_TIME})(?:\s*[-–]\s*({_TIME}))?\s*(?:>|\])")


def _seconds(text: str) -> float:
    value = 0.0
    for part in text.split(":"):
        value = value * 60 + float(part)
    return value


def parse_citations(text: str, shown: Sequence[Evidence]) -> list[Citation]:
    """Citations written as ``[MM:SS]``, ``[HH:MM:SS-HH:MM:SS]`` or ``<t=HH:MM:SS>`` in ``text``, each
    resolved to the shown moment that contains it (a range: the one it overlaps most). Times that fall
    in no shown moment are dropped and logged; each moment is cited once, in order of mention."""
    out: dict[tuple[str, float], Citation] = {}
    for match in _CITE.finditer(text):
        start = _seconds(match.group(1))
        end = _seconds(match.group(2)) if match.group(2) else start
        if end < start:
            start, end = end, start
        cited = TimeSpan(start, max(end, start + 1e-6))
        candidates = [e for e in shown if e.span.overlap_s(cited) > 0 or e.span.contains(start)]
        if not candidates:
            log.info("dropping citation %s: no shown moment covers it", match.group(0))
            continue
        best = max(candidates, key=lambda e: (e.span.overlap_s(cited), -abs(e.span.mid_s - start)))
        key = (best.video_id, best.span.start_s)
        out.setdefault(key, Citation(best.video_id, best.span.start_s, best.span.end_s, best.path))
    return list(out.values())
