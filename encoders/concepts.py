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
from collections.abc import Iterable
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
    """The concept of a ``vocabulary`` label ("imagenet" or "coco"); an unknown label stands for itself alone."""
    found = _table(vocabulary).get(label)
    return found if found is not None else Concept(label, label, (), ())


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
