"""longvid.compression: ToMe/HiCo merging, the relevance budget, V2PE / MRoPE positions and float RoPE."""

from __future__ import annotations

import doctest
import math
import random

import pytest
import torch

import longvid.compression as comp
from longvid.compression import (
    allocate,
    budget,
    choose_delta,
    compress_clip,
    compress_video,
    hico,
    merge_tokens,
    mrope_positions,
    v2pe,
    v2pe_positions,
)
from longvid.ingest.types import TimeSpan


@pytest.mark.parametrize("module", [comp, hico, budget, v2pe])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


# ---- merge_tokens / compress_clip ------------------------------------------------------------------


def test_identical_frames_merge_to_the_original_token():
    token = torch.randn(24, generator=torch.Generator().manual_seed(0))
    frames = token.expand(4, 50, 24).clone()  # (F, N, D) all equal
    block = compress_clip(frames, torch.tensor([3.0, 4.0, 5.0, 6.0]), tokens_per_frame=16)
    assert block.tokens.shape == (64, 24)
    torch.testing.assert_close(block.tokens, token.expand(64, 24), atol=1e-6, rtol=0)
    assert int(block.sizes.sum()) == 4 * 50
    assert block.span == TimeSpan(3.0, 7.0)
    # every token's time is the size-weighted mean of its sources, so the weighted mean is the frames' mean
    assert math.isclose(float((block.times_s * block.sizes).sum() / block.sizes.sum()), 4.5, abs_tol=1e-9)
    assert bool(((block.times_s >= 3.0) & (block.times_s <= 6.0)).all())


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 33, 100])
def test_merge_hits_every_target_exactly(n):
    x = torch.randn(n, 8, generator=torch.Generator().manual_seed(n))
    sizes = torch.randint(1, 5, (n,), generator=torch.Generator().manual_seed(n + 1))
    for target in sorted({1, 2, n // 3, n // 2, n - 1, n} & set(range(1, n + 1))):
        m = merge_tokens(x, sizes, target)
        assert m.tokens.shape == (target, 8)
        assert m.sizes.shape == (target,) and int(m.sizes.sum()) == int(sizes.sum())
        assert m.assign.shape == (n,) and set(m.assign.tolist()) == set(range(target))
        # each output is the size-weighted mean of its sources
        ref = torch.zeros(target, 8).index_add_(0, m.assign, x * sizes[:, None]) / m.sizes[:, None]
        torch.testing.assert_close(m.tokens, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(merge_tokens(x, None, n).tokens, x, atol=0, rtol=0)  # target == N: unchanged


def test_merge_is_size_weighted():
    x = torch.tensor([[1.0, 0.0], [4.0, 0.1], [0.0, 1.0], [0.1, 5.0]])
    m = merge_tokens(x, torch.tensor([3, 1, 1, 2]), target=2)
    assert m.assign.tolist() == [0, 0, 1, 1]
    torch.testing.assert_close(m.tokens, torch.tensor([[7 / 4, 0.1 / 4], [0.2 / 3, 11 / 3]]))
    assert m.sizes.tolist() == [4, 3]


def test_two_clusters_both_survive_and_never_mix():
    g = torch.Generator().manual_seed(1)
    c1, c2 = torch.randn(32, generator=g), torch.randn(32, generator=g)
    c2 = c2 - (c2 @ c1) / (c1 @ c1) * c1  # orthogonal centres: well separated in cosine
    frames = torch.cat([c1.expand(2, 40, 32), c2.expand(2, 40, 32)]) + 0.05 * torch.randn(4, 40, 32, generator=g)
    for tpf in (1, 4, 16):
        block = compress_clip(frames, torch.arange(4.0), tokens_per_frame=tpf, keep_assign=True)
        cos1 = torch.nn.functional.cosine_similarity(block.tokens, c1[None], dim=-1)
        cos2 = torch.nn.functional.cosine_similarity(block.tokens, c2[None], dim=-1)
        assert bool((cos1 > 0.9).any()) and bool((cos2 > 0.9).any())
        cluster = (torch.arange(160) >= 80).long()  # (F*N,) frame-major: frames 2, 3 are cluster 2
        for j in range(len(block)):
            assert len(set(cluster[block.assign == j].tolist())) == 1, f"token {j} mixes clusters (tpf={tpf})"
        assert set(block.frame_index[cos1 > 0.9].tolist()) <= {0, 1}
        assert set(block.frame_index[cos2 > 0.9].tolist()) <= {2, 3}


def test_outlier_patch_survives_with_its_provenance():
    outlier = torch.tensor([-1.0, 2.0, 0.0, 0.0, 0.0, 0.0])
    times = torch.tensor([0.0, 0.5, 1.0, 1.5])
    for q in range(40):  # every position of a lone distinctive patch among 39 equal ones
        frames = torch.ones(4, 10, 6)  # (F, N, D)
        frames[q // 10, q % 10] = outlier
        for target in (3, 4, 16):
            block = compress_clip(frames, times, target=target)
            hit = (block.tokens == outlier).all(-1).nonzero().flatten().tolist()
            assert len(hit) == 1, (q, target)
            j = hit[0]
            assert int(block.sizes[j]) == 1
            assert (int(block.frame_index[j]), int(block.patch_index[j])) == (q // 10, q % 10)
            assert float(block.times_s[j]) == float(times[q // 10])


def test_merge_is_deterministic_and_keeps_dtype():
    x = torch.randn(4, 64, 16, generator=torch.Generator().manual_seed(3))
    a = compress_clip(x, torch.arange(4.0))
    b = compress_clip(x.clone(), torch.arange(4.0))
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.assign, b.assign)
    assert compress_clip(x.to(torch.bfloat16), torch.arange(4.0)).tokens.dtype == torch.bfloat16


def test_bad_targets_and_counts_raise_with_numbers():
    x = torch.randn(10, 4)
    for target in (0, 11, -1):
        with pytest.raises(ValueError, match=rf"N=10, got target={target}"):
            merge_tokens(x, None, target)
    with pytest.raises(ValueError, match=r"max_ratio must be in \(0, 1\], got 0"):
        merge_tokens(x, None, 5, max_ratio=0)
    with pytest.raises(ValueError, match=r"sizes has shape \(9,\), expected \(10,\)"):
        merge_tokens(x, torch.ones(9, dtype=torch.long), 5)
    with pytest.raises(ValueError, match=r"clip target 80 .* F\*N=40"):
        compress_clip(torch.randn(4, 10, 4), torch.arange(4.0), tokens_per_frame=20)
    with pytest.raises(ValueError, match=r"3 entries for 4 frames"):
        compress_clip(torch.randn(4, 10, 4), torch.arange(3.0), tokens_per_frame=2)
    with pytest.raises(ValueError, match=r"5 entries for 6 frames"):
        compress_video(torch.randn(6, 10, 4), torch.arange(5.0))


def test_compress_video_clips_and_global_provenance():
    t, n = 10, 20
    x = torch.randn(t, n, 8, generator=torch.Generator().manual_seed(4))
    times = 100.0 + 2.0 * torch.arange(t, dtype=torch.float64)  # 0.5 fps from 100 s
    blocks = compress_video(x, times, clip_len=4, tokens_per_frame=3)
    assert [len(b) for b in blocks] == [12, 12, 6]
    assert [b.span for b in blocks] == [TimeSpan(100, 108), TimeSpan(108, 116), TimeSpan(116, 120)]
    assert [int(b.sizes.sum()) for b in blocks] == [80, 80, 40]
    for k, b in enumerate(blocks):
        assert bool(((b.frame_index >= 4 * k) & (b.frame_index < min(4 * k + 4, t))).all())
        assert bool(((b.patch_index >= 0) & (b.patch_index < n)).all())
        assert b.assign is None


# ---- allocate ------------------------------------------------------------------------------------


def test_allocate_sum_floor_cap():
    rng = random.Random(0)
    for _ in range(200):
        k = rng.randint(1, 12)
        frames = [rng.randint(0, 40) for _ in range(k)]
        rel = [rng.uniform(-1, 3) for _ in range(k)]
        floor, cap = rng.randint(0, 2), rng.randint(2, 64)
        lo, hi = floor * sum(frames), cap * sum(frames)
        b = rng.randint(lo, hi + 50)
        out = allocate(rel, frames, b, floor, cap)
        assert sum(out) == min(b, hi)
        for o, f in zip(out, frames, strict=True):
            assert floor * f <= o <= cap * f
        assert out == allocate(rel, frames, b, floor, cap)  # deterministic


def test_allocate_is_proportional_and_monotone():
    frames = [30] * 6
    out = allocate([0, 1, 0, 3, 0, 0], frames, budget=1000, floor_per_frame=1, max_per_frame=64)
    assert out[0] == out[2] == out[4] == out[5] == 30
    assert (out[3] - 30) == pytest.approx(3 * (out[1] - 30), abs=1)
    rng = random.Random(1)
    for _ in range(100):
        rel = [rng.uniform(0, 1) for _ in frames]
        before = allocate(rel, frames, 2000)
        i = rng.randrange(len(rel))
        rel[i] += rng.uniform(0, 1)
        after = allocate(rel, frames, 2000)
        assert after[i] >= before[i]
        # others lose share; largest-remainder rounding may still hand one of them a single extra token
        assert all(a <= b + 1 for j, (a, b) in enumerate(zip(after, before, strict=True)) if j != i)


def test_allocate_rejects_infeasible_floor_with_numbers():
    with pytest.raises(ValueError, match=r"floor alone needs 120 tokens .* budget is 100"):
        allocate([1.0, 0.0], [30, 30], budget=100, floor_per_frame=2)
    with pytest.raises(ValueError, match=r"relevance has 2 entries but frames has 3"):
        allocate([1.0, 0.0], [1, 2, 3], budget=100)


# ---- V2PE / MRoPE -------------------------------------------------------------------------------


def test_v2pe_positions_worked_example():
    pos = v2pe_positions([False, False, True, True, True, True, False], 0.25)
    assert pos.dtype == torch.float32
    assert pos.tolist() == [0.0, 1.0, 2.0, 2.25, 2.5, 2.75, 3.0]
    assert v2pe_positions(torch.tensor([True, True, False, True]), 1.0).tolist() == [0.0, 1.0, 2.0, 3.0]
    long = v2pe_positions(torch.ones(100_000, dtype=torch.bool), 1 / 256)
    assert float(long[-1]) == 99_999 / 256  # exact: accumulated in float64


def test_choose_delta():
    assert choose_delta(100, 900, 1000) == 1.0
    assert choose_delta(100, 901, 1000) == 0.5
    assert choose_delta(1000, 460_800, 32_768) == 1 / 16
    assert choose_delta(0, 256 * 1000, 1000) == 1 / 256
    with pytest.raises(ValueError, match=r"1000 text \+ 256 visual tokens .* 1000-position window"):
        choose_delta(1000, 256, 1000)


def test_mrope_positions_hand_computed():
    # [t, t, v*6 (3 frames at 10, 11, 13 s; 2x1 patches, rows 0..1), t], delta 1/2, 0.5 s per unit
    vis = torch.tensor([False, False, True, True, True, True, True, True, False])
    times = torch.tensor([0, 0, 10, 10, 11, 11, 13, 13, 0], dtype=torch.float64)
    rc = torch.tensor([[0, 0], [0, 0], [0, 0], [1, 0], [0, 0], [1, 0], [0, 0], [1, 0], [0, 0]])
    ids = mrope_positions(vis, 0.5, times, rc, seconds_per_unit=0.5)
    # base 2; temporal = 2 + (t - 10) / 0.5 * 0.5 = 2 + (t - 10); height = 2 + row / 2; width = 2
    # after the run: max(2 + 6 * 0.5, 5 + 0.5) = 5.5
    expect = torch.tensor(
        [
            [0, 1, 2, 2, 3, 3, 5, 5, 5.5],
            [0, 1, 2, 2.5, 2, 2.5, 2, 2.5, 5.5],
            [0, 1, 2, 2, 2, 2, 2, 2, 5.5],
        ]
    )
    assert ids.dtype == torch.float32 and ids.shape == (3, 9)
    torch.testing.assert_close(ids, expect, atol=0, rtol=0)
    # text only: all three rows equal the 1-D positions
    text = torch.zeros(5, dtype=torch.bool)
    ids = mrope_positions(text, 0.25, torch.zeros(5), torch.zeros(5, 2))
    assert ids.tolist() == [[0.0, 1.0, 2.0, 3.0, 4.0]] * 3
    with pytest.raises(ValueError, match=r"grid_hw has shape \(5,\), expected \(5, 2\)"):
        mrope_positions(text, 0.25, torch.zeros(5), torch.zeros(5))
