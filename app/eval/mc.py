"""Multiple-choice evaluation through ``ask``: Video-MME / MLVU style JSON in, accuracy out.

The file is a JSON list; each item names a video (relative to the file's folder or absolute), a question,
its options and the right one::

    [{"video": "talk.mp4", "question": "What is approved?",
      "options": ["A. a logo", "B. the bridge budget"], "answer": "B"}]

MLVU's ``candidates`` and a textual ``answer`` work too. Each video is indexed (once, by content), the
question is asked about that video, and the option that best matches the answer is taken as the
model's choice: cosine similarity of text embeddings (the answer plus the moments it cites, against
the option) plus the share of the option's content words that the answer contains::

    >>> report = evaluate_mc(Library("eval-lib", profile="embedded"), load_items("mc.json"))  # doctest: +SKIP
    >>> report.accuracy                                                                       # doctest: +SKIP
    0.75
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from longvid.app.library import Library
from longvid.ingest.errors import LongvidError
from longvid.ingest.words import content_words

log = logging.getLogger(__name__)

_LETTER = re.compile(r"^\s*\(?([A-Za-z])[\.\):]\s+")


@dataclass(frozen=True)
class MCItem:
    video: Path
    question: str
    options: tuple[str, ...]  # as written, e.g. "B. the bridge budget"
    answer: int  # index of the right option


@dataclass(frozen=True)
class MCResult:
    item: MCItem
    chosen: int
    answer_text: str

    @property
    def correct(self) -> bool:
        return self.chosen == self.item.answer


@dataclass(frozen=True)
class MCReport:
    results: tuple[MCResult, ...]

    @property
    def accuracy(self) -> float:
        return sum(r.correct for r in self.results) / len(self.results) if self.results else 0.0


class ItemsError(LongvidError, ValueError):
    """A multiple-choice file that is not JSON, or an item without what scoring needs; names the file."""


def load_items(path: str | Path) -> list[MCItem]:
    """Items of a Video-MME / MLVU style JSON file; a malformed file or item raises :class:`ItemsError`."""
    path = Path(path)
    try:
        raw_items = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ItemsError(f"{path}: not JSON ({err})") from None
    if not isinstance(raw_items, list):
        raise ItemsError(f"{path}: expected a JSON list of items, got {type(raw_items).__name__}")
    items = []
    for i, raw in enumerate(raw_items):
        options = tuple(raw.get("options") or raw.get("candidates") or ()) if isinstance(raw, dict) else ()
        if not options or "question" not in raw or "video" not in raw or "answer" not in raw:
            raise ItemsError(f"{path}: item {i} needs video, question, options (or candidates) and answer")
        video = Path(raw["video"])
        items.append(MCItem(video if video.is_absolute() else path.parent / video, raw["question"], options,
                            _answer_index(str(raw["answer"]), options, f"{path}: item {i}")))  # fmt: skip
    return items


def _answer_index(answer: str, options: tuple[str, ...], where: str) -> int:
    letters = [m.group(1).upper() if (m := _LETTER.match(o)) else chr(65 + k) for k, o in enumerate(options)]
    if answer.strip().upper() in letters:
        return letters.index(answer.strip().upper())
    plain = [_LETTER.sub("", o).strip().lower() for o in options]
    if _LETTER.sub("", answer).strip().lower() in plain:
        return plain.index(_LETTER.sub("", answer).strip().lower())
    raise ItemsError(f"{where}: answer {answer!r} is neither an option letter nor an option's text")


def evaluate_mc(library: Library, items: list[MCItem]) -> MCReport:
    """Ask every item's question about its video and score the chosen options."""
    embed = library.indexer.text_embedder.embed
    results = []
    for item in items:
        video_id = library.add(item.video).video_id
        answer = library.ask(item.question, video=video_id)
        cited = " ".join(e.transcript + " " + e.ocr_text + " " + ", ".join(e.tags) for e in answer.evidence[:3])
        said = f"{answer.text}\n{cited}"
        texts = [_LETTER.sub("", o) for o in item.options]
        similarity = embed(texts) @ embed([said])[0]  # (options,)
        present = set(content_words(said))
        overlap = [sum(w in present for w in words) / len(words) if (words := content_words(t)) else 0.0
                   for t in texts]  # fmt: skip
        chosen = int(np.argmax(similarity + np.asarray(overlap)))
        results.append(MCResult(item, chosen, answer.text))
        log.info("%s: chose %d, right %d", item.question, chosen, item.answer)
    return MCReport(tuple(results))
