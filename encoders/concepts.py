"""The general words behind a classifier's label: "Staffordshire bullterrier" is a terrier, a dog, an animal.

Frame tags are ImageNet-1k labels (the embedded encoder) or COCO labels (the object detector), and nobody
searches for "Staffordshire bullterrier": people type "dog". This module reads the tables that
``assets/concepts/build_table.py`` made once from WordNet 3.0 (each class with its synonyms and its hypernyms
that are common words, most specific first), so a tag can be indexed or matched under all of its names::

    >>> concept("Staffordshire bullterrier").general[:4]
    ('bullterrier', 'terrier', 'dog', 'domestic animal')
    >>> concept("tvmonitor", "coco").words[:3]
    ('tv', 'television receiver', 'television')
    >>> expand(["tabby", "hotdog"])[:6]
    ('tabby', 'tabby cat', 'domestic cat', 'cat', 'domestic animal', 'mammal')
    >>> concept("no such label")
    Concept(label='no such label', display='no such label', synonyms=(), general=())

What a moment's tags add to its searchable text, and which detector labels a question's words name::

    >>> general_words(["tabby", "Egyptian cat"])[:4]
    ('tabby cat', 'domestic cat', 'cat', 'domestic animal')
    >>> sorted(object_labels(["two", "people", "and", "their", "dogs"]))
    ['dog', 'person']
    >>> sorted(object_labels(["traffic", "lights"])), len(object_labels(["animals"]))
    (['traffic light'], 10)

The tables' words are WordNet's spelling (singular, mostly lower case): matching a search's plurals and case is
the caller's business, except in :func:`object_labels`, which takes plurals too.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from longvid.ingest.words import STOPWORDS, split_words

log = logging.getLogger(__name__)

VOCABULARIES = ("imagenet", "coco")
_IRREGULAR = {"people": "person", "mice": "mouse"}  # plurals of COCO words that no suffix rule undoes


@dataclass(frozen=True)
class Concept:
    """A class label with the words it stands for."""

    label: str  # the model's label
    display: str  # how to show it
    synonyms: tuple[str, ...]
    general: tuple[str, ...]  # most specific first

    @property
    def words(self) -> tuple[str, ...]:
        """``display``, then ``synonyms``, then ``general``, each word once, in that order."""
        return tuple(dict.fromkeys((self.display, *self.synonyms, *self.general)))


def _split(cell: str) -> tuple[str, ...]:
    return tuple(w for w in cell.split(";") if w)


@functools.cache
def _table(vocabulary: str) -> dict[str, Concept]:
    if vocabulary not in VOCABULARIES:
        raise ValueError(f"unknown vocabulary {vocabulary!r}: expected one of {', '.join(VOCABULARIES)}")
    resource = importlib.resources.files("longvid.assets") / "concepts" / f"{vocabulary}.tsv"
    text = resource.read_text(encoding="utf-8")
    table = {}
    for row in csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE):
        label = row["label"]
        table[label] = Concept(label, row["display"] or label, _split(row["synonyms"]), _split(row["general"]))
    log.debug("read %d %s concepts", len(table), vocabulary)
    return table


def concept(label: str, vocabulary: str = "imagenet") -> Concept:
    """The concept of a ``vocabulary`` label ("imagenet" or "coco"), or of one of its general words (whose
    own general words are those above it: "terrier" is a dog); anything else stands for itself alone.

    >>> concept("terrier").general[:2]
    ('dog', 'domestic animal')
    """
    found = _table(vocabulary).get(label)
    if found is not None:
        return found
    return Concept(label, label, (), _above(vocabulary).get(label, ()))


@functools.cache
def _above(vocabulary: str) -> dict[str, tuple[str, ...]]:
    """Each general word -> the general words above it (in the order the tables list them)."""
    above: dict[str, dict[str, None]] = {}
    for c in _table(vocabulary).values():
        for i, word in enumerate(c.general):
            above.setdefault(word, {}).update(dict.fromkeys(w for w in c.general[i + 1 :] if w != word))
    return {word: tuple(words) for word, words in above.items()}


def confident_labels(labels: Sequence[str], scores: Sequence[float], floor: float,
                     vocabulary: str = "imagenet") -> tuple[tuple[str, float], ...]:  # fmt: skip
    """What one frame can be said to show at ``floor``, with probabilities, best first: each proposed label
    whose probability clears it, and, when the probability is split among sibling classes (three terrier
    breeds at 0.3 each), the most specific general word whose summed probability does ("terrier", 0.9),
    as YOLO9000's WordTree does. ``labels`` / ``scores``: a classifier's top proposals.

    >>> confident_labels(["Staffordshire bullterrier", "American Staffordshire terrier", "tabby"],
    ...                  [0.35, 0.3, 0.1], 0.6)
    (('bullterrier', 0.65),)
    >>> confident_labels(["tabby", "tiger cat"], [0.7, 0.2], 0.6)
    (('tabby', 0.7),)
    """
    mass: dict[str, float] = {}
    for label, p in zip(labels, scores, strict=True):
        for word in concept(label, vocabulary).general:
            mass[word] = mass.get(word, 0.0) + p
    kept = {label: p for label, p in zip(labels, scores, strict=True) if p >= floor}
    implied = {w for label in kept for w in concept(label, vocabulary).general}
    for label, _ in sorted(zip(labels, scores, strict=True), key=lambda lp: -lp[1]):
        if label in kept:
            continue
        word = next((w for w in concept(label, vocabulary).general if mass[w] >= floor), None)
        if word is not None and word not in kept and word not in implied:
            kept[word] = round(mass[word], 4)
            implied |= set(concept(word, vocabulary).general)
    return tuple(sorted(kept.items(), key=lambda kv: -kv[1]))


def expand(labels: Iterable[str], vocabulary: str = "imagenet") -> tuple[str, ...]:
    """Every word of every label (``Concept.words``), label by label, each word once, in order."""
    words: dict[str, None] = {}
    for label in labels:
        words.update(dict.fromkeys(concept(label, vocabulary).words))
    return tuple(words)


def general_words(labels: Iterable[str], vocabulary: str = "imagenet") -> tuple[str, ...]:
    """What the labels stand for besides themselves: :func:`expand` without the labels (what to index beside
    the tags: synonyms, then general words)."""
    labels = tuple(labels)
    own = set(labels)
    return tuple(w for w in expand(labels, vocabulary) if w not in own)


def basic_word(label: str, vocabulary: str = "imagenet") -> str | None:
    """The everyday word to show beside a fine label: its first general word that names a COCO class (COCO's
    80 classes are everyday categories: "dog", "cat", "car", "pizza"), else its first general word shared
    by at least :data:`BASIC_SHARE` classes of the vocabulary ("fish" for a goldfish, not "cyprinid"), else
    its most specific one; None when it has none.

    >>> basic_word("Staffordshire bullterrier"), basic_word("goldfish"), basic_word("tabby")
    ('dog', 'fish', 'cat')
    """
    general = concept(label, vocabulary).general
    coco = _coco_names()
    shared = _shared_words(vocabulary)
    return next((w for w in general if w in coco), None) or next((w for w in general if w in shared),
                                                                  general[0] if general else None)  # fmt: skip


BASIC_SHARE = 10  # classes a general word must cover to count as everyday (see basic_word)


@functools.cache
def _coco_names() -> frozenset[str]:
    return frozenset(w for c in _table("coco").values() for w in (c.label, c.display))


@functools.cache
def _shared_words(vocabulary: str) -> frozenset[str]:
    counts: dict[str, int] = {}
    for c in _table(vocabulary).values():
        for w in c.general:
            counts[w] = counts.get(w, 0) + 1
    return frozenset(w for w, n in counts.items() if n >= BASIC_SHARE)


def _singulars(word: str) -> set[str]:
    """``word`` and what it is the regular (or a common irregular) English plural of."""
    forms = {word, _IRREGULAR.get(word, word)}
    if word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
        if word.endswith("es"):
            forms.add(word[:-2])
        if word.endswith("ies"):
            forms.add(word[:-3] + "y")
        if word.endswith("ves"):
            forms |= {word[:-3] + "f", word[:-3] + "fe"}
    return forms


@functools.cache
def _coco_phrases() -> tuple[tuple[tuple[str, ...], str], ...]:
    """(word sequence, COCO label) for every word of every COCO label, the label itself included."""
    out = []
    for c in _table("coco").values():
        for word in dict.fromkeys((c.label, *c.words)):
            tokens = tuple(split_words(word))
            if len(tokens) > 1 or (tokens and tokens[0] not in STOPWORDS):
                out.append((tokens, c.label))
    return tuple(out)


@functools.cache
def _vocabulary_words() -> frozenset[str]:
    """Every word of every class's label, synonyms and general words, in both vocabularies."""
    names = (n for v in VOCABULARIES for c in _table(v).values() for n in (c.label, *c.words))
    return frozenset(w for n in names for w in split_words(n)) - STOPWORDS


def visual_words(words: Iterable[str]) -> frozenset[str] | None:
    """The taggers' words that lower-case ``words`` are (singular or plural), when every one of them is one;
    None when any is not (the words then name something the tags cannot settle).

    >>> sorted(visual_words(["dogs", "bicycle"]))
    ['bicycle', 'dog']
    >>> visual_words(["quiet", "street"]) is None
    True
    """
    found: set[str] = set()
    for word in words:
        forms = _singulars(word) & _vocabulary_words()
        if not forms:
            return None
        found |= forms
    return frozenset(found) or None


def object_labels(words: Iterable[str]) -> frozenset[str]:
    """The COCO labels (as the detector emits them) that lower-case ``words`` name, singular or plural: by
    name, synonym or general word, a phrase as consecutive words ("traffic lights"; "animals" names all ten
    animals), the longest phrase winning ("teddy bears" are not bears). Function words ("can", a synonym of
    toilet) name nothing alone."""
    forms = [_singulars(w) for w in words]
    matches = [  # (first word, past the last word, label)
        (i, i + len(tokens), label)
        for tokens, label in _coco_phrases()
        for i in range(len(forms) - len(tokens) + 1)
        if all(t in forms[i + j] for j, t in enumerate(tokens))
    ]
    # a phrase inside a longer one names nothing by itself: "teddy bears" are no bears
    return frozenset(
        label
        for start, end, label in matches
        if not any(s <= start and end <= e and e - s > end - start for s, e, _ in matches)
    )
