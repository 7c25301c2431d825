"""Which decoded frames to keep for a target frame rate, decided from their real timestamps.

Both decoding backends feed every frame's presentation time through the same :class:`FrameSelector`,
so for the same file they keep the same frames. The rule, safe for variable frame rates: lay a grid of
times ``k / fps`` and keep the first frame at or after each grid time, skipping grid times that passed
while no frame was shown.

Worked example, a 10 fps file sampled at 4 fps (grid 0, 0.25, 0.5, 0.75, ...)::

    >>> sel = FrameSelector(fps=4.0)
    >>> [round(t, 1) for t in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8) if sel.accept(t)]
    [0.0, 0.3, 0.5, 0.8]

A ``span`` keeps only the frames inside it, the same ones a whole decode keeps there (frames before it
still take their grid times, so a backend may seek to any frame before the span); the first frame at or
past its end exhausts the selector, so decoding stops there::

    >>> sel = FrameSelector(fps=4.0, span=TimeSpan(0.3, 0.7))
    >>> [round(t, 1) for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8) if sel.accept(t)], sel.exhausted
    ([0.3, 0.5], True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .types import TimeSpan

_EPS = 1e-6  # seconds; absorbs float error in timestamps like 0.9999999
_GRID_MARGIN = 1e-3  # grid intervals; how far inside one interval both frames must be for passes_over


class FrameSelector:
    """Online frame selection at ``fps`` frames per second, keeping at most ``max_frames``.

    ``fps=None`` keeps every frame (still at most ``max_frames``). When both are given with a
    ``duration_s``, the rate is lowered so ``max_frames`` spread over the whole video (or ``span``) rather
    than filling up in its first minutes. ``span`` limits the frames kept to ``[start_s, end_s)``.
    """

    def __init__(
        self,
        fps: float | None = 1.0,
        max_frames: int | None = None,
        duration_s: float | None = None,
        span: TimeSpan | None = None,
    ):
        if fps is not None and not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be a positive number of frames per second or None, got {fps!r}")
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be >= 1 or None, got {max_frames!r}")
        if span is not None:
            duration_s = span.duration_s
        if max_frames is not None and duration_s:
            spread = max_frames / duration_s
            fps = spread if fps is None else min(fps, spread)
        self.fps = fps
        self.max_frames = max_frames
        self.kept = 0
        self.start_s = span.start_s if span is not None else 0.0  # where a seeking backend may start
        self._end_s = span.end_s if span is not None else math.inf
        self._past_end = False
        self._next_s = -math.inf  # earliest time the next kept frame may have
        self._last_s = -math.inf

    @property
    def exhausted(self) -> bool:
        """True once ``max_frames`` frames were kept, or a frame past the span was seen: decoding can stop."""
        return self._past_end or (self.max_frames is not None and self.kept >= self.max_frames)

    def accept(self, t_s: float) -> bool:
        """Whether the frame shown at ``t_s`` is kept. Call in presentation order."""
        if t_s >= self._end_s - _EPS:
            self._past_end = True
        if self.exhausted or t_s <= self._last_s or t_s < self._next_s - _EPS:
            return False
        self._last_s = t_s
        if self.fps is not None:
            self._next_s = (math.floor(t_s * self.fps + _EPS) + 1) / self.fps
        if t_s < self.start_s - _EPS:
            return False  # before the span: it takes its grid time (as in a whole decode), but is not kept
        self.kept += 1
        return True

    def passes_over(self, t_s: float, earlier_s: float) -> bool:
        """Whether the frame shown at ``t_s`` is certainly not kept, once the frame shown at ``earlier_s`` (before
        it) went through :meth:`accept`: both lie inside one grid interval (clear of its ends by a margin
        beyond float error), so the interval already has its frame. A decoder may then skip ``t_s`` without
        changing what is kept::

            >>> sel = FrameSelector(fps=2.0)
            >>> sel.passes_over(0.4, 0.04), sel.passes_over(0.52, 0.48), FrameSelector(fps=None).passes_over(0.4, 0.0)
            (True, False, False)
        """
        if self.fps is None or not earlier_s < t_s:
            return False
        grid = math.floor(earlier_s * self.fps + _EPS)
        return earlier_s * self.fps >= grid + _GRID_MARGIN and t_s * self.fps < grid + 1 - _GRID_MARGIN

    def select(self, timestamps_s: Iterable[float]) -> list[int]:
        """Indices of the kept frames among ``timestamps_s`` (in presentation order)."""
        return [i for i, t in enumerate(timestamps_s) if self.accept(float(t))]
