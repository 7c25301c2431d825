"""Shrink an already compressed block further: the video-level step after a budget is allocated.

HiCo blocks are cached at a rich level (e.g. 16 tokens per frame); a question's budget then gives each
retrieved moment its share, and :func:`shrink_block` merges the cached tokens down to it with the same
size-weighted ToMe matching, so no frame is encoded twice::

    >>> import torch
    >>> from longvid.compression import compress_video
    >>> (block,) = compress_video(torch.randn(4, 64, 8), torch.arange(4.0), tokens_per_frame=16)
    >>> small = shrink_block(block, 10)
    >>> len(small), int(small.sizes.sum()) == int(block.sizes.sum()), small.span == block.span
    (10, True, True)
"""

from __future__ import annotations

import torch

from .hico import TokenBlock, merge_tokens


def shrink_block(block: TokenBlock, target: int) -> TokenBlock:
    """``block`` merged down to ``target`` tokens (``1 <= target <= len(block)``); sizes add up, token
    times are size-weighted means, and each token keeps the provenance of its largest source."""
    n = len(block)
    if target == n:
        return block
    merged = merge_tokens(block.tokens, block.sizes, target)  # raises on a bad target, naming the numbers
    sizes = block.sizes.to(torch.int64).cpu()  # (n,)
    assign = merged.assign.cpu()  # (n,) merged token of each source token
    weight = sizes.to(torch.float64)
    times = torch.zeros(target, dtype=torch.float64).index_add_(0, assign, block.times_s.double() * weight)
    times /= merged.sizes.cpu().to(torch.float64)  # (target,)
    idx = torch.arange(n)
    key = sizes * (n + 1) + (n - idx)  # unique; the largest source wins, the earliest on ties
    best = torch.full((target,), -1, dtype=torch.int64).scatter_reduce(0, assign, key, "amax")
    winner = key == best[assign]
    rep = torch.zeros(target, dtype=torch.int64).scatter(0, assign[winner], idx[winner])  # (target,)
    return TokenBlock(
        tokens=merged.tokens,
        sizes=merged.sizes,
        frame_index=block.frame_index.cpu()[rep],
        patch_index=block.patch_index.cpu()[rep],
        span=block.span,
        times_s=times,
    )
