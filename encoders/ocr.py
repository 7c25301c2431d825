"""On-screen text with RapidOCR (PP-OCR models bundled in ``rapidocr-onnxruntime``, ONNX on CPU).

The detector runs first on every frame (about 40 ms on one core for a 480-px frame); recognition runs
only on the boxes it finds, so frames without text cost only the detector. Frames are limited to
``max_side`` pixels, which is also what keeps spaces between Latin words (at larger sizes the
Chinese-trained recogniser drops them); words it still joins are split again with a dictionary
(:mod:`longvid.encoders.wordsplit`).

Captions, titles and signs stay on screen for many frames, so a reader remembers the text regions of the
frame it read last: a box found again at the same place (corners within 2 px) over unchanged pixels
keeps its text and score, and only new or changed boxes go through the angle classifier and the
recogniser. A frame without such repeats gives exactly what ``RapidOCR.__call__`` gives. Call
:meth:`OcrReader.reset` where reading must not depend on earlier frames (a new video, a chunk boundary);
``cache=False`` turns the memory off. ``reader.stats`` counts frames, boxes and reused boxes::

    >>> from longvid.ingest import sample_frames
    >>> slide = next(sample_frames("assets/demo.mp4", fps=0.5)).pixels[13]   # the slide shown at 26 s
    >>> reader = OcrReader()
    >>> [line.text for line in reader.read(slide)]
    ['LIGHTHOUSE PROJECT', 'Deadline: March 3']
    >>> [line.text for line in reader.read(slide)]   # the same slide again: both lines from memory
    ['LIGHTHOUSE PROJECT', 'Deadline: March 3']
    >>> reader.stats
    OcrStats(frames=2, regions=4, reused=2)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .errors import ModelUnavailableError
from .wordsplit import embedded_splitter

log = logging.getLogger(__name__)

# A box is "the same" when every corner moved at most this far (detector-image pixels): the detector's
# integer boxes jitter by a pixel or two over unchanged text, while a moved or resized line moves further.
BOX_TOLERANCE_PX = 2
# A pixel "changed" when its grey level moved by more than this. Static text in H.264 is copied between
# frames (differences of 0-2 levels); JPEG q >= 75 or sensor noise up to sigma 4 leaves at most isolated
# pixels above 40; a stroke pixel of a changed glyph moves by about the text's contrast (a thin antialiased
# stroke by about half of it), so changes show in text with 100 or more levels of contrast. Fainter text
# may keep a stale reading when only a thin stroke changes.
CHANGED_LEVELS = 40
# Pixels are counted per character cell (a window as wide as the box is high), not per line: a changed
# glyph is one cell's business however long the line, while noise spreads out. Two strong differences in
# one cell mean a change, one is tolerated as noise. Checked on 12-24 px lines under JPEG q85 + sigma-3
# noise: every one-character change tried (O/Q, i/l, ./,, 3/8, 8/9, E/F, ...) was read again, and the
# unchanged line was reused in 143 of 144 noisy repeats.
CHANGED_PIXELS = 2
_BGR_TO_GREY = np.array([0.114, 0.587, 0.299], dtype=np.float32)  # ITU-R BT.601 luma, as OpenCV's


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float  # recogniser confidence in [0, 1]
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) as fractions of the frame's width / height


@dataclass
class OcrStats:
    """What an :class:`OcrReader` did since it was built (``reset`` keeps counting)."""

    frames: int = 0  # frames read
    regions: int = 0  # text boxes the detector found in them
    reused: int = 0  # of those, boxes whose text came from the previous frame (classifier and recogniser skipped)


@dataclass(frozen=True, eq=False)
class _Region:
    """A text box as read on an earlier frame, with the pixels it was read from."""

    box: np.ndarray  # (4, 2) float32 corners in the detector's image, clockwise from the top left
    window: tuple[slice, slice]  # rows, columns: the box's bounding rectangle plus BOX_TOLERANCE_PX
    grey: np.ndarray  # (h, w) float32 grey levels of the window
    text: str  # what the recogniser returned (before whitespace clean-up and word splitting)
    score: float

    @classmethod
    def read_from(cls, image: np.ndarray, box: np.ndarray, text: str, score: float) -> _Region:
        x0, y0 = np.floor(box.min(axis=0)).astype(int) - BOX_TOLERANCE_PX
        x1, y1 = np.ceil(box.max(axis=0)).astype(int) + BOX_TOLERANCE_PX + 1
        window = (slice(max(int(y0), 0), int(y1)), slice(max(int(x0), 0), int(x1)))
        return cls(box, window, _grey(image, window), text, score)

    def shown_in(self, image: np.ndarray, box: np.ndarray) -> bool:
        """Whether ``box`` of ``image`` is this region again: nearly the same corners, unchanged pixels."""
        if np.abs(box - self.box).max() > BOX_TOLERANCE_PX:
            return False
        grey = _grey(image, self.window)
        if grey.shape != self.grey.shape:  # the window no longer fits: a smaller frame
            return False
        strong = np.abs(grey - self.grey) > CHANGED_LEVELS  # (h, w)
        cell = min(strong.shape)
        per_column = np.concatenate(([0], np.cumsum(strong.sum(axis=0))))  # (w + 1,)
        return int((per_column[cell:] - per_column[:-cell]).max()) < CHANGED_PIXELS


def _grey(image: np.ndarray, window: tuple[slice, slice]) -> np.ndarray:
    return image[window] @ _BGR_TO_GREY  # (h, w, 3) BGR uint8 -> (h, w) float32


class OcrReader:
    """Reads text lines from RGB frames; lines below ``min_score`` or shorter than 2 chars are dropped.

    Successive calls share the previous frame's text regions (see the module docstring), so one reader
    serves one stream of frames at a time and is not thread-safe.
    """

    def __init__(self, min_score: float = 0.6, max_side: int = 480, threads: int | None = None,
                 split_words: bool = True, cache: bool = True):  # fmt: skip
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as err:
            raise ModelUnavailableError("OCR needs `pip install rapidocr-onnxruntime`") from err
        options = {"det_limit_side_len": max_side, "det_limit_type": "max", "text_score": min_score}
        if threads is not None:
            options["intra_op_num_threads"] = threads
        self.engine = RapidOCR(**options)
        self.min_score = min_score
        self.splitter = embedded_splitter() if split_words else None  # BOARDINGGATE -> BOARDING GATE
        self.cache = cache  # reuse the text of boxes repeated from the previous frame
        self.stats = OcrStats()
        self._regions: list[_Region] = []  # the previous frame's boxes, as read
        # (256, 3) float32: the detector's input value of each level in each channel, by RapidOCR's own code
        levels = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)  # (1, 256, 3)
        self._levels = self.engine.text_det.get_preprocess(0).normalize(levels)[0].astype(np.float32)

    def reset(self) -> None:
        """Forget the previous frame's text regions: the next frame is read in full."""
        log.debug("OCR forgets %d text regions", len(self._regions))
        self._regions = []

    def read(self, frame: np.ndarray) -> tuple[OcrLine, ...]:
        """Text lines of one (H, W, 3) uint8 RGB frame, top to bottom.

        RapidOCR's own steps (``RapidOCR.__call__``), with classifier and recogniser run, in one batch,
        only on the boxes that are not repeated from the previous frame.
        """
        engine = self.engine
        image = engine.load_img(np.ascontiguousarray(frame[..., ::-1]))  # RapidOCR expects OpenCV's BGR
        height, width = image.shape[:2]
        image, ratio_h, ratio_w = engine.preprocess(image)
        image, record = engine.maybe_add_letterbox(image, {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}})
        boxes = self._detect(image)  # (4, 2) corners in `image`, top to bottom
        known = [next((r for r in self._regions if r.shown_in(image, box)), None) for box in boxes]
        fresh = [i for i, region in enumerate(known) if region is None]
        read = dict(zip(fresh, self._recognise(image, [boxes[i] for i in fresh]), strict=True))
        readings = [read[i] if region is None else (region.text, region.score) for i, region in enumerate(known)]
        self.stats.frames += 1
        self.stats.regions += len(boxes)
        self.stats.reused += len(boxes) - len(fresh)
        if self.cache:
            self._regions = [region or _Region.read_from(image, box, text, score)
                             for box, region, (text, score) in zip(boxes, known, readings, strict=True)]  # fmt: skip
        if not boxes:
            return ()
        corners = engine._get_origin_points(boxes, record, height, width).tolist()  # (N, 4, 2) in `frame`
        return self._lines(corners, readings, width, height)

    def _detect(self, image: np.ndarray) -> list[np.ndarray]:
        """The text boxes of ``image``, as ``RapidOCR.auto_text_det`` finds them (its steps, in its order)."""
        detector = self.engine.text_det
        x = self._detector_input(image)
        if x is None:
            return []
        boxes, _ = detector.postprocess_op(detector.infer(x)[0], image.shape[:2])
        boxes = detector.filter_tag_det_res(boxes, image.shape[:2])
        return list(self.engine.sorted_boxes(boxes)) if len(boxes) else []

    def _detector_input(self, image: np.ndarray) -> np.ndarray | None:
        """What RapidOCR's ``DetPreProcess`` makes of ``image`` (resized to multiples of 32, normalised,
        (1, 3, H, W) float32; None when too small), normalised by table instead: its own arithmetic runs in
        float64 over every pixel, about 5 ms of the 45 a 480x270 frame takes on one core, and the table
        holds the same float32 values."""
        resized = self.engine.text_det.get_preprocess(max(image.shape[:2])).resize(image)
        if resized is None:
            return None
        x = np.empty((1, 3, *resized.shape[:2]), np.float32)
        for channel in range(3):
            np.take(self._levels[:, channel], resized[..., channel], out=x[0, channel])
        return x

    def _recognise(self, image: np.ndarray, boxes: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, score) of each box: crop, turn upside-down lines round, recognise (batched by RapidOCR)."""
        if not boxes:
            return []
        crops, _, _ = self.engine.text_cls(self.engine.get_crop_img_list(image, boxes))
        results, _ = self.engine.text_rec(crops)
        return [(str(text), float(score)) for text, score in results]

    def _lines(
        self, corners: list[list[list[float]]], readings: list[tuple[str, float]], width: int, height: int
    ) -> tuple[OcrLine, ...]:
        """The lines kept (score, length), word-split, boxed in fractions of the frame, top to bottom."""
        lines = []
        for box, (raw_text, score) in zip(corners, readings, strict=True):
            text = " ".join(raw_text.split())
            if score < self.min_score or len(text) < 2:
                continue
            if self.splitter is not None:
                text = self.splitter.line(text)
            xs, ys = [p[0] for p in box], [p[1] for p in box]
            frac = (min(xs) / width, min(ys) / height, max(xs) / width, max(ys) / height)
            lines.append(OcrLine(text, score, tuple(round(v, 4) for v in frac)))
        return tuple(sorted(lines, key=lambda line: (line.box[1], line.box[0])))
