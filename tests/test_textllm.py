"""The textllm backend: a scripted model (a fixed reply with known citations) for the citation rules, and a
tiny random Llama with a word-level tokenizer, saved to a folder in the test, for the real model path."""

import logging

import pytest
import torch

from longvid.app import Library
from longvid.app.profiles import load_profile
from longvid.ingest import TimeSpan
from longvid.llm import BackendOptions, Evidence, create_backend
from longvid.llm.textllm import TextLLMBackend, evidence_lines, numbered_citations

from . import tiny_qwen

EVIDENCE = [
    Evidence("v1", "/v/talk.mp4", TimeSpan(30, 42), transcript="The budget was\napproved.", score=0.9),
    Evidence("v1", "/v/talk.mp4", TimeSpan(60, 70), ocr_text="ROADMAP\nMay", tags=("person",), score=0.4),
]
# the best-scored moment is not first, so "the first" and "the best" differ
SHOWN = [
    Evidence("v1", "/v/talk.mp4", TimeSpan(60, 70), ocr_text="ROADMAP", score=0.4),
    Evidence("v1", "/v/talk.mp4", TimeSpan(30, 42), transcript="The budget was approved.", score=0.9),
    Evidence("v2", "/v/cats.mp4", TimeSpan(5, 15), tags=("tabby cat",), score=0.6),
]


def _byte_tokenizer():
    """A tokenizer that round-trips any text exactly (one token per byte), so a scripted reply survives."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tok = Tokenizer(models.BPE({c: i for i, c in enumerate(alphabet)}, []))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok)


class ScriptedLM:
    """Stands in for a causal LM: ``generate`` appends the tokens of a fixed reply (at most
    ``max_new_tokens`` of them) to the prompt, and records the prompt it was given."""

    def __init__(self, tokenizer, reply: str):
        self.tokenizer = tokenizer
        self.reply = reply
        self.prompts: list[str] = []

    def generate(self, input_ids, attention_mask, max_new_tokens, do_sample):
        assert not do_sample and attention_mask.shape == input_ids.shape
        self.prompts.append(self.tokenizer.decode(input_ids[0]))
        new = self.tokenizer(self.reply, return_tensors="pt")["input_ids"][:, :max_new_tokens]
        return torch.cat([input_ids, new], dim=1)


def scripted(reply: str, max_new_tokens: int = 200) -> TextLLMBackend:
    tokenizer = _byte_tokenizer()
    return TextLLMBackend(ScriptedLM(tokenizer, reply), tokenizer, max_new_tokens=max_new_tokens)


@pytest.fixture(scope="module")
def tiny_lm_dir(tmp_path_factory):
    from transformers import LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("tiny-llama")
    config = LlamaConfig(vocab_size=len(tiny_qwen.VOCAB), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         eos_token_id=tiny_qwen.VOCAB["<|im_end|>"],
                         pad_token_id=tiny_qwen.VOCAB["<|endoftext|>"])  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    tiny_qwen.tokenizer().save_pretrained(path)
    return path


def test_evidence_lines_and_numbered_citations():
    assert evidence_lines(EVIDENCE).splitlines() == [
        "[1] talk.mp4 00:30-00:42 | said: The budget was approved.",
        "[2] talk.mp4 01:00-01:10 | on screen: ROADMAP / May | shown: person",
    ]
    cites = numbered_citations("Approved [1], see [2] and [1], not [3] or [0].", EVIDENCE)
    assert [(c.start_s, c.end_s) for c in cites] == [(30, 42), (60, 70)]


def test_scripted_numbered_citations_survive_in_order_of_mention_once_each():
    reply = "The cat [3] came after the vote [2]; again [3] and [2], then [4], [0], [12] and [00:05]."
    backend = scripted(reply)
    answer = backend.answer("what happened?", SHOWN)
    assert [(c.video_id, c.start_s, c.end_s, c.path) for c in answer.citations] == [
        ("v2", 5, 15, "/v/cats.mp4"),
        ("v1", 30, 42, "/v/talk.mp4"),
    ]  # [4], [0], [12] point at no shown moment; [00:05] is ignored once a valid [n] is there
    assert answer.text == reply and answer.backend == "textllm" and answer.evidence == tuple(SHOWN)
    assert backend.model.prompts == [backend.prompt("what happened?", SHOWN)]


def test_scripted_timecode_citations_are_resolved_to_the_shown_moments():
    reply = "Voted at [00:35], roadmap <t=00:01:05>, again [00:40], unseen [00:50] and [10:00], cat [00:00:07-00:09]."
    answer = scripted(reply).answer("when?", SHOWN)
    assert [(c.video_id, c.start_s, c.end_s) for c in answer.citations] == [
        ("v1", 30, 42),
        ("v1", 60, 70),
        ("v2", 5, 15),
    ]  # 00:50 falls between moments and 10:00 after them all: dropped; 00:40 repeats 00:35's moment


def test_scripted_reply_without_citation_cites_the_top_scored_moment_and_says_so(caplog):
    with caplog.at_level(logging.INFO, logger="longvid.llm.answer"):
        answer = scripted("I do not know [9].").answer("who won?", SHOWN)
    assert [(c.video_id, c.start_s, c.end_s) for c in answer.citations] == [("v1", 30, 42)]  # score 0.9
    assert answer.text == "I do not know [9]."
    said = "textllm: the generated text cites no moment it was shown; citing the best retrieved moment"
    assert f"{said}, v1 00:30-00:42" in caplog.text


def test_scripted_reply_is_cut_at_max_new_tokens():
    answer = scripted("[2] and then [3]", max_new_tokens=4).answer("when?", SHOWN)  # one token per byte
    assert answer.text == "[2]" and [(c.start_s, c.end_s) for c in answer.citations] == [(30, 42)]


def test_textllm_answers_from_a_local_model(tiny_lm_dir, monkeypatch):
    backend = TextLLMBackend.from_pretrained(tiny_lm_dir, max_new_tokens=4)
    calls = []
    real_generate = backend.model.generate

    def spy(**inputs):
        out = real_generate(**inputs)
        calls.append((inputs["input_ids"], out))
        return out

    monkeypatch.setattr(backend.model, "generate", spy)
    answer = backend.answer("what happens", EVIDENCE)
    assert answer.backend == "textllm" and answer.evidence == tuple(EVIDENCE)
    prompt = backend.prompt("what happens", EVIDENCE)
    assert "[2] talk.mp4 01:00-01:10" in prompt
    assert "00:30-00:42" in prompt and "Question: what happens" in prompt  # every shown moment's times
    [(input_ids, out)] = calls
    assert input_ids.tolist() == [backend.tokenizer(prompt)["input_ids"]]  # the model read exactly that prompt
    new = out[0, input_ids.shape[1] :]
    assert 1 <= len(new) <= 4 and out[0, : input_ids.shape[1]].tolist() == input_ids[0].tolist()
    assert answer.text == backend.tokenizer.decode(new, skip_special_tokens=True).strip()  # only the new tokens
    assert next(backend.model.parameters()).dtype == torch.float32


def test_profile_selects_textllm(demo_library, tiny_lm_dir):
    profile = load_profile("embedded", overrides={"answer.backend": "textllm", "answer.model": str(tiny_lm_dir)})
    with Library(demo_library.root, profile=profile) as lib:
        answer = lib.ask("what happens")
        assert isinstance(lib.answerer, TextLLMBackend) and lib.answerer is lib.answerer  # built once
    assert answer.backend == "textllm" and len(answer.evidence) == 5


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"textllm model directory .* does not exist"):
        TextLLMBackend.from_pretrained(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=r"textllm model directory .*nope does not exist"):
        create_backend("textllm", BackendOptions(model=str(tmp_path / "nope")))
