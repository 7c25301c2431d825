"""On-screen text with RapidOCR (PP-OCR models bundled in ``rapidocr-onnxruntime``, ONNX on CPU).

The detector runs first and is cheap (about 20 ms on a 480-px frame); recognition runs only on the
boxes it finds, so frames without text cost little. Frames are limited to ``max_side`` pixels, which is
also what keeps spaces between Latin words (at larger sizes the Chinese-trained recogniser drops them);
words it still joins are split again with a dictionary (:mod:`longvid.encoders.wordsplit`)::

    >>> from longvid.ingest import sample_frames
    >>> slide = next(sample_frames("assets/demo.mp4", fps=0.5)).pixels[13]   # the slide shown at 26 s
    >>> reader = OcrReader()
    >>> [line.text for line in reader.read(slide)]
    ['LIGHTHOUSE PROJECT', 'Deadline: March 3']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .errors import ModelUnavailableError
from .wordsplit import embedded_splitter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float  # recogniser confidence in [0, 1]
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) as fractions of the frame's width / height


class OcrReader:
    """Reads text lines from RGB frames; lines below ``min_score`` or shorter than 2 chars are dropped."""

    def __init__(self, min_score: float = 0.6, max_side: int = 480, threads: int | None = None,
                 split_words: bool = True):  # fmt: skip
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

    def read(self, frame: np.ndarray) -> tuple[OcrLine, ...]:
        """Text lines of one (H, W, 3) uint8 RGB frame, top to bottom."""
        height, width = frame.shape[:2]
        result, _ = self.engine(np.ascontiguousarray(frame[..., ::-1]))  # RapidOCR expects OpenCV's BGR
        lines = []
        for box, raw_text, score in result or ():
            text = " ".join(str(raw_text).split())
            if float(score) < self.min_score or len(text) < 2:
                continue
            if self.splitter is not None:
                text = self.splitter.line(text)
            xs, ys = [p[0] for p in box], [p[1] for p in box]
            frac = (min(xs) / width, min(ys) / height, max(xs) / width, max(ys) / height)
            lines.append(OcrLine(text, float(score), tuple(round(v, 4) for v in frac)))
        return tuple(sorted(lines, key=lambda line: (line.box[1], line.box[0])))
