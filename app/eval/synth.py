"""Synthetic videos with a known answer, for tests, benchmarks and evaluations.

Two generators:

* :func:`make_shot_video` strings FFmpeg test sources (``testsrc2``, ``mandelbrot``, ``life``, ...) into
  shots joined by hard cuts or gradual transitions (``xfade``: fade, fadeblack, dissolve, wipes) and
  returns where the cuts really are::

      >>> import tempfile
      >>> from longvid.app.eval.synth import Shot, make_shot_video
      >>> path = Path(tempfile.mkdtemp()) / "cuts.mp4"
      >>> truth = make_shot_video(path, [Shot("testsrc2", 4.0), Shot("mandelbrot", 3.0, "fade")])
      >>> [(c.time_s, c.kind) for c in truth.cuts]
      [(3.5, 'fade')]

* :func:`write_numbered_frames` encodes frames at exact, possibly irregular, timestamps (variable frame
  rate) with each frame's index drawn as a barcode that :func:`read_frame_number` reads back, so a test
  can check that a decoder returned the very frame shown at a timestamp.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from longvid.ingest.ffmpeg_cli import run_ffmpeg

# Seeded where the source is random, so the same shots make the same video on every run.
SOURCES = (
    "testsrc2",
    "mandelbrot",
    "life=seed=1",
    "cellauto=seed=1",
    "smptehdbars",
    "gradients=seed=1:c0=0x3050ff:c1=0xffb020:nb_colors=2:x0=0:y0=0:x1=320:y1=180",  # explicit: seed alone varies
    "rgbtestsrc",
    "yuvtestsrc",
)
TRANSITIONS = ("fade", "fadeblack", "fadewhite", "dissolve", "wipeleft", "slideright", "circleopen")


@dataclass(frozen=True)
class Shot:
    source: str  # lavfi video source with options, e.g. "testsrc2" or "color=c=red"
    duration_s: float  # length of the shot's own footage (a transition overlaps it with the previous shot)
    transition: str | None = None  # how this shot starts: None = hard cut, else an xfade transition name
    transition_s: float = 1.0  # length of the transition (seconds)


@dataclass(frozen=True)
class TrueCut:
    time_s: float  # hard cut: first frame of the new shot; gradual: middle of the transition
    kind: str  # "hard" or the xfade transition name
    transition_s: float  # 0 for hard cuts


@dataclass(frozen=True)
class SynthTruth:
    path: Path
    duration_s: float
    cuts: tuple[TrueCut, ...]


def make_shot_video(
    path: str | Path,
    shots: Sequence[Shot],
    size: tuple[int, int] = (320, 180),
    fps: int = 25,
    audio_hz: float | None = 440.0,
    crf: int = 28,
) -> SynthTruth:
    """Encode ``shots`` back to back as H.264 (+ a sine tone as AAC unless ``audio_hz`` is None).

    Shot durations and transitions should be multiples of ``1 / fps`` for frame-exact ground truth.
    """
    if not shots:
        raise ValueError("need at least one shot")
    width, height = size
    inputs: list[str] = []
    graph: list[str] = []
    for i, shot in enumerate(shots):
        sep = ":" if "=" in shot.source else "="
        source = f"{shot.source}{sep}size={width}x{height}:rate={fps}"
        inputs += ["-f", "lavfi", "-t", f"{shot.duration_s}", "-i", source]
        graph.append(f"[{i}:v]format=yuv420p,settb=AVTB[s{i}]")
    last, length, cuts = "s0", shots[0].duration_s, []
    for i, shot in enumerate(shots[1:], start=1):
        if shot.transition is None:
            graph.append(f"[{last}][s{i}]concat=n=2:v=1:a=0[j{i}]")
            cuts.append(TrueCut(round(length, 6), "hard", 0.0))
            length += shot.duration_s
        else:
            if not 0 < shot.transition_s < min(shot.duration_s, length):
                raise ValueError(f"transition of {shot.transition_s} s does not fit shots around {length} s")
            offset = length - shot.transition_s
            graph.append(
                f"[{last}][s{i}]xfade=transition={shot.transition}:duration={shot.transition_s}:offset={offset}[j{i}]"
            )
            cuts.append(TrueCut(round(offset + shot.transition_s / 2, 6), shot.transition, shot.transition_s))
            length += shot.duration_s - shot.transition_s
        last = f"j{i}"
    maps = [
        "-map",
        f"[{last}]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        str(crf),
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "1",
        "-fflags",
        "+bitexact",
        "-flags",
        "+bitexact",
    ]  # same bytes on every run
    if audio_hz is not None:
        inputs += ["-f", "lavfi", "-t", f"{length}", "-i", f"sine=frequency={audio_hz}:sample_rate=44100"]
        maps += ["-map", f"{len(shots)}:a", "-c:a", "aac"]
    args = [*inputs, "-filter_complex", ";".join(graph), *maps]
    path = Path(path)
    run_ffmpeg([*args, "-t", f"{length}", str(path)])
    return SynthTruth(path, length, tuple(cuts))


def _bit_layout(height: int, width: int, bits: int) -> list[tuple[slice, slice]]:
    """Two rows of ``bits / 2`` cells across the frame, one cell per bit of the frame number."""
    per_row = bits // 2
    cell_w, cell_h = width // per_row, height // 2
    return [
        (
            slice(r * cell_h + cell_h // 4, (r + 1) * cell_h - cell_h // 4),
            slice(c * cell_w + cell_w // 4, (c + 1) * cell_w - cell_w // 4),
        )
        for r in range(2)
        for c in range(per_row)
    ]


def numbered_frame(number: int, size: tuple[int, int], bits: int = 16) -> np.ndarray:
    """An RGB frame (H, W, 3) showing ``number`` as white/black cells, readable after lossy coding."""
    width, height = size
    frame = np.full((height, width, 3), 64, np.uint8)
    for bit, (rows, cols) in enumerate(_bit_layout(height, width, bits)):
        frame[rows, cols] = 255 if (number >> bit) & 1 else 0
    return frame


def read_frame_number(frame: np.ndarray, bits: int = 16) -> int:
    """Inverse of :func:`numbered_frame` on a decoded (possibly resized) frame."""
    height, width = frame.shape[:2]
    value = 0
    for bit, (rows, cols) in enumerate(_bit_layout(height, width, bits)):
        if frame[rows, cols].mean() > 128:
            value |= 1 << bit
    return value


def write_numbered_frames(
    path: str | Path,
    timestamps_s: Sequence[float],
    size: tuple[int, int] = (256, 144),
    codec: str = "libx264",
) -> None:
    """Encode frame ``i`` (showing the number ``i``) at exactly ``timestamps_s[i]`` (millisecond grid).

    Irregular timestamps make a variable-frame-rate file; the container must support it (mp4, mkv).
    """
    times_ms = [round(t * 1000) for t in timestamps_s]
    if any(b <= a for a, b in itertools.pairwise(times_ms)) or (times_ms and times_ms[0] < 0):
        raise ValueError("timestamps must be >= 0 and strictly increasing on a millisecond grid")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(1000, 1))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "ultrafast"}
        for i, t_ms in enumerate(times_ms):
            frame = av.VideoFrame.from_ndarray(numbered_frame(i, size), format="rgb24")
            frame.pts = t_ms
            frame.time_base = Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


@dataclass(frozen=True)
class CutScore:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: CutScore) -> CutScore:
        return CutScore(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
        )


def score_cuts(detected_s: Sequence[float], truth: Sequence[TrueCut], tolerance_s: float) -> CutScore:
    """Match detected cut times to true cuts one-to-one, greedily by distance.

    A detection matches a true cut when it lies within ``tolerance_s`` plus half the transition's
    length of the cut's time.
    """
    tp = matched(detected_s, [c.time_s for c in truth], [tolerance_s + c.transition_s / 2 for c in truth])
    return CutScore(tp, len(detected_s) - tp, len(truth) - tp)


def matched(found: Sequence[float], truth: Sequence[float], tolerance_s: Sequence[float]) -> int:
    """How many of ``found`` match a ``truth`` time one-to-one, greedily nearest first, each true time
    within its own ``tolerance_s``.

    >>> matched([10.0, 11.0, 50.0], [10.5, 30.0], [1.0, 1.0])
    1
    """
    pairs = sorted(
        (abs(f - t), i, j)
        for i, f in enumerate(found)
        for j, (t, tol) in enumerate(zip(truth, tolerance_s, strict=True))
        if abs(f - t) <= tol
    )
    used_f, used_t = set(), set()
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    return len(used_f)


def random_shots(rng: np.random.Generator, count: int, fps: int = 25, gradual_share: float = 0.5) -> list[Shot]:
    """``count`` shots from :data:`SOURCES` (never the same source twice in a row), 3-8 s long, joined
    by hard cuts or, with probability ``gradual_share``, by a random transition of 0.5-2 s."""
    shots: list[Shot] = []
    for _ in range(count):
        choices = [s for s in SOURCES if not shots or s != shots[-1].source]
        source = str(rng.choice(choices))
        duration = round(float(rng.uniform(3.0, 8.0)) * fps) / fps
        if shots and rng.random() < gradual_share:
            length = round(float(rng.uniform(0.5, 2.0)) * fps) / fps
            shots.append(Shot(source, duration, str(rng.choice(TRANSITIONS)), length))
        else:
            shots.append(Shot(source, duration))
    return shots


@dataclass(frozen=True)
class Slide:
    image: np.ndarray  # (H, W, 3) uint8 RGB, resized to the video size
    duration_s: float
    narration: Path | None = None  # an audio file spoken over the slide
    narration_at_s: float = 1.0  # when the narration starts, from the slide's start


def text_slide(
    lines: Sequence[str],
    size: tuple[int, int] = (480, 270),
    background: tuple[int, int, int] = (20, 40, 90),
    colour: tuple[int, int, int] = (255, 255, 255),
    font_px: int = 30,
) -> np.ndarray:
    """An RGB slide with ``lines`` of text, left-aligned and vertically centred (Pillow's bundled font)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_px)
    step = int(font_px * 1.6)
    top = (size[1] - step * len(lines)) // 2
    for i, line in enumerate(lines):
        draw.text((size[0] // 16, top + i * step), line, fill=colour, font=font)
    return np.asarray(image)


def speak(text: str, path: str | Path, words_per_minute: int = 150) -> Path:
    """Synthesise ``text`` to a WAV file with espeak-ng (needed only to *make* assets, never at run time)."""
    import shutil
    import subprocess

    if shutil.which("espeak-ng") is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run(["espeak-ng", "-s", str(words_per_minute), "-w", str(path), text], check=True)
    return Path(path)


def make_slideshow(
    path: str | Path, slides: Sequence[Slide], size: tuple[int, int] = (480, 270), fps: int = 10, crf: int = 30
) -> float:
    """Encode ``slides`` back to back (hard cuts) as H.264 + mono AAC with their narrations; returns the
    duration. Slides without narration are silent."""
    import tempfile

    from PIL import Image

    total = sum(s.duration_s for s in slides)
    with tempfile.TemporaryDirectory() as tmp:
        inputs, graph, audio_labels, start = [], [], [], 0.0
        for i, slide in enumerate(slides):
            frame = Path(tmp) / f"slide{i}.png"
            Image.fromarray(slide.image).resize(size).save(frame)
            inputs += ["-loop", "1", "-framerate", str(fps), "-t", f"{slide.duration_s}", "-i", str(frame)]
            graph.append(f"[{i}:v]format=yuv420p,setsar=1[v{i}]")
        n = len(slides)
        graph.append("".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[vout]")
        inputs += ["-f", "lavfi", "-t", f"{total}", "-i", "anullsrc=r=16000:cl=mono"]
        audio_labels.append(f"[{n}:a]")
        for i, slide in enumerate(slides):
            if slide.narration is not None:
                k = n + 1 + len(audio_labels) - 1
                inputs += ["-i", str(slide.narration)]
                delay_ms = round((start + slide.narration_at_s) * 1000)
                graph.append(f"[{k}:a]aresample=16000,aformat=channel_layouts=mono,adelay={delay_ms}[a{i}]")
                audio_labels.append(f"[a{i}]")
            start += slide.duration_s
        mix = len(audio_labels)
        graph.append("".join(audio_labels) + f"amix=inputs={mix}:normalize=0:duration=first[aout]")
        run_ffmpeg([*inputs, "-filter_complex", ";".join(graph), "-map", "[vout]", "-map", "[aout]",
                    "-c:v", "libx264", "-preset", "slow", "-crf", str(crf), "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "48k", "-t", f"{total}", str(path)])  # fmt: skip
    return total
