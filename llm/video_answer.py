"""The ``videollm`` answer backend: retrieved moments go to Qwen2.5-VL as compressed visual tokens.

For each moment the backend shows the model:

1. frames sampled at ``fps`` inside the moment, through the model's own vision tower, HiCo-compressed to
   ``config.tokens_per_frame`` per frame — cached as safetensors under ``cache_dir/<video_id>/`` so a
   second question about the same moment never touches the vision tower;
2. its share of ``config.token_budget``: :func:`~longvid.compression.allocate` gives every moment a thin
   floor (one token per frame) and splits the rest by retrieval score; a moment's share is split over
   its cached blocks by their length (:func:`~longvid.compression.budget.apportion`, at least one token
   each) and each block is merged down to its part (:func:`~longvid.compression.shrink_block`);
3. the blocks in time order, each after a ``<t=HH:MM:SS>`` marker, with V2PE/MRoPE positions, after the
   coarse level: the videos' overviews and chapter titles and summaries as text (``context``), cut to
   ``config.context_budget`` tokens at a line boundary.

The model is asked to cite moments as ``<t=HH:MM:SS>``; :func:`parse_citations` keeps only citations that
fall inside moments it was shown. When it cites none, :meth:`AnswerBackend.answer` cites the best
retrieved moment.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from longvid.compression import TokenBlock, allocate, compress_video, shrink_block
from longvid.compression.budget import apportion
from longvid.ingest import sample_frames

from .answer import Answer, AnswerBackend, Evidence, parse_citations
from .videollm import VideoLLM, load_blocks, save_blocks

log = logging.getLogger(__name__)

INSTRUCTION = (
    "Answer the question from the video moments above. After each statement, cite the moment it comes "
    "from with its time marker, like <t=00:01:05>. Question: "
)


class VideoLLMBackend(AnswerBackend):
    """Retrieval-then-reason with a :class:`VideoLLM`; ``last_plan`` records the last prompt's budget."""

    name = "videollm"
    reads_context = True

    def __init__(self, llm: VideoLLM, cache_dir: str | Path | None = None, fps: float = 1.0):
        self.llm = llm
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.fps = fps
        self.last_plan: list[int] = []  # visual tokens given to each block of the last prompt
        self.last_visual_tokens = 0  # visual placeholders in the last prompt (the fine level)
        self.last_context_tokens = 0  # text tokens of the overview and chapters in the last prompt (coarse level)

    def generate(self, question: str, evidence: Sequence[Evidence], context: str = "") -> Answer:
        moments = sorted(evidence, key=lambda e: (e.video_id, e.span.start_s))
        context = self.llm.fit_context(context)  # coarse level: the overview and chapters, within its budget
        cached = [self.moment_blocks(ev) for ev in moments]
        tpf = self.llm.config.tokens_per_frame
        frames = [max(1, sum(len(b) for b in blocks) // tpf) for blocks in cached]
        available = sum(len(b) for blocks in cached for b in blocks)
        shares = allocate([ev.score for ev in moments], frames, min(self.llm.config.token_budget, available),
                          floor_per_frame=1, max_per_frame=tpf)  # fmt: skip
        plan = [n for blocks, share in zip(cached, shares, strict=True) for n in _split(share, blocks)]
        shown = [shrink_block(b, n) for b, n in zip([b for bl in cached for b in bl], plan, strict=True)]
        prompt = self.llm.build_inputs(INSTRUCTION + question, shown, context=context)
        if prompt.n_visual != sum(plan):
            raise RuntimeError(f"the prompt holds {prompt.n_visual} visual tokens but {sum(plan)} were planned")
        self.last_plan, self.last_visual_tokens = plan, prompt.n_visual
        self.last_context_tokens = prompt.n_context
        text = self.llm.tokenizer.decode(self.llm.generate_ids(prompt), skip_special_tokens=True).strip()
        return Answer(text, tuple(parse_citations(text, moments)), self.name, tuple(moments))

    def moment_blocks(self, ev: Evidence) -> list[TokenBlock]:
        """HiCo blocks of one moment, from the cache or (once) from the frames."""
        cfg = self.llm.config
        key = f"{ev.span.start_s:.3f}-{ev.span.end_s:.3f}-fps{self.fps:g}-{cfg.frame_size[0]}px-{cfg.tokens_per_frame}t"
        path = self.cache_dir / ev.video_id / f"{key}.safetensors" if self.cache_dir else None
        if path is not None and path.exists():
            return load_blocks(path, device=cfg.device)
        pixels, times = frames_in(ev, self.fps)
        tokens = self.llm.encode_frames(pixels)  # (T, N, D)
        blocks = compress_video(tokens, torch.as_tensor(times), cfg.clip_len, cfg.tokens_per_frame)
        if path is not None:
            save_blocks(path, blocks, meta={"video_id": ev.video_id, "path": ev.path})
        return blocks


def frames_in(ev: Evidence, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels (T, H, W, 3), times (T,))`` sampled at ``fps`` inside the moment (at least one frame); only
    the moment is decoded (from the keyframe before it), however far into the video it lies."""
    batches = list(sample_frames(ev.path, fps=fps, span=ev.span))
    if not batches:
        raise ValueError(f"{ev.path}: no frame sampled at {fps} fps inside {ev.span}")
    frames = np.concatenate([b.pixels for b in batches])
    return frames, np.concatenate([b.timestamps_s for b in batches])


def _split(total: int, blocks: Sequence[TokenBlock]) -> list[int]:
    """``total`` tokens over ``blocks`` in proportion to their lengths, each at least 1 and at most its length."""
    lengths = [len(b) for b in blocks]
    return apportion(total, lengths, [1] * len(lengths), lengths)
