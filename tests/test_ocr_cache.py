"""OcrReader's memory of the previous frame's text regions, with the real bundled RapidOCR models.

The reference is what ``OcrReader.read`` did before it ran RapidOCR's stages itself: ``RapidOCR.__call__``
on the frame, then the reader's clean-up (score and length filter, word splitting, fractional boxes).
"""

import io

import numpy as np
import pytest
from PIL import Image

from longvid.app.eval.synth import text_slide
from longvid.encoders import OcrLine, OcrReader
from longvid.ingest import sample_frames

from .conftest import DEMO

WIDTH, HEIGHT = 480, 270  # text_slide's default size; the detector sees these frames unscaled


def rapidocr_lines(reader: OcrReader, frame: np.ndarray) -> tuple[OcrLine, ...]:
    """The lines of ``frame`` through ``RapidOCR.__call__`` (no cache), cleaned up as the reader does."""
    height, width = frame.shape[:2]
    result, _ = reader.engine(np.ascontiguousarray(frame[..., ::-1]))
    lines = []
    for box, raw_text, score in result or ():
        text = " ".join(str(raw_text).split())
        if float(score) < reader.min_score or len(text) < 2:
            continue
        if reader.splitter is not None:
            text = reader.splitter.line(text)
        xs, ys = [p[0] for p in box], [p[1] for p in box]
        frac = (min(xs) / width, min(ys) / height, max(xs) / width, max(ys) / height)
        lines.append(OcrLine(text, float(score), tuple(round(v, 4) for v in frac)))
    return tuple(sorted(lines, key=lambda line: (line.box[1], line.box[0])))


def noisy(frame: np.ndarray, seed: int) -> np.ndarray:
    """``frame`` with mild sensor noise (Gaussian, sigma 3 levels) then JPEG at quality 85."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=85)
    return np.asarray(Image.open(buffer))


@pytest.fixture(scope="module")
def reader() -> OcrReader:
    return OcrReader()


@pytest.fixture
def rec_calls(reader, monkeypatch) -> list[int]:
    """How many crops each call of the classifier and of the recogniser got: [(stage, crops), ...]."""
    calls = []
    for stage in ("text_cls", "text_rec"):
        original = getattr(reader.engine, stage)

        def counting(crops, *args, _stage=stage, _original=original):
            calls.append((_stage, len(crops)))
            return _original(crops, *args)

        monkeypatch.setattr(reader.engine, stage, counting)
    return calls


@pytest.fixture(scope="module")
def demo(reader) -> list[tuple[np.ndarray, tuple[OcrLine, ...]]]:
    """Frames of assets/demo.mp4 every 4 s (slides, text and none) with their reference lines."""
    frames = [px for batch in sample_frames(DEMO, fps=0.25) for px in batch.pixels]
    return [(frame, rapidocr_lines(reader, frame)) for frame in frames]


def squeezed(text: str) -> str:
    return "".join(text.split())


def read_counting(reader: OcrReader, frame: np.ndarray) -> tuple[tuple[OcrLine, ...], int]:
    """The lines of ``frame`` and how many of its boxes came from the reader's memory."""
    before = reader.stats.reused
    lines = reader.read(frame)
    return lines, reader.stats.reused - before


def test_without_the_cache_lines_equal_rapidocr_exactly(demo):
    with_text = sum(bool(lines) for _, lines in demo)
    assert 3 <= with_text < len(demo)  # the check covers frames with text and frames without
    off = OcrReader(cache=False)
    assert [off.read(frame) for frame, _ in demo] == [expected for _, expected in demo]
    assert off.stats.reused == 0 and off.stats.frames == len(demo)


def test_repeats_keep_their_text_and_skip_the_recogniser(reader, demo):
    reader.reset()
    start = reader.stats.reused
    texts = [[line.text for line in reader.read(frame)] for frame, _ in demo]
    assert texts == [[line.text for line in expected] for _, expected in demo]
    assert reader.stats.reused - start > 0  # slides stay up longer than 4 s


@pytest.mark.parametrize(("before", "after"), [("Departs 10:45", "Departs 10:46"), ("Gate B17", "Gate B18"),
                                               ("Deadline: March 3", "Deadline: March 8")])  # fmt: skip
def test_a_changed_character_is_read_again(reader, rec_calls, before, after):
    first = noisy(text_slide(["PLATFORM 4", before]), seed=1)
    second = noisy(text_slide(["PLATFORM 4", after]), seed=2)
    reader.reset()
    old = reader.read(first)
    rec_calls.clear()
    new, reused = read_counting(reader, second)
    assert [line.text for line in new] == [line.text for line in rapidocr_lines(reader, second)]
    assert squeezed(new[1].text) == squeezed(after)  # the recogniser may drop spaces at this size
    assert reused == 1  # the title, unchanged
    assert ("text_rec", 1) in rec_calls  # only the changed line was recognised...
    moved_px = max(abs(a - b) * size for a, b, size in zip(old[1].box, new[1].box, (WIDTH, HEIGHT) * 2, strict=True))
    assert moved_px <= 2  # ...and its box stayed put: the pixel test, not the box test, caught the change


def test_the_same_caption_under_noise_is_reused(reader, rec_calls):
    slide = text_slide(["BOARDING GATE B17", "Departs 10:45"])
    reader.reset()
    first = reader.read(noisy(slide, seed=1))
    rec_calls.clear()
    second, reused = read_counting(reader, noisy(slide, seed=2))
    assert [line.text for line in first] == [line.text for line in second]
    assert [squeezed(line.text) for line in second] == ["BOARDINGGATEB17", "Departs10:45"]
    assert reused == 2 and rec_calls == []


def test_reset_forgets(reader, rec_calls):
    slide = text_slide(["LIGHTHOUSE PROJECT", "Deadline: March 3"])
    reader.reset()
    reader.read(slide)
    assert read_counting(reader, slide)[1] == 2
    reader.reset()
    rec_calls.clear()
    lines, reused = read_counting(reader, slide)
    assert reused == 0 and ("text_rec", 2) in rec_calls
    assert lines == rapidocr_lines(reader, slide)


def test_frames_without_text_cost_only_the_detector(reader, rec_calls):
    blank = text_slide([])
    gradient = np.broadcast_to(np.linspace(0, 255, WIDTH, dtype=np.uint8)[None, :, None], (HEIGHT, WIDTH, 3))
    reader.read(text_slide(["LIGHTHOUSE PROJECT"]))  # something in memory that these frames must not hit
    rec_calls.clear()
    frames, regions = reader.stats.frames, reader.stats.regions
    assert reader.read(blank) == () and reader.read(gradient) == ()
    assert rec_calls == []
    assert (reader.stats.frames - frames, reader.stats.regions - regions) == (2, 0)


@pytest.mark.parametrize("shape", [(270, 480), (360, 640), (31, 200), (257, 479), (48, 1000)])
def test_the_detector_input_is_rapidocrs_bit_for_bit(reader, shape):
    image = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)  # every level, BGR
    expected = reader.engine.text_det.get_preprocess(max(shape))(image)
    ours = reader._detector_input(image)
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    assert np.array_equal(ours, expected)
