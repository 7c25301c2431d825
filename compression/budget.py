"""Video-level token budget: split a prompt's visual tokens across segments by query relevance.

Every segment first gets a thin uniform share (``floor_per_frame`` tokens per frame, so questions about
"what happens overall" still see the whole video); the rest of the budget goes to segments in proportion
to ``max(relevance, 0) + eps``, never above ``max_per_frame`` tokens per frame, rounded to integers by the
largest-remainder method so the total is exactly the budget whenever the caps allow it.

Example: three 30-frame segments, 300 tokens, the second one relevant::

    >>> allocate([0.0, 1.0, 0.0], [30, 30, 30], budget=300, floor_per_frame=1, max_per_frame=64)
    [30, 240, 30]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

log = logging.getLogger(__name__)

EPS = 1e-6  # added to every clipped relevance, so irrelevant segments share leftovers evenly


def allocate(
    relevance: Sequence[float],
    frames: Sequence[int],
    budget: int,
    floor_per_frame: int = 1,
    max_per_frame: int = 64,
) -> list[int]:
    """Tokens per segment: a floor of ``floor_per_frame * frames[i]``, the rest by relevance, capped.

    Args:
        relevance: one score per segment (any real; negatives count as 0).
        frames: frames per segment (>= 0).
        budget: total visual tokens for the prompt.
        floor_per_frame: tokens every frame gets regardless of relevance.
        max_per_frame: most tokens a frame may get.

    Returns:
        ``list[int]`` with ``floor_per_frame * frames[i] <= out[i] <= max_per_frame * frames[i]`` and
        ``sum(out) == budget``; when the budget exceeds every cap together, every segment gets its cap
        (a budget is an upper bound) and the shortfall is logged.

    Raises:
        ValueError: mismatched lengths, negative frames, non-finite relevance, ``max_per_frame <
            floor_per_frame``, or floors that alone exceed the budget (the message gives both numbers).

    The proportional part is water-filled: segments whose share would pass their cap are fixed at the cap
    and the remainder is re-split among the others. Ties in rounding go to the lower index.

        >>> allocate([5.0, 1.0], [2, 2], budget=200, floor_per_frame=1, max_per_frame=64)
        [128, 72]
    """
    if len(relevance) != len(frames):
        raise ValueError(f"relevance has {len(relevance)} entries but frames has {len(frames)}; need one per segment")
    if floor_per_frame < 0 or max_per_frame < floor_per_frame:
        raise ValueError(
            f"need 0 <= floor_per_frame <= max_per_frame, got floor_per_frame={floor_per_frame}, "
            f"max_per_frame={max_per_frame}"
        )
    if any(f < 0 for f in frames):
        raise ValueError(f"frames must be >= 0, got {list(frames)}")
    if not all(math.isfinite(r) for r in relevance):
        raise ValueError(f"relevance must be finite, got {list(relevance)}")
    floors = [floor_per_frame * f for f in frames]
    caps = [max_per_frame * f for f in frames]
    if sum(floors) > budget:
        raise ValueError(
            f"the floor alone needs {sum(floors)} tokens ({floor_per_frame}/frame x {sum(frames)} frames) but the "
            f"budget is {budget}; raise the budget or lower floor_per_frame"
        )
    if sum(caps) <= budget:
        if sum(caps) < budget:
            log.info("budget %d exceeds every cap together (%d); giving every segment its cap", budget, sum(caps))
        return caps

    room = [c - f for c, f in zip(caps, floors, strict=True)]
    weight = [max(float(r), 0.0) + EPS if rm > 0 else 0.0 for r, rm in zip(relevance, room, strict=True)]
    extra = apportion(budget - sum(floors), weight, [0] * len(frames), room)
    return [f + e for f, e in zip(floors, extra, strict=True)]


def apportion(total: int, weights: Sequence[float], lower: Sequence[int], upper: Sequence[int]) -> list[int]:
    """Split ``total`` into integers ``lower[i] <= out[i] <= upper[i]`` in proportion to ``weights``.

    The exact shares are ``clamp(level * weights[i], lower[i], upper[i])`` at the one ``level`` where
    they sum to ``total`` (water-filling: an item that reaches a bound stays there and the others share
    what is left in proportion). They are rounded down and the missing units go to the largest
    remainders, ties to the lower index (the largest-remainder method), so ``sum(out) == total``.
    Every integer split in longvid goes through here: :func:`allocate` (tokens across segments) and
    the videollm backend (a segment's tokens across its cached blocks).

        >>> apportion(10, [64, 64, 32], lower=[1, 1, 1], upper=[64, 64, 32])
        [4, 4, 2]
        >>> apportion(12, [1.0, 1.0, 1.0], lower=[0, 0, 0], upper=[2, 10, 10])  # the first is capped
        [2, 5, 5]
        >>> apportion(4, [0.0, 5.0, 1.0], lower=[1, 1, 1], upper=[9, 9, 9])  # a zero weight keeps its floor
        [1, 2, 1]

    Raises:
        ValueError: mismatched lengths, a negative or non-finite weight, a lower bound above its upper
            one, or a ``total`` the bounds cannot reach (the message gives the numbers).
    """
    n = len(weights)
    if not len(lower) == len(upper) == n:
        raise ValueError(f"need one weight, lower and upper bound per item, got {n}, {len(lower)} and {len(upper)}")
    if not all(math.isfinite(w) and w >= 0 for w in weights):
        raise ValueError(f"weights must be finite and >= 0, got {list(weights)}")
    if any(lo > hi for lo, hi in zip(lower, upper, strict=True)):
        raise ValueError(f"every lower bound must be <= its upper bound, got {list(lower)} and {list(upper)}")
    reachable = sum(lower) + sum(hi - lo for w, lo, hi in zip(weights, lower, upper, strict=True) if w > 0)
    if not sum(lower) <= total <= reachable:
        raise ValueError(
            f"cannot apportion {total} over {n} items: their bounds (and weights) allow {sum(lower)} to {reachable}"
        )
    level = _level(total, weights, lower, upper)
    shares = [min(max(level * w, float(lo)), float(hi)) for w, lo, hi in zip(weights, lower, upper, strict=True)]
    out = [math.floor(s) for s in shares]
    short = total - sum(out)
    # remainders rounded to 1e-9 so that equal shares computed along different float paths tie exactly
    for i in sorted(range(n), key=lambda i: (-round(shares[i] - out[i], 9), i)):
        if short <= 0:
            break
        if out[i] < upper[i]:
            out[i] += 1
            short -= 1
    if short != 0:  # cannot happen once the total is reachable; guard the invariant loudly
        raise RuntimeError(f"apportionment of {total} is off by {short}")
    return out


def _level(total: int, weights: Sequence[float], lower: Sequence[int], upper: Sequence[int]) -> float:
    """The ``level`` at which ``sum(clamp(level * w, lo, hi)) == total`` (a reachable ``total``).

    The sum is piecewise linear and non-decreasing in ``level``, with knots where an item meets a bound;
    find the two knots around ``total`` and solve the linear piece between them.
    """
    items = [(w, lo, hi) for w, lo, hi in zip(weights, lower, upper, strict=True) if w > 0]

    def filled(level: float) -> float:
        return sum(lower) + sum(min(max(level * w, lo), hi) - lo for w, lo, hi in items)

    below = 0.0
    for knot in sorted({bound / w for w, lo, hi in items for bound in (lo, hi)}):
        if filled(knot) >= total:
            break
        below = knot
    base = filled(below)
    if base >= total:
        return below
    slope = sum(w for w, lo, hi in items if lo / w <= below and hi / w >= knot)
    return below + (total - base) / slope
