"""The textllm backend with a tiny random Llama and word-level tokenizer saved to a folder in the test."""

import pytest

from longvid.app import Library
from longvid.app.profiles import load_profile
from longvid.ingest import TimeSpan
from longvid.llm import Evidence
from longvid.llm.textllm import TextLLMBackend, evidence_lines, numbered_citations

from .test_videollm import VOCAB, _tokenizer

EVIDENCE = [
    Evidence("v1", "/v/talk.mp4", TimeSpan(30, 42), transcript="The budget was\napproved.", score=0.9),
    Evidence("v1", "/v/talk.mp4", TimeSpan(60, 70), ocr_text="ROADMAP\nMay", tags=("person",), score=0.4),
]


@pytest.fixture(scope="module")
def tiny_lm_dir(tmp_path_factory):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("tiny-llama")
    config = LlamaConfig(vocab_size=len(VOCAB), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         eos_token_id=VOCAB["<|im_end|>"], pad_token_id=VOCAB["<|endoftext|>"])  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    _tokenizer().save_pretrained(path)
    return path


def test_evidence_lines_and_numbered_citations():
    assert evidence_lines(EVIDENCE).splitlines() == [
        "[1] talk.mp4 00:30-00:42 | said: The budget was approved.",
        "[2] talk.mp4 01:00-01:10 | on screen: ROADMAP / May | shown: person",
    ]
    cites = numbered_citations("Approved [1], see [2] and [1], not [3] or [0].", EVIDENCE)
    assert [(c.start_s, c.end_s) for c in cites] == [(30, 42), (60, 70)]


def test_textllm_answers_from_a_local_model(tiny_lm_dir):
    backend = TextLLMBackend(tiny_lm_dir, max_new_tokens=4)
    answer = backend.answer("what happens", EVIDENCE)
    assert answer.backend == "textllm" and isinstance(answer.text, str)
    shown = {(e.span.start_s, e.span.end_s) for e in EVIDENCE}
    assert answer.citations and all((c.start_s, c.end_s) in shown for c in answer.citations)
    assert "[2] talk.mp4 01:00-01:10" in backend.prompt("what happens", EVIDENCE)


def test_profile_selects_textllm(demo_library, tiny_lm_dir):
    profile = load_profile("embedded", overrides={"answer.backend": "textllm", "answer.model": str(tiny_lm_dir)})
    with Library(demo_library.root, profile=profile) as lib:
        answer = lib.ask("what happens")
    assert answer.backend == "textllm" and len(answer.evidence) == 5


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"textllm model directory .* does not exist"):
        TextLLMBackend(tmp_path / "nope")
