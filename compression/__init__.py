"""longvid.compression — hierarchical visual-token compression (HiCo) and V2PE positions.

Layer 3: pure tensor code, no I/O and no model loading; imports only ``longvid.ingest`` (for ``TimeSpan``).

Public API:

* :func:`merge_tokens` ``(x (N, D), sizes (N,) | None, target) -> Merged`` — ToMe bipartite soft matching
  down to exactly ``target`` tokens, size-weighted.
* :func:`compress_clip` ``(frames_tokens (F, N, D), times_s (F,), tokens_per_frame=16) -> TokenBlock`` and
  :func:`compress_video` ``(patch_tokens (T, N, D), times_s (T,), clip_len=4, tokens_per_frame=16)
  -> list[TokenBlock]`` — HiCo clip-level compression with provenance (sizes, frame/patch, seconds).
* :func:`shrink_block` ``(block, target) -> TokenBlock`` — merge a cached block down to a budget share.
* :func:`allocate` ``(relevance, frames, budget, floor_per_frame=1, max_per_frame=64) -> list[int]`` —
  video-level token budget across segments.
* :func:`v2pe_positions`, :func:`choose_delta`, :func:`mrope_positions` — V2PE float positions (1-D and
  Qwen2.5-VL 3-row MRoPE), fed to the model's own rotary embedding.

Example::

    >>> import torch
    >>> from longvid.compression import allocate, choose_delta, compress_video
    >>> blocks = compress_video(torch.randn(8, 64, 32), torch.arange(8.0))   # 2 clips x 64 tokens
    >>> allocate([0.9, 0.1], [len(b) // 16 for b in blocks], budget=100, max_per_frame=16)
    [64, 36]
    >>> choose_delta(n_text=200, n_visual=sum(len(b) for b in blocks), window=300)
    0.5
"""

from .budget import allocate
from .hico import Merged, TokenBlock, compress_clip, compress_video, merge_tokens
from .shrink import shrink_block
from .v2pe import DELTAS, choose_delta, mrope_positions, v2pe_positions

__all__ = [
    "DELTAS",
    "Merged",
    "TokenBlock",
    "allocate",
    "choose_delta",
    "compress_clip",
    "compress_video",
    "merge_tokens",
    "mrope_positions",
    "shrink_block",
    "v2pe_positions",
]
