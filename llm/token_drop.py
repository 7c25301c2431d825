"""Attention-guided dropping of visual tokens during prefill (FastV-style; off by default).

The last prompt token — the end of the question — attends over the whole prompt. At a chosen decoder
layer, :func:`visual_attention` computes that attention (mean over heads, with the layer's own
projections and rotary embedding) by hooking the layer's attention input and stopping the forward pass
there, so the scoring pass costs only the layers before it. :func:`drop_visual_tokens` then keeps the
``keep`` visual tokens it attends to most and every text token. Kept tokens keep their positions (they
are explicit float position ids), so the answering prefill sees the same geometry, minus the tokens
that mattered least (``llm`` a loaded :class:`~longvid.llm.videollm.VideoLLM`; the tests run this on a
tiny random Qwen2.5-VL)::

    prompt = llm.build_inputs(question, blocks)
    lean = drop_visual_tokens(llm.model, prompt, layer=2, keep=prompt.n_visual // 2)
    assert lean.n_visual == prompt.n_visual // 2

``VideoLLMConfig(drop_layer=2, drop_keep=0.5)`` does the same inside ``VideoLLM.generate``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import torch

log = logging.getLogger(__name__)


class _Scored(Exception):  # noqa: N818  (control flow: stops the scoring pass at the chosen layer)
    pass


def _text_layers(model) -> torch.nn.ModuleList:
    return model.model.language_model.layers


@torch.inference_mode()
def visual_attention(model, prompt, layer: int) -> torch.Tensor:
    """``(L,)`` float32: how much the last prompt token attends to each token at decoder ``layer``."""
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import apply_rotary_pos_emb

    layers = _text_layers(model)
    if not 0 <= layer < len(layers):
        raise ValueError(f"drop layer {layer} is outside the model's {len(layers)} decoder layers")
    attn = layers[layer].self_attn
    found: dict[str, torch.Tensor] = {}

    def score(_module, args, kwargs):
        h = args[0] if args else kwargs["hidden_states"]  # (1, L, D), already normalised by the layer
        cos, sin = kwargs["position_embeddings"]  # (1, L, head_dim) each
        q = attn.q_proj(h[:, -1:]).view(1, 1, -1, attn.head_dim).transpose(1, 2)  # (1, H, 1, hd)
        k = attn.k_proj(h).view(1, h.shape[1], -1, attn.head_dim).transpose(1, 2)  # (1, Hkv, L, hd)
        q, _ = apply_rotary_pos_emb(q, q, cos[:, -1:], sin[:, -1:])
        k, _ = apply_rotary_pos_emb(k, k, cos, sin)
        k = k.repeat_interleave(attn.num_key_value_groups, dim=1)  # (1, H, L, hd)
        weights = ((q.float() @ k.float().transpose(-1, -2)) * attn.scaling).softmax(-1)  # (1, H, 1, L)
        found["scores"] = weights.mean(dim=1)[0, 0]  # (L,)
        raise _Scored

    handle = attn.register_forward_pre_hook(score, with_kwargs=True)
    try:
        model(inputs_embeds=prompt.inputs_embeds, position_ids=prompt.position_ids,
              attention_mask=prompt.attention_mask, use_cache=False)  # fmt: skip
    except _Scored:
        pass
    finally:
        handle.remove()
    if "scores" not in found:
        raise RuntimeError(f"decoder layer {layer} was never reached while scoring visual tokens")
    return found["scores"]


def drop_visual_tokens(model, prompt, layer: int, keep: int):
    """A copy of ``prompt`` with only the ``keep`` visual tokens the last token attends to most at
    ``layer`` (ties: earliest), and all text tokens; positions are unchanged."""
    if not 1 <= keep <= prompt.n_visual:
        raise ValueError(f"keep must be between 1 and the prompt's {prompt.n_visual} visual tokens, got {keep}")
    if keep == prompt.n_visual:
        return prompt
    scores = visual_attention(model, prompt, layer).cpu()  # (L,)
    visual = prompt.is_visual.cpu()
    order = torch.argsort(torch.where(visual, scores, torch.tensor(-1.0)), descending=True, stable=True)
    kept_visual = order[:keep]
    mask = ~visual
    mask[kept_visual] = True
    idx = mask.nonzero().squeeze(1).to(prompt.inputs_embeds.device)  # (L',) in prompt order
    log.debug("dropped %d of %d visual tokens at layer %d", prompt.n_visual - keep, prompt.n_visual, layer)
    return replace(
        prompt,
        input_ids=prompt.input_ids[:, idx],
        inputs_embeds=prompt.inputs_embeds[:, idx],
        position_ids=prompt.position_ids[:, :, idx],
        attention_mask=prompt.attention_mask[:, idx],
        is_visual=prompt.is_visual[idx],
        n_visual=keep,
    )
