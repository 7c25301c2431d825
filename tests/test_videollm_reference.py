"""longvid's GPU answer path against stock transformers Qwen2.5-VL (tiny random model, fp32, CPU).

**Equivalence setting.** HiCo off (``compress_video`` with ``tokens_per_frame`` = the vision tower's 64
merged tokens per 128 x 128 frame: nothing is merged), V2PE ``delta = 1``, the same decoded frames and
timestamps. The stock side is ``Qwen2_5_VLProcessor`` + ``Qwen2_5_VLForConditionalGeneration``:

* longvid encodes every frame as a still 2-frame temporal patch (the frame in both slots) so each frame
  keeps its own tokens and time; the stock video for a block is therefore its frames each shown twice, at
  ``fps = 2 / frame interval``, which makes the processor's ``second_per_grid_ts`` the frame interval and
  ``get_rope_index``'s temporal ids ``int(frame * interval * tokens_per_second)`` — seconds, as longvid's;
* longvid's layout puts ``<t=HH:MM:SS>`` before each block's ``<|vision_start|>``; the stock prompt text
  is written out by hand in that layout (one ``<|video_pad|>`` per block, one video per block, which the
  processor expands), and the input ids are asserted identical before anything else is compared.

Then the same prompt must give the same input ids, visual tokens, position ids, logits and greedy tokens.
Each deviation is then switched on alone: HiCo merging, fractional ``delta``, budget shrink, token dropping.

**Upstream note.** The reference rule for text after a video is "the max vision position id plus 1"
(Qwen's ``get_rope_index`` as trained; transformers <= 5.2). transformers >= 5.3 (5.24 here) restarts
text at ``start + max(grid_h, grid_w)`` instead, ignoring the video's temporal extent, so the two agree
only while a block's duration in temporal units (``seconds * tokens_per_second``) stays below its grid
side. The equivalence tests use 1 s frames (4-frame clip: temporal extent 6 < 8 rows), where they agree;
:func:`test_text_after_a_long_clip_follows_the_reference_rule` pins longvid to the reference rule where
they do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from longvid.compression import allocate, compress_video, shrink_block
from longvid.compression.hico import TokenBlock
from longvid.ingest import sample_frames
from longvid.llm.token_drop import drop_visual_tokens
from longvid.llm.videollm import VideoLLM, VideoLLMConfig, VideoPrompt, format_timestamp

from . import tiny_qwen

pytest.importorskip("transformers")

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo.mp4"
FRAME_PX = 128  # 16 x 16 patches of 8 px -> 8 x 8 = 64 merged tokens per frame
TOKENS_PER_FRAME = 64
CLIP_LEN = 4
QUESTION = "what happens ?"
N_NEW = 8  # greedy tokens compared


@dataclass
class Reference:
    """One question over the same frames, built by longvid and by stock transformers."""

    llm: VideoLLM
    blocks: list[TokenBlock]  # HiCo off: the tower's own tokens
    patches: torch.Tensor  # (T, 64, D) longvid encode_frames
    prompt: VideoPrompt  # longvid's prompt
    stock: dict  # Qwen2_5_VLProcessor output (input_ids, pixel_values_videos, video_grid_thw, ...)
    stock_positions: torch.Tensor  # (3, 1, L) long, stock get_rope_index


def _frames(fps: float, n: int, px: int) -> tuple[np.ndarray, np.ndarray]:
    batches = list(sample_frames(DEMO, fps=fps, size=(px, px)))
    pixels = np.concatenate([b.pixels for b in batches])[:n]  # (n, px, px, 3) uint8
    times = np.concatenate([b.timestamps_s for b in batches])[:n]  # (n,) seconds
    return pixels, times


def stock_inputs(processor, llm: VideoLLM, pixels: np.ndarray, times: np.ndarray, question: str) -> dict:
    """The stock processor's inputs for longvid's layout: one video per ``CLIP_LEN`` frames, each frame
    shown twice at twice the sampling rate, ``<t=...>`` text before each ``<|vision_start|>``."""
    interval = float(times[1] - times[0])
    if not np.allclose(np.diff(times), interval):
        raise ValueError(f"frames must be evenly spaced for a stock video, got times {times.tolist()}")
    starts = range(0, len(times), CLIP_LEN)
    text = f"<|im_start|>system\n{llm.config.system_prompt}<|im_end|>\n<|im_start|>user\n"
    text += "".join(f"{format_timestamp(times[s])}<|vision_start|><|video_pad|><|vision_end|>" for s in starts)
    text += f"{question}<|im_end|>\n<|im_start|>assistant\n"
    videos = [np.repeat(pixels[s : s + CLIP_LEN], 2, axis=0) for s in starts]  # (2F, H, W, 3) each
    metadata = [  # the doubled stream's rate: second_per_grid_ts = temporal_patch_size / fps = interval
        {"total_num_frames": len(v), "fps": 2.0 / interval, "frames_indices": list(range(len(v)))} for v in videos
    ]
    inputs = processor(text=[text], videos=videos, video_metadata=metadata, do_sample_frames=False, return_tensors="pt")
    return {k: v.to(llm.config.device) for k, v in inputs.items()}


def stock_positions(model, inputs: dict) -> torch.Tensor:
    """``(3, 1, L)`` position ids from the stock ``get_rope_index``."""
    positions, _ = model.model.get_rope_index(
        inputs["input_ids"],
        inputs["mm_token_type_ids"],
        video_grid_thw=inputs["video_grid_thw"],
        second_per_grid_ts=inputs["second_per_grid_ts"],
        attention_mask=inputs["attention_mask"],
    )
    return positions


def build_reference(llm: VideoLLM, processor, pixels: np.ndarray, times: np.ndarray) -> Reference:
    patches = llm.encode_frames(pixels)  # (T, N, D)
    blocks = compress_video(patches, torch.as_tensor(times), clip_len=CLIP_LEN, tokens_per_frame=patches.shape[1])
    prompt = llm.build_inputs(QUESTION, blocks)
    stock = stock_inputs(processor, llm, pixels, times, QUESTION)
    return Reference(llm, blocks, patches, prompt, stock, stock_positions(llm.model, stock))


def _llm(model, tok, **options) -> VideoLLM:
    config = {"frame_size": (FRAME_PX, FRAME_PX), "tokens_per_frame": TOKENS_PER_FRAME, "clip_len": CLIP_LEN}
    config |= {"delta": 1.0, "token_budget": 4096, "max_new_tokens": N_NEW} | options
    return VideoLLM(model, tok, VideoLLMConfig(**config))


@pytest.fixture(scope="module")
def tiny():
    tok = tiny_qwen.tokenizer()
    return tiny_qwen.model(), tok, tiny_qwen.processor(tok, FRAME_PX)


@pytest.fixture(scope="module")
def ref(tiny) -> Reference:
    model, tok, processor = tiny
    pixels, times = _frames(fps=1.0, n=8, px=FRAME_PX)  # 0, 1, ..., 7 s
    return build_reference(_llm(model, tok), processor, pixels, times)


def _logits(model, prompt: VideoPrompt) -> torch.Tensor:
    with torch.inference_mode():
        return model(inputs_embeds=prompt.inputs_embeds, position_ids=prompt.position_ids).logits  # (1, L, V)


def _runs(is_visual: torch.Tensor) -> list[tuple[int, int]]:
    """``[start, end)`` of each maximal run of visual tokens."""
    flags = [*is_visual.tolist(), False]
    runs, start = [], None
    for i, v in enumerate(flags):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _text_positions(prompt: VideoPrompt) -> list[float]:
    return prompt.position_ids[0, 0, ~prompt.is_visual.cpu()].tolist()


# ----------------------------------------------------------------------------------- equivalence


def test_hico_off_keeps_the_towers_own_tokens(ref):
    """The equivalence setting really merges nothing: blocks are the vision tower's tokens, untouched."""
    assert [len(b) for b in ref.blocks] == [CLIP_LEN * TOKENS_PER_FRAME] * 2 == [256, 256]
    for k, b in enumerate(ref.blocks):
        frames = ref.patches[k * CLIP_LEN : (k + 1) * CLIP_LEN]  # (4, 64, D)
        assert torch.equal(b.tokens, frames.reshape(-1, frames.shape[-1]))
        assert b.sizes.tolist() == [1] * 256
        assert b.patch_index.tolist() == list(range(64)) * CLIP_LEN
        assert b.times_s.tolist() == [float(t) for t in range(4 * k, 4 * k + 4) for _ in range(64)]


def test_input_ids_and_visual_tokens_equal_stock(ref):
    assert ref.prompt.input_ids.tolist() == ref.stock["input_ids"].tolist()
    assert ref.stock["video_grid_thw"].tolist() == [[4, 16, 16], [4, 16, 16]]
    assert ref.stock["second_per_grid_ts"].tolist() == [1.0, 1.0]  # the frame interval, seconds
    with torch.inference_mode():
        stock_tokens = ref.llm.model.model.get_video_features(
            ref.stock["pixel_values_videos"], ref.stock["video_grid_thw"]
        ).pooler_output  # per video (4 * 64, D)
    stock_tokens = torch.cat(stock_tokens)  # (2 * 256, D)
    torch.testing.assert_close(ref.patches.reshape(-1, tiny_qwen.DIM), stock_tokens, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ref.prompt.inputs_embeds[0, ref.prompt.is_visual], stock_tokens, atol=1e-5, rtol=1e-4)


def test_position_ids_equal_stock_get_rope_index(ref):
    assert ref.prompt.position_ids.shape == ref.stock_positions.shape
    assert ref.prompt.position_ids.tolist() == ref.stock_positions.float().tolist()
    # ... and they are the known numbers: 21 text tokens, then block 0 (frames 0..3 s) at base 21
    pos = ref.prompt.position_ids[:, 0]  # (3, L)
    (s0, e0), (s1, _) = _runs(ref.prompt.is_visual.cpu())
    assert (s0, e0) == (21, 277)
    assert pos[0, s0:e0].tolist() == [21.0 + 2 * t for t in range(4) for _ in range(64)]  # 2 units per second
    assert pos[1, s0 : s0 + 64].tolist() == [21.0 + r for r in range(8) for _ in range(8)]
    assert pos[2, s0 : s0 + 64].tolist() == [21.0 + c for _ in range(8) for c in range(8)]
    assert pos[:, e0].tolist() == [29.0] * 3  # <|vision_end|>: max id 28 + 1
    # block 1 (4..7 s) again starts its temporal row at its base, after "<t=00:00:04><|vision_start|>"
    assert s1 == e0 + 1 + 10 and pos[0, s1].item() == 29.0 + 11


def test_logits_equal_stock_forward(ref):
    with torch.inference_mode():
        stock = ref.llm.model(**ref.stock).logits  # (1, L, V)
    ours = _logits(ref.llm.model, ref.prompt)
    torch.testing.assert_close(ours, stock, atol=1e-5, rtol=1e-4)


def test_greedy_tokens_equal_stock_generate(ref):
    model = ref.llm.model
    stop = sorted(ref.llm.stop_ids)
    with torch.inference_mode():
        out = model.generate(
            **ref.stock, max_new_tokens=N_NEW, do_sample=False, eos_token_id=stop,
            pad_token_id=tiny_qwen.VOCAB["<|endoftext|>"], output_logits=True, return_dict_in_generate=True,
        )  # fmt: skip
    n_prompt = ref.stock["input_ids"].shape[1]
    stock_new = out.sequences[0, n_prompt:].tolist()
    if stock_new and stock_new[-1] in stop:  # stock keeps the stop token; longvid returns what precedes it
        stock_new = stock_new[:-1]
    ours = ref.llm.generate_ids(ref.prompt)
    assert ours == stock_new
    assert len(ours) == N_NEW and len(set(ours)) > 1  # a real sequence, not an immediate stop
    assert ref.llm.generate(QUESTION, ref.blocks) == ref.llm.tokenizer.decode(ours, skip_special_tokens=True)
    # every decoding step's logits too: longvid's positions for generated tokens (max + 1, + 2, ...) are
    # the ones stock generate derives from its rope deltas
    embed = model.get_input_embeddings()
    full = torch.cat([ref.prompt.inputs_embeds, embed(torch.tensor([ours[:-1]]))], dim=1)
    steps = ref.prompt.next_position + torch.arange(len(ours) - 1, dtype=torch.float32)
    pos = torch.cat([ref.prompt.position_ids, steps.view(1, 1, -1).expand(3, 1, -1)], dim=2)
    with torch.inference_mode():
        logits = model(inputs_embeds=full, position_ids=pos).logits[0, n_prompt - 1 :]  # (N_NEW, V)
    torch.testing.assert_close(logits, torch.cat(out.logits[: len(ours)]), atol=1e-5, rtol=1e-4)


def test_text_after_a_long_clip_follows_the_reference_rule(tiny):
    """Frames 4 s apart: a 4-frame clip spans 24 temporal units, more than its 8-row grid. Every visual id
    still equals stock's, relative to its video's start; the text after a video resumes at that video's
    max id + 1 (Qwen's reference rule), where transformers 5.24 restarts it at start + 8 (below the
    video's last temporal id, start + 24)."""
    model, tok, processor = tiny
    pixels, times = _frames(fps=0.25, n=8, px=FRAME_PX)  # 0, 4, ..., 28 s
    r = build_reference(_llm(model, tok), processor, pixels, times)
    assert r.prompt.input_ids.tolist() == r.stock["input_ids"].tolist()
    assert r.stock["second_per_grid_ts"].tolist() == [4.0, 4.0]
    ours, stock = r.prompt.position_ids[:, 0], r.stock_positions[:, 0].float()  # (3, L)
    runs = _runs(r.prompt.is_visual.cpu())
    first_end = runs[0][1]
    assert ours[:, :first_end].tolist() == stock[:, :first_end].tolist()  # all equal up to the first video's end
    for start, end in runs:
        offsets = ours[:, start:end] - ours[0, start]  # (3, n) ids relative to the video's start
        assert offsets.tolist() == (stock[:, start:end] - stock[0, start]).tolist()
        assert offsets[0].max().item() == 24  # 3 frames x 4 s x 2 units per second
        assert ours[:, end].tolist() == [ours[:, start:end].max().item() + 1] * 3
        text_after = ours[0, end : (end + 11 if end < runs[-1][1] else None)]
        assert torch.equal(text_after.diff(), torch.ones(text_after.numel() - 1))  # then +1 per text token


# ------------------------------------------------------------------------ one deviation at a time


def test_hico_merging_changes_counts_and_text_positions_only_as_expected(ref):
    merged = compress_video(ref.patches, torch.arange(8.0), clip_len=CLIP_LEN, tokens_per_frame=16)
    assert [len(b) for b in merged] == [64, 64]
    assert [int(b.sizes.sum()) for b in merged] == [256, 256]  # every patch token is still counted
    prompt = ref.llm.build_inputs(QUESTION, merged)
    assert prompt.n_visual == 128 == int((prompt.input_ids == ref.llm.video_token_id).sum())
    assert prompt.input_ids.shape[1] == ref.prompt.input_ids.shape[1] - 2 * (256 - 64)
    text = ~prompt.is_visual
    assert prompt.input_ids[0, text].tolist() == ref.prompt.input_ids[0, ~ref.prompt.is_visual].tolist()

    pos = prompt.position_ids[:, 0].double()  # (3, L)
    runs = _runs(prompt.is_visual.cpu())
    shifts = [0.0]  # how far the text after each block moved, against the unmerged reference
    for b, (start, end) in zip(merged, runs, strict=True):
        base = pos[0, start - 1].item() + 1  # one past <|vision_start|>
        rows, cols = b.patch_index // 8, b.patch_index % 8  # representative patch of each merged token
        t_units = (b.times_s - b.times_s.min()) * 2  # seconds -> temporal units (tokens_per_second 2)
        # temporal rows are still seconds: each merged token at its size-weighted mean time
        torch.testing.assert_close(pos[0, start:end], base + t_units, atol=1e-5, rtol=0)
        assert pos[1, start:end].tolist() == (base + rows.double()).tolist()
        assert pos[2, start:end].tolist() == (base + cols.double()).tolist()
        extent = max(float(t_units.max()), float(rows.max()), float(cols.max()))
        assert pos[:, end].tolist() == pytest.approx([base + extent + 1] * 3, abs=1e-5)
        shifts.append(shifts[-1] + extent - 7)  # the reference block's extent is 7 (rows 0..7)
    # every text token sits where the reference put it, moved by the extents lost before it
    starts = torch.tensor([start for start, _ in runs])
    segment = (torch.arange(prompt.input_ids.shape[1])[:, None] >= starts).sum(1)  # (L,) blocks before each token
    expected = [p + shifts[k] for p, k in zip(_text_positions(ref.prompt), segment[text.cpu()].tolist(), strict=True)]
    assert _text_positions(prompt) == pytest.approx(expected, abs=1e-5)
    # not where counting tokens would put it: 1-D V2PE would move the text 192 positions per block
    assert pos[0, runs[0][1]].item() < pos[0, runs[0][0]].item() + 64


def test_fractional_delta_scales_visual_offsets_and_changes_logits(ref):
    delta = 0.25
    llm = _llm(ref.llm.model, ref.llm.tokenizer, delta=delta)
    prompt = llm.build_inputs(QUESTION, ref.blocks)
    assert prompt.delta == delta
    assert prompt.input_ids.tolist() == ref.prompt.input_ids.tolist()  # same tokens, other positions
    ours, stock = prompt.position_ids[:, 0].double(), ref.stock_positions[:, 0].double()  # (3, L)
    runs = _runs(prompt.is_visual.cpu())
    assert ours[:, : runs[0][0]].tolist() == stock[:, : runs[0][0]].tolist()  # text before the video
    for start, end in runs:
        base, stock_base = ours[0, start], stock[0, start]
        # every visual offset (seconds, rows, columns) is the stock offset scaled by delta
        assert (ours[:, start:end] - base).tolist() == ((stock[:, start:end] - stock_base) * delta).tolist()
        stock_extent = stock[:, start:end].max() - stock_base
        assert ours[:, end].tolist() == [float(base + stock_extent * delta + delta)] * 3  # then text, +1 each
    text = _text_positions(prompt)
    n_text = len(text)
    # the two videos shrank from extent 7 + 1 to (7 + 1) / 4 positions each: text ends 2 * 6 earlier
    assert text[-1] == _text_positions(ref.prompt)[-1] - 2 * (8 - 8 * delta)
    assert n_text == len(_text_positions(ref.prompt))
    a, b = _logits(ref.llm.model, ref.prompt), _logits(ref.llm.model, prompt)
    assert (a - b).abs().max().item() > 1e-4  # positions reach RoPE: 10x the equivalence tolerance (1e-5)


def test_budget_shrink_fits_the_budget_exactly(ref):
    budget = 100
    shares = allocate([0.9, 0.1], [CLIP_LEN, CLIP_LEN], budget=budget, floor_per_frame=1, max_per_frame=64)
    assert sum(shares) == budget and shares[0] > shares[1] >= CLIP_LEN
    small = [shrink_block(b, n) for b, n in zip(ref.blocks, shares, strict=True)]
    assert [len(b) for b in small] == shares
    assert [int(b.sizes.sum()) for b in small] == [256, 256] and [b.span for b in small] == [b.span for b in ref.blocks]
    prompt = ref.llm.build_inputs(QUESTION, small)
    assert prompt.n_visual == budget == int((prompt.input_ids == ref.llm.video_token_id).sum())
    assert prompt.input_ids.shape[1] == ref.prompt.input_ids.shape[1] - 512 + budget
    assert prompt.input_ids[0, ~prompt.is_visual].tolist() == ref.prompt.input_ids[0, ~ref.prompt.is_visual].tolist()
    tight = _llm(ref.llm.model, ref.llm.tokenizer, token_budget=budget - 1)
    with pytest.raises(ValueError, match=r"blocks hold 100 visual tokens, over token_budget=99"):
        tight.build_inputs(QUESTION, small)


def test_token_dropping_keeps_text_and_positions(ref):
    keep = 256
    lean = drop_visual_tokens(ref.llm.model, ref.prompt, layer=1, keep=keep)
    assert lean.n_visual == int(lean.is_visual.sum()) == keep
    assert lean.input_ids.shape[1] == ref.prompt.input_ids.shape[1] - (512 - keep)
    text = ~ref.prompt.is_visual
    assert lean.input_ids[0, ~lean.is_visual].tolist() == ref.prompt.input_ids[0, text].tolist()
    # text positions are unchanged, so they still equal stock's; kept visual tokens keep their stock ids
    assert _text_positions(lean) == ref.stock_positions[0, 0, text.cpu()].float().tolist()
    stock_visual = {tuple(p) for p in ref.stock_positions[:, 0, ref.prompt.is_visual.cpu()].T.float().tolist()}
    kept = [tuple(p) for p in lean.position_ids[:, 0, lean.is_visual.cpu()].T.tolist()]
    assert len(kept) == keep and set(kept) <= stock_visual
    # configured dropping answers from exactly that lean prompt
    dropping = _llm(ref.llm.model, ref.llm.tokenizer, drop_layer=1, drop_keep=0.5)
    plain = ref.llm
    assert dropping.generate_ids(ref.prompt) == plain.generate_ids(lean)


# --------------------------------------------------------------------------- the real checkpoint


@pytest.mark.gpu
@pytest.mark.slow
def test_real_checkpoint_matches_stock():
    """The same comparison with Qwen2.5-VL from ``LONGVID_QWEN_DIR`` in bf16 on CUDA (448 px frames)."""
    path = tiny_qwen.real_checkpoint_dir()
    from transformers import AutoProcessor

    px = 448  # 32 x 32 patches of 14 px -> 16 x 16 = 256 merged tokens per frame
    config = VideoLLMConfig(device="cuda", dtype="bfloat16", frame_size=(px, px), tokens_per_frame=256,
                            clip_len=CLIP_LEN, delta=1.0, max_new_tokens=16)  # fmt: skip
    llm = VideoLLM.from_pretrained(path, config, local_files_only=True)
    processor = AutoProcessor.from_pretrained(path, local_files_only=True)
    pixels, times = _frames(fps=1.0, n=8, px=px)
    r = build_reference(llm, processor, pixels, times)
    assert r.prompt.input_ids.tolist() == r.stock["input_ids"].tolist()
    assert r.prompt.position_ids.tolist() == r.stock_positions.float().tolist()
    with torch.inference_mode():
        stock = llm.model(**r.stock).logits[0, -1].float()  # (V,)
    ours = _logits(llm.model, r.prompt)[0, -1].float()
    scale = stock.abs().max().item()
    assert (ours - stock).abs().max().item() <= 0.05 * scale, "bf16 logits of the last prompt token differ"
    with torch.inference_mode():
        out = llm.model.generate(**r.stock, max_new_tokens=16, do_sample=False, eos_token_id=sorted(llm.stop_ids),
                                 output_logits=True, return_dict_in_generate=True)  # fmt: skip
    stock_new = out.sequences[0, r.stock["input_ids"].shape[1] :].tolist()
    mine = llm.generate_ids(r.prompt)
    # equal greedy tokens up to the first bf16 near-tie (stock's top two within 0.5% of the logit scale)
    for step, (a, b) in enumerate(zip(mine, stock_new, strict=False)):
        if a != b:
            step_logits = out.logits[step][0].float()
            assert step_logits[b] - step_logits[a] <= 0.005 * scale, f"greedy tokens diverge at step {step}"
            break
    assert mine, "the real model answered nothing"
