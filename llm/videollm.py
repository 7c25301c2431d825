"""The long-video VLM: Qwen2.5-VL fed with HiCo-compressed visual tokens and V2PE float positions.

The model's own vision tower encodes frames once (``encode_frames``); ``longvid.compression`` merges
them into :class:`TokenBlock` s (cacheable with ``save_blocks``/``load_blocks``); a question is then
answered from the blocks alone, so a second question never runs the vision tower again::

    >>> from longvid.ingest import sample_frames
    >>> from longvid.compression import compress_video
    >>> from longvid.llm.videollm import VideoLLM, VideoLLMConfig
    >>> llm = VideoLLM.from_pretrained("Qwen/Qwen2.5-VL-7B-Instruct", VideoLLMConfig(device="cuda"))  # doctest: +SKIP
    >>> batch = next(sample_frames("assets/demo.mp4", fps=0.5))                                      # doctest: +SKIP
    >>> patches = llm.encode_frames(batch.pixels)                          # (T, N, D)  # doctest: +SKIP
    >>> blocks = compress_video(patches, batch.timestamps_s, clip_len=4, tokens_per_frame=16)  # doctest: +SKIP
    >>> llm.generate("What is written on the sign?", blocks)                                  # doctest: +SKIP

Prompt layout (ChatML, as Qwen2.5-VL-Instruct was trained)::

    <|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\n{context}\\n
    <t=00:00:00><|vision_start|><|video_pad|> x len(block 0)<|vision_end|>
    <t=00:00:08><|vision_start|><|video_pad|> x len(block 1)<|vision_end|> ...
    {question}<|im_end|>\\n<|im_start|>assistant\\n

Every ``<|video_pad|>`` position gets one compressed visual token written into ``inputs_embeds``;
the number of placeholders must equal the number of visual tokens or :class:`PlaceholderMismatchError`
is raised with both numbers. Positions come from :func:`longvid.compression.mrope_positions` (V2PE:
visual tokens advance by a fraction ``delta``, the temporal MRoPE component follows seconds) as
*float* ``(3, B, L)`` position ids. Qwen2.5-VL's rotary embedding computes
``position_ids[..., None].float() * inv_freq`` in fp32, so float positions reach RoPE unrounded.

With ``delta = 1`` and un-merged blocks (``tokens_per_frame`` = the vision tower's tokens per frame), the
prompt's ids, embeddings and positions are exactly what stock transformers builds for the same layout from
``Qwen2_5_VLProcessor`` (one stock video per block, each frame in it twice; ``tests/test_videollm_reference.py``).

Decoding is a small explicit greedy loop over the model's KV cache (not ``model.generate``), so the
positions of generated tokens are ours too: the first new token sits at ``max(prompt positions) + 1``
(all three MRoPE components equal, as Qwen2.5-VL does for text after a video) and each next one at +1.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional

from longvid.compression.hico import TokenBlock
from longvid.compression.v2pe import choose_delta, mrope_positions
from longvid.ingest.atomic import atomic_path
from longvid.ingest.types import TimeSpan, timecode

from .token_drop import drop_visual_tokens

log = logging.getLogger(__name__)

# CLIP normalisation used by Qwen2-VL / Qwen2.5-VL image and video processors.
QWEN_MEAN = (0.48145466, 0.4578275, 0.40821073)
QWEN_STD = (0.26862954, 0.26130258, 0.27577711)

BLOCK_CACHE_FORMAT = "longvid.token_blocks/1"


class PlaceholderMismatchError(ValueError):
    """The prompt's visual placeholders and the visual tokens to write into them differ in number."""


# --------------------------------------------------------------------------------------------- config


def _flash_attn_usable(device: str) -> tuple[bool, str]:
    if not device.startswith("cuda") or not torch.cuda.is_available():
        return False, "no CUDA device"
    if importlib.util.find_spec("flash_attn") is None:
        return False, "flash-attn not installed"
    return True, ""


def _sdpa_usable(device: str) -> tuple[bool, str]:
    return True, ""


def _eager_usable(device: str) -> tuple[bool, str]:
    return True, ""


# Attention implementations in order of preference; each maps to a check (usable, why-not).
ATTENTION_IMPLEMENTATIONS: dict[str, Callable[[str], tuple[bool, str]]] = {
    "flash_attention_2": _flash_attn_usable,
    "sdpa": _sdpa_usable,
    "eager": _eager_usable,
}


def choose_attention(device: str, requested: str | None = None) -> str:
    """The attention implementation to load the model with.

    ``requested=None`` picks the first usable entry of :data:`ATTENTION_IMPLEMENTATIONS` and logs why a
    faster one was skipped ("flash-attn not installed; using sdpa"). A requested one that is not usable
    raises ``ValueError`` naming the reason.
    """
    if requested is not None:
        if requested not in ATTENTION_IMPLEMENTATIONS:
            raise ValueError(f"unknown attention {requested!r}; choose one of {sorted(ATTENTION_IMPLEMENTATIONS)}")
        ok, why = ATTENTION_IMPLEMENTATIONS[requested](device)
        if not ok:
            raise ValueError(f"attention {requested!r} is not usable on device {device!r}: {why}")
        return requested
    skipped = []
    for name, check in ATTENTION_IMPLEMENTATIONS.items():
        ok, why = check(device)
        if ok:
            for other, reason in skipped:
                log.info("%s unavailable (%s); using %s", other, reason, name)
            return name
        skipped.append((name, why))
    raise RuntimeError("no attention implementation is usable")  # unreachable: sdpa always is


@dataclass(frozen=True)
class VideoLLMConfig:
    """Options of the VideoLLM. Results echo them; unknown keys are an error (dataclass init)."""

    model: str = "Qwen/Qwen2.5-VL-7B-Instruct"  # hub name or local path of the checkpoint
    device: str = "cpu"  # torch device string ("cpu", "cuda", "cuda:1")
    dtype: str = "float32"  # model weights dtype ("float32", "bfloat16", "float16")
    attention: str | None = None  # "flash_attention_2" | "sdpa" | "eager"; None = best usable (logged)
    frame_size: tuple[int, int] = (448, 448)  # (H, W) px frames are resized to; multiple of patch*merge
    tokens_per_frame: int = 16  # HiCo target tokens per frame after clip-level merging
    clip_len: int = 4  # frames per HiCo clip
    token_budget: int = 16384  # most visual tokens one prompt may carry
    context_budget: int = 1024  # most text tokens of overview and chapters before the moments
    max_new_tokens: int = 256  # greedy decoding stops after this many tokens (or at an end token)
    delta: float | None = None  # V2PE step of a visual token; None = choose_delta(...) to fit `window`
    window: int = 32768  # positions the prompt (text + visual) must fit into; the model's trained window
    vision_batch_frames: int = 32  # frames per vision-tower call (memory bound)
    system_prompt: str = "You are a helpful assistant."  # ChatML system turn
    extra_stop_tokens: tuple[str, ...] = ("<|im_end|>", "<|endoftext|>")  # decoding also stops on these
    drop_layer: int | None = None  # attention-guided visual token dropping at this decoder layer; None = off
    drop_keep: float = 0.5  # fraction of visual tokens kept when dropping

    def __post_init__(self) -> None:
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {self.dtype!r}")
        for name in ("tokens_per_frame", "clip_len", "token_budget", "max_new_tokens", "window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.delta is not None and not (0 < self.delta <= 1):
            raise ValueError(f"delta must be in (0, 1], got {self.delta}")
        if not 0 < self.drop_keep <= 1:
            raise ValueError(f"drop_keep must be in (0, 1], got {self.drop_keep}")

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)


# --------------------------------------------------------------------------------------------- prompt


@dataclass
class VideoPrompt:
    """Model inputs for one question over some token blocks (batch size 1).

    ``position_ids`` are float ``(3, 1, L)`` (temporal, height, width MRoPE components).
    """

    input_ids: torch.Tensor  # (1, L) long; visual positions hold the video placeholder id
    inputs_embeds: torch.Tensor  # (1, L, D) text embeddings with visual tokens written in
    position_ids: torch.Tensor  # (3, 1, L) float32
    attention_mask: torch.Tensor  # (1, L) long, all ones
    is_visual: torch.Tensor  # (L,) bool
    delta: float  # V2PE visual step used
    n_visual: int  # visual tokens written (== sum of block lengths)
    n_context: int = 0  # text tokens of the coarse context (overviews, chapters) before the first block

    @property
    def next_position(self) -> float:
        """Where the first generated token goes: one past the largest prompt position."""
        return float(self.position_ids.max()) + 1.0


def format_timestamp(t_s: float) -> str:
    """``3725.4 -> "<t=01:02:05>"`` (floor to whole seconds)."""
    return f"<t={timecode(math.floor(t_s), hours=True)}>"


def scatter_visual_tokens(
    text_embeds: torch.Tensor, is_visual: torch.Tensor, visual_tokens: torch.Tensor
) -> torch.Tensor:
    """Write ``visual_tokens`` (V, D) into the placeholder rows of ``text_embeds`` (L, D).

    Raises :class:`PlaceholderMismatchError` when ``is_visual.sum() != V``; never pads or truncates.
    """
    n_placeholders = int(is_visual.sum())
    n_tokens = int(visual_tokens.shape[0])
    if n_placeholders != n_tokens:
        raise PlaceholderMismatchError(
            f"prompt has {n_placeholders} visual placeholders but {n_tokens} visual tokens were given; "
            "they must be equal (does the question text contain the video placeholder token?)"
        )
    if visual_tokens.shape[-1] != text_embeds.shape[-1]:
        raise ValueError(
            f"visual tokens are {visual_tokens.shape[-1]}-d but the language model expects "
            f"{text_embeds.shape[-1]}-d embeddings; were the blocks made with another model's vision tower?"
        )
    out = text_embeds.clone()
    out[is_visual] = visual_tokens.to(out.dtype)
    return out


def _as_tensor(x, dtype=None) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))
    return t if dtype is None else t.to(dtype)


# --------------------------------------------------------------------------------------------- model


class VideoLLM:
    """Qwen2.5-VL answering questions from compressed visual token blocks.

    Args:
        model: a ``Qwen2_5_VLForConditionalGeneration`` (already on its device, in eval mode).
        tokenizer: its tokenizer, or a processor with a ``.tokenizer``.
        config: options; ``config.device``/``dtype`` describe where ``model`` lives.
    """

    def __init__(self, model, tokenizer, config: VideoLLMConfig | None = None) -> None:
        self.config = config or VideoLLMConfig()
        self.model = model.eval()
        self.tokenizer = getattr(tokenizer, "tokenizer", tokenizer)
        mcfg = model.config
        vcfg = mcfg.vision_config
        self.video_token_id: int = mcfg.video_token_id
        self.patch_size: int = vcfg.patch_size
        self.merge_size: int = vcfg.spatial_merge_size
        self.temporal_patch_size: int = vcfg.temporal_patch_size
        # MRoPE temporal units per second of video (Qwen2.5-VL-7B: 2), so temporal ids follow seconds.
        self.tokens_per_second: float = float(getattr(vcfg, "tokens_per_second", 2))
        unit = self.patch_size * self.merge_size
        h, w = self.config.frame_size
        if h % unit or w % unit:
            raise ValueError(
                f"frame_size {self.config.frame_size} must be a multiple of patch_size*merge_size={unit} "
                f"in both sides, e.g. {(max(unit, round(h / unit) * unit), max(unit, round(w / unit) * unit))}"
            )
        self.grid_hw: tuple[int, int] = (h // unit, w // unit)  # merged-token grid of one frame
        vid_tok = self.tokenizer.convert_ids_to_tokens(self.video_token_id)
        if vid_tok is None:
            raise ValueError(f"video_token_id {self.video_token_id} is not in the tokenizer's vocabulary")
        self.video_token: str = vid_tok
        self.stop_ids: set[int] = set()
        for ids in (getattr(mcfg.text_config, "eos_token_id", None), self.tokenizer.eos_token_id):
            self.stop_ids.update([ids] if isinstance(ids, int) else (ids or []))
        for tok in self.config.extra_stop_tokens:
            tid = self.tokenizer.convert_tokens_to_ids(tok)
            if tid is not None and tid != self.tokenizer.unk_token_id:
                self.stop_ids.add(tid)

    @classmethod
    def from_pretrained(
        cls,
        path_or_name: str | Path | None = None,
        config: VideoLLMConfig | None = None,
        *,
        local_files_only: bool = False,
    ):
        """Load checkpoint and processor (``path_or_name`` defaults to ``config.model``).

        ``local_files_only=True`` never touches the hub: ``path_or_name`` must be a local checkpoint
        directory (or a name already in the local cache).
        """
        from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

        config = config or VideoLLMConfig()
        name = str(path_or_name or config.model)
        attention = choose_attention(config.device, config.attention)
        log.info("loading %s (%s, %s, attention=%s)", name, config.device, config.dtype, attention)
        model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            name, dtype=config.torch_dtype, attn_implementation=attention, local_files_only=local_files_only
        ).to(config.device)
        processor = AutoProcessor.from_pretrained(name, local_files_only=local_files_only)
        return cls(model, processor, config)

    # -- vision ----------------------------------------------------------------------------------

    @property
    def visual(self) -> torch.nn.Module:
        return self.model.model.visual

    def _patchify(self, frames: torch.Tensor) -> torch.Tensor:
        """(T, 3, H, W) normalised float -> (T*gh*gw, 3*tp*p*p) in the Qwen2-VL processor's layout.

        Each frame is repeated ``temporal_patch_size`` times (a still "video" of one frame), so every
        frame gets its own tokens and its own timestamp; see :meth:`encode_frames`.
        """
        t, c, h, w = frames.shape
        p, m, tp = self.patch_size, self.merge_size, self.temporal_patch_size
        gh, gw = h // p, w // p
        x = frames[:, None].expand(t, tp, c, h, w)  # (T, tp, C, H, W)
        x = x.reshape(t, tp, c, gh // m, m, p, gw // m, m, p)
        x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)  # (T, gh/m, gw/m, m, m, C, tp, p, p)
        return x.reshape(t * gh * gw, c * tp * p * p)

    @torch.inference_mode()
    def encode_frames(self, pixels: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Encode frames with the model's own vision tower and patch merger.

        Args:
            pixels: ``(T, H, W, 3)`` uint8 RGB frames of any size.

        Returns:
            ``(T, N, D)`` float tokens on the model's device, ``N = grid_h * grid_w`` merged tokens per
            frame in row-major order (token ``n`` is at row ``n // grid_w``, column ``n % grid_w``),
            ``D`` the language model's hidden size.

        Frames are resized (bicubic, antialiased) to ``config.frame_size`` and normalised as the Qwen
        processor does. Qwen2.5-VL's patch embedding is a 3D convolution over ``temporal_patch_size``
        (2) consecutive frames; we feed each frame *duplicated* into both temporal slots (exactly what
        the Qwen processor does for a single image), so tokens stay one-per-frame with exact times at
        twice the vision compute of pairing frames. Frames are independent in the vision tower
        (attention never crosses frames), so batching them in chunks does not change the result.
        """
        x = _as_tensor(pixels)
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"pixels must be (T, H, W, 3) uint8, got shape {tuple(x.shape)}")
        if x.dtype != torch.uint8:
            raise ValueError(f"pixels must be uint8, got {x.dtype}")
        t = x.shape[0]
        gh, gw = self.grid_hw
        n = gh * gw
        dim = self.model.config.text_config.hidden_size
        if t == 0:
            return torch.zeros(0, n, dim, device=self.config.device)
        h, w = self.config.frame_size
        mean = torch.tensor(QWEN_MEAN, device=self.config.device).view(1, 3, 1, 1)
        std = torch.tensor(QWEN_STD, device=self.config.device).view(1, 3, 1, 1)
        vis_dtype = next(self.visual.parameters()).dtype
        out = []
        for start in range(0, t, self.config.vision_batch_frames):
            chunk = x[start : start + self.config.vision_batch_frames].to(self.config.device)
            f = chunk.permute(0, 3, 1, 2).float()  # (t, 3, H0, W0)
            if f.shape[-2:] != (h, w):
                f = functional.interpolate(f, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
                f = f.clamp(0, 255)
            f = (f / 255.0 - mean) / std
            patches = self._patchify(f).to(vis_dtype)  # (t*gh*m*gw*m, C*tp*p*p)
            grid = torch.tensor([[1, gh * self.merge_size, gw * self.merge_size]] * f.shape[0])
            res = self.visual(patches, grid_thw=grid.to(self.config.device))
            merged = res.pooler_output if hasattr(res, "pooler_output") else res  # (t*N, D)
            out.append(merged.reshape(f.shape[0], n, -1))
        return torch.cat(out)  # (T, N, D)

    # -- prompt ----------------------------------------------------------------------------------

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _choose_delta(self, n_text: int, n_visual: int) -> float:
        if self.config.delta is not None:
            return self.config.delta
        return float(choose_delta(n_text, n_visual, self.config.window))

    @torch.inference_mode()
    def fit_context(self, context: str) -> str:
        """``context``'s first lines that fit ``config.context_budget`` tokens (whole lines only)."""
        kept, used = [], 0
        for line in context.splitlines():
            n = len(self._ids(line + "\n"))
            if used + n > self.config.context_budget:
                break
            kept.append(line)
            used += n
        if len(kept) < len(context.splitlines()):
            log.info("context cut to %d of %d lines (%d tokens, context_budget=%d)", len(kept),
                     len(context.splitlines()), used, self.config.context_budget)  # fmt: skip
        return "\n".join(kept)

    def build_inputs(self, question: str, blocks: Sequence[TokenBlock], context: str = "") -> VideoPrompt:
        """Build ``inputs_embeds``, float MRoPE ``position_ids`` and the attention mask for a question.

        Each block contributes ``format_timestamp(block.span.start_s)`` and then exactly
        ``len(block.tokens)`` placeholder positions. Raises :class:`PlaceholderMismatchError` when the
        tokenised prompt's placeholders do not equal the visual tokens, and ``ValueError`` when the
        blocks exceed ``config.token_budget``.
        """
        n_visual = sum(int(b.tokens.shape[0]) for b in blocks)
        if n_visual > self.config.token_budget:
            raise ValueError(
                f"blocks hold {n_visual} visual tokens, over token_budget={self.config.token_budget}; "
                "allocate fewer tokens per segment (longvid.compression.allocate) or raise the budget"
            )
        cfg = self.config
        tok = self.tokenizer
        start_ids = tok.convert_tokens_to_ids("<|vision_start|>")
        end_ids = tok.convert_tokens_to_ids("<|vision_end|>")
        ids: list[int] = self._ids(f"<|im_start|>system\n{cfg.system_prompt}<|im_end|>\n<|im_start|>user\n")
        context_ids = self._ids(context + "\n") if context else []  # the coarse level, before the moments
        ids += context_ids
        vis: list[bool] = [False] * len(ids)
        times: list[float] = [0.0] * len(ids)
        spatial: list[tuple[int, int]] = [(0, 0)] * len(ids)
        gw = self.grid_hw[1]
        for b in blocks:
            marker = [*self._ids(format_timestamp(b.span.start_s)), start_ids]
            ids += marker
            vis += [False] * len(marker)
            times += [float(b.span.start_s)] * len(marker)
            spatial += [(0, 0)] * len(marker)
            n = int(b.tokens.shape[0])
            ids += [self.video_token_id] * n
            vis += [True] * n
            times += [float(t) for t in _as_tensor(b.times_s).tolist()]
            spatial += [divmod(int(p), gw) for p in _as_tensor(b.patch_index).tolist()]
            ids.append(end_ids)
            vis.append(False)
            times.append(float(b.span.end_s))
            spatial.append((0, 0))
        tail = self._ids(f"{question}<|im_end|>\n<|im_start|>assistant\n")
        ids += tail
        vis += [False] * len(tail)
        times += [times[-1] if times else 0.0] * len(tail)
        spatial += [(0, 0)] * len(tail)

        device = cfg.device
        input_ids = torch.tensor([ids], dtype=torch.long, device=device)  # (1, L)
        is_placeholder = input_ids[0] == self.video_token_id  # (L,) what the tokenizer actually made
        visual = (
            torch.cat([_as_tensor(b.tokens) for b in blocks]).to(device)
            if blocks
            else torch.zeros(0, self.model.config.text_config.hidden_size, device=device)
        )  # (V, D)
        embed = self.model.get_input_embeddings()
        text_embeds = embed(input_ids)[0]  # (L, D)
        inputs_embeds = scatter_visual_tokens(text_embeds, is_placeholder, visual)[None]  # (1, L, D)

        is_visual = torch.tensor(vis, dtype=torch.bool)
        delta = self._choose_delta(len(ids) - n_visual, n_visual)
        pos = mrope_positions(
            is_visual,
            delta,
            torch.tensor(times, dtype=torch.float64),  # (L,) seconds; read for visual tokens only
            torch.tensor(spatial, dtype=torch.long),  # (L, 2) representative patch (row, col)
            seconds_per_unit=1.0 / self.tokens_per_second,
        )  # (3, L)
        pos = _as_tensor(pos, torch.float32)
        if pos.shape != (3, len(ids)):
            raise ValueError(f"mrope_positions returned shape {tuple(pos.shape)}, expected (3, {len(ids)})")
        return VideoPrompt(
            input_ids=input_ids,
            inputs_embeds=inputs_embeds,
            position_ids=pos[:, None, :].to(device),  # (3, 1, L)
            attention_mask=torch.ones_like(input_ids),
            is_visual=is_visual.to(device),
            delta=float(delta),
            n_visual=n_visual,
            n_context=len(context_ids),
        )

    # -- decoding --------------------------------------------------------------------------------

    @torch.inference_mode()
    def generate_ids(self, prompt: VideoPrompt, max_new_tokens: int | None = None) -> list[int]:
        """Greedy decoding with our own positions; returns the new token ids (stop token excluded)."""
        from transformers import DynamicCache

        limit = self.config.max_new_tokens if max_new_tokens is None else max_new_tokens
        if self.config.drop_layer is not None and prompt.n_visual:
            keep = max(1, round(prompt.n_visual * self.config.drop_keep))
            prompt = drop_visual_tokens(self.model, prompt, self.config.drop_layer, keep)
        cache = DynamicCache(config=self.model.config.text_config)  # filled in place by every forward
        # transformers >= 5.x names the KV-cache argument `cache` (`past_key_values` is deprecated there)
        cache_arg = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        mask = prompt.attention_mask
        out = self.model(
            inputs_embeds=prompt.inputs_embeds,
            position_ids=prompt.position_ids,
            attention_mask=mask,
            use_cache=True,
            logits_to_keep=1,
            **{cache_arg: cache},
        )
        next_pos = prompt.next_position
        new: list[int] = []
        embed = self.model.get_input_embeddings()
        for _ in range(limit):
            token = int(out.logits[0, -1].argmax())
            if token in self.stop_ids:
                break
            new.append(token)
            if len(new) == limit:
                break
            step_ids = torch.tensor([[token]], device=mask.device)
            mask = torch.cat([mask, torch.ones_like(step_ids)], dim=1)
            pos = torch.full((3, 1, 1), next_pos, dtype=torch.float32, device=mask.device)
            out = self.model(
                inputs_embeds=embed(step_ids),
                position_ids=pos,
                attention_mask=mask,
                use_cache=True,
                **{cache_arg: cache},
            )
            next_pos += 1.0
        return new

    def generate(self, question: str, blocks: Sequence[TokenBlock], max_new_tokens: int | None = None) -> str:
        """Answer ``question`` from ``blocks`` (greedy); never runs the vision tower."""
        prompt = self.build_inputs(question, blocks)
        ids = self.generate_ids(prompt, max_new_tokens)
        return self.tokenizer.decode(ids, skip_special_tokens=True)


# --------------------------------------------------------------------------------------------- cache

_BLOCK_TENSORS = ("tokens", "sizes", "frame_index", "patch_index", "times_s")  # + optional "assign"


def save_blocks(path: str | Path, blocks: Sequence[TokenBlock], meta: dict | None = None) -> None:
    """Write ``blocks`` to one safetensors file atomically (tensors + JSON spans and ``meta``)."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    spans = []
    for i, b in enumerate(blocks):
        for name in _BLOCK_TENSORS:
            tensors[f"{i}.{name}"] = _as_tensor(getattr(b, name)).detach().cpu().contiguous()
        if b.assign is not None:
            tensors[f"{i}.assign"] = b.assign.detach().cpu().contiguous()
        spans.append([b.span.start_s, b.span.end_s])
    header = {
        "format": BLOCK_CACHE_FORMAT,
        "n_blocks": len(blocks),
        "spans": spans,
        "meta": meta or {},
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"longvid": json.dumps(header)})


def load_blocks(path: str | Path, device: str = "cpu") -> list[TokenBlock]:
    """Read blocks written by :func:`save_blocks` (exact: same dtypes, values and spans)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device=device) as fh:
        raw = (fh.metadata() or {}).get("longvid")
        if raw is None:
            raise ValueError(f"{path} is not a longvid token-block cache (no 'longvid' metadata)")
        header = json.loads(raw)
        if header.get("format") != BLOCK_CACHE_FORMAT:
            raise ValueError(f"{path}: unsupported cache format {header.get('format')!r}, want {BLOCK_CACHE_FORMAT}")
        keys = set(fh.keys())
        blocks = []
        for i, (start_s, end_s) in enumerate(header["spans"]):
            fields = {name: fh.get_tensor(f"{i}.{name}") for name in _BLOCK_TENSORS}
            assign = fh.get_tensor(f"{i}.assign") if f"{i}.assign" in keys else None
            blocks.append(TokenBlock(span=TimeSpan(start_s, end_s), assign=assign, **fields))
    return blocks
