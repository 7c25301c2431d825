"""Which decoded frames to keep for a target frame rate, decided from their real timestamps.

Both decoding backends feed every frame's presentation time through the same :class:`FrameSelector`,
so for the same file they keep the same frames. The rule, safe for variable frame rates: lay a grid of
times ``k / fps`` and keep the first frame at or after each grid time, skipping grid times that passed
while no frame was shown.

Worked example, a 10 fps file sampled at 4 fps (grid 0, 0.25, 0.5, 0.75, ...)::

    >>> sel = FrameSelector(fps=4.0)
    >>> [round(t, 1) for t in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8) if sel.accept(t)]
    [0.0, 0.3, 0.5, 0.8]
"""

from __future__ import annotations

import math
from collections.abc import Iterable

_EPS = 1e-6  # seconds; absorbs float error in timestamps like 0.9999999


class FrameSelector:
    """Online frame selection at ``fps`` frames per second, keeping at most ``max_frames``.

    ``fps=None`` keeps every frame (still at most ``max_frames``). When both are given with a
    ``duration_s``, the rate is lowered so ``max_frames`` spread over the whole video rather than
    filling up in its first minutes.
    """

    def __init__(self, fps: float | None = 1.0, max_frames: int | None = None, duration_s: float | None = None):
        if fps is not None and not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be a positive number of frames per second or None, got {fps!r}")
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be >= 1 or None, got {max_frames!r}")
        if max_frames is not None and duration_s:
            spread = max_frames / duration_s
            fps = spread if fps is None else min(fps, spread)
        self.fps = fps
        self.max_frames = max_frames
        self.kept = 0
        self._next_s = -math.inf  # earliest time the next kept frame may have
        self._last_s = -math.inf

    @property
    def exhausted(self) -> bool:
        """True once ``max_frames`` frames were kept: decoding can stop."""
        return self.max_frames is not None and self.kept >= self.max_frames

    def accept(self, t_s: float) -> bool:
        """Whether the frame shown at ``t_s`` is kept. Call in presentation order."""
        if self.exhausted or t_s <= self._last_s or t_s < self._next_s - _EPS:
            return False
        self.kept += 1
        self._last_s = t_s
        if self.fps is not None:
            self._next_s = (math.floor(t_s * self.fps + _EPS) + 1) / self.fps
        return True

    def select(self, timestamps_s: Iterable[float]) -> list[int]:
        """Indices of the kept frames among ``timestamps_s`` (in presentation order)."""
        return [i for i, t in enumerate(timestamps_s) if self.accept(float(t))]
