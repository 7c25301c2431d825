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
    share = [0.0] * len(frames)
    active = {i for i, w in enumerate(weight) if w > 0}
    left = budget - sum(floors)
    while active:  # water-filling: fix segments that hit their cap, re-split the rest
        total_w = sum(weight[i] for i in sorted(active))
        capped = {i for i in active if left * weight[i] / total_w >= room[i]}
        if not capped:
            for i in active:
                share[i] = left * weight[i] / total_w
            break
        for i in sorted(capped):
            share[i] = float(room[i])
            left -= room[i]
        active -= capped

    extra = [math.floor(x) for x in share]
    short = budget - sum(floors) - sum(extra)
    order = sorted(range(len(share)), key=lambda i: (-(share[i] - extra[i]), i))
    for i in order:
        if short <= 0:
            break
        if extra[i] < room[i]:
            extra[i] += 1
            short -= 1
    if short != 0:  # cannot happen while sum(caps) > budget; guard the invariant loudly
        raise RuntimeError(f"allocation is off by {short} tokens for budget {budget}")
    return [f + e for f, e in zip(floors, extra, strict=True)]
