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


# Words of a question's frame, never what it asks about (beyond the stopwords): "how many times", "shown",
# "in the video". The planner leaves them out of a plan's target; retrieval's keyword floor does not count them.
FRAME_WORDS = frozenset(
    {"times", "time", "many", "much", "often", "happens", "happen", "happened", "moment", "moments", "video",
     "videos", "clip", "recording", "right", "just", "immediately", "directly", "shortly", "next", "list", "show",
     "shown", "said", "say", "says", "mention", "mentions", "mentioned", "talk", "talks", "talked", "spoken",
     "discussed", "discuss", "appear", "appears", "appeared", "see", "seen", "visible", "written", "screen", "every",
     "each", "all", "occurrence", "occurrences", "first", "last", "final", "after", "before", "following", "does",
     "get", "gets", "come", "comes", "follows", "my", "number", "count", "about", "any", "some", "there", "whole",
     "exactly", "ever", "find", "tell", "please", "me", "give", "summarise", "summarize", "summary", "main", "parts",
     "topics", "overview", "which", "talking", "speaker", "mentioning", "word", "words", "sentence", "line",
     "thing", "things", "part", "bit", "scene", "scenes", "shot", "shots", "happening", "going", "everything",
     "anything", "speak", "speaks", "speaking", "spoke", "anyone", "anybody", "jump", "skip"}
)  # fmt: skip


def split_words(text: str) -> list[str]:
    """Lower-case words of ``text`` (NFKC-normalised letters and digits), in order, repeats kept."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def content_words(text: str) -> list[str]:
    """:func:`split_words` of ``text`` without stopwords, in order, repeats kept."""
    return [w for w in split_words(text) if w not in STOPWORDS]
