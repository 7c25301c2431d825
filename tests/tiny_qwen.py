"""Tiny random Qwen2.5-VL pieces for tests, built in memory (nothing downloaded).

* :func:`tokenizer` — a word-level ``tokenizers`` model with Qwen's special tokens, so the config's vision
  token ids match it; ``<t=00:00:10>`` splits into 9 tokens ``< t = 00 : 00 : 10 >``.
* :func:`model` — the architecture of :class:`longvid.app.doctor.TinyQwenSpec` (hidden size 32, 2 layers,
  vision depth 2, 8 px patches, 2x2 merge) with this tokenizer's ids; seeded random weights.
* :func:`processor` — the stock ``Qwen2_5_VLProcessor`` over that tokenizer, with an image processor and a
  video processor configured to keep frames at their size (multiples of 16 px) and never sample frames.
* :func:`block` — a hand-made :class:`TokenBlock` with known provenance.
* :func:`reference_greedy` — greedy decoding by full uncached forwards, the slow obvious way.
"""

from __future__ import annotations

import torch

from longvid.app.doctor import TinyQwenSpec, tiny_qwen_config
from longvid.compression.hico import TokenBlock
from longvid.ingest.types import TimeSpan

SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|video_pad|>",
    "<|image_pad|>",
]
WORDS = ["[UNK]", "system", "user", "assistant", "You", "are", "a", "helpful", ".", "?", "<", "t", "=", ">", ":"]
WORDS += ["what", "happens", "who", "is", "there"] + [f"{i:02d}" for i in range(60)]
VOCAB = {w: i for i, w in enumerate(SPECIALS + WORDS)}
DIM = 32  # language model width = merged visual token width
PATCH = 8  # px per vision patch side; a merged token covers 16 x 16 px

SPEC = TinyQwenSpec(
    vocab_size=len(VOCAB),
    pad_token_id=VOCAB["<|endoftext|>"],
    eos_token_id=VOCAB["<|im_end|>"],
    vision_start_token_id=VOCAB["<|vision_start|>"],
    vision_end_token_id=VOCAB["<|vision_end|>"],
    video_token_id=VOCAB["<|video_pad|>"],
    image_token_id=VOCAB["<|image_pad|>"],
    hidden_size=DIM,
    patch_size=PATCH,
    tokens_per_second=2,
)


def tokenizer():
    """A fast word-level tokenizer over :data:`VOCAB` (whitespace/punctuation split, Qwen specials)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(vocab=VOCAB, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(SPECIALS)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="<|im_end|>")


def model(seed: int = 0):
    """The tiny ``Qwen2_5_VLForConditionalGeneration`` (fp32, eval mode, seeded random weights)."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    torch.manual_seed(seed)
    return Qwen2_5_VLForConditionalGeneration(tiny_qwen_config(SPEC)).eval()


def processor(tok=None, frame_px: int = 128):
    """Stock ``Qwen2_5_VLProcessor`` for the tiny model: frames of ``frame_px`` x ``frame_px`` stay that size.

    ``smart_resize`` keeps a side that is a multiple of ``patch * merge = 16`` px when the frame's pixel
    count lies inside ``[shortest_edge, longest_edge]``; both bounds are set to exactly that count.
    """
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    pixels = frame_px * frame_px
    common = {"patch_size": PATCH, "merge_size": 2, "temporal_patch_size": 2}
    size = {"shortest_edge": pixels, "longest_edge": pixels}
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=size, **common),
        tokenizer=tok if tok is not None else tokenizer(),
        video_processor=Qwen2VLVideoProcessor(size=size, do_sample_frames=False, cap_pixels_per_frame=False, **common),
    )


def block(n: int, start_s: float, seed: int = 1) -> TokenBlock:
    """``n`` random tokens (``n`` a multiple of 4): two frames at ``start_s`` and ``start_s + 2`` s, patches
    0, 1, 4, 5 of a 4-wide grid, each token standing for 4 patches; span ``[start_s, start_s + 4)``."""
    g = torch.Generator().manual_seed(seed)
    return TokenBlock(
        tokens=torch.randn(n, DIM, generator=g),
        sizes=torch.full((n,), 4, dtype=torch.int64),
        frame_index=torch.arange(n, dtype=torch.int64) // 2,
        patch_index=torch.tensor([0, 1, 4, 5] * (n // 4), dtype=torch.int64),
        span=TimeSpan(start_s, start_s + 4.0),
        times_s=torch.tensor([start_s, start_s, start_s + 2, start_s + 2] * (n // 4), dtype=torch.float64),
    )


@torch.inference_mode()
def reference_greedy(llm, prompt, max_new_tokens: int) -> list[int]:
    """Greedy tokens for ``prompt`` by a full forward over the whole sequence at every step (no KV cache).

    Generated tokens sit at ``max(prompt positions) + 1, + 2, ...`` in all three MRoPE rows; decoding
    stops before a token in ``llm.stop_ids``.
    """
    embed = llm.model.get_input_embeddings()
    embeds, positions = prompt.inputs_embeds, prompt.position_ids  # (1, L, D), (3, 1, L)
    next_pos = prompt.next_position
    new: list[int] = []
    for _ in range(max_new_tokens):
        logits = llm.model(inputs_embeds=embeds, position_ids=positions).logits  # (1, L', V)
        token = int(logits[0, -1].argmax())
        if token in llm.stop_ids:
            break
        new.append(token)
        step = torch.full((3, 1, 1), next_pos, dtype=positions.dtype, device=positions.device)
        embeds = torch.cat([embeds, embed(torch.tensor([[token]], device=embeds.device))], dim=1)
        positions = torch.cat([positions, step], dim=2)
        next_pos += 1.0
    return new


def real_checkpoint_dir():
    """The local Qwen2.5-VL checkpoint directory named by ``LONGVID_QWEN_DIR``, on a host with CUDA; skips
    the test otherwise."""
    import os
    from pathlib import Path

    import pytest

    raw = os.environ.get("LONGVID_QWEN_DIR")
    if not raw:
        pytest.skip("set LONGVID_QWEN_DIR to a local Qwen2.5-VL checkpoint directory (tests never download)")
    path = Path(raw).expanduser()
    if not (path / "config.json").is_file():
        pytest.skip(f"LONGVID_QWEN_DIR={raw} is not a checkpoint directory (no config.json there)")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    return path
