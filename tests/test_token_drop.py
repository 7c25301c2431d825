"""Attention-guided visual token dropping on a tiny random Qwen2.5-VL: the scores are the model's own
attention (checked against eager attention weights), dropping keeps text and positions intact."""

import torch

from longvid.llm.token_drop import drop_visual_tokens, visual_attention
from longvid.llm.videollm import VideoLLM, VideoLLMConfig

from . import tiny_qwen
from .tiny_qwen import block as _block


def _llm(**options):
    config = VideoLLMConfig(frame_size=(64, 64), tokens_per_frame=4, token_budget=4096, max_new_tokens=4, **options)
    return VideoLLM(tiny_qwen.model(), tiny_qwen.tokenizer(), config)


def test_scores_match_eager_attention_weights():
    llm = _llm()
    prompt = llm.build_inputs("what happens", [_block(12, 0.0), _block(8, 5.0, seed=2)])
    ours = visual_attention(llm.model, prompt, layer=1)
    llm.model.set_attn_implementation("eager")
    with torch.inference_mode():
        out = llm.model(inputs_embeds=prompt.inputs_embeds, position_ids=prompt.position_ids,
                        attention_mask=prompt.attention_mask, output_attentions=True)  # fmt: skip
    reference = out.attentions[1][0, :, -1, :].float().mean(0)  # (L,) last token, mean over heads
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-4)


def test_drop_keeps_text_positions_and_the_most_attended_visual_tokens():
    llm = _llm()
    prompt = llm.build_inputs("who is there", [_block(16, 0.0), _block(16, 8.0, seed=3)])
    lean = drop_visual_tokens(llm.model, prompt, layer=0, keep=10)
    assert lean.n_visual == int(lean.is_visual.sum()) == 10
    assert int((~lean.is_visual).sum()) == int((~prompt.is_visual).sum())  # every text token stays
    scores = visual_attention(llm.model, prompt, layer=0)
    visual_idx = prompt.is_visual.nonzero().squeeze(1)
    top = visual_idx[scores[visual_idx].topk(10).indices]  # the 10 most attended visual tokens
    pos = prompt.position_ids[:, 0].T  # (L, 3)
    expected = {tuple(pos[i].tolist()) for i in top}
    kept = {tuple(p) for p in lean.position_ids[:, 0].T[lean.is_visual].tolist()}
    assert kept == expected  # the right tokens, at their original positions
    text_positions = [tuple(p) for p in pos[~prompt.is_visual].tolist()]
    assert [tuple(p) for p in lean.position_ids[:, 0].T[~lean.is_visual].tolist()] == text_positions


def test_dropping_is_off_by_default_and_runs_when_configured():
    blocks = [_block(16, 0.0), _block(16, 8.0, seed=3)]
    plain = _llm()
    assert plain.config.drop_layer is None
    full_keep = _llm(drop_layer=1, drop_keep=1.0)  # keeps everything: same answer as no dropping
    prompt = plain.build_inputs("what happens", blocks)
    assert full_keep.generate_ids(full_keep.build_inputs("what happens", blocks)) == plain.generate_ids(prompt)
    half = _llm(drop_layer=1, drop_keep=0.5)
    lean = drop_visual_tokens(plain.model, prompt, layer=1, keep=16)  # half of the 32 visual tokens
    assert lean.n_visual == 16
    expected = tiny_qwen.reference_greedy(plain, lean, plain.config.max_new_tokens)  # answers from the lean prompt
    ids = half.generate_ids(half.build_inputs("what happens", blocks))
    assert ids == expected
    assert half.generate("what happens", blocks) == half.tokenizer.decode(ids, skip_special_tokens=True)
