"""VideoLLM on a tiny random Qwen2.5-VL built in the test (hidden size 32, 2 layers, vision depth 2).

The model, its word-level tokenizer and hand-made token blocks come from :mod:`tests.tiny_qwen`; nothing
is downloaded. The comparison with stock transformers is in ``test_videollm_reference.py``.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from longvid.compression.hico import TokenBlock, compress_video
from longvid.ingest import sample_frames
from longvid.llm.videollm import (
    PlaceholderMismatchError,
    VideoLLM,
    VideoLLMConfig,
    choose_attention,
    format_timestamp,
    load_blocks,
    save_blocks,
    scatter_visual_tokens,
)

from . import tiny_qwen

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

DIM = tiny_qwen.DIM
_block = tiny_qwen.block


@pytest.fixture(scope="module")
def tiny():
    # 64x64 frames -> 8x8 patches of 8 px -> 4x4 = 16 merged tokens per frame.
    config = VideoLLMConfig(frame_size=(64, 64), tokens_per_frame=4, token_budget=4096, max_new_tokens=6)
    return VideoLLM(tiny_qwen.model(), tiny_qwen.tokenizer(), config)


@pytest.fixture(scope="module")
def demo_frames():
    batches = list(sample_frames("assets/demo.mp4", fps=0.5, size=(112, 112), max_frames=12))
    pixels = np.concatenate([b.pixels for b in batches])
    times = np.concatenate([b.timestamps_s for b in batches])
    return pixels, times


def _count_calls(module: torch.nn.Module) -> tuple[list[int], torch.utils.hooks.RemovableHandle]:
    calls = [0]

    def hook(*_):
        calls[0] += 1

    return calls, module.register_forward_hook(hook)


def test_attention_choice_logs_fallback(caplog):
    with caplog.at_level(logging.INFO, logger="longvid.llm.videollm"):
        assert choose_attention("cpu") == "sdpa"
    assert "flash_attention_2 unavailable" in caplog.text and "using sdpa" in caplog.text
    with pytest.raises(ValueError, match="not usable"):
        choose_attention("cpu", "flash_attention_2")


def test_end_to_end_on_real_frames(tiny, demo_frames):
    pixels, times = demo_frames
    patches = tiny.encode_frames(pixels)
    assert patches.shape == (len(times), 16, DIM)
    blocks = compress_video(patches, torch.as_tensor(times), clip_len=4, tokens_per_frame=4)
    assert [len(b) for b in blocks] == [16, 16, 16]
    prompt = tiny.build_inputs("what happens ?", blocks)
    n_budget = sum(len(b) for b in blocks)
    assert prompt.n_visual == n_budget == int((prompt.input_ids == tiny.video_token_id).sum())
    assert int(prompt.is_visual.sum()) == n_budget
    assert prompt.position_ids.shape == (3, 1, prompt.input_ids.shape[1])
    assert prompt.position_ids.dtype == torch.float32
    # the visual tokens really are in the embeddings, in block order
    torch.testing.assert_close(prompt.inputs_embeds[0, prompt.is_visual], torch.cat([b.tokens for b in blocks]))
    ids = tiny.generate_ids(prompt)
    assert ids == tiny_qwen.reference_greedy(tiny, prompt, tiny.config.max_new_tokens)  # cached == uncached
    assert tiny.generate("what happens ?", blocks) == tiny.tokenizer.decode(ids, skip_special_tokens=True)


def test_encode_frames_is_frame_independent(tiny, demo_frames):
    pixels, _ = demo_frames
    both = tiny.encode_frames(pixels[:3])
    torch.testing.assert_close(tiny.encode_frames(pixels[1:2])[0], both[1], rtol=1e-4, atol=1e-5)


def test_placeholder_mismatch_raises_with_both_numbers(tiny):
    emb = torch.zeros(6, DIM)
    is_vis = torch.tensor([False, True, True, True, False, False])
    with pytest.raises(PlaceholderMismatchError, match=r"3 visual placeholders but 2 visual tokens"):
        scatter_visual_tokens(emb, is_vis, torch.ones(2, DIM))
    # a question that smuggles in the placeholder token is caught, not silently mis-filled
    with pytest.raises(PlaceholderMismatchError, match=r"5 visual placeholders but 4 visual tokens"):
        tiny.build_inputs("what <|video_pad|> ?", [_block(4, 10.0)])
    with pytest.raises(ValueError, match="token_budget"):
        tiny.build_inputs("what ?", [_block(4, 0.0, s) for s in range(1025)])


def test_position_ids_hand_computed(tiny):
    """Prompt: 11 system/user tokens, marker "<t=00:00:10>" (9) + <|vision_start|>, 4 visual tokens,
    <|vision_end|>, "what happens ?" <|im_end|> <|im_start|> assistant.

    delta = 1/4, tokens_per_second = 2 (0.5 s per temporal unit). Visual tokens: frames at 10 s and 12 s,
    patches 0, 1, 4, 5 of a 4-wide grid -> (row, col) (0,0) (0,1) (1,0) (1,1). Run base b = 21:
      temporal 21 + [0, 0, 2, 2] / 0.5 * 0.25 = [21, 21, 22, 22]
      height   21 + [0, 0, 1, 1] * 0.25       = [21, 21, 21.25, 21.25]
      width    21 + [0, 1, 0, 1] * 0.25       = [21, 21.25, 21, 21.25]
    then p = 22 + 0.25 = 22.25 (the run's largest id plus delta) for <|vision_end|>, text continues +1 each.
    """
    llm = VideoLLM(tiny.model, tiny.tokenizer, VideoLLMConfig(frame_size=(64, 64), delta=0.25))
    prompt = llm.build_inputs("what happens ?", [_block(4, 10.0)])
    assert format_timestamp(10.0) == "<t=00:00:10>" and format_timestamp(3725.9) == "<t=01:02:05>"
    head = [float(i) for i in range(21)]
    tail = [22.25 + i for i in range(7)]
    expected = [
        [*head, 21, 21, 22, 22, *tail],
        [*head, 21, 21, 21.25, 21.25, *tail],
        [*head, 21, 21.25, 21, 21.25, *tail],
    ]
    assert prompt.position_ids[:, 0].tolist() == expected
    assert prompt.is_visual.nonzero().flatten().tolist() == [21, 22, 23, 24]
    assert prompt.next_position == 29.25
    assert prompt.delta == 0.25


def test_float_positions_are_honoured_in_prefill_and_decode(tiny):
    """Greedy decoding over the KV cache equals a full uncached forward with our positions, and the
    model's own rope-delta machinery is never used."""
    blocks = [_block(8, 0.0, 3), _block(8, 4.0, 4)]
    llm = VideoLLM(tiny.model, tiny.tokenizer, VideoLLMConfig(frame_size=(64, 64), delta=0.25, max_new_tokens=4))
    # pin the stop set empty so exactly max_new_tokens tokens come out
    llm.stop_ids = set()
    prompt = llm.build_inputs("who is there ?", blocks)
    new = llm.generate_ids(prompt)
    assert len(new) == 4
    assert llm.model.model.rope_deltas is None

    embed = llm.model.get_input_embeddings()
    full = torch.cat([prompt.inputs_embeds, embed(torch.tensor([new[:-1]]))], dim=1)
    steps = prompt.next_position + torch.arange(len(new) - 1, dtype=torch.float32)
    pos = torch.cat([prompt.position_ids, steps.view(1, 1, -1).expand(3, 1, -1)], dim=2)
    with torch.inference_mode():
        logits = llm.model(inputs_embeds=full, position_ids=pos).logits[0]
    n = prompt.input_ids.shape[1]
    assert logits[n - 1 :].argmax(-1).tolist() == new

    # the positions matter: another delta changes the prefill logits
    other = VideoLLM(tiny.model, tiny.tokenizer, VideoLLMConfig(frame_size=(64, 64), delta=1.0))
    p2 = other.build_inputs("who is there ?", blocks)
    with torch.inference_mode():
        a = llm.model(inputs_embeds=prompt.inputs_embeds, position_ids=prompt.position_ids).logits
        b = llm.model(inputs_embeds=p2.inputs_embeds, position_ids=p2.position_ids).logits
    assert not torch.allclose(a, b)


def test_save_load_round_trip_exact(tmp_path):
    blocks = [_block(8, 0.0, 5), _block(4, 4.25, 6)]
    blocks[1] = TokenBlock(**{**blocks[1].__dict__, "assign": torch.arange(12) % 4})
    path = tmp_path / "tokens" / "vid.safetensors"
    save_blocks(path, blocks)
    back = load_blocks(path)
    assert len(back) == 2
    for a, b in zip(blocks, back, strict=True):
        assert a.span == b.span
        for name in ("tokens", "sizes", "frame_index", "patch_index", "times_s"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and torch.equal(x, y), name
    assert back[0].assign is None and torch.equal(back[1].assign, blocks[1].assign)
    assert [p.name for p in path.parent.iterdir()] == ["vid.safetensors"]  # no temp file left


def test_second_question_reuses_cached_blocks(tiny, demo_frames, tmp_path):
    pixels, times = demo_frames
    calls, handle = _count_calls(tiny.visual)
    try:
        blocks = compress_video(
            tiny.encode_frames(pixels[:8]), torch.as_tensor(times[:8]), clip_len=4, tokens_per_frame=4
        )
        after_encode = calls[0]
        assert after_encode >= 1
        save_blocks(tmp_path / "v.safetensors", blocks)
        cached = load_blocks(tmp_path / "v.safetensors")
        first = tiny.generate("what happens ?", cached)
        second = tiny.generate("who is there ?", cached)
        assert calls[0] == after_encode
    finally:
        handle.remove()
    for question, answer in (("what happens ?", first), ("who is there ?", second)):
        reference = tiny_qwen.reference_greedy(tiny, tiny.build_inputs(question, blocks), tiny.config.max_new_tokens)
        assert answer == tiny.tokenizer.decode(reference, skip_special_tokens=True)
    assert tiny.generate("what happens ?", blocks) == first  # cache is exact


@pytest.mark.gpu
@pytest.mark.slow
def test_real_checkpoint_answers_about_demo():
    """Qwen2.5-VL from the local checkpoint in ``LONGVID_QWEN_DIR`` (never the hub) answers in words."""
    path = tiny_qwen.real_checkpoint_dir()
    cfg = VideoLLMConfig(device="cuda", dtype="bfloat16", max_new_tokens=32)
    llm = VideoLLM.from_pretrained(path, cfg, local_files_only=True)
    batch = next(iter(sample_frames("assets/demo.mp4", fps=0.5, max_frames=16)))
    patches = llm.encode_frames(batch.pixels)
    blocks = compress_video(patches, torch.as_tensor(batch.timestamps_s), clip_len=4, tokens_per_frame=16)
    question = "Describe what happens in the video."
    ids = llm.generate_ids(llm.build_inputs(question, blocks))
    answer = llm.generate(question, blocks)
    assert answer == llm.tokenizer.decode(ids, skip_special_tokens=True)  # greedy: the same every time
    assert len(answer.split()) >= 3, f"expected a sentence about the video, got {answer!r}"
    assert "<|" not in answer  # no special token leaked into the text
