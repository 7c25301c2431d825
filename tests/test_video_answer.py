"""The videollm backend with a tiny random Qwen2.5-VL built in the test, on the real demo video.

A scripted model (the tiny model, with its decoding replaced by a fixed reply) pins down which citations
survive; ask() end to end through the real greedy decoding checks the prompt: the planned budget reaches
it exactly, every shown moment's time marker is in it, and a second question never runs the vision tower.
"""

import logging
import random
from dataclasses import replace

import pytest
import torch

from longvid.app import Library
from longvid.app.memory import context_text
from longvid.compression import allocate, compress_video, shrink_block
from longvid.compression.budget import apportion
from longvid.ingest import TimeSpan
from longvid.llm import Citation, Evidence
from longvid.llm.video_answer import VideoLLMBackend
from longvid.llm.videollm import VideoLLM, VideoLLMConfig, VideoPrompt, format_timestamp

from . import tiny_qwen
from .conftest import DEMO

# 64x64 frames -> 16 merged tokens per frame, cached at 4 per frame
CONFIG = VideoLLMConfig(frame_size=(64, 64), tokens_per_frame=4, token_budget=100, max_new_tokens=5)
# three moments of the demo video, given neither in time order nor in score order
SHOWN = [
    Evidence("demo", str(DEMO), TimeSpan(36, 48), transcript="approved by the board", score=0.5),
    Evidence("demo", str(DEMO), TimeSpan(0, 12), transcript="welcome", score=0.2),
    Evidence("demo", str(DEMO), TimeSpan(12, 24), tags=("tabby cat",), score=0.9),
]


class ScriptedVideoLLM(VideoLLM):
    """The tiny VideoLLM whose greedy decoding is replaced by the tokens of ``reply``; it records the
    prompts it was given. Its tokenizer joins tokens without spaces, so ``<t=00:00:40>`` decodes as is."""

    def __init__(self, reply: str):
        from tokenizers import decoders

        tokenizer = tiny_qwen.tokenizer()
        tokenizer.backend_tokenizer.decoder = decoders.Fuse()
        super().__init__(tiny_qwen.model(), tokenizer, CONFIG)
        self.reply = reply
        self.prompts: list[VideoPrompt] = []

    def generate_ids(self, prompt: VideoPrompt, max_new_tokens: int | None = None) -> list[int]:
        self.prompts.append(prompt)
        ids = self.tokenizer(self.reply, add_special_tokens=False)["input_ids"]
        assert self.tokenizer.unk_token_id not in ids, "the reply uses a word the tiny vocabulary lacks"
        return ids


@pytest.fixture(scope="module")
def tiny_llm():
    return VideoLLM(tiny_qwen.model(), tiny_qwen.tokenizer(), CONFIG)


def _marker_at(ids: list[int], tokenizer, t_s: float) -> bool:
    """Whether ``ids`` hold the ``<t=HH:MM:SS>`` marker of ``t_s`` followed by ``<|vision_start|>``."""
    marker = [*tokenizer(format_timestamp(t_s), add_special_tokens=False)["input_ids"]]
    marker.append(tokenizer.convert_tokens_to_ids("<|vision_start|>"))
    return any(ids[i : i + len(marker)] == marker for i in range(len(ids)))


def test_apportion_is_exact_and_bounded():
    assert apportion(10, [64, 64, 32], [1, 1, 1], [64, 64, 32]) == [4, 4, 2]
    assert apportion(3, [1, 1, 1], [1, 1, 1], [1, 1, 1]) == [1, 1, 1]
    lengths = [16, 16, 16, 8, 40]
    assert sum(apportion(95, lengths, [1] * 5, lengths)) == 95
    # the first block's proportional share (0.43) is below its floor: it keeps 1, the rest split 15 as 16:64:64
    assert apportion(16, [4, 16, 64, 64], [1] * 4, [4, 16, 64, 64]) == [1, 2, 7, 6]
    with pytest.raises(
        ValueError, match=r"cannot apportion 2 over 3 items: their bounds \(and weights\) allow 3 to 15"
    ):
        apportion(2, [5, 5, 5], [1, 1, 1], [5, 5, 5])
    with pytest.raises(ValueError, match="weights must be finite and >= 0"):
        apportion(2, [1, -1], [0, 0], [2, 2])
    rng = random.Random(0)
    for _ in range(300):
        n = rng.randint(1, 6)
        weights = [rng.choice([0.0, rng.random(), 1.0]) for _ in range(n)]
        lower = [rng.randint(0, 3) for _ in range(n)]
        upper = [lo + rng.randint(0, 30) for lo in lower]
        top = sum(lower) + sum(hi - lo for w, lo, hi in zip(weights, lower, upper, strict=True) if w > 0)
        total = rng.randint(sum(lower), top)
        out = apportion(total, weights, lower, upper)
        assert sum(out) == total and all(lo <= o <= hi for o, lo, hi in zip(out, lower, upper, strict=True))


def test_allocate_is_the_same_apportionment_above_the_floors():
    relevance, frames = [0.0, 1.0, 3.0], [30, 30, 10]
    floors, room = [30, 30, 10], [64 * 30 - 30, 64 * 30 - 30, 64 * 10 - 10]
    extra = apportion(500 - 70, [1e-6, 1.0 + 1e-6, 3.0 + 1e-6], [0, 0, 0], room)
    assert allocate(relevance, frames, 500) == [f + e for f, e in zip(floors, extra, strict=True)]


def test_shrink_block_keeps_sizes_and_span():
    (block,) = compress_video(torch.randn(4, 16, 8), torch.tensor([1.0, 2.0, 3.0, 4.0]), tokens_per_frame=4)
    small = shrink_block(block, 5)
    assert len(small) == 5 and int(small.sizes.sum()) == int(block.sizes.sum()) == 64
    assert small.span == block.span and bool(((small.times_s >= 1.0) & (small.times_s <= 4.0)).all())


def test_scripted_citations_survive_only_inside_shown_moments_in_order_of_mention(tmp_path):
    reply = "<t=00:00:40> what <t=00:00:13> <t=00:00:45> <t=00:00:30> <t=00:05:00> <t=00:00:14> <t=00:00:02> ."
    llm = ScriptedVideoLLM(reply)
    backend = VideoLLMBackend(llm, cache_dir=tmp_path, fps=0.5)
    answer = backend.answer("what happens", SHOWN)
    assert [(c.video_id, c.start_s, c.end_s, c.path) for c in answer.citations] == [
        ("demo", 36, 48, str(DEMO)),
        ("demo", 12, 24, str(DEMO)),
        ("demo", 0, 12, str(DEMO)),
    ]  # 00:30 (a moment not shown) and 05:00 (past them all) dropped; 00:45 and 00:14 repeat a moment
    assert answer.text == reply.replace(" ", "") and answer.backend == "videollm"
    assert [e.span.start_s for e in answer.evidence] == [0, 12, 36]  # shown in time order
    [prompt] = llm.prompts
    assert prompt.n_visual == sum(backend.last_plan) == backend.last_visual_tokens == 72  # 3 x 6 frames x 4
    ids = prompt.input_ids[0].tolist()
    assert all(_marker_at(ids, llm.tokenizer, start) for start in (0, 12, 36))
    assert not _marker_at(ids, llm.tokenizer, 24)


def test_scripted_reply_without_citation_cites_the_top_scored_moment_and_says_so(tmp_path, caplog):
    backend = VideoLLMBackend(ScriptedVideoLLM("what happens <t=00:00:30> ?"), cache_dir=tmp_path, fps=0.5)
    with caplog.at_level(logging.INFO, logger="longvid.llm.answer"):
        answer = backend.answer("who is there", SHOWN)
    assert answer.citations == (Citation("demo", 12, 24, str(DEMO)),)  # score 0.9: neither first nor earliest
    assert answer.text == "whathappens<t=00:00:30>?"
    said = "videollm: the generated text cites no moment it was shown; citing the best retrieved moment"
    assert f"{said}, demo 00:12-00:24" in caplog.text


def test_a_question_at_a_time_shows_the_model_only_that_moment(demo_library, tiny_llm, tmp_path, decoded_frames):
    """The planner anchors "at 0:40" to the 36-48 s moment: the backend sees it alone and decodes only it."""
    decoded = decoded_frames
    with Library(demo_library.root) as lib:
        backend = VideoLLMBackend(tiny_llm, cache_dir=tmp_path / "tokens", fps=0.5)
        lib.answerer = backend
        answer = lib.ask("What happens at 0:40?")
    assert answer.plan.kind == "at_time" and answer.backend == "videollm"
    assert [(e.span.start_s, e.span.end_s) for e in answer.evidence] == [(36.0, 48.0)]
    assert [(c.start_s, c.end_s) for c in answer.citations] == [(36.0, 48.0)]
    assert backend.last_visual_tokens == sum(backend.last_plan) > 0
    assert 0 < len(decoded) <= 12 * 10 + 2  # the moment's 12 s at 10 fps, not the 48 s before its end


def test_the_context_is_cut_at_whole_lines_within_its_budget(tiny_llm, monkeypatch):
    lines = [f"chapter {i} : what happens there ." for i in range(40)]
    per_line = len(tiny_llm._ids(lines[0] + "\n"))
    monkeypatch.setattr(tiny_llm, "config", replace(tiny_llm.config, context_budget=5 * per_line + 1))
    assert tiny_llm.fit_context("\n".join(lines)) == "\n".join(lines[:5])
    monkeypatch.setattr(tiny_llm, "config", replace(tiny_llm.config, context_budget=per_line - 1))
    assert tiny_llm.fit_context("\n".join(lines)) == ""


def test_ask_through_the_videollm_backend(demo_library, tiny_llm, tmp_path, monkeypatch):
    calls = []
    prompts, generated = [], []
    real_generate_ids = tiny_llm.generate_ids

    def spy(prompt, max_new_tokens=None):
        prompts.append(prompt)
        generated.append(real_generate_ids(prompt, max_new_tokens))
        return generated[-1]

    monkeypatch.setattr(tiny_llm, "generate_ids", spy)
    hook = tiny_llm.visual.register_forward_hook(lambda *_: calls.append(1))
    try:
        with Library(demo_library.root) as lib:
            backend = VideoLLMBackend(tiny_llm, cache_dir=tmp_path / "tokens", fps=0.5)
            lib.answerer = backend
            assert lib.answerer is backend  # assignable
            answer = lib.ask("what happens", video=lib.videos()[0].video_id)  # 60 s: sent whole
            assert answer.backend == "videollm" and isinstance(answer.text, str)
            assert len(answer.evidence) == 5  # the whole short video, not only the hits
            assert backend.last_visual_tokens == sum(backend.last_plan) == 100  # the budget, exactly
            [prompt] = prompts
            ids = prompt.input_ids[0].tolist()
            assert ids.count(tiny_llm.video_token_id) == prompt.n_visual == 100  # placeholders = planned tokens
            # the coarse level (overview and chapters as text) sits between the user turn and the first moment
            context = context_text(lib.overview(answer.evidence[0].video_id), "demo.mp4")
            head = tiny_llm._ids(f"<|im_start|>system\n{CONFIG.system_prompt}<|im_end|>\n<|im_start|>user\n")
            coarse = tiny_llm._ids(tiny_llm.fit_context(context) + "\n")
            assert prompt.n_context == backend.last_context_tokens == len(coarse) > 0
            assert ids[len(head) : len(head) + len(coarse)] == coarse
            first = tiny_llm._ids(format_timestamp(answer.evidence[0].span.start_s))
            assert ids[len(head) + len(coarse) : len(head) + len(coarse) + len(first)] == first
            assert all(_marker_at(ids, tiny_llm.tokenizer, e.span.start_s) for e in answer.evidence)
            assert answer.text == tiny_llm.tokenizer.decode(generated[0], skip_special_tokens=True).strip()
            assert 1 <= len(generated[0]) <= CONFIG.max_new_tokens
            # the word-level tokenizer decodes "<t=...>" with spaces, so the real reply never parses as a
            # citation: the answer cites the best-scored moment it was shown
            top = max(answer.evidence, key=lambda e: e.score)
            assert answer.citations == (Citation(top.video_id, top.span.start_s, top.span.end_s, top.path),)
            first_calls = len(calls)
            assert first_calls > 0
            lib.ask("who is there", video=lib.videos()[0].video_id)
            assert len(calls) == first_calls  # cached tokens: the vision tower did not run again
            assert len(list((tmp_path / "tokens").rglob("*.safetensors"))) == 5
    finally:
        hook.remove()
