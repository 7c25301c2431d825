"""The concept tables (``assets/concepts/*.tsv``): the general words a label stands for, and the reader.

The targets are what a search for an everyday word needs from the committed tables; the last test checks that
the generator, rerun on WordNet 3.0, makes the committed files byte for byte.
"""

from __future__ import annotations

import ast
import csv
import importlib.resources
import importlib.util
import io
import subprocess
import sys
from pathlib import Path

import pytest

from longvid.encoders.concepts import Concept, concept, expand, general_words, object_labels

ROOT = Path(__file__).resolve().parents[1]
WORDNET = Path("/usr/share/wordnet")

# Words too general to find anything by; the rule has to leave them out by its mechanism, not by a list.
EMPTY_WORDS = {
    "entity", "physical entity", "object", "physical object", "whole", "abstraction", "matter", "thing", "unit",
    "living thing", "organism", "artifact", "instrumentality", "causal agent",
}  # fmt: skip


def _rows(vocabulary: str) -> list[dict[str, str]]:
    text = (importlib.resources.files("longvid.assets") / "concepts" / f"{vocabulary}.tsv").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


IMAGENET = [row["label"] for row in _rows("imagenet")]
COCO = [row["label"] for row in _rows("coco")]


def _labels(*spans: tuple[int, int]) -> list[str]:
    return [IMAGENET[i] for first, last in spans for i in range(first, last + 1)]


def _lacking(labels, *words: str, vocabulary: str = "imagenet") -> list[str]:
    """The labels whose words include none of ``words``."""
    return [label for label in labels if not set(words) & set(concept(label, vocabulary).words)]


def test_tables_have_the_columns_and_every_class():
    for vocabulary, size in (("imagenet", 1000), ("coco", 80)):
        rows = _rows(vocabulary)
        assert list(rows[0]) == ["index", "wnid", "label", "display", "synonyms", "general"]
        assert [int(r["index"]) for r in rows] == list(range(size))
        assert all(len(r["wnid"]) == 9 and r["wnid"].startswith("n") for r in rows)
        assert len({r["label"] for r in rows}) == size
    assert (IMAGENET[0], IMAGENET[207], _rows("imagenet")[207]["wnid"]) == ("tench", "golden retriever", "n02099601")
    total = sum((ROOT / "assets" / "concepts" / f"{v}.tsv").stat().st_size for v in ("imagenet", "coco"))
    assert total < 150_000


def test_imagenet_labels_are_the_encoders():
    weights = pytest.importorskip("torchvision.models").EfficientNet_B0_Weights
    assert list(weights.IMAGENET1K_V1.meta["categories"]) == IMAGENET


def test_every_dog_breed_is_a_dog_and_nothing_else_is():
    breeds = _labels((151, 268))
    assert _lacking(breeds, "dog") == [] and _lacking(breeds, "animal") == []
    others = [label for label in IMAGENET if label not in breeds]
    assert [label for label in others if "dog" in concept(label).words] == []
    assert "food" in concept("hotdog").general and "sled" in concept("dogsled").general


def test_animals():
    birds = _labels((7, 24), (80, 100), (127, 146))
    assert _lacking(birds, "bird") == [] and _lacking(birds, "animal") == []
    assert _lacking(_labels((281, 285)), "cat") == []  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    assert _lacking(["cougar", "lynx"], "cat") == []  # WordNet's wildcats
    assert _lacking(["leopard", "snow leopard", "jaguar", "lion", "tiger", "cheetah"], "big cat") == []
    assert _lacking(_labels((0, 6), (389, 397)), "fish") == []
    assert _lacking(_labels((52, 68)), "snake") == []
    assert _lacking(_labels((300, 326)), "insect") == []
    assert _lacking(_labels((365, 369)), "ape") == [] and _lacking(_labels((370, 382)), "monkey") == []
    assert _lacking(_labels((365, 384)), "mammal") == []  # lemurs too; WordNet's "primate" is untagged in SemCor
    assert "horse" in concept("sorrel").general
    assert _lacking(_labels((0, 397)), "animal") == []


def test_vehicles():
    cars = ["sports car", "convertible", "cab", "jeep", "limousine", "minivan", "racer", "beach wagon", "Model T"]
    trucks = ["fire engine", "garbage truck", "pickup", "tow truck", "trailer truck", "moving van", "police van"]
    boats = ["canoe", "fireboat", "gondola", "lifeboat", "speedboat", "yawl"]
    ships = ["aircraft carrier", "container ship", "liner", "pirate", "submarine", "wreck"]
    aircraft = ["airliner", "warplane", "airship", "balloon"]
    cycles = ["mountain bike", "bicycle-built-for-two", "tricycle", "unicycle"]
    assert _lacking(cars, "car") == [] and _lacking(trucks, "truck") == []
    assert _lacking(boats, "boat") == [] and _lacking(ships, "ship") == []
    watercraft = [*boats, *ships, "catamaran", "schooner", "trimaran"]
    assert _lacking([*cars, *trucks, *watercraft, *aircraft, *cycles, "steam locomotive"], "vehicle") == []
    # WordNet files buses and trains under public transport < conveyance, not vehicle: "transport" covers all.
    buses_trains = ["school bus", "trolleybus", "minibus", "bullet train"]
    assert _lacking(buses_trains, "bus", "train") == []
    assert _lacking([*cars, *trucks, *watercraft, *aircraft, *cycles, *buses_trains], "transport") == []


def test_things():
    assert _lacking(["pizza", "cheeseburger", "hotdog", "ice cream", "bagel", "banana", "espresso"], "food") == []
    assert _lacking(_labels((948, 957)), "fruit") == []  # Granny Smith ... pomegranate
    assert _lacking(["broccoli", "cauliflower", "zucchini", "cucumber", "bell pepper"], "vegetable") == []
    instruments = ["acoustic guitar", "electric guitar", "grand piano", "upright", "violin", "cello", "drum",
                   "banjo", "flute", "sax", "trombone", "French horn", "harp", "accordion", "oboe"]  # fmt: skip
    assert _lacking(instruments, "musical instrument") == []
    furniture = ["barber chair", "folding chair", "rocking chair", "throne", "desk", "dining table",
                 "four-poster", "crib", "studio couch", "bookcase", "wardrobe", "china cabinet"]  # fmt: skip
    assert _lacking(furniture, "furniture") == []
    assert _lacking(["barber chair", "folding chair", "rocking chair", "throne"], "chair") == []
    clothing = ["jersey", "suit", "sweatshirt", "cardigan", "trench coat", "kimono", "jean", "pajama", "bikini",
                "military uniform", "sock", "cowboy hat", "bow tie"]  # fmt: skip
    assert _lacking(clothing, "clothing") == []
    assert _lacking(["ballplayer", "groom", "scuba diver"], "person") == []
    buildings = ["church", "mosque", "palace", "monastery", "library", "cinema", "restaurant", "barn"]
    assert _lacking(buildings, "building") == []
    assert _lacking([*buildings, "castle", "triumphal arch", "suspension bridge", "dam"], "structure") == []
    tools = ["hammer", "screwdriver", "shovel", "hatchet", "cleaver", "chain saw", "can opener", "power drill"]
    assert _lacking(tools, "tool") == []
    assert _lacking(["barrel", "bucket", "beer bottle", "backpack", "crate", "vase"], "container") == []
    assert _lacking(["analog clock", "digital watch", "hourglass", "sundial"], "timepiece") == []


def test_no_empty_words_and_at_most_eight_general_words():
    for vocabulary, labels in (("imagenet", IMAGENET), ("coco", COCO)):
        for label in labels:
            c = concept(label, vocabulary)
            assert not EMPTY_WORDS & set(c.words), (label, EMPTY_WORDS & set(c.words))
            assert len(c.general) <= 8, (label, c.general)
            assert len(set(c.general)) == len(c.general) and label not in c.general


def test_synonyms_are_the_synsets_other_lemmas():
    assert concept("tabby") == Concept("tabby", "tabby", ("tabby cat",), concept("tabby").general)
    assert concept("tabby").general[:2] == ("domestic cat", "cat")
    assert concept("Staffordshire bullterrier").general[:3] == ("bullterrier", "terrier", "dog")
    assert concept("tusker").synonyms == () and concept("tusker").general == ("mammal", "animal")
    assert concept("crane bird").synonyms == ("crane",) and "bird" in concept("crane bird").general
    assert "device" in concept("crane").general and "bird" not in concept("crane").words
    assert concept("maillot tank suit").synonyms == ("maillot", "tank suit")


def test_coco():
    assert COCO[:5] == ["person", "bicycle", "car", "motorbike", "aeroplane"] and COCO[-1] == "toothbrush"
    shown = {"tvmonitor": "tv", "pottedplant": "potted plant", "diningtable": "dining table",
             "aeroplane": "airplane", "motorbike": "motorcycle", "sofa": "couch"}  # fmt: skip
    for label in COCO:
        assert concept(label, "coco").display == shown.get(label, label)
    assert concept("sofa", "coco").words[:2] == ("couch", "sofa")
    assert {"individual", "someone", "somebody"} <= set(concept("person", "coco").synonyms)
    assert "animal" in concept("dog", "coco").general and "mammal" in concept("cat", "coco").general
    assert {"motor vehicle", "vehicle"} <= set(concept("car", "coco").general)
    assert _lacking(["bicycle", "motorbike", "aeroplane", "boat", "truck"], "vehicle", vocabulary="coco") == []
    food = ["banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake"]
    assert _lacking(food, "food", vocabulary="coco") == []
    assert _lacking(["banana", "apple", "orange"], "fruit", vocabulary="coco") == []
    assert _lacking(["chair", "sofa", "bed", "diningtable", "bench"], "furniture", vocabulary="coco") == []
    # the ambiguous names are the intended senses
    assert "computer mouse" in concept("mouse", "coco").synonyms and "animal" not in concept("mouse", "coco").words
    assert "remote control" in concept("remote", "coco").synonyms
    assert "computer keyboard" in concept("keyboard", "coco").synonyms
    assert "television receiver" in concept("tvmonitor", "coco").synonyms
    assert "necktie" in concept("tie", "coco").synonyms and "clothing" in concept("tie", "coco").general
    assert "toy" in concept("kite", "coco").general and "bird" not in concept("kite", "coco").words
    assert "microwave oven" in concept("microwave", "coco").synonyms
    assert "dog" not in concept("hot dog", "coco").words and "sandwich" in concept("hot dog", "coco").general
    assert "dog" in concept("dog", "coco").words and "dog" not in concept("hot dog", "coco").general


def test_reader():
    assert concept("no such label") == Concept("no such label", "no such label", (), ())
    # "dog" is no ImageNet label but a general word of some: its own general words are those above it
    assert concept("dog") == Concept("dog", "dog", (), ("domestic animal", "mammal", "animal"))
    c = Concept("a", "b", ("c", "b"), ("d", "c"))
    assert c.words == ("b", "c", "d")
    assert expand(["tabby", "Egyptian cat", "tabby"])[:4] == ("tabby", "tabby cat", "domestic cat", "cat")
    words = expand(["tabby", "Egyptian cat", "unknown"])
    assert len(words) == len(set(words)) and "Egyptian cat" in words and words[-1] == "unknown"
    assert expand([]) == ()
    assert expand(["dog", "pizza"], "coco")[:2] == ("dog", "domestic dog")
    with pytest.raises(ValueError, match="vocabulary"):
        concept("dog", "openimages")


def test_general_words_and_object_labels():
    assert general_words(["tabby", "Egyptian cat"])[:3] == ("tabby cat", "domestic cat", "cat")
    assert "tabby" not in general_words(["tabby"]) and general_words(["unknown"]) == ()
    assert general_words(["tvmonitor"], "coco")[:2] == ("tv", "television receiver")
    assert object_labels(["how", "many", "people"]) == {"person"}
    assert object_labels(["dogs", "and", "cats"]) == {"dog", "cat"}
    assert object_labels(["wine", "glasses"]) == {"wine glass"} and object_labels(["knives"]) == {"knife"}
    assert object_labels(["tvs"]) == {"tvmonitor"} and object_labels(["couch"]) == {"sofa"}
    assert object_labels(["teddy", "bears"]) == {"teddy bear"} and object_labels(["bear"]) == {"bear"}
    assert {"car", "truck", "bicycle", "motorbike", "boat", "aeroplane"} <= object_labels(["vehicles"])
    assert object_labels(["fruit"]) == {"banana", "apple", "orange"}
    assert object_labels(["can", "the", "it"]) == frozenset() and object_labels([]) == frozenset()


def test_the_reader_needs_no_model_library():
    tree = ast.parse((ROOT / "encoders" / "concepts.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in {"torch", "torchvision", "timm", "nltk"}}


@pytest.mark.skipif(not (WORDNET / "data.noun").exists(), reason="WordNet 3.0 (Debian wordnet-base) is not installed")
@pytest.mark.skipif(
    importlib.util.find_spec("timm") is None or importlib.util.find_spec("torchvision") is None,
    reason="the generator reads timm's ImageNet synset list and torchvision's category names",
)
def test_generator_reproduces_the_committed_tables(tmp_path):
    script = ROOT / "assets" / "concepts" / "build_table.py"
    done = subprocess.run(
        [sys.executable, str(script), "--wordnet", str(WORDNET), "--out", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for name in ("imagenet.tsv", "coco.tsv"):
        assert (tmp_path / name).read_bytes() == (ROOT / "assets" / "concepts" / name).read_bytes(), name
