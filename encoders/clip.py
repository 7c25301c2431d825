"""open_clip (CLIP / SigLIP) frame encoders: image and text embeddings in one space.

Spec ``open_clip:MODEL[:PRETRAINED]`` — ``MODEL`` is an open_clip config name (``ViT-B-32``,
``ViT-SO400M-14-SigLIP``, or one registered with ``open_clip.add_model_config``), ``PRETRAINED`` a
pretrained tag (fetched from the hub on first use: GPU profile) or a local checkpoint path. Without
``PRETRAINED`` the weights are random (tests only)::

    >>> enc = create_frame_encoder("open_clip:ViT-B-32:laion2b_s34b_b79k", device="cuda")   # doctest: +SKIP
    >>> enc.embed_text(["a cat on a sofa"]) @ enc.encode(batch).embeddings.T                  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from longvid.ingest import FrameBatch, FrameFeatures
from longvid.ingest.features import unit_rows

from .errors import ModelUnavailableError
from .frames import FrameEncoder, register_frame_encoder, to_tensor

log = logging.getLogger(__name__)


@register_frame_encoder("open_clip")
class OpenClipEncoder(FrameEncoder):
    """Wraps ``open_clip.create_model_and_transforms``; preprocessing follows the model's own config. It runs
    on torch's threads, which the caller sets (the pipeline does, around its passes), so ``threads`` is unused."""

    text_aligned = True

    def __init__(self, spec: str, device: str = "cpu", threads: int | None = None):
        import open_clip

        parts = spec.split(":", 2)
        if len(parts) < 2 or not parts[1]:
            raise ModelUnavailableError(f"open_clip spec must be 'open_clip:MODEL[:PRETRAINED]', got {spec!r}")
        model_name, pretrained = parts[1], (parts[2] if len(parts) == 3 else None)
        try:
            model, _, _ = open_clip.create_model_and_transforms(model_name, pretrained=pretrained, device=device)
        except RuntimeError as err:  # open_clip raises RuntimeError for unknown names and bad weights
            raise ModelUnavailableError(f"open_clip cannot build {spec!r}: {err}") from err
        if pretrained is None:
            log.warning("%s has random weights (no PRETRAINED given): fine for tests, useless for search", spec)
        self.spec = spec
        self.device = torch.device(device)
        self.model = model.eval()
        self.tokenizer = open_clip.get_tokenizer(model_name)
        cfg = model.visual.preprocess_cfg
        size = cfg["size"] if isinstance(cfg["size"], (tuple, list)) else (cfg["size"], cfg["size"])
        self.input_size = (int(size[1]), int(size[0]))  # (width, height)
        self.mean = torch.tensor(cfg["mean"], device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(cfg["std"], device=self.device).view(1, 3, 1, 1)
        self.dim = int(model.text_projection.shape[-1]) if hasattr(model, "text_projection") else None

    @torch.inference_mode()
    def encode(self, batch: FrameBatch) -> FrameFeatures:
        x = to_tensor(batch.pixels, self.input_size, self.device) / 255.0  # (N, 3, H, W)
        emb = self.model.encode_image((x - self.mean) / self.std)  # (N, D)
        emb = unit_rows(emb.float().cpu().numpy())
        self.dim = emb.shape[1]
        return FrameFeatures(batch.video_id, batch.timestamps_s, emb, metric="cosine")

    @torch.inference_mode()
    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        tokens = self.tokenizer(list(texts)).to(self.device)
        return unit_rows(self.model.encode_text(tokens).float().cpu().numpy())  # (N, D)
