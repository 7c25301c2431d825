"""Generate ``imagenet.tsv`` and ``coco.tsv``: each class label with its synonyms and the general words people search.

The frame encoder tags frames with ImageNet-1k labels ("Staffordshire bullterrier", "tabby", "sports car") and the
object detector with COCO labels ("tvmonitor", "hot dog"); people search for "dog", "cat", "car", "food". ImageNet
classes are WordNet 3.0 noun synsets, and every COCO class is mapped to one (``COCO_SENSES`` below, printed with
``--review``), so the general words come from walking WordNet's hypernyms. This is a development script, run once;
the product reads only the two tables (``longvid.encoders.concepts``)::

    python assets/concepts/build_table.py --wordnet /usr/share/wordnet --out assets/concepts

Inputs: WordNet 3.0 ``data.noun``, ``index.noun`` and ``cntlist.rev`` (SemCor sense tag counts; Debian's
``wordnet-base``), timm's ``imagenet_synsets.txt`` (the 1000 WordNet ids in class order) and torchvision's
ImageNet category names (the strings the encoder emits, in the same order). The output is deterministic.

The rule, for one class synset C:

1. Walk every hypernym path up from C, following both ``@`` (hypernym) and ``@i`` (instance hypernym) pointers.
   Each ancestor A is at some distance from C (the fewest steps over all paths).
2. A is too general, and skipped, when it sits near the top of the noun hierarchy (``depth(A) < 4``, depth being
   the fewest steps up to ``entity``: entity, physical entity, abstraction, object, whole, matter, causal agent,
   substance, solid, ...), or when it covers more than 30% of the ImageNet-1k classes (artifact,
   instrumentality, living thing, organism, animal, chordate, vertebrate). Coverage is always measured on the
   ImageNet-1k classes, also for COCO.
3. A word of A (lemma, underscores as spaces) is a candidate when it is A's headword (its first lemma) and
   either that sense of the word is tagged at least once in SemCor (``cntlist.rev``) or A is C's direct
   hypernym (the kind C is defined as: "big cat" for lion, "retriever" for golden retriever, "great ape"); and
   also when it is A's most-tagged other lemma, tagged at least twice and more often than the headword
   ("transport" for conveyance, "toy" for plaything, "clothes" for apparel).
4. A candidate kept for its SemCor count (not a direct hypernym's headword, which names the kind itself) must
   also be a usual sense of the word: tagged at least a fifth as often as the word's most frequent noun sense.
   This drops "game" for game birds (game is mostly a contest), "machine" for the simple machine (a wheel) and
   "way" for the passage.
5. The kept words are ordered most specific first (by distance from C, then by coverage, then alphabetically),
   duplicates dropped, and so are words that already name C (its label, display or own lemmas: the computer
   "printer" is a kind of "printer", the printing machine).
6. The lexicographer file of C names its category when that name is a plain word: noun.animal -> "animal",
   noun.food -> "food", noun.person -> "person", noun.plant -> "plant" (WordNet files fungi under plants). That
   word goes last (it is the most general), standing in for the unique beginners that step 2 removes; the other
   lexicographer files (noun.artifact, noun.object, ...) add nothing.
7. At most 8 general words: the 7 most specific ones and the category word of step 6, or the 8 most specific.
8. Then the headword of each group C itself is a member of (``#m``, in noun.group) that SemCor tags at least 20
   times: "people" for person (257 tags). Below that are only herd, flock, pack, pride... (5 tags or fewer),
   words for a gathering rather than for its members.

Synonyms are the other lemmas of C's own synset. ImageNet rows show the label itself; COCO rows show COCO's
own name (``COCO_DISPLAY``: darknet's "tvmonitor" is shown as "tv", "sofa" as "couch").

``--explain LABEL`` prints every ancestor of a class with its depth, coverage, counts and the decision.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

MIN_DEPTH = 4  # ancestors nearer to `entity` than this are too general
MAX_COVERAGE = 0.30  # ancestors of more than this share of the ImageNet-1k classes are too general
MIN_TAGS = 1  # SemCor tags for a (non-direct) hypernym's headword
MIN_ALT_TAGS = 2  # SemCor tags for another lemma to be used beside (or instead of) the headword
DOMINANCE = 0.2  # this sense's tags / the word's most-tagged noun sense's tags
MAX_GENERAL = 8
GROUP_LEXFILE = 14  # noun.group
MIN_GROUP_TAGS = 20  # SemCor tags for a group's headword to stand for its members
CATEGORY_WORDS = {5: "animal", 13: "food", 18: "person", 20: "plant"}  # lexicographer file number -> word

# COCO class names as darknet's coco.names spells them (what the detector emits), in class order.
COCO_LABELS = (
    "person", "bicycle", "car", "motorbike", "aeroplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "sofa",
    "pottedplant", "bed", "diningtable", "toilet", "tvmonitor", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip
# COCO's own names where darknet's differ.
COCO_DISPLAY = {
    "motorbike": "motorcycle", "aeroplane": "airplane", "sofa": "couch", "pottedplant": "potted plant",
    "diningtable": "dining table", "tvmonitor": "tv",
}  # fmt: skip
# The WordNet sense of a COCO class where it is not the first noun sense of its (display) name, or where the name
# is no WordNet lemma: (lemma, offset), the offset checked against the lemma when the table is built.
COCO_SENSES = {
    "motorbike": ("motorcycle", 3790512),  # WordNet's "motorbike" is the minibike
    "skis": ("ski", 4228054),
    "sports ball": ("ball", 2778669),  # a round object hit, thrown or kicked in games
    "kite": ("kite", 3621473),  # the toy, not the hawk or the cheque
    "tie": ("necktie", 3815615),  # not a draw or a railway sleeper
    "wine glass": ("wineglass", 4592099),
    "stop sign": ("street sign", 6794110),  # WordNet has no stop sign
    "banana": ("banana", 7753592),  # the fruit, not the plant
    "broccoli": ("broccoli", 7714990),  # the vegetable, not the plant
    "carrot": ("carrot", 7730207),  # the vegetable, not the plant or the reward
    "hot dog": ("hotdog", 7697537),  # the sandwich, not the stunt performer or the bare frankfurter
    "cake": ("cake", 7628870),  # baked goods, not a cake of soap
    "pottedplant": ("pot plant", 11536230),
    "toilet": ("toilet", 4446521),  # the fixture, not the room
    "tvmonitor": ("television receiver", 4405907),  # not the broadcasting
    "mouse": ("computer mouse", 3793489),  # not the rodent
    "keyboard": ("computer keyboard", 3085013),  # not a piano's keys
    "cell phone": ("cellular telephone", 2992529),
    "microwave": ("microwave oven", 3761084),  # not the radiation
    "toaster": ("toaster", 4442312),  # the appliance, not the person proposing a toast
    "book": ("book", 2870092),  # the bound volume, not the written work
}

COLUMNS = ("index", "wnid", "label", "display", "synonyms", "general")


@dataclass(frozen=True)
class Synset:
    offset: int
    lexfile: int
    lemmas: tuple[tuple[str, int], ...]  # (word as the data file spells it, lex_id)
    hypernyms: tuple[int, ...]  # @ and @i, noun targets only
    groups: tuple[int, ...] = ()  # #m: the groups it is a member of ("people" for person)

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(w.replace("_", " ") for w, _ in self.lemmas)


class WordNet:
    """The noun part of a WordNet 3.0 database directory (``man 5 wndb``, ``man 5 cntlist``)."""

    def __init__(self, root: Path):
        self.synsets: dict[int, Synset] = {}
        self._depths: dict[int, int] = {}
        self._ancestors: dict[int, dict[int, int]] = {}
        for line in (root / "data.noun").read_text(encoding="utf-8").splitlines():
            if line.startswith("  "):  # the licence header
                continue
            fields = line.split(" | ", 1)[0].split()
            n = int(fields[3], 16)
            lemmas = tuple((fields[4 + 2 * i], int(fields[5 + 2 * i], 16)) for i in range(n))
            at = 4 + 2 * n
            pointers = [fields[at + 1 + 4 * k : at + 5 + 4 * k] for k in range(int(fields[at]))]
            hypernyms = tuple(int(off) for sym, off, pos, _ in pointers if sym in ("@", "@i") and pos == "n")
            groups = tuple(int(off) for sym, off, pos, _ in pointers if sym == "#m" and pos == "n")
            self.synsets[int(fields[0])] = Synset(int(fields[0]), int(fields[1]), lemmas, hypernyms, groups)
        self.tags: dict[str, int] = {}
        for line in (root / "cntlist.rev").read_text(encoding="utf-8").splitlines():
            key, _, count = line.split()
            self.tags[key] = int(count)
        self.senses: dict[str, tuple[int, ...]] = {}  # lemma (lower case, underscores) -> offsets, sense order
        for line in (root / "index.noun").read_text(encoding="utf-8").splitlines():
            if line.startswith("  "):
                continue
            fields = line.split()
            count = int(fields[2])
            self.senses[fields[0]] = tuple(int(off) for off in fields[-count:])

    def tag_count(self, offset: int, word: str) -> int:
        """SemCor tags of ``word`` (a lemma of the synset, spaces or underscores) in this sense."""
        synset = self.synsets[offset]
        lemma = word.replace(" ", "_").lower()
        for spelled, lex_id in synset.lemmas:
            if spelled.lower() == lemma:
                return self.tags.get(f"{lemma}%1:{synset.lexfile:02d}:{lex_id:02d}::", 0)
        raise KeyError(f"{word!r} is not a lemma of {offset:08d}")

    def top_tag_count(self, word: str) -> int:
        """SemCor tags of the word's most frequent noun sense."""
        lemma = word.replace(" ", "_").lower()
        return max((self.tag_count(off, lemma) for off in self.senses.get(lemma, ())), default=0)

    def depth(self, offset: int) -> int:
        """Fewest hypernym steps from the synset up to a root (``entity``)."""
        if offset not in self._depths:
            up = self.synsets[offset].hypernyms
            self._depths[offset] = 1 + min(self.depth(h) for h in up) if up else 0
        return self._depths[offset]

    def ancestors(self, offset: int) -> dict[int, int]:
        """Every ancestor over all hypernym paths, with its distance (fewest steps) from the synset."""
        if offset not in self._ancestors:
            found: dict[int, int] = {}
            for parent in self.synsets[offset].hypernyms:
                for ancestor, steps in [(parent, 0), *self.ancestors(parent).items()]:
                    if ancestor not in found or found[ancestor] > steps + 1:
                        found[ancestor] = steps + 1
            self._ancestors[offset] = found
        return self._ancestors[offset]

    def sense(self, lemma: str, offset: int | None = None) -> int:
        """The synset of ``lemma``'s first noun sense, or ``offset`` after checking that it is a sense of it."""
        senses = self.senses.get(lemma.replace(" ", "_").lower(), ())
        if offset is None:
            if not senses:
                raise KeyError(f"{lemma!r} is no WordNet noun")
            return senses[0]
        if offset not in senses:
            raise KeyError(f"{offset:08d} is not a sense of {lemma!r}")
        return offset


@dataclass
class Candidate:
    word: str
    ancestor: int
    steps: int
    kept: bool
    why: str


class Rule:
    """The selection rule of the module docstring over ``wordnet``, with coverage from ``imagenet`` (offsets)."""

    def __init__(self, wordnet: WordNet, imagenet: list[int]):
        self.wn = wordnet
        self.coverage: Counter[int] = Counter()
        for offset in imagenet:
            self.coverage.update(wordnet.ancestors(offset).keys())
        self.max_coverage = MAX_COVERAGE * len(imagenet)

    def candidates(self, offset: int) -> list[Candidate]:
        """Every ancestor's candidate words with the decision, most specific first."""
        wn, out = self.wn, []
        ancestors = wn.ancestors(offset)
        order = sorted(ancestors, key=lambda a: (ancestors[a], self.coverage[a], wn.synsets[a].words[0]))
        for a in order:
            steps, words = ancestors[a], wn.synsets[a].words
            if wn.depth(a) < MIN_DEPTH:
                out.append(Candidate(words[0], a, steps, False, f"depth {wn.depth(a)} < {MIN_DEPTH}"))
                continue
            if self.coverage[a] > self.max_coverage:
                out.append(Candidate(words[0], a, steps, False, f"covers {self.coverage[a]} classes"))
                continue
            head_tags = wn.tag_count(a, words[0])
            head_ok = head_tags >= MIN_TAGS or steps == 1
            why = f"{head_tags} tags" + (", direct hypernym" if steps == 1 else "")
            head = Candidate(words[0], a, steps, head_ok, why)
            out.append(head if steps == 1 else self._dominant(head))
            others = sorted(((wn.tag_count(a, w), -i, w) for i, w in enumerate(words[1:])), reverse=True)
            if others and others[0][0] >= max(MIN_ALT_TAGS, head_tags + 1):
                tags, _, word = others[0]
                out.append(self._dominant(Candidate(word, a, steps, True, f"{tags} tags, more than {words[0]!r}")))
        return out

    def _dominant(self, candidate: Candidate) -> Candidate:
        if not candidate.kept:
            return candidate
        tags, top = self.wn.tag_count(candidate.ancestor, candidate.word), self.wn.top_tag_count(candidate.word)
        if tags < DOMINANCE * top:
            candidate.kept, candidate.why = False, f"{candidate.why}; the word's usual sense has {top} tags"
        return candidate

    def general(self, offset: int, named: tuple[str, ...] = ()) -> list[str]:
        """The general words of a class; none that ``named`` (its label, display and synonyms) already holds."""
        words: list[str] = []
        taken = {w.lower() for w in (*named, *self.wn.synsets[offset].words)}
        for c in self.candidates(offset):
            if c.kept and c.word not in words and c.word.lower() not in taken:
                words.append(c.word)
        category = CATEGORY_WORDS.get(self.wn.synsets[offset].lexfile)
        kept = words[:MAX_GENERAL] if category is None else [*[w for w in words if w != category][: MAX_GENERAL - 1],
                                                               category]  # fmt: skip
        return kept + [w for w in self.group_words(offset) if w.lower() not in taken and w not in kept]

    def group_words(self, offset: int) -> list[str]:
        """Step 8: the headword of each group the class itself is a member of, when that group is a people-sized
        word (noun.group) tagged at least ``MIN_GROUP_TAGS`` times in SemCor: "people" for person."""
        out = []
        for group in self.wn.synsets[offset].groups:
            synset = self.wn.synsets[group]
            if synset.lexfile == GROUP_LEXFILE and self.wn.tag_count(group, synset.words[0]) >= MIN_GROUP_TAGS:
                out.append(synset.words[0])
        return out


def synonyms(synset: Synset, *shown: str) -> list[str]:
    seen = {s.lower() for s in shown}
    out = []
    for word in synset.words:
        if word.lower() not in seen:
            seen.add(word.lower())
            out.append(word)
    return out


def imagenet_classes(synsets_file: Path | None) -> tuple[list[int], list[str]]:
    """The 1000 WordNet offsets (timm's list) and torchvision's labels, in class order, checked against each other."""
    from torchvision.models import EfficientNet_B0_Weights

    if synsets_file is None:
        import timm

        synsets_file = Path(timm.__file__).parent / "data" / "_info" / "imagenet_synsets.txt"
    wnids = synsets_file.read_text().split()
    labels = list(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])
    if len(wnids) != 1000 or len(labels) != 1000 or len(set(labels)) != 1000:
        raise SystemExit(f"expected 1000 distinct classes, got {len(wnids)} ids and {len(set(labels))} labels")
    for index, wnid, label in ((0, "n01440764", "tench"), (207, "n02099601", "golden retriever")):
        if (wnids[index], labels[index]) != (wnid, label):
            raise SystemExit(f"class {index}: {wnids[index]} {labels[index]!r}, expected {wnid} {label!r}")
    return [int(w[1:]) for w in wnids], labels


def coco_offsets(wn: WordNet) -> list[int]:
    out = []
    for label in COCO_LABELS:
        lemma, offset = COCO_SENSES.get(label, (COCO_DISPLAY.get(label, label), None))
        out.append(wn.sense(lemma, offset))
    return out


def rows(wn: WordNet, rule: Rule, offsets: list[int], labels: list[str], display: dict[str, str]) -> list[list[str]]:
    table = []
    for index, (offset, label) in enumerate(zip(offsets, labels, strict=True)):
        shown = display.get(label, label)
        table.append([
            str(index), f"n{offset:08d}", label, shown,
            ";".join(synonyms(wn.synsets[offset], shown)), ";".join(rule.general(offset, (label, shown))),
        ])  # fmt: skip
    return table


def write_tsv(path: Path, table: list[list[str]]) -> None:
    for row in table:
        if any(("\t" in cell or "\n" in cell) for cell in row) or any(";" in w for w in row[:4]):
            raise SystemExit(f"{path.name}: a cell holds a separator: {row}")
    text = "".join("\t".join(row) + "\n" for row in [list(COLUMNS), *table])
    path.write_text(text, encoding="utf-8", newline="\n")


def explain(wn: WordNet, rule: Rule, offset: int, label: str) -> None:
    print(f"{label} (n{offset:08d}, depth {wn.depth(offset)}): {', '.join(wn.synsets[offset].words)}")
    for c in rule.candidates(offset):
        mark = "+" if c.kept else "-"
        print(f"  {mark} {c.word:32s} steps {c.steps:2d}  depth {wn.depth(c.ancestor):2d}  "
              f"covers {rule.coverage[c.ancestor]:4d}  {c.why}")  # fmt: skip
    print(f"  => {'; '.join(rule.general(offset))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"), help="WordNet 3.0 dict folder")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write imagenet.tsv and coco.tsv")
    parser.add_argument("--synsets", type=Path, help="ImageNet-1k synset ids in class order (default: timm's)")
    parser.add_argument("--review", action="store_true", help="print the COCO mapping and the ImageNet rows")
    parser.add_argument("--explain", nargs="+", metavar="LABEL", help="print the rule's decisions for labels")
    args = parser.parse_args(argv)

    wn = WordNet(args.wordnet)
    imagenet, labels = imagenet_classes(args.synsets)
    rule = Rule(wn, imagenet)
    coco = coco_offsets(wn)
    if args.explain:
        known = dict(zip(labels, imagenet, strict=True)) | dict(zip(COCO_LABELS, coco, strict=True))
        for label in args.explain:
            explain(wn, rule, known[label], label) if label in known else print(f"{label}: not a class")
        return 0
    tables = {
        "imagenet.tsv": rows(wn, rule, imagenet, labels, {}),
        "coco.tsv": rows(wn, rule, coco, list(COCO_LABELS), COCO_DISPLAY),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_tsv(args.out / name, table)
        sizes = Counter(len(row[5].split(";")) if row[5] else 0 for row in table)
        print(f"{args.out / name}: {len(table)} classes, {(args.out / name).stat().st_size} bytes, "
              f"general words per class {dict(sorted(sizes.items()))}")  # fmt: skip
    if args.review:
        for name, table in tables.items():
            print(f"\n{name}")
            for row in table:
                print(f"{row[0]:>4} {row[1]} {row[2]!r:28} -> {row[3]!r}  [{row[4]}]  {row[5]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
