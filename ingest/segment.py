"""Scene/event segmentation: cut where consecutive frame features change, with adaptive thresholds.

``detect_scenes(video)`` samples the video, computes colour histograms and segments; ``segment()`` does
the last step for any stream of :class:`FrameFeatures` (histograms or model embeddings)::

    >>> from longvid.ingest import detect_scenes
    >>> for scene in detect_scenes("assets/demo.mp4"):
    ...     print(scene.index, scene.span.start_s, scene.span.end_s, scene.cut)
    0 0.0 12.0 start
    1 12.0 24.0 hard
    2 24.0 36.0 hard
    3 36.0 48.0 hard
    4 48.0 60.0 hard

How cuts are found (twin comparison, Zhang et al. 1993, with thresholds that adapt to the footage):

* ``d_i`` is the distance between frames ``i-1`` and ``i``. Over a sliding window of recent distances
  the median ``m`` and the robust spread ``s`` (1.4826 x median absolute deviation) give two
  thresholds: ``high = max(hard_floor, m + k_hard * s)`` and ``low = max(soft_floor, m + k_soft * s)``.
  Busy footage raises both, static footage leaves them at their floors.
* ``d_i >= high`` is a hard cut at frame ``i``.
* A run of frames with ``low <= d < high`` is a candidate gradual transition (fade, dissolve). When
  the run ends, it is a cut if the frames on either side of it differ by at least ``high``; the cut is
  placed in the middle of the run.
* Two cuts closer than ``min_scene_s`` keep only the stronger one; a scene longer than ``max_scene_s``
  is split at the strongest change in its second half (so a three-hour static lecture still becomes
  bounded events of ``max_scene_s / 2`` to ``max_scene_s``).

Scenes tile the video: the first starts at 0, each ends where the next starts, the last ends at the
video's duration. A cut's time is that of the first sampled frame of the new scene.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cpu import available_cores
from .features import color_histograms, histogram_distance
from .frames import sample_frames
from .probe import open_video
from .types import FrameFeatures, Scene, TimeSpan, VideoAsset

log = logging.getLogger(__name__)

_SPREAD = 1.4826  # MAD -> standard deviation for Gaussian noise
_FLOORS = {"l1": (0.30, 0.08), "cosine": (0.25, 0.06)}  # metric -> (hard_floor, soft_floor)


@dataclass(frozen=True)
class SegmentConfig:
    """Settings of the segmenter; the defaults suit colour histograms sampled at 2 fps."""

    fps: float = 2.0  # frames per second sampled by detect_scenes
    analysis_side: int = 128  # detect_scenes resizes frames so the longer side is this many pixels
    min_scene_s: float = 2.0  # no two cuts closer than this (seconds)
    max_scene_s: float = 120.0  # longer scenes are split at their strongest internal change
    window_s: float = 30.0  # history used for the adaptive thresholds (seconds)
    k_hard: float = 5.0  # hard-cut threshold, in robust standard deviations above the median
    k_soft: float = 3.0  # start of a candidate gradual transition, in robust standard deviations
    hard_floor: float | None = None  # lowest hard threshold; None: the metric's default
    soft_floor: float | None = None  # lowest gradual threshold; None: the metric's default
    max_transition_s: float = 4.0  # longest gradual transition considered (seconds)

    def __post_init__(self) -> None:
        if not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if not 0 <= self.min_scene_s < self.max_scene_s:
            raise ValueError(f"need 0 <= min_scene_s < max_scene_s, got {self.min_scene_s} and {self.max_scene_s}")
        if self.analysis_side < 8:
            raise ValueError(f"analysis_side must be >= 8 pixels, got {self.analysis_side}")


@dataclass(frozen=True)
class Cut:
    time_s: float  # first sampled frame of the new scene
    kind: str  # "hard" | "gradual" | "forced"
    strength: float  # distance across the cut divided by the hard threshold (>= 1 for real cuts)


def _distance(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    if metric == "l1":
        return histogram_distance(a, b)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return 0.0 if na == nb else 1.0
    return 1.0 - float(a @ b) / (na * nb)


class Segmenter:
    """Streaming segmenter: ``push`` feature batches in time order, then ``scenes(duration_s)``.

    Memory is bounded by the window and ``max_scene_s`` of history, not by the video's length.
    """

    def __init__(self, config: SegmentConfig | None = None):
        self.config = config or SegmentConfig()
        self.cuts: list[Cut] = []
        self._metric: str | None = None
        self._video_id = ""
        self._prev: tuple[float, np.ndarray] | None = None
        self._history: deque[float] = deque()
        self._scene_start = 0.0
        self._scene_changes: deque[tuple[float, float]] = deque()  # (time, strength) since the scene start
        self._run: list[tuple[float, np.ndarray, float]] = []  # candidate gradual: (time, vector, high)

    def push(self, features: FrameFeatures) -> None:
        if self._metric is None:
            self._metric, self._video_id = features.metric, features.video_id
            window = max(8, round(self.config.window_s * self.config.fps))
            self._history = deque(maxlen=window)
        elif features.metric != self._metric:
            raise ValueError(f"feature metric changed from {self._metric!r} to {features.metric!r}")
        for t, vec in zip(features.timestamps_s.tolist(), features.embeddings, strict=True):
            self._step(t, vec)

    def _thresholds(self) -> tuple[float, float]:
        hard_floor, soft_floor = _FLOORS[self._metric]
        cfg = self.config
        hard_floor = cfg.hard_floor if cfg.hard_floor is not None else hard_floor
        soft_floor = cfg.soft_floor if cfg.soft_floor is not None else soft_floor
        if len(self._history) < 4:
            return hard_floor, soft_floor
        hist = np.fromiter(self._history, dtype=np.float64)
        median = float(np.median(hist))
        spread = _SPREAD * float(np.median(np.abs(hist - median)))
        return max(hard_floor, median + cfg.k_hard * spread), max(soft_floor, median + cfg.k_soft * spread)

    def _step(self, t: float, vec: np.ndarray) -> None:
        if self._prev is None:
            self._prev = (t, vec)
            return
        prev_t, prev_vec = self._prev
        if t <= prev_t:
            raise ValueError(f"feature timestamps must increase: {t} after {prev_t}")
        d = _distance(prev_vec, vec, self._metric)
        high, low = self._thresholds()
        if d >= high:
            self._run.clear()
            self._propose(Cut(t, "hard", d / high))
        elif d >= low:
            if not self._run:
                self._run.append((prev_t, prev_vec, high))
            self._run.append((t, vec, high))
            if t - self._run[0][0] > self.config.max_transition_s:
                self._run.clear()  # sustained change is camera or subject motion, not a transition
        elif self._run:
            self._close_run()
        self._history.append(d)
        self._scene_changes.append((t, d / high))
        self._force_split(t)
        self._prev = (t, vec)

    def _close_run(self) -> None:
        """Decide whether the candidate run of moderate changes was a gradual transition."""
        (t0, v0, high), (t1, v1, _) = self._run[0], self._run[-1]
        across = _distance(v0, v1, self._metric)
        if across >= high:
            mid = 0.5 * (t0 + t1)
            t_cut = min((t for t, _, _ in self._run[1:]), key=lambda t: abs(t - mid))
            self._propose(Cut(t_cut, "gradual", across / high))
        self._run.clear()

    def _propose(self, cut: Cut) -> None:
        last = self.cuts[-1] if self.cuts else None
        if last is not None and cut.time_s - last.time_s < self.config.min_scene_s:
            if last.kind != "forced" and cut.strength <= last.strength:
                return
            self.cuts.pop()  # a stronger (or a real) cut replaces the one just before it
        elif cut.time_s < self.config.min_scene_s:
            return  # a cut this close to the start would leave a sliver of a first scene
        self.cuts.append(cut)
        self._start_scene(cut.time_s)

    def _start_scene(self, t: float) -> None:
        self._scene_start = t
        while self._scene_changes and self._scene_changes[0][0] <= t:
            self._scene_changes.popleft()

    def _force_split(self, t: float) -> None:
        cfg = self.config
        if t - self._scene_start < cfg.max_scene_s:
            return
        # split in the second half of the over-long scene, at its strongest change (the latest on ties)
        earliest = self._scene_start + max(cfg.min_scene_s, cfg.max_scene_s / 2)
        eligible = [c for c in self._scene_changes if c[0] >= earliest]
        t_cut, strength = max(eligible, key=lambda c: (c[1], c[0])) if eligible else (t, 0.0)
        self.cuts.append(Cut(t_cut, "forced", strength))
        self._start_scene(t_cut)

    def scenes(self, duration_s: float) -> list[Scene]:
        """Close any pending transition and tile ``[0, duration_s]`` with scenes."""
        if self._run:
            self._close_run()
        cuts = [c for c in self.cuts if 0 < c.time_s < duration_s]
        starts = [(0.0, "start"), *[(c.time_s, c.kind) for c in cuts]]
        ends = [*[c.time_s for c in cuts], duration_s]
        return [
            Scene(self._video_id, i, TimeSpan(start, end), kind)
            for i, ((start, kind), end) in enumerate(zip(starts, ends, strict=True))
        ]


def segment(features: Iterable[FrameFeatures], duration_s: float, config: SegmentConfig | None = None) -> list[Scene]:
    """Segment a stream of frame features covering ``[0, duration_s]`` into scenes."""
    segmenter = Segmenter(config)
    for batch in features:
        segmenter.push(batch)
    return segmenter.scenes(duration_s)


def detect_scenes(
    video: VideoAsset | str | Path,
    config: SegmentConfig | None = None,
    backend: str | None = None,
    show_progress: bool = False,
) -> list[Scene]:
    """Scenes of ``video`` from colour-histogram cuts, sampled at ``config.fps`` on small frames."""
    config = config or SegmentConfig()
    asset = video if isinstance(video, VideoAsset) else open_video(video)
    batches = sample_frames(
        asset,
        fps=config.fps,
        size=asset.fit(config.analysis_side),
        batch_size=64,
        backend=backend,
        show_progress=show_progress,
        ahead=2,  # histograms and cuts beside the decoding
        threads=available_cores(),  # one decoding thread a core, as `ffmpeg -threads N` (FFmpeg's own choice: N + 1)
    )
    scenes = segment((color_histograms(b) for b in batches), asset.duration_s, config)
    log.info("%s: %d scenes", asset.path.name, len(scenes))
    return scenes
