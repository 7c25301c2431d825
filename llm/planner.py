"""The question planner: a question becomes an explicit operation over the video memory (a :class:`Plan`).

Most questions about long videos are not lookups. The planner reads a question with a small grammar
and, where the grammar finds no cue, an embedding nearest-neighbour intent classifier; anything else is
a lookup (retrieve the best moments, as before). The grammar, applied to the lower-cased question:

* **time expressions** — a time is a clock time (``34:30``, ``1:02:15``) or a duration from the start
  (``20 minutes``, ``1h20m``, ``12m30s``, ``an hour and a half``; numbers in digits or words: ``ten``,
  ``twenty five``, ``a couple of``, ``half an``). A time is a point when it follows ``at`` / ``around`` /
  ``near`` (``at 34:30``, ``around the 20 minute mark``; a bare ``34:30`` is just words) or precedes
  ``in`` / ``into`` (``10 minutes into the video``); ``at minute 12``; a range ``between 12:00 and 15:00``
  / ``from 2:00 to 3:30``; ``after`` / ``since`` a time runs to the end, ``before`` / ``until`` one from
  the start; ``in the first ten minutes``, ``in the last 2 hours``; ``in the second half`` / ``the last
  third`` / ``the first quarter``; ``at the end`` / ``at the beginning`` (the first or last 5%, 30 s at
  least), ``in the middle`` (its middle third); ``right after 34:30`` / ``just before 1:02`` ask for the
  moment next to that time;
* **chapter references** — ``in the second chapter``, ``in chapter 3``, ``in the last part``;
* **operation cues** — ``how many times`` / ``how often`` (count), ``first`` / ``for the first time``,
  ``last`` / ``for the last time`` / ``final``, ``every time`` / ``each time`` / ``all the times`` /
  ``list all`` / ``show me all`` / ``find every`` / ``how long is ... shown`` (every, with the time in
  all), ``what is said right after ...`` / ``how does
  ... react after ...`` / ``... before ...`` (relative), ``what is this video about`` / ``summarise`` /
  ``main parts`` / ``key points`` / ``recap`` / ``highlights`` / ``how long is the video`` / ``what
  language`` (overview), ``which videos ...`` / ``each
  of my videos`` (across videos); ``the first thing said`` / ``the last thing shown`` (no target): the
  channel's first or last moment;
* **channels** — said / mentioned / talked about → speech; shown / seen / appear → pictures; written / text
  → on-screen text; ``on screen`` / ``displayed`` → on-screen text, unless the target is all tagger words
  (``how long is the cat on screen``: a picture); a request ``show me ...`` asks for pictures unless it
  names another.

What remains once cues, time expressions and question words are taken out is the plan's ``target``::

    >>> planner = Planner()                        # no classifier: the grammar alone
    >>> planner.plan("How many times is the budget mentioned?")
    Plan(kind='count', target='budget', channel='said', span=None, chapter=None, why='grammar: how many times')
    >>> planner.plan("What is said at 34:30?", duration_s=3600).span
    TimeSpan(start_s=2070.0, end_s=2070.0)
    >>> p = planner.plan("What happens in the first ten minutes?", duration_s=3600)
    >>> p.kind, p.span
    ('at_time', TimeSpan(start_s=0.0, end_s=600.0))
    >>> planner.plan("When is the river mentioned for the last time?").kind
    'last'
    >>> planner.plan("What is said right after the sentence about the keys?")[:2]
    ('after', 'keys')
    >>> planner.plan("Show me every dog")[:3]
    ('every', 'dog', 'shown')
    >>> [planner.plan(q).span.start_s for q in ("What happens at 1h20m?", "What is said 12 minutes in?")]
    [4800.0, 720.0]
    >>> planner.plan("What happens in the second half?", duration_s=3600).span
    TimeSpan(start_s=1800.0, end_s=3600.0)
    >>> planner.plan("Which of my videos talk about the new bridge?")[:2]
    ('across_videos', 'new bridge')
    >>> planner.plan("Where did I leave my keys?").kind
    'lookup'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from longvid.encoders.concepts import visual_words
from longvid.ingest import TimeSpan, timecode
from longvid.ingest.words import FRAME_WORDS, STOPWORDS, split_words

Kind = Literal["lookup", "at_time", "first", "last", "every", "count", "before", "after", "overview", "across_videos"]
Channel = Literal["said", "shown", "written"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]


class Plan(NamedTuple):
    """What a question asks for: an operation (``kind``) over the memory and its arguments."""

    kind: str  # one of KINDS
    target: str  # what to look for, the question's own words (cues and time expressions taken out)
    channel: str | None = None  # "said", "shown" or "written": where the target must appear (None: anywhere)
    span: TimeSpan | None = None  # the time anchor: a range, or a point (start == end)
    chapter: int | None = None  # 0-based chapter the question names ("in the second chapter"); -1 = the last
    why: str = ""  # how the planner decided (the grammar cue, or the nearest example and its cosine)

    def describe(self) -> str:
        """One line for people: ``count "budget" (said) — grammar: how many times``."""
        parts = [self.kind]
        if self.target:
            parts.append(f'"{self.target}"')
        if self.channel:
            parts.append(f"({self.channel})")
        if self.span is not None:
            a, b = timecode(self.span.start_s), timecode(self.span.end_s)
            parts.append(f"at {a}" if self.span.duration_s == 0 else f"in {a}–{b}")
        if self.chapter is not None:
            parts.append("in the last chapter" if self.chapter < 0 else f"in chapter {self.chapter + 1}")
        return " ".join(parts) + (f" — {self.why}" if self.why else "")

    def to_dict(self) -> dict:
        span = None if self.span is None else {"start_s": self.span.start_s, "end_s": self.span.end_s}
        return {"kind": self.kind, "target": self.target, "channel": self.channel, "span": span,
                "chapter": self.chapter, "why": self.why, "description": self.describe()}  # fmt: skip


# Example questions per operation, for the nearest-neighbour classifier (questions the grammar finds no cue
# in). Only operations that need no target words are learnt this way: a scan (count, first, last, every) and a
# question across videos answer from exact words, so they are chosen by their grammar cue alone, never by
# resemblance (a lookup about "the new bridge" is not a question across videos because an example names one).
EXAMPLES: Mapping[str, Sequence[str]] = {
    "overview": (
        "what is this video about", "give me a summary", "what are the main topics", "what is covered here",
        "what are the key points of the talk", "describe the video", "what is discussed overall",
        "tell me what happens in this recording", "what does the speaker talk about in general",
        "what topics does it cover", "what are the key points", "what is it mostly about",
    ),
    "lookup": (
        "where did I leave my umbrella", "what did they say about the weather", "when was the contract signed",
        "what is the phone number", "who is the woman in red", "what colour is the door", "when does a horse appear",
        "what is written on the poster", "how much does the ticket cost", "why was the train late",
        "where was this filmed", "what is in the background",
    ),
}  # fmt: skip

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "ninety": 90, "couple": 2, "few": 3,
}  # fmt: skip
_ORDINALS = {
    "first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5, "seventh": 6, "eighth": 7,
    "ninth": 8, "tenth": 9, "last": -1, "final": -1, "1st": 0, "2nd": 1, "3rd": 2, "4th": 3, "5th": 4,
}  # fmt: skip
_UNITS = {"second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "hr": 3600, "h": 3600}
_NUM = r"(?:\d+(?:\.\d+)?|half(?:\s+an?)?|(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|couple|few)(?:[ -](?:one|two|three|four|five|six|seven|eight|nine))?)"  # noqa: E501
_UNIT = r"(?:hours?|hrs?|minutes?|mins?|seconds?|secs?)"
# A duration: parts in words or digits ("an hour and 20 minutes", "a couple of minutes", "90 sec") or compact
# ("1h20m", "12m30s", "45s"), and "and a half" of the last unit.
_PART = rf"(?:\b{_NUM}(?:\s+of)?[ -]?{_UNIT}\b|\b(?=\d+(?:\.\d+)?[hms])(?:\d+h)?(?:\d+m)?(?:\d+(?:\.\d+)?s)?\b)"
_DURATION = rf"(?:{_PART}(?:\s*(?:,|and)?\s*{_PART})*(?:\s+and\s+a\s+half)?)"
_CLOCK = r"(?:\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)"
_TIME = rf"({_CLOCK}|{_DURATION})"  # a moment of the video: a clock time or a duration from its start
_THE = r"(?:the\s+)?(?:timestamp\s+|time\s+|mark\s+)?"
_MARK = r"(?:\s+(?:mark|point|timestamp))?"

_RANGE = re.compile(  # "between 12:00 and 15:00", "from 2 minutes to 5 minutes", and two clock times: "8:00-12:00"
    rf"\b(?:(?:between|from)\s+{_THE}{_TIME}\s+(?:and|to|until|till|-)\s+{_THE}{_TIME}{_MARK}"
    rf"|({_CLOCK})\s*(?:-|–|to|until|till)\s*({_CLOCK}))"
)
_UNIT_RANGE = re.compile(  # "between 5 and 10 minutes", "from minute 5 to minute 10"
    rf"\b(?:between|from)\s+(?:the\s+)?(?:(minute|hour|second)\s+)?({_NUM})\s+(?:and|to|until|till|-)\s+"
    rf"(?:(?:minute|hour|second)\s+)?({_NUM})(?:\s+({_UNIT}))?\b"
)
_FRACTION = re.compile(
    r"\b(?:(?:in|during|over|for|of)\s+)?the\s+(first|second|third|fourth|last|final|latter|middle)\s+(half|third|quarter)\b(?!\s+(?:of\s+)?an?\s+(?:hour|minute))"
)
_FIRST_LAST = re.compile(
    rf"\b(?:(?:in|during|within|for|over|of)\s+)?the\s+(first|last|final|opening|closing)\s+(?:({_DURATION})|({_UNIT})\b)"
)
_ENDS = re.compile(
    r"\b(?:at|near|towards?|in|around)\s+the\s+(?:very\s+)?(end|beginning|start|outset|close|middle)\b(?:\s+of\s+(?:the|this)\s+(?:video|talk|clip|recording))?"
)
_NEXT_TO = re.compile(rf"\b(?:right|just|immediately|directly|shortly)\s+(after|before)\s+{_THE}{_TIME}{_MARK}")
_FROM = re.compile(rf"\b(?:after|past|since|from)\s+{_THE}{_TIME}{_MARK}")
_UNTIL = re.compile(rf"\b(?:before|until|till|up\s+to|prior\s+to)\s+{_THE}{_TIME}{_MARK}")
_AT_MINUTE = re.compile(rf"\b(?:at|around)\s+(?:the\s+)?(minute|hour|second)\s+({_NUM})\b")
_INTO = re.compile(rf"\b({_DURATION})\s+(?:in|into)\b")
_AT = re.compile(
    rf"\b(?:(?:at|around|near)(?:\s+(?:about|around))?\s+{_THE}{_TIME}{_MARK}|(?:about|by)\s+{_THE}({_CLOCK}))"
)
_CHAPTER = re.compile(
    r"\b(?:(?:in|during|of)\s+)?(?:the\s+)?(?:(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|final|\d+(?:st|nd|rd|th)?)\s+(?:chapter|part|section|segment)|(?:chapter|part|section)\s+(\d+))\b"
)

_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("across_videos", re.compile(r"\b(?:which|what)\s+(?:of\s+(?:my|the|these)\s+)?(?:videos?|recordings?|clips?|files?)\b|\bin\s+which\s+(?:videos?|recordings?)\b|\b(?:each|every|all)\s+(?:of\s+)?(?:my\s+|the\s+|these\s+)?(?:videos?|recordings?|clips|files)\b")),  # noqa: E501
    ("overview", re.compile(r"\bwhat(?:'s|\s+is|\s+was)\s+(?:this|the|it)\s*(?:whole\s+)?(?:video|talk|film|clip|recording|lecture|meeting|episode)?\s+(?:all\s+)?about\b|\bsummar(?:y|ise|ize|ies)\b|\bmain\s+(?:parts?|topics?|points?|sections?|themes?|ideas?)\b|\boutline\b|\boverview\b|\bwhat\s+(?:are\s+)?the\s+chapters\b|\bgist\b|\btl;?dr\b|\b(?:(?:key|main|quick|short|brief)\s+)?(?:rundown|recap|synopsis|takeaways?|highlights)\b|\bin\s+a\s+nutshell\b|\btimeline\b|\btable\s+of\s+contents\b|\bhow\s+long\s+(?:is|was|does)\s+(?:it|(?:this|the)\s+(?:whole\s+)?(?:video|talk|film|clip|recording|lecture|meeting|episode))\b|\bwhat\s+language\b|\bhow\s+much\s+of\s+(?:it|(?:this|the)\s+(?:video|talk|film|clip|recording|lecture|meeting|episode))\b|\bkey\s+(?:points?|topics?|ideas?|moments|parts|themes?)\b|\bsum\s+(?:it\s+|(?:this|that|the)(?:\s+\w+)?\s+)?up\b|\bbreak\s+(?:it|(?:this|that|the)(?:\s+\w+)?)\s+down\b")),  # noqa: E501
    ("count", re.compile(r"\bhow\s+(?:many\s+times|often)\b|\bnumber\s+of\s+times\b|\bhow\s+many\b|\bcount\b")),
    ("after", re.compile(r"\b(?:right|just|immediately|directly|shortly)?\s*after\b|\bwhat\s+(?:comes|follows|happens)\s+next\b")),  # noqa: E501
    ("before", re.compile(r"\b(?:right|just|immediately|directly|shortly)?\s*before\b|\bpreceding\b|\bprior\s+to\b")),
    ("first", re.compile(r"\bfor\s+the\s+first\s+time\b|\bfirst\s+(?:time|mention(?:ed)?|appear(?:s|ed|ance)?|shown|said|seen)\b|\bfirst\b|\bearliest\b")),  # noqa: E501
    ("last", re.compile(r"\bfor\s+the\s+(?:last|final)\s+time\b|\blast\s+(?:time|mention(?:ed)?|appear(?:s|ed|ance)?)\b|\b(?:last|final)\b|\blatest\b")),  # noqa: E501
    ("every", re.compile(r"\bevery\s+(?:time|moment|mention|occurrence|scene)\b|\beach\s+(?:time|moment|mention|occurrence)\b|\ball\s+(?:the\s+)?(?:times|moments|mentions|occurrences|scenes|places)\b|\b(?:list|show|find|give|get|play|mark)\s+(?:me\s+|us\s+)?(?:all|every|each)\b|\b(?:for\s+)?how\s+long\b")),  # noqa: E501
)  # fmt: skip
# A relative question asks what is said or happens next to something: "what is said right after Y".
_RELATIVE_SHAPE = re.compile(r"^\s*(?:what|who|which|how|where|and\s+what)\b")
# A request rather than a question: "show me ...", "find all ...", "list every ...".
_REQUEST = re.compile(r"^\s*(?:please\s+|(?:can|could)\s+you\s+)?(show|find|list|give|get|play)\b(?:\s+(?:me|us))?")
_CHANNELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("written", re.compile(r"\b(?:written|writes?|wrote|caption(?:ed|s)?|reads?|text)\b")),
    ("on_screen", re.compile(r"\b(?:on[\s-]+screen|displayed)\b")),  # text, unless it names a picture
    ("shown", re.compile(r"\b(?:shown|shows?|showed|seen|sees?|appears?|appeared|appearing|visible|pictured|displays?)\b")),  # noqa: E501
    ("said", re.compile(r"\b(?:said|says?|saying|mention(?:s|ed)?|talk(?:s|ed)?|spoken|speaks?|discuss(?:es|ed)?|heard|hear|words?|sentence)\b")),  # noqa: E501
)  # fmt: skip


def _number(text: str) -> float:
    """``"twenty five"`` → 25, ``"half an"`` → 0.5, ``"a couple of"`` → 2, ``"2.5"`` → 2.5."""
    parts = [w for w in re.split(r"[ -]+", text.strip()) if w != "of"]
    if re.fullmatch(r"\d+(?:\.\d+)?", parts[0]):
        return float(parts[0])
    if parts[0] == "half":
        return 0.5
    return float(sum(_NUMBERS.get(p, 0) for p in parts))


def _seconds(text: str) -> float:
    """Seconds from the start for a clock time (``"1:02:15"``) or a duration (``"1h20m"``, ``"an hour and a
    half"``)."""
    if ":" in text:
        value = 0.0
        for part in text.split(":"):
            value = value * 60 + float(part)
        return value
    total = unit = 0.0
    for m in re.finditer(rf"\b({_NUM})(?:\s+of)?[ -]?({_UNIT})\b|(\d+(?:\.\d+)?)([hms])", text):
        value, name = (_number(m.group(1)), m.group(2)) if m.group(1) else (float(m.group(3)), m.group(4))
        unit = _UNITS[name if len(name) == 1 else name.rstrip("s")]
        total += value * unit
    return total + (unit / 2 if text.endswith("and a half") else 0.0)


@dataclass(frozen=True)
class _Found:
    kind: str
    start: int
    end: int
    cue: str


class Planner:
    """Turns questions into :class:`Plan` s. ``embed`` (texts → unit rows), when given, classifies the
    questions the grammar finds no cue in by their nearest :data:`EXAMPLES` question, if its cosine is at
    least ``min_similarity`` (else the question is a lookup)."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray] | None = None, min_similarity: float = 0.6) -> None:
        self.embed = embed
        self.min_similarity = min_similarity
        self._examples: tuple[np.ndarray, list[str], list[str]] | None = None

    def plan(self, question: str, duration_s: float | None = None) -> Plan:
        """The plan for ``question``; ``duration_s`` (the video's length) resolves "at the end", "the last
        ten minutes" (without it those spans are left out and the rest still plans)."""
        text = " ".join(question.lower().replace("’", "'").split())
        text = text.replace("can't", "can not").replace("won't", "will not").replace("n't", " not")
        text = re.sub(r"'(?:s|re|ve|ll|d|m)\b", "", re.sub(r"\bwhats\b", "what is", text))  # what's, the dog's
        span, text, relation = self._time(text, duration_s)
        chapter, text = self._chapter(text)
        request = _REQUEST.match(text)  # "show me ...": pictures, unless the rest names another channel
        rest = text[request.end() :] if request else text
        channel = next((name for name, pattern in _CHANNELS if pattern.search(rest)), None)
        if channel is None and request and request.group(1) == "show":
            channel = "shown"
        found = self._cue(text)
        timed = found is None and relation is not None and span is not None  # "what happens right after 34:30"
        why = f"grammar: {found.cue}" if found else ""
        kind = found.kind if found else ("at_time" if span is not None or chapter is not None else "")
        if timed:
            kind, why = str(relation), f"grammar: right {relation} {timecode(span.start_s)}"
        elif kind == "at_time" and not why:
            why = "grammar: a time or chapter"
        if not kind:
            kind, why = self._classify(question)
        if kind in ("before", "after") and not timed:
            if not _RELATIVE_SHAPE.search(text) or found is None:
                kind, why = "lookup", why + " (not a 'what ... after/before ...' question: lookup)"
            else:
                text = text[found.end :]  # the target is what the question says it is next to
        elif found is not None:
            text = text[: found.start] + " " + text[found.end :]
        target = " ".join(w for w in split_words(text) if w not in STOPWORDS and w not in FRAME_WORDS)
        if channel == "on_screen":  # "what is on screen": its text; "the cat on screen": a picture
            channel = "shown" if target and visual_words(target.split()) else "written"
        # first / last without a target ("what is the last thing said") read the channel's first or last moment
        if kind in ("count", "every", "before", "after") and not target and not timed:
            kind, why = ("at_time", why) if span is not None else ("overview" if kind != "count" else "lookup", why)
        return Plan(kind, target, channel, span, chapter, why)

    # -------------------------------------------------------------------------------------- grammar
    @staticmethod
    def _time(text: str, duration_s: float | None) -> tuple[TimeSpan | None, str, str | None]:
        """The question's time anchor (resolved against ``duration_s`` where needed), the text without it, and
        ``"after"`` / ``"before"`` when it asks for what comes right after or before that time."""

        def cut(m: re.Match[str]) -> str:
            return text[: m.start()] + " " + text[m.end() :]

        if m := _RANGE.search(text):
            a, b = sorted(_seconds(g) for g in m.groups() if g)
            return TimeSpan(a, b), cut(m), None
        if (m := _UNIT_RANGE.search(text)) and (unit := m.group(1) or m.group(4)):
            size = _UNITS[unit.rstrip("s")]
            a, b = sorted((_number(m.group(2)) * size, _number(m.group(3)) * size))
            return TimeSpan(a, b), cut(m), None
        if m := _FRACTION.search(text):
            parts = {"half": 2, "third": 3, "quarter": 4}[m.group(2)]
            which = {"first": 0, "second": 1, "third": 2, "fourth": 3, "middle": parts // 2}.get(m.group(1), parts - 1)
            if duration_s is None or which >= parts:
                return None, cut(m), None
            return TimeSpan(duration_s * which / parts, duration_s * (which + 1) / parts), cut(m), None
        if m := _FIRST_LAST.search(text):
            length = _seconds(m.group(2)) if m.group(2) else _UNITS[m.group(3).rstrip("s")]
            if m.group(1) in ("first", "opening"):
                return TimeSpan(0.0, length), cut(m), None
            if duration_s is None:
                return None, cut(m), None
            return TimeSpan(max(0.0, duration_s - length), duration_s), cut(m), None
        if m := _ENDS.search(text):
            if duration_s is None:
                return None, cut(m), None
            if m.group(1) == "middle":  # loosely said: its middle third
                return TimeSpan(duration_s / 3, 2 * duration_s / 3), cut(m), None
            edge = max(30.0, 0.05 * duration_s)  # the first or last 5%, 30 s at least
            end = m.group(1) in ("end", "close")
            span = TimeSpan(max(0.0, duration_s - edge), duration_s) if end else TimeSpan(0.0, min(edge, duration_s))
            return span, cut(m), None
        if m := _NEXT_TO.search(text):
            t = _seconds(m.group(2))
            return TimeSpan(t, t), cut(m), m.group(1)
        if m := _FROM.search(text):
            t = _seconds(m.group(1))
            return (None if duration_s is None else TimeSpan(t, max(t, duration_s))), cut(m), None
        if m := _UNTIL.search(text):
            return TimeSpan(0.0, _seconds(m.group(1))), cut(m), None
        if m := _AT_MINUTE.search(text):
            t = _number(m.group(2)) * _UNITS[m.group(1)]
            return TimeSpan(t, t), cut(m), None
        if (m := _INTO.search(text)) or (m := _AT.search(text)):
            t = _seconds(next(g for g in m.groups() if g))
            return TimeSpan(t, t), cut(m), None
        return None, text, None

    @staticmethod
    def _chapter(text: str) -> tuple[int | None, str]:
        m = _CHAPTER.search(text)
        if m is None:
            return None, text
        word = m.group(1) or m.group(2)
        index = _ORDINALS.get(word)
        if index is None:
            index = int(re.sub(r"\D", "", word)) - 1
        return index, text[: m.start()] + text[m.end() :]

    @staticmethod
    def _cue(text: str) -> _Found | None:
        """The first operation cue, in :data:`_CUES` priority order."""
        for kind, pattern in _CUES:
            if m := pattern.search(text):
                return _Found(kind, m.start(), m.end(), " ".join(m.group(0).split()))
        return None

    # ----------------------------------------------------------------------------------- classifier
    def _classify(self, question: str) -> tuple[str, str]:
        """The kind of the nearest example question, when it is near enough; else a lookup."""
        if self.embed is None:
            return "lookup", "no cue: lookup"
        if self._examples is None:
            kinds = [k for k, qs in EXAMPLES.items() for _ in qs]
            texts = [q for qs in EXAMPLES.values() for q in qs]
            self._examples = (self.embed(texts), kinds, texts)
        vectors, kinds, texts = self._examples
        scores = vectors @ self.embed([question])[0]  # (examples,)
        best = int(np.argmax(scores))
        if scores[best] < self.min_similarity:
            return "lookup", f"no cue; nearest example {texts[best]!r} ({scores[best]:.2f}) too far: lookup"
        return kinds[best], f"nearest example {texts[best]!r} ({scores[best]:.2f})"
