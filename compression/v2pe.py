"""Variable Visual Position Encoding (V2PE): float position ids for long multimodal prompts.

V2PE (Ge et al., 2024) lets a long multimodal prompt fit a model's trained position window: a text token
advances the position by 1, a visual token by a fraction ``delta`` (1/2 … 1/256). Positions become floats,
fed straight into the model's own RoPE (transformers' Qwen2.5-VL rotary embedding computes
``position_ids.float() * inv_freq`` in fp32, so fractional positions reach it unrounded).
:func:`mrope_positions` is the 3-row (temporal, height, width) variant for Qwen2.5-VL-style MRoPE, with
temporal positions tied to seconds, as Qwen2.5-VL ties them.

Example::

    >>> from longvid.compression.v2pe import choose_delta, v2pe_positions
    >>> choose_delta(n_text=1000, n_visual=57_600, window=32_768)
    0.5
    >>> v2pe_positions([False, False, True, True, True, True, False], delta=0.25).tolist()
    [0.0, 1.0, 2.0, 2.25, 2.5, 2.75, 3.0]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

log = logging.getLogger(__name__)

DELTAS = tuple(2.0**-k for k in range(9))  # 1, 1/2, ..., 1/256: the V2PE increments, largest first


def _as_visual_mask(kinds: Sequence[bool] | torch.Tensor) -> torch.Tensor:
    mask = torch.as_tensor(kinds, dtype=torch.bool).cpu() if not isinstance(kinds, torch.Tensor) else kinds
    if mask.dtype != torch.bool or mask.ndim != 1:
        raise ValueError(
            f"is_visual must be a 1-D bool sequence/tensor, got dtype {mask.dtype}, shape {tuple(mask.shape)}"
        )
    return mask


def _check_delta(delta: float) -> None:
    if not 0 < delta <= 1:
        raise ValueError(f"delta must be in (0, 1], got {delta}")


def v2pe_positions(is_visual: Sequence[bool] | torch.Tensor, delta: float) -> torch.Tensor:
    """``(L,)`` float32 V2PE positions: ``p[0] = 0`` and ``p[i] = p[i-1] + step[i-1]``.

    ``step[j]`` is 1 when token ``j`` is text and ``delta`` when it is visual, so a token's position is
    the sum of the steps of all tokens before it. Accumulated in float64, returned as float32.

    Worked example, ``[t, t, v, v, v, v, t]`` with ``delta = 1/4``: steps ``[1, 1, .25, .25, .25, .25, 1]``,
    positions ``[0, 1, 2, 2.25, 2.5, 2.75, 3.0]`` — the text after four visual tokens sits one position
    past the first of them, where it would sit after a single text token.
    """
    _check_delta(delta)
    mask = _as_visual_mask(is_visual)  # (L,)
    steps = torch.where(mask, torch.tensor(float(delta), dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    pos = torch.zeros(mask.shape[0], dtype=torch.float64, device=mask.device)  # (L,)
    pos[1:] = torch.cumsum(steps[:-1].to(pos.device), dim=0)
    return pos.to(torch.float32)


def choose_delta(n_text: int, n_visual: int, window: int) -> float:
    """Largest ``delta`` in ``{1, 1/2, …, 1/256}`` with ``n_text + n_visual * delta <= window``.

    >>> choose_delta(500, 16_000, 4096), choose_delta(10, 10, 100)
    (0.125, 1.0)
    """
    if n_text < 0 or n_visual < 0 or window <= 0:
        raise ValueError(f"need n_text, n_visual >= 0 and window > 0, got {n_text}, {n_visual}, {window}")
    for delta in DELTAS:
        if n_text + n_visual * delta <= window:
            return delta
    raise ValueError(
        f"{n_text} text + {n_visual} visual tokens do not fit a {window}-position window even at delta=1/256 "
        f"({n_text + n_visual / 256:.1f} positions); give fewer visual tokens (a smaller budget) or shorten the text"
    )


def mrope_positions(
    is_visual: Sequence[bool] | torch.Tensor,
    delta: float,
    token_times_s: torch.Tensor,
    grid_hw: torch.Tensor,
    seconds_per_unit: float = 0.5,
) -> torch.Tensor:
    """``(3, L)`` float32 MRoPE position ids (temporal, height, width) with V2PE steps.

    A running position ``p`` starts at 0.

    * Text token: ids ``(p, p, p)``, then ``p += 1``.
    * A *visual run* (maximal stretch of consecutive visual tokens) of ``n`` tokens starts at base ``b = p``.
      Its token ``i`` at time ``t_i`` seconds with (representative) patch row/col ``(r_i, c_i)`` gets
      ``temporal = b + (t_i - t_0) / seconds_per_unit * delta``, ``height = b + r_i * delta``,
      ``width = b + c_i * delta``, where ``t_0`` is the run's earliest time. After the run
      ``p = m + delta``, ``m`` the largest id of the run in any row: the next text token sits one visual
      step past the run's furthest extent (in time, rows or columns), whatever the number of tokens.

    With ``delta = 1`` this is Qwen2.5-VL's own MRoPE (its reference ``get_rope_index``: temporal ids
    ``int(frame_index * second_per_grid * tokens_per_second)``, row/column ids of the merged grid, and the
    text after a video at "the max vision position id plus 1"), so an uncompressed prompt gets exactly the
    positions the model was trained with; ``delta < 1`` scales every visual offset and the step after the
    run. (Counting the run's *tokens*, ``b + n * delta`` as 1-D V2PE does, would put the text after a
    4-frame clip of 16 x 16 tokens 1024 positions on instead of 16: a gap Qwen2.5-VL never saw.)
    transformers >= 5.3 restarts that text at ``b + max(grid_h, grid_w)`` instead, ignoring the temporal
    extent; the two agree while a clip spans fewer temporal units than its grid side (4 frames at 0.5 fps
    on a 16 x 16 grid: 12 < 16), and longvid keeps the reference rule where they do not.

    ``seconds_per_unit=0.5`` matches Qwen2.5-VL (``tokens_per_second = 2``): one temporal unit (scaled by
    ``delta``) per half second, so temporal ids follow seconds, not frame indices.

    Args:
        is_visual: ``(L,)`` bool.
        delta: visual step (see :func:`choose_delta`).
        token_times_s: ``(L,)`` seconds of each token (ignored for text), e.g. ``TokenBlock.times_s``.
        grid_hw: ``(L, 2)`` patch ``(row, col)`` of each token (ignored for text); for merged tokens the
            representative patch, e.g. ``divmod(TokenBlock.patch_index, grid_w)``.
        seconds_per_unit: seconds per temporal position unit before scaling by ``delta``.

    Worked example: ``[t, v, v, v, v, t]``, ``delta = 1/4``, ``seconds_per_unit = 1``; the four visual tokens
    are two frames at 0 s and 2 s, each with patches (0, 0) and (0, 1)::

        text  p=0         -> (0, 0, 0), p = 1
        run   b=1, t_0=0  -> temporal 1 + [0, 0, 2, 2]/4 = [1, 1, 1.5, 1.5]
                             height   1 + [0, 0, 0, 0]/4 = [1, 1, 1, 1]
                             width    1 + [0, 1, 0, 1]/4 = [1, 1.25, 1, 1.25]
                             p = 1.5 + 1/4 = 1.75   (the largest id, temporal 1.5, plus delta)
        text  p=1.75      -> (1.75, 1.75, 1.75)

        >>> vis = torch.tensor([False, True, True, True, True, False])
        >>> times = torch.tensor([0.0, 0, 0, 2, 2, 0])
        >>> rc = torch.tensor([[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]])
        >>> mrope_positions(vis, 0.25, times, rc, seconds_per_unit=1.0).tolist()
        [[0.0, 1.0, 1.0, 1.5, 1.5, 1.75], [0.0, 1.0, 1.0, 1.0, 1.0, 1.75], [0.0, 1.0, 1.25, 1.0, 1.25, 1.75]]
    """
    _check_delta(delta)
    if seconds_per_unit <= 0:
        raise ValueError(f"seconds_per_unit must be > 0, got {seconds_per_unit}")
    mask = _as_visual_mask(is_visual).cpu()  # (L,)
    n = int(mask.shape[0])
    times = torch.as_tensor(token_times_s, dtype=torch.float64).cpu()  # (L,)
    rc = torch.as_tensor(grid_hw).cpu().to(torch.float64)  # (L, 2)
    if tuple(times.shape) != (n,):
        raise ValueError(f"token_times_s has shape {tuple(times.shape)}, expected ({n},) for {n} tokens")
    if tuple(rc.shape) != (n, 2):
        raise ValueError(f"grid_hw has shape {tuple(rc.shape)}, expected ({n}, 2) (row, col) for {n} tokens")
    out = torch.empty(3, n, dtype=torch.float64)  # (3, L)
    flags = mask.tolist()
    p, i = 0.0, 0
    while i < n:
        if not flags[i]:
            out[:, i] = p
            p += 1.0
            i += 1
            continue
        j = i
        while j < n and flags[j]:
            j += 1
        run_t = times[i:j]  # (n_run,)
        out[0, i:j] = p + (run_t - run_t.min()) / seconds_per_unit * delta
        out[1:, i:j] = p + rc[i:j].T * delta  # (2, n_run)
        p = float(out[:, i:j].max()) + delta  # one step past the run's furthest id (Qwen2.5-VL: max + 1)
        i = j
    return out.to(torch.float32)
