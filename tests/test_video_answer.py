"""ask() through the videollm backend with a tiny random Qwen2.5-VL built in the test, on the real demo
video: the planned budget reaches the prompt exactly, and a second question never runs the vision tower."""

import pytest
import torch

from longvid.app import Library
from longvid.compression import compress_video, shrink_block
from longvid.llm.video_answer import VideoLLMBackend, split
from longvid.llm.videollm import VideoLLM, VideoLLMConfig

from .test_videollm import _model, _tokenizer


@pytest.fixture(scope="module")
def tiny_llm():
    # 64x64 frames -> 16 merged tokens per frame, cached at 4 per frame
    config = VideoLLMConfig(frame_size=(64, 64), tokens_per_frame=4, token_budget=100, max_new_tokens=5)
    return VideoLLM(_model(), _tokenizer(), config)


def test_split_is_exact_and_bounded():
    assert split(10, [64, 64, 32]) == [4, 4, 2]
    assert split(3, [1, 1, 1]) == [1, 1, 1]
    assert sum(split(95, [16, 16, 16, 8, 40])) == 95
    with pytest.raises(ValueError, match="cannot give 2 tokens to 3 blocks"):
        split(2, [5, 5, 5])


def test_shrink_block_keeps_sizes_and_span():
    (block,) = compress_video(torch.randn(4, 16, 8), torch.tensor([1.0, 2.0, 3.0, 4.0]), tokens_per_frame=4)
    small = shrink_block(block, 5)
    assert len(small) == 5 and int(small.sizes.sum()) == int(block.sizes.sum()) == 64
    assert small.span == block.span and bool(((small.times_s >= 1.0) & (small.times_s <= 4.0)).all())


def test_ask_through_the_videollm_backend(demo_library, tiny_llm, tmp_path):
    calls = []
    hook = tiny_llm.visual.register_forward_hook(lambda *_: calls.append(1))
    try:
        with Library(demo_library.root) as lib:
            backend = VideoLLMBackend(tiny_llm, cache_dir=tmp_path / "tokens", fps=0.5)
            lib.answerer = backend
            answer = lib.ask("what happens", video=lib.videos()[0].video_id)  # 60 s: sent whole
            assert answer.backend == "videollm" and isinstance(answer.text, str)
            assert len(answer.evidence) == 5  # the whole short video, not only the hits
            assert backend.last_visual_tokens == sum(backend.last_plan) == 100  # the budget, exactly
            shown = {(e.span.start_s, e.span.end_s) for e in answer.evidence}
            assert all((c.start_s, c.end_s) in shown for c in answer.citations) and answer.citations
            first_calls = len(calls)
            assert first_calls > 0
            lib.ask("who is there", video=lib.videos()[0].video_id)
            assert len(calls) == first_calls  # cached tokens: the vision tower did not run again
            assert len(list((tmp_path / "tokens").rglob("*.safetensors"))) == 5
    finally:
        hook.remove()
