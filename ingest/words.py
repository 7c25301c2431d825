"""Words of free text, the one tokeniser of longvid: keyword search, answers, transcript checks.

Words are runs of letters and digits of any script after NFKC normalisation, lower-cased (what SQLite
FTS5's unicode61 tokeniser keeps); content words drop a shared list of stopwords:

>>> split_words("Thank you, Zürich! ＦＵＬＬ-width_text")
['thank', 'you', 'zürich', 'full', 'width', 'text']
>>> content_words("When was the Budget for the bridge approved?")
['budget', 'bridge', 'approved']
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script

# Function words that match nearly every text: searching or scoring by them only adds noise.
STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "did", "do", "does", "for", "from", "had",
        "has", "have", "he", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "not", "of", "on", "or",
        "our", "she", "so", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
        "those", "to", "us", "was", "we", "were", "what", "when", "where", "which", "who", "whom", "why", "will",
        "with", "would", "you", "your",
    }
)  # fmt: skip


def split_words(text: str) -> list[str]:
    """Lower-case words of ``text`` (NFKC-normalised letters and digits), in order, repeats kept."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def content_words(text: str) -> list[str]:
    """:func:`split_words` of ``text`` without stopwords, in order, repeats kept."""
    return [w for w in split_words(text) if w not in STOPWORDS]
