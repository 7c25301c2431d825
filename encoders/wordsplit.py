"""Put back the spaces OCR drops: ``BOARDINGGATE`` -> ``BOARDING GATE``.

RapidOCR's recogniser was trained mostly on Chinese, where lines have no spaces; on small Latin text it
often joins words, and a joined word matches nothing in keyword search or in the text embedding. A long
letter run that is not a word is split into the fewest, longest dictionary words that spell it exactly;
when no such split exists it is left as it was. The dictionary is the whole-word part of the MiniLM
vocabulary that ships with the embedded text model (about 20,000 English words)::

    >>> splitter = WordSplitter(frozenset({"boarding", "gate", "road", "closed", "until"}))
    >>> splitter.line("BOARDINGGATE B17"), splitter.line("ROADCLOSEDUNTIL"), splitter.line("LASAGNA")
    ('BOARDING GATE B17', 'ROAD CLOSED UNTIL', 'LASAGNA')
"""

from __future__ import annotations

import functools
import logging
import re

log = logging.getLogger(__name__)

MIN_JOINED = 7  # letter runs shorter than this are left alone (short words are rarely two joined)
_SHORT_WORDS = frozenset({"a", "i", "an", "as", "at", "be", "by", "do", "go", "in", "is", "it", "me", "my", "no",
                          "of", "on", "or", "so", "to", "up", "us", "we"})  # fmt: skip
_LETTERS = re.compile(r"[A-Za-z]+")


class WordSplitter:
    """Splits joined words using ``vocabulary`` (lower-case words)."""

    def __init__(self, vocabulary: frozenset[str]):
        self.vocabulary = frozenset(w for w in vocabulary if len(w) >= 3) | _SHORT_WORDS

    def line(self, text: str) -> str:
        """``text`` with every joined letter run split into words (other characters untouched)."""
        return _LETTERS.sub(lambda m: self.word(m.group(0)), text)

    def word(self, run: str) -> str:
        lower = run.lower()
        if len(run) < MIN_JOINED or lower in self.vocabulary:
            return run
        pieces = self._split(lower)
        if pieces is None:
            return run
        out, at = [], 0
        for piece in pieces:  # keep the original capitals
            out.append(run[at : at + len(piece)])
            at += len(piece)
        return " ".join(out)

    def _split(self, lower: str) -> tuple[str, ...] | None:
        """Fewest pieces, then longest pieces (sum of squared lengths): dynamic programming over prefixes."""
        n = len(lower)
        best: list[tuple[int, int, tuple[str, ...]] | None] = [None] * (n + 1)  # (pieces, -sum sq, split)
        best[0] = (0, 0, ())
        for end in range(1, n + 1):
            for start in range(max(0, end - 24), end):
                prev, piece = best[start], lower[start:end]
                if prev is None or piece not in self.vocabulary:
                    continue
                cand = (prev[0] + 1, prev[1] - len(piece) ** 2, (*prev[2], piece))
                if best[end] is None or cand[:2] < best[end][:2]:
                    best[end] = cand
        found = best[n]
        return found[2] if found is not None and len(found[2]) > 1 else None


@functools.cache
def embedded_splitter() -> WordSplitter | None:
    """A splitter over the embedded MiniLM vocabulary, or None (splitting off) when it is not installed."""
    try:
        from .text import embedded_text_model_dir

        vocab = (embedded_text_model_dir() / "vocab.txt").read_text(encoding="utf-8").split()
    except (ImportError, OSError) as err:
        log.info("OCR word splitting is off: no vocabulary (%s)", err)
        return None
    return WordSplitter(frozenset(w for w in vocab if w.isalpha() and w.isascii() and w.islower()))
