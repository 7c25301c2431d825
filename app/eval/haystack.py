"""Needle-in-a-video-haystack videos: a long haystack with needles of three kinds at known times.

* **spoken** – a sentence (a committed TTS clip, ``assets/niah/<id>.ogg``) mixed into the soundtrack;
* **on_screen** – a slide with a title and a key line (Pillow's bundled font), shown for ``slide_s``;
* **visual** – an everyday photo shown for ``slide_s`` with a slow pan, asked about in plain words ("a dog");
  the photos come from another package than the filler (Debian's ``darknet`` sample images), so nothing
  else in the haystack looks like them.

The hay is a pool of filler clips (FFmpeg test sources and scikit-image textures, panned) in a seeded
random order, with distractor talk and slides the questions never ask about, over faint noise. Needles of
each kind sit at evenly spaced depths (kinds offset from each other), so a haystack of any length tests
the start, middle and end::

    >>> spec = HaystackSpec(length_s=1800, per_kind=10)
    >>> stack = build_haystack(spec, "work/")                              # doctest: +SKIP
    >>> [(p.needle.id, round(p.span.start_s)) for p in stack.needles][:2]  # doctest: +SKIP
    [('shed-key', 45), ('vault', 90)]

Clips are encoded once into ``work/pool`` (MPEG-TS, so the concat demuxer joins them by stream copy)
and reused by every haystack built in the same folder; the haystack itself is H.264 + AAC in MP4.
"""

from __future__ import annotations

import logging
import tomllib
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from longvid.app.eval.synth import SOURCES, text_slide
from longvid.ingest.atomic import atomic_path
from longvid.ingest.audio import SAMPLE_RATE, extract_audio
from longvid.ingest.ffmpeg_cli import run_ffmpeg
from longvid.ingest.types import TimeSpan

log = logging.getLogger(__name__)

KINDS = ("spoken", "on_screen", "visual")
_DEPTH_OFFSET = {"spoken": 0.25, "on_screen": 0.5, "visual": 0.75}  # kinds never share a depth
_TEXTURES = ("coins", "moon", "brick", "grass", "gravel", "hubble_deep_field", "retina", "immunohistochemistry")


@dataclass(frozen=True)
class Needle:
    """One fact hidden in a haystack and the question that looks for it."""

    kind: str  # "spoken", "on_screen", "visual"; distractors: "speech" or "slide" (never asked)
    id: str
    question: str = ""
    keys: tuple[str, ...] = ()  # any of these in the answer (case-insensitive) means the fact was read
    say: str = ""  # spoken: the sentence
    lines: tuple[str, ...] = ()  # on_screen: the slide's lines
    photo: str = ""  # visual: "darknet:NAME" (/usr/share/darknet/data/NAME.jpg) or a ``skimage.data`` name


@dataclass(frozen=True)
class NeedleSet:
    spoken: tuple[Needle, ...]
    on_screen: tuple[Needle, ...]
    visual: tuple[Needle, ...]
    distractor_speech: tuple[Needle, ...]
    distractor_slides: tuple[Needle, ...]

    def of_kind(self, kind: str) -> tuple[Needle, ...]:
        return getattr(self, kind)


@dataclass(frozen=True)
class PlacedNeedle:
    needle: Needle
    span: TimeSpan  # where the needle is heard or shown
    depth: float  # span start / haystack length, in [0, 1)


@dataclass(frozen=True)
class HaystackSpec:
    length_s: float  # target length; the haystack ends at the first clip boundary past it
    per_kind: int = 10  # needles of each kind (at most as many as the needle set has)
    seed: int = 0
    size: tuple[int, int] = (320, 180)
    fps: int = 10
    slide_s: float = 6.0  # how long an on-screen or visual needle (or a distractor slide) is shown
    speech_every_s: float = 90.0  # one distractor sentence per this many seconds, on average
    slide_every_s: float = 240.0  # one distractor slide per this many seconds


@dataclass(frozen=True)
class Haystack:
    path: Path
    spec: HaystackSpec
    duration_s: float
    needles: tuple[PlacedNeedle, ...]
    speech: tuple[PlacedNeedle, ...]  # every sentence in the soundtrack, needles and distractors, by time


def niah_asset(name: str) -> Path:
    """A file from the installed ``longvid.assets/niah`` folder."""
    return Path(str(resources.files("longvid.assets").joinpath("niah", name)))


def load_needles(path: str | Path | None = None) -> NeedleSet:
    """The needle set (``assets/niah/needles.toml`` unless ``path``); ValueError names a bad entry."""
    path = Path(path) if path else niah_asset("needles.toml")
    data = tomllib.loads(path.read_text())
    groups = {"spoken": "spoken", "on_screen": "on_screen", "visual": "visual",
              "distractor_speech": "speech", "distractor_slides": "slide"}  # fmt: skip
    out: dict[str, tuple[Needle, ...]] = {}
    for group, kind in groups.items():
        items = []
        for i, raw in enumerate(data.get(group, [])):
            try:
                needle = Needle(kind, raw.get("id", f"{kind}-{i}"), raw.get("question", ""),
                                tuple(k.lower() for k in raw.get("keys", ())), raw.get("say", ""),
                                tuple(raw.get("lines", ())), raw.get("photo", ""))  # fmt: skip
            except (TypeError, AttributeError) as exc:
                raise ValueError(f"{path}: {group} entry {i} is malformed: {exc}") from None
            if kind in KINDS and not needle.question:
                raise ValueError(f"{path}: {group} entry {i} ({needle.id}) has no question")
            items.append(needle)
        out[group] = tuple(items)
    return NeedleSet(**out)


@dataclass(frozen=True)
class _Segment:
    """One stretch of the video track: a pool clip or a slide (a needle or a distractor)."""

    clip: Path
    duration_s: float
    needle: Needle | None = None


def build_haystack(spec: HaystackSpec, work_dir: str | Path, needles: NeedleSet | None = None) -> Haystack:
    """Encode the haystack described by ``spec`` into ``work_dir`` (reusing its clip pool) and say where
    every needle landed."""
    needles = needles or load_needles()
    work = Path(work_dir)
    (work / "pool").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    chosen = {kind: needles.of_kind(kind)[: spec.per_kind] for kind in KINDS}
    segments, placed = _video_track(spec, work, rng, chosen, needles.distractor_slides)
    duration = sum(s.duration_s for s in segments)
    speech = [(n, round(d * duration, 2)) for d, n in zip(_depths(len(chosen["spoken"]), "spoken"), chosen["spoken"],
                                                           strict=True)]  # fmt: skip
    speech += _distractor_speech(spec, rng, needles.distractor_speech, duration, [t for _, t in speech])
    said = [PlacedNeedle(n, TimeSpan(t, t + clip_seconds(n)), t / duration) for n, t in sorted(speech, key=_at)]
    placed += [p for p in said if p.needle.kind == "spoken"]
    size = "" if spec.size == HaystackSpec.size else "-{}x{}".format(*spec.size)
    stem = f"haystack-{round(spec.length_s)}s{size}-seed{spec.seed}"
    audio = work / f"{stem}.wav"
    write_soundtrack(audio, duration, speech, rng)
    listing = work / f"{stem}.txt"
    listing.write_text("".join(f"file '{s.clip.resolve()}'\n" for s in segments))
    out = work / f"{stem}.mp4"
    run_ffmpeg("-f concat -safe 0 -i {listing} -i {audio} -map 0:v -map 1:a -c:v copy -c:a aac -b:a 32k"
               f" -t {duration:.3f} -movflags +faststart {{out}}", listing=listing, audio=audio, out=out)  # fmt: skip
    audio.unlink()
    log.info("haystack %s: %.0f s, %d needles", out.name, duration, len(placed))
    return Haystack(out, spec, duration, tuple(sorted(placed, key=lambda p: p.span.start_s)), tuple(said))


def _at(item: tuple[Needle, float]) -> float:
    return item[1]


def _depths(count: int, kind: str) -> list[float]:
    return [(i + _DEPTH_OFFSET[kind]) / count for i in range(count)]


def _video_track(
    spec: HaystackSpec, work: Path, rng: np.random.Generator, chosen: dict[str, tuple[Needle, ...]],
    distractors: Sequence[Needle],
) -> tuple[list[_Segment], list[PlacedNeedle]]:  # fmt: skip
    """Pool clips in seeded random order with slides inserted at their target times."""
    inserts = [(d * spec.length_s, n) for kind in ("on_screen", "visual") for d, n in
               zip(_depths(len(chosen[kind]), kind), chosen[kind], strict=True)]  # fmt: skip
    if distractors:
        count = int(spec.length_s // spec.slide_every_s)
        inserts += [((i + 0.1) * spec.slide_every_s, distractors[i % len(distractors)]) for i in range(count)]
    inserts.sort(key=lambda item: item[0])
    pool = filler_pool(spec, work)
    segments: list[_Segment] = []
    t, last = 0.0, -1
    while t < spec.length_s or inserts:
        if inserts and inserts[0][0] <= t:
            needle = inserts.pop(0)[1]
            segments.append(_Segment(_slide_clip(spec, work, needle), spec.slide_s, needle))
            t += spec.slide_s
            continue
        pick = int(rng.choice([i for i in range(len(pool)) if i != last]))
        segments.append(pool[pick])
        t, last = t + pool[pick].duration_s, pick
    placed, t = [], 0.0
    for segment in segments:
        if segment.needle is not None and segment.needle.kind in KINDS:
            placed.append(PlacedNeedle(segment.needle, TimeSpan(t, t + segment.duration_s), 0.0))
        t += segment.duration_s
    return segments, [PlacedNeedle(p.needle, p.span, p.span.start_s / t) for p in placed]


def _encode_args(spec: HaystackSpec) -> str:
    """The same H.264 settings for every clip, so the concat demuxer can join them by stream copy."""
    return (f"-r {spec.fps} -c:v libx264 -preset ultrafast -crf 30 -pix_fmt yuv420p -g {spec.fps * 2}"
            " -threads 1 -fflags +bitexact -flags +bitexact -an -f mpegts")  # fmt: skip


def filler_pool(spec: HaystackSpec, work: Path, count: int = 16) -> list[_Segment]:
    """``count`` filler clips of 15-45 s: FFmpeg sources and panned scikit-image textures (cached)."""
    rng = np.random.default_rng(1234)  # the pool is the same for every seed and length
    width, height = spec.size
    pool = []
    for i in range(count):
        duration = float(rng.integers(15, 46))
        clip = work / "pool" / f"fill{i:02d}-{width}x{height}-{spec.fps}fps.ts"
        if not clip.exists():
            with atomic_path(clip) as tmp:
                if i % 2 == 0:
                    source = SOURCES[(i // 2) % len(SOURCES)]
                    sep = ":" if "=" in source else "="
                    run_ffmpeg(f"-f lavfi -t {duration} -i {source}{sep}size={width}x{height}:rate={spec.fps}"
                               f" {_encode_args(spec)} {{out}}", out=tmp)  # fmt: skip
                else:
                    _panned_image(spec, photo(_TEXTURES[(i // 2) % len(_TEXTURES)]), duration, tmp)
        pool.append(_Segment(clip, duration))
    return pool


def _slide_clip(spec: HaystackSpec, work: Path, needle: Needle) -> Path:
    width, height = spec.size
    clip = work / "pool" / f"{needle.kind}-{needle.id}-{width}x{height}-{spec.fps}fps.ts"
    if not clip.exists():
        with atomic_path(clip) as tmp:
            if needle.kind == "visual":
                _panned_image(spec, photo(needle.photo), spec.slide_s, tmp, zoom=1.2)
            else:
                image = text_slide(needle.lines, size=(width, height), font_px=max(16, height // 7))
                _panned_image(spec, image, spec.slide_s, tmp, zoom=1.0)
    return clip


DARKNET_PHOTOS = Path("/usr/share/darknet/data")  # Debian's darknet package: its sample photos


def photo(name: str) -> np.ndarray:
    """A photo by name: ``darknet:NAME`` from Debian's darknet package, else a ``skimage.data`` image."""
    if name.startswith("darknet:"):
        from PIL import Image

        path = DARKNET_PHOTOS / f"{name.removeprefix('darknet:')}.jpg"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the visual needle {name!r} needs Debian's darknet package "
                                    "(apt-get install darknet)")  # fmt: skip
        with Image.open(path) as picture:
            return np.array(picture.convert("RGB"))
    import skimage.data

    image = getattr(skimage.data, name)()
    if isinstance(image, tuple):  # a stereo pair (stereo_motorcycle): the left view
        image = image[0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


def _panned_image(spec: HaystackSpec, image: np.ndarray, duration_s: float, out: Path, zoom: float = 2.0) -> None:
    """``image`` scaled to cover ``zoom`` times the frame, then a frame-sized window drifting across it to
    the far corner (``zoom=1``: the still image, scaled to the frame)."""
    import tempfile

    from PIL import Image

    width, height = spec.size
    big_w, big_h = round(width * zoom / 2) * 2, round(height * zoom / 2) * 2
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "still.png"
        Image.fromarray(image).save(png)
        vx, vy = (big_w - width) / duration_s, (big_h - height) / duration_s
        scale = f"scale={big_w}:{big_h}:force_original_aspect_ratio=increase"
        crop = f"crop={width}:{height}:x={vx:.3f}*t:y={vy:.3f}*t"
        run_ffmpeg(f"-loop 1 -framerate {spec.fps} -t {duration_s} -i {{png}} -vf {scale},{crop},setsar=1"
                   f" {_encode_args(spec)} {{out}}", png=png, out=out)  # fmt: skip


def _distractor_speech(
    spec: HaystackSpec, rng: np.random.Generator, clips: Sequence[Needle], duration_s: float,
    taken: Sequence[float],
) -> list[tuple[Needle, float]]:  # fmt: skip
    """Distractor sentences at random times, at least 10 s from any needle sentence and each other."""
    placed: list[tuple[Needle, float]] = []
    if not clips:
        return placed
    busy = list(taken)
    for i in range(int(duration_s // spec.speech_every_s)):
        start = round(float(rng.uniform(0, duration_s - 15)), 2)
        if all(abs(start - t) > 10 for t in busy):
            placed.append((clips[i % len(clips)], start))
            busy.append(start)
    return placed


def clip_seconds(needle: Needle) -> float:
    return len(_speech(needle)) / SAMPLE_RATE


_SPEECH_CACHE: dict[str, np.ndarray] = {}


def _speech(needle: Needle) -> np.ndarray:
    """The needle's sentence as 16 kHz mono float32 (decoded once per process)."""
    if needle.id not in _SPEECH_CACHE:
        _SPEECH_CACHE[needle.id] = extract_audio(niah_asset(f"{needle.id}.ogg")).samples
    return _SPEECH_CACHE[needle.id]


def write_soundtrack(
    path: Path, duration_s: float, speech: Sequence[tuple[Needle, float]], rng: np.random.Generator,
    chunk_s: float = 60.0,
) -> None:  # fmt: skip
    """16-bit mono WAV of faint noise with the sentences mixed in, written a minute at a time."""
    total = round(duration_s * SAMPLE_RATE)
    placed = [(round(t * SAMPLE_RATE), _speech(n)) for n, t in speech]
    step = int(chunk_s * SAMPLE_RATE)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        for start in range(0, total, step):
            end = min(start + step, total)
            chunk = rng.normal(0.0, 0.002, end - start).astype(np.float32)
            for at, samples in placed:
                lo, hi = max(at, start), min(at + len(samples), end)
                if lo < hi:
                    chunk[lo - start : hi - start] += samples[lo - at : hi - at]
            out.writeframes((np.clip(chunk, -1, 1) * 32767).astype("<i2").tobytes())
