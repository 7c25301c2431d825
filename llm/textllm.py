"""The ``textllm`` answer backend: any local causal language model, reading the evidence as text.

For users with a text model on disk (no VLM, or no GPU): the retrieved moments become numbered lines
(what was said, written and shown, with times) and the model answers citing them as ``[1]``, ``[2]``::

    >>> from longvid.ingest import TimeSpan
    >>> ev = [Evidence("v1", "talk.mp4", TimeSpan(36, 48), transcript="The bridge budget was approved.")]
    >>> print(evidence_lines(ev))
    [1] talk.mp4 00:36-00:48 | said: The bridge budget was approved.

Numbered references outside the list are dropped; ``[MM:SS]`` style times are resolved like every other
backend's (:func:`parse_citations`), but only when the text holds no valid ``[n]``. When the model cites
nothing, :meth:`AnswerBackend.answer` cites the best moment.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import torch

from longvid.ingest import timecode

from .answer import Answer, AnswerBackend, Citation, Evidence, parse_citations

log = logging.getLogger(__name__)

_NUMBERED = re.compile(r"\[(\d{1,3})\]")


def evidence_lines(evidence: Sequence[Evidence]) -> str:
    """One numbered line per moment: file, start-end, what was said, written and shown."""
    lines = []
    for i, ev in enumerate(evidence, start=1):
        parts = [f"[{i}] {Path(ev.path).name or ev.video_id} {timecode(ev.span.start_s)}-{timecode(ev.span.end_s)}"]
        if ev.transcript:
            parts.append(f"said: {' '.join(ev.transcript.split())}")
        if ev.ocr_text:
            parts.append(f"on screen: {' / '.join(ev.ocr_text.split(chr(10)))}")
        if ev.tags:
            parts.append(f"shown: {', '.join(ev.tags)}")
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def numbered_citations(text: str, evidence: Sequence[Evidence]) -> list[Citation]:
    """Citations for ``[n]`` references to existing moments (in order of mention, each once)."""
    seen: dict[int, Citation] = {}
    for match in _NUMBERED.finditer(text):
        n = int(match.group(1))
        if 1 <= n <= len(evidence) and n not in seen:
            ev = evidence[n - 1]
            seen[n] = Citation(ev.video_id, ev.span.start_s, ev.span.end_s, ev.path)
    return list(seen.values())


class TextLLMBackend(AnswerBackend):
    """Greedy answers from a causal LM reading the moments as numbered lines.

    Args:
        model: a causal LM with ``generate`` (a ``transformers`` ``AutoModelForCausalLM``), already on
            ``device`` and in eval mode; :meth:`from_pretrained` loads one from a folder.
        tokenizer: its tokenizer.
        device: where the prompt's token ids go.
        max_new_tokens: most tokens one answer may have.
    """

    name = "textllm"
    reads_context = True

    def __init__(self, model, tokenizer, device: str = "cpu", max_new_tokens: int = 200):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.max_new_tokens = max_new_tokens

    @classmethod
    def from_pretrained(
        cls, model_dir: str | Path, device: str = "cpu", dtype: str = "float32", max_new_tokens: int = 200
    ) -> TextLLMBackend:
        """Load the model and tokenizer saved in ``model_dir`` (local files only; never downloads)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(model_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"textllm model directory {path} does not exist (answer.model in the profile)")
        log.info("loading text LM %s (%s, %s)", path, device, dtype)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=getattr(torch, dtype))
        return cls(model.to(device).eval(), tokenizer, device, max_new_tokens)

    def prompt(self, question: str, evidence: Sequence[Evidence], context: str = "") -> str:
        body = (
            (f"About the videos:\n{context}\n\n" if context else "")
            + f"Moments from the videos:\n{evidence_lines(evidence)}\n\nQuestion: {question}\n"
            "Answer briefly from these moments only, citing them as [1], [2]."
        )
        if getattr(self.tokenizer, "chat_template", None):
            messages = [{"role": "user", "content": body}]
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return body + "\nAnswer:"

    @torch.inference_mode()
    def generate(self, question: str, evidence: Sequence[Evidence], context: str = "") -> Answer:
        inputs = self.tokenizer(self.prompt(question, evidence, context), return_tensors="pt").to(self.device)
        out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        text = self.tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()
        citations = numbered_citations(text, evidence) or parse_citations(text, evidence)
        return Answer(text, tuple(citations), self.name, tuple(evidence))
