"""Indexing pipeline: one video in, its events (with text, tags, vectors and thumbnails) out.

``Indexer(profile).build(asset)`` makes one streaming pass over the frames and one over the audio, at the same
time when ``profile.overlap`` is on (speech on its own thread; :func:`thread_plan` splits the cores):

1. Frames are decoded at ``frames.analysis_fps`` (small, 480 px). Colour histograms of every frame feed
   the cut detector. A frame goes to the frame encoder and OCR only when it is *new*: its histogram
   moved by ``frames.novelty`` since the last encoded frame, or ``frames.max_gap_s`` passed. Static
   stretches (a slide, a talking head) thus cost one encoder call per few seconds, not per frame; a still
   that looks like the last analysed frame reuses its analysis, except at each multiple of
   :data:`SYNC_S`, where the pass forgets its history.
2. Speech comes from the file's text subtitle stream or a sidecar ``.srt``/``.vtt`` when there is one,
   else from the speech recogniser (skipped for videos without audio).
3. Scenes become events (long scenes split at ``events.max_event_s``); each event gathers the words
   spoken inside it (by word time), the on-screen text of its encoded frames, its most frequent visual
   tags, a thumbnail, and a text embedding (and a frame embedding when the encoder shares a space with
   text, so text can search pictures).

Nothing is written here: :class:`BuiltVideo` goes to the index in one transaction (``app.library``).
A long video can also be built in time chunks on several workers (:meth:`Indexer.build_chunk` for each of
:func:`chunk_spans`, then :meth:`Indexer.join`); the joined video equals the whole build.

    >>> from longvid.app.profiles import load_profile
    >>> from longvid.ingest import open_video
    >>> indexer = Indexer(load_profile("embedded"))
    >>> built = indexer.build(open_video("assets/demo.mp4"))
    >>> [(e.span.start_s, e.tags[:1]) for e in built.events][:2]
    [(0.0, ()), (12.0, ('Egyptian cat',))]
    >>> built.events[3].transcript
    'The budget for the new bridge was approved by the board.'
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import glob
import io
import itertools
import logging
import math
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from longvid.encoders import FrameEncoder, OcrReader, TextEmbedder, create_frame_encoder
from longvid.encoders.concepts import confident_labels, expand, general_words
from longvid.encoders.objects import DetectedObject, ObjectDetector
from longvid.encoders.speech import SpeechRecognizer, WindowSegment, default_threads
from longvid.index.records import Event, Overview, VideoRecord
from longvid.ingest import (
    FrameBatch,
    FrameFeatures,
    MediaLimits,
    Scene,
    SegmentConfig,
    TimeLimitError,
    TimeSpan,
    TranscriptSegment,
    VideoAsset,
    Word,
    read_embedded_subtitles,
    read_subtitles,
    sample_frames,
)
from longvid.ingest.cpu import available_cores, release_free_memory, reuse_large_blocks
from longvid.ingest.features import color_histograms, histogram_distance, unit_rows
from longvid.ingest.segment import Segmenter

from .memory import build_overview
from .profiles import Profile

log = logging.getLogger(__name__)

FRAMES_SHARE, SPEECH_SHARE = 0.5, 0.9  # progress reported at the end of the visual pass and of speech
Progress = Callable[[str, float], None]  # (stage, overall fraction done)
THUMB_SIDE = 480  # longer side of stored thumbnails (px): the analysed frame itself, which the detector reads
DETECT_BATCH = 4  # frames per detector call: its activations at 416 px take about 70 MB a frame
STILL_LEVELS = 1.5  # mean grey difference (0-255) below which a frame repeats the last one analysed
DECODE_AHEAD = 2  # batches decoded on their own thread while the encoder and OCR work on the one before
SIDECAR_SUFFIXES = (".srt", ".vtt")
SYNC_S = 120.0  # the visual pass forgets its history at multiples of this (seconds): chunks may start there
MIN_CHUNK_S = 600.0  # shortest chunk a video is split into (seconds): a speech window's length
T = TypeVar("T")
S = TypeVar("S")  # a speech segment: guarded (TranscriptSegment) or a chunk's unguarded WindowSegment
M = TypeVar("M")  # what the visual side makes of its keyframes before the transcript is needed


@dataclass(frozen=True)
class Keyframe:
    """A frame that went through the frame encoder (and OCR); kept small, as hours of video make many."""

    time_s: float
    embedding: np.ndarray  # (D,) float16 (half the memory of hours of keyframes), unit length
    tags: tuple[str, ...]
    ocr_lines: tuple[str, ...]
    thumb: int  # index of its JPEG in the ThumbnailSpool


@dataclass(frozen=True)
class Chunk:
    """What the passes over one chunk of a video found (:meth:`Indexer.build_chunk`), for :meth:`Indexer.join`."""

    span: TimeSpan
    features: list[FrameFeatures]  # the histograms of every sampled frame inside span, in time order
    keyframes: list[Keyframe]  # their thumb indices point into thumbnails
    speech: list[WindowSegment]  # unguarded speech segments of the windows that start inside span
    thumbnails: tuple[bytes, list[tuple[int, int]]]  # ThumbnailSpool.contents()
    seconds: dict[str, float]


@dataclass(frozen=True)
class _Moments:
    """What the visual side knows of a video's events before its transcript: :meth:`Indexer._moments`."""

    keyframes: list[Keyframe]
    spans: list[TimeSpan]  # one per event
    groups: list[list[Keyframe]]  # the keyframes inside each span
    thumbnails: dict[int, bytes]  # event index -> JPEG
    objects: dict[int, tuple[DetectedObject, ...]]  # event index -> objects in its thumbnail


class ThumbnailSpool:
    """Keyframe JPEGs spooled to a temporary file, so memory does not grow with the video's length."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close(); lives across methods)
        self._spans: list[tuple[int, int]] = []  # (offset, length)

    def add(self, jpeg: bytes) -> int:
        offset = self._file.seek(0, io.SEEK_END)
        self._file.write(jpeg)
        self._spans.append((offset, len(jpeg)))
        return len(self._spans) - 1

    def read(self, index: int) -> bytes:
        offset, length = self._spans[index]
        self._file.seek(offset)
        return self._file.read(length)

    def contents(self) -> tuple[bytes, list[tuple[int, int]]]:
        """All JPEGs as one blob with their (offset, length) spans (a chunk's, sent to the joining process)."""
        self._file.seek(0)
        return self._file.read(), list(self._spans)

    def add_all(self, contents: tuple[bytes, list[tuple[int, int]]]) -> int:
        """Append another spool's :meth:`contents`; the index its first JPEG gets here."""
        blob, spans = contents
        first = len(self._spans)
        for offset, length in spans:
            self.add(blob[offset : offset + length])
        return first

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class BuiltVideo:
    """Everything the index needs for one video, plus what it cost to make."""

    video: VideoRecord
    events: list[Event]
    vectors: dict[str, np.ndarray]  # channel -> (len(events), D) float32
    transcript: list[TranscriptSegment]
    thumbnails: dict[int, bytes]  # event index -> JPEG
    overview: Overview | None = None  # chapters and the video overview (the hierarchical memory)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    keyframes: int = 0  # frames looked at (novel, or max_gap_s after the last)
    analysed: int = 0  # of those, frames that went through the encoder and OCR (the others were stills)


@dataclass
class Deadline:
    """A stage's wall-clock budget for one file; :meth:`check` raises ``TimeLimitError`` once it is spent."""

    path: Path
    stage: str  # what is being timed, for the message ("decoding", "speech recognition")
    limit_s: float | None  # None: no limit
    option: str  # the setting that raises it, named in the message
    start: float = field(default_factory=time.perf_counter)

    def check(self) -> None:
        elapsed = time.perf_counter() - self.start
        if self.limit_s is not None and elapsed > self.limit_s:
            raise TimeLimitError(self.path, f"{self.stage} stopped after {elapsed:.1f} s, over the limit of"
                                            f" {self.limit_s:g} s ({self.option})")  # fmt: skip


class Indexer:
    """Builds index entries with one profile's models, loaded once and reused across videos; ``limits``
    bounds the time spent per file (``max_decode_s``, ``max_asr_s``), ``cores`` the CPU cores it uses (one
    of several workers on a machine gets its share)."""

    def __init__(
        self, profile: Profile, show_progress: bool = False, limits: MediaLimits | None = None, cores: int | None = None
    ):
        self.profile = profile
        self.show_progress = show_progress
        self.limits = limits or MediaLimits()
        self.cores = cores  # CPU cores its passes may use; None: all this process may run on
        reuse_large_blocks()  # before the models start their threads: a tenth less CPU time on glibc

    # -- models, loaded on first use (``"speech" in vars(indexer)`` tells whether one was) --------------
    @functools.cached_property
    def frame_encoder(self) -> FrameEncoder:
        return create_frame_encoder(self.profile.frames.encoder, device=self.profile.device,
                                    threads=self.threads.visual)  # fmt: skip

    @functools.cached_property
    def threads(self) -> ThreadPlan:
        """How the CPU cores are split between the visual pass and speech (see :func:`thread_plan`)."""
        return thread_plan(self.cores or available_cores(), self.profile.overlap and self.profile.device == "cpu")

    @functools.cached_property
    def ocr(self) -> OcrReader:
        return OcrReader(min_score=self.profile.ocr.min_score, max_side=self.profile.ocr.max_side,
                         threads=self.threads.visual)  # fmt: skip

    @functools.cached_property
    def detector(self) -> ObjectDetector:
        cfg = self.profile.objects
        return ObjectDetector(cfg.detector, device=self.profile.device, input_size=cfg.input_size,
                              min_score=cfg.min_score)  # fmt: skip

    @functools.cached_property
    def text_embedder(self) -> TextEmbedder:
        return TextEmbedder(self.profile.text.model, device=self.profile.device)

    @functools.cached_property
    def speech(self) -> SpeechRecognizer:
        cfg = self.profile.speech
        return SpeechRecognizer(cfg if cfg.cpu_threads else replace(cfg, cpu_threads=self.threads.speech))

    # -- the pipeline ------------------------------------------------------------------------------
    def build(self, asset: VideoAsset, on_progress: Progress | None = None) -> BuiltVideo:
        """Index one video; ``on_progress(stage, fraction)`` hears how far it is: ``"frames"`` from 0 to
        :data:`FRAMES_SHARE`, ``"speech"`` up to :data:`SPEECH_SHARE`, then ``"moments"`` (detection,
        embeddings, memory) up to 1."""
        tracker = _Tracker(on_progress or _ignore)
        seconds: dict[str, float] = {}
        segmenter = self._segmenter()
        spool = ThumbnailSpool()
        try:
            moments, transcript = self._passes(  # the moments are made while speech may still run
                asset,
                None,
                segmenter.push,
                spool,
                seconds,
                tracker,
                lambda stop: self._transcript(asset, tracker, stop),
                lambda keyframes: self._moments(segmenter.scenes(asset.duration_s), keyframes, spool, seconds),
            )
            tracker.moments()
            with self._own_threads():
                return self._finish(asset, moments, transcript, seconds)
        finally:
            spool.close()
            release_free_memory()  # a process that goes on (the web app, a watched folder) does not keep them

    def build_chunk(self, asset: VideoAsset, span: TimeSpan) -> Chunk:
        """The passes over one chunk of a video split across workers (:func:`chunk_spans`): the frames inside
        ``span`` and the speech windows that start inside it; :meth:`join` makes the video of the chunks."""
        seconds: dict[str, float] = {}
        features: list[FrameFeatures] = []
        spool = ThumbnailSpool()
        try:
            keyframes, speech = self._passes(asset, span, features.append, spool, seconds, _Tracker(_ignore),
                                             lambda stop: self._chunk_speech(asset, span, stop), list)  # fmt: skip
            return Chunk(span, features, keyframes, speech, spool.contents(), seconds)
        finally:
            spool.close()

    def join(self, asset: VideoAsset, chunks: Sequence[Chunk]) -> BuiltVideo:
        """The video built from its chunks: the cut detector runs over all their histograms and the speech
        guard over all their segments, in time order, so scenes, keyframes and transcript are those of
        :meth:`build` (``tests/test_chunks.py``)."""
        chunks = sorted(chunks, key=lambda c: c.span.start_s)
        seconds: Counter[str] = Counter()
        for chunk in chunks:
            seconds.update(chunk.seconds)
        start = time.perf_counter()
        segmenter = self._segmenter()
        for chunk in chunks:
            for features in chunk.features:
                segmenter.push(features)
        fixed = self._fixed_transcript(asset)
        transcript = fixed if fixed is not None else self.speech.finish(
            (seg for chunk in chunks for seg in chunk.speech), asset.video_id)  # fmt: skip
        spool = ThumbnailSpool()
        try:
            keyframes = []
            for chunk in chunks:
                first = spool.add_all(chunk.thumbnails)
                keyframes.extend(replace(k, thumb=k.thumb + first) for k in chunk.keyframes)
            seconds["join"] = time.perf_counter() - start
            with self._own_threads():
                moments = self._moments(segmenter.scenes(asset.duration_s), keyframes, spool, seconds)
                return self._finish(asset, moments, transcript, dict(seconds))
        finally:
            spool.close()

    def chunks(self, asset: VideoAsset, parts: int) -> list[TimeSpan]:
        """Where :meth:`build_chunk` may cut ``asset`` into up to ``parts`` chunks: :func:`chunk_spans` on
        a grid of both :data:`SYNC_S` and the speech windows' ``chunk_s`` (their least common multiple)."""
        window_s = self.profile.speech.chunk_s
        grid_s = SYNC_S * window_s / math.gcd(round(SYNC_S), round(window_s)) if window_s % 1 == 0 else SYNC_S
        return chunk_spans(asset.duration_s, parts, grid_s)

    def _own_threads(self) -> contextlib.AbstractContextManager:
        """Torch on ``cores`` threads inside the block, when the indexer was given a share of the cores."""
        return torch_threads(self.cores) if self.cores else contextlib.nullcontext()

    def _segmenter(self) -> Segmenter:
        cfg = self.profile
        return Segmenter(SegmentConfig(fps=cfg.frames.analysis_fps, min_scene_s=cfg.events.min_scene_s,
                                       max_scene_s=max(cfg.events.max_event_s * 4, 60.0)))  # fmt: skip

    def _passes(
        self,
        asset: VideoAsset,
        span: TimeSpan | None,
        push: Callable[[FrameFeatures], None],
        spool: ThumbnailSpool,
        seconds: dict[str, float],
        tracker: _Tracker,
        speech: Callable[[threading.Event], T],
        then: Callable[[list[Keyframe]], M],
    ) -> tuple[M, T]:
        """The visual pass over ``span`` (None: all of it), ``then`` on its keyframes, and ``speech(stop)``; the
        speech runs beside the other two when the thread plan overlaps them. ``stop`` is set when the visual
        side fails, so that speech ends early."""
        stop = threading.Event()
        with torch_threads(self.threads.visual), ThreadPoolExecutor(1, thread_name_prefix="longvid-speech") as pool:
            overlapped = pool.submit(self._timed, speech, stop) if self.threads.overlap else None
            try:
                start = time.perf_counter()
                keyframes = self._visual_pass(asset, span, push, seconds, spool, tracker)
                seconds["visual_total"] = time.perf_counter() - start
                release_free_memory()  # the frame batches and activations: not part of the peak that follows
                seen = then(keyframes)
                if overlapped is not None and not overlapped.done():  # speech takes the cores the visual side leaves
                    self._speech_threads(self.threads.visual + self.threads.speech)
                release_free_memory()  # detection's activations, loading the wider model: the same again
                said, seconds["speech"] = overlapped.result() if overlapped else self._timed(speech, stop)
            except BaseException:
                stop.set()  # speech stops at its next segment; the pool waits for it
                raise
            finally:
                if overlapped is not None:
                    self._speech_threads(self.threads.speech)
        return seen, said

    def _speech_threads(self, threads: int) -> None:
        """The recogniser on ``threads`` CPU threads from its next piece on, if there is one (subtitles and
        videos without audio never make it)."""
        if "speech" in vars(self):
            self.speech.use_threads(threads)

    def _moments(
        self, scenes: list[Scene], keyframes: list[Keyframe], spool: ThumbnailSpool, seconds: dict[str, float]
    ) -> _Moments:
        """The events' spans (scenes split at ``max_event_s``), keyframes, thumbnails and objects."""
        spans = split_spans((s.span for s in scenes), self.profile.events.max_event_s)
        times = [k.time_s for k in keyframes]  # sorted: frames are decoded in presentation order
        groups = [_within(keyframes, times, span) for span in spans]
        thumbnails = {i: spool.read(_nearest(group, span.mid_s).thumb)
                      for i, (span, group) in enumerate(zip(spans, groups, strict=True))}  # fmt: skip
        start = time.perf_counter()
        objects = self._detect(thumbnails) if self.profile.objects.detector else {}
        seconds["objects"] = time.perf_counter() - start
        return _Moments(keyframes, spans, groups, thumbnails, objects)

    def _finish(
        self, asset: VideoAsset, moments: _Moments, transcript: list[TranscriptSegment], seconds: dict[str, float]
    ) -> BuiltVideo:
        """Events, vectors and the overview from the moments and the transcript (torch on ``cores`` threads
        when set)."""
        cfg = self.profile.events
        events = []
        for i, (span, inside) in enumerate(zip(moments.spans, moments.groups, strict=True)):
            tags = top_tags((k.tags for k in inside), cfg.max_tags)
            found = moments.objects.get(i, ())
            concepts = (general_words(tags) if self.profile.frames.concepts else ()) + expand(
                (o.label for o in found), vocabulary="coco")  # fmt: skip
            events.append(
                Event(
                    video_id=asset.video_id,
                    index=i,
                    span=span,
                    keyframes_s=tuple(k.time_s for k in inside),
                    transcript=spoken_in(transcript, span),
                    ocr_text="\n".join(dict.fromkeys(line for k in inside for line in k.ocr_lines)),
                    tags=tags,
                    concepts=tuple(w for w in dict.fromkeys(concepts) if w not in tags),
                    objects=found,
                )
            )

        start = time.perf_counter()
        vectors = {  # what each event says and shows; "frames" also serves search by example image
            "text": self.text_embedder.embed([e.text for e in events]),
            "frames": unit_rows(
                np.stack([np.mean([k.embedding for k in g], axis=0, dtype=np.float32) for g in moments.groups])
            ),
        }
        seconds["text_embed"] = time.perf_counter() - start
        start = time.perf_counter()
        overview = build_overview(asset.video_id, asset.duration_s, events, vectors["text"], transcript,
                                  self.text_embedder.embed, self.profile.memory)  # fmt: skip
        seconds["memory"] = time.perf_counter() - start
        keyframes = moments.keyframes
        analysed = len({k.thumb for k in keyframes})  # a still repeats its predecessor's thumbnail
        settings = {"profile": self.profile.to_dict(), "keyframes": len(keyframes), "analysed": analysed}
        log.info("%s: %d events from %d keyframes (%d analysed), %d transcript segments",
                 asset.path.name, len(events), len(keyframes), analysed, len(transcript))  # fmt: skip
        return BuiltVideo(VideoRecord.from_asset(asset, settings), events, vectors, transcript, moments.thumbnails,
                          overview, seconds, len(keyframes), analysed)  # fmt: skip

    def _visual_pass(
        self,
        asset: VideoAsset,
        span: TimeSpan | None,
        push: Callable[[FrameFeatures], None],
        seconds: dict[str, float],
        spool: ThumbnailSpool,
        tracker: _Tracker,
    ) -> list[Keyframe]:
        """Keyframes of the frames in ``span`` (None: all), each batch's histograms handed to ``push``.

        A frame is looked at when it is novel, or ``max_gap_s`` after the last one looked at, or the first at
        or after a multiple of :data:`SYNC_S`; that one is always analysed afresh (and the OCR memory reset),
        so from there on the choices do not depend on what came before: a chunk starting at such a multiple
        makes the same keyframes as a whole pass.
        """
        cfg = self.profile.frames
        keyframes: list[Keyframe] = []
        deadline = Deadline(asset.path, "decoding", self.limits.max_decode_s, "MediaLimits.max_decode_s")
        last_hist, last_t, last_look = None, -np.inf, None
        clock = {"decode": 0.0, "encode": 0.0, "ocr": 0.0}
        tick = time.perf_counter()
        for batch in sample_frames(asset, fps=cfg.analysis_fps, size=asset.fit(cfg.analysis_side), span=span,
                                   batch_size=cfg.batch_size, show_progress=self.show_progress,
                                   ahead=DECODE_AHEAD, threads=self.threads.visual):  # fmt: skip
            hists = color_histograms(batch)
            push(hists)
            chosen, repeats, resyncs = [], set(), set()  # frames to look at; stills among them; resync points
            for i, (t, hist) in enumerate(zip(batch.timestamps_s.tolist(), hists.embeddings, strict=True)):
                resync = _slot(t, SYNC_S) != _slot(last_t, SYNC_S)
                novel = last_hist is None or histogram_distance(hist, last_hist) >= cfg.novelty
                if novel or resync or t - last_t >= cfg.max_gap_s:
                    look = _look(batch.pixels[i])
                    if resync:
                        resyncs.add(i)
                    elif not novel and float(np.abs(look - last_look).mean()) < STILL_LEVELS:
                        repeats.add(i)  # a still picture: reuse what the models said about it
                    if i not in repeats:
                        last_look = look
                    chosen.append(i)
                    last_hist, last_t = hist, t
            clock["decode"] += time.perf_counter() - tick
            if chosen:
                keyframes.extend(self._encode(batch, chosen, repeats, resyncs, keyframes[-1:], clock, spool))
            deadline.check()
            tracker.frames(_share(float(batch.timestamps_s[-1]), asset.duration_s))
            tick = time.perf_counter()
        seconds.update(clock)  # keyframes is never empty: the first decoded frame is always encoded
        return keyframes

    def _encode(
        self,
        batch: FrameBatch,
        chosen: list[int],
        repeats: set[int],
        resync: set[int],
        previous: list[Keyframe],
        clock: dict[str, float],
        spool: ThumbnailSpool,
    ) -> list[Keyframe]:
        """Keyframes for ``chosen`` frames; ``repeats`` copy the keyframe before them (``previous`` holds
        the last one of earlier batches), the others go through the encoder and OCR (``resync``: after
        the OCR cache is reset)."""
        fresh = [i for i in chosen if i not in repeats]
        analysed = dict(zip(fresh, self._analyse(batch, fresh, resync, clock, spool), strict=True)) if fresh else {}
        out = list(previous)
        for i in chosen:
            t = float(batch.timestamps_s[i])
            out.append(replace(out[-1], time_s=t) if i in repeats else replace(analysed[i], time_s=t))
        return out[len(previous) :]

    def _analyse(
        self, batch: FrameBatch, chosen: list[int], resync: set[int], clock: dict[str, float], spool: ThumbnailSpool
    ) -> list[Keyframe]:
        sub = FrameBatch(batch.video_id, batch.timestamps_s[chosen], batch.pixels[chosen])
        start = time.perf_counter()
        feats = self.frame_encoder.encode(sub)
        clock["encode"] += time.perf_counter() - start
        start = time.perf_counter()
        lines = [self._read(batch.pixels[i], i in resync) for i in chosen]
        clock["ocr"] += time.perf_counter() - start
        tags = _confident_tags(feats, self.profile.frames.tag_floor)
        rows = zip(sub.timestamps_s, feats.embeddings.astype(np.float16), tags, lines, sub.pixels, strict=True)
        return [Keyframe(float(t), emb, tg, ln, spool.add(_jpeg(px))) for t, emb, tg, ln, px in rows]

    def _read(self, pixels: np.ndarray, resync: bool) -> tuple[str, ...]:
        """The OCR lines of one frame; ``resync`` first forgets the regions read before (the reader's cache)."""
        if not self.profile.ocr.enabled:
            return ()
        if resync:
            self.ocr.reset()
        return tuple(line.text for line in self.ocr.read(pixels))

    def _detect(self, thumbnails: dict[int, bytes]) -> dict[int, tuple[DetectedObject, ...]]:
        """Objects in each event's representative frame (its thumbnail), batched by frame size."""
        from PIL import Image

        by_size: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
        for i, jpeg in thumbnails.items():
            with Image.open(io.BytesIO(jpeg)) as picture:
                pixels = np.asarray(picture.convert("RGB"))
            by_size.setdefault(pixels.shape[:2], []).append((i, pixels))
        out = {}
        for frames in by_size.values():
            for at in range(0, len(frames), DETECT_BATCH):
                part = frames[at : at + DETECT_BATCH]
                found = self.detector.detect(np.stack([px for _, px in part]))
                out.update((i, objects) for (i, _), objects in zip(part, found, strict=True))
        return out

    @staticmethod
    def _timed(fn: Callable, *args) -> tuple[object, float]:
        start = time.perf_counter()
        return fn(*args), time.perf_counter() - start

    def _fixed_transcript(self, asset: VideoAsset) -> list[TranscriptSegment] | None:
        """The transcript when no speech recognition is needed (subtitles; ``[]`` without audio or with ASR off);
        None when the recogniser is to run."""
        subtitles = find_subtitles(asset)
        if subtitles:
            log.info("%s: using %d subtitle cues instead of speech recognition", asset.path.name, len(subtitles))
            return subtitles
        if not asset.has_audio:
            log.info("%s: no audio stream; no transcript", asset.path.name)
            return []
        if not self.profile.transcribe:
            log.info("%s: speech recognition is off in profile %r", asset.path.name, self.profile.name)
            return []
        return None

    def _transcript(self, asset: VideoAsset, tracker: _Tracker, stop: threading.Event) -> list[TranscriptSegment]:
        fixed = self._fixed_transcript(asset)
        if fixed is not None:
            return fixed
        stream = self.speech.transcribe(asset, video_id=asset.video_id, show_progress=self.show_progress)
        return self._drain(asset, stream, stop, lambda s: tracker.speech(_share(s.span.end_s, asset.duration_s)))

    def _chunk_speech(self, asset: VideoAsset, span: TimeSpan, stop: threading.Event) -> list[WindowSegment]:
        """One chunk's unguarded speech segments (its windows'); nothing when :meth:`join` has a fixed transcript."""
        if self._fixed_transcript(asset) is not None:
            return []
        return self._drain(
            asset, self.speech.transcribe(asset, video_id=asset.video_id, windows=span).unguarded(), stop
        )

    def _drain(
        self, asset: VideoAsset, segments: Iterable[S], stop: threading.Event, heard: Callable[[S], None] | None = None
    ) -> list[S]:
        """The speech segments, within ``MediaLimits.max_asr_s``; ``heard`` sees each one as it comes."""
        deadline = Deadline(asset.path, "speech recognition", self.limits.max_asr_s, "MediaLimits.max_asr_s")
        out = []
        for segment in segments:
            out.append(segment)
            deadline.check()
            if stop.is_set():  # the visual pass failed: its error is the one reported
                break
            if heard is not None:
                heard(segment)
        return out


def find_subtitles(asset: VideoAsset) -> list[TranscriptSegment]:
    """Subtitles that come with a video: a sidecar ``NAME.srt``/``NAME.*.vtt`` file, else an embedded
    text stream. Empty when there are none."""
    for sidecar in sorted(asset.path.parent.glob(f"{glob.escape(asset.path.stem)}*")):
        if sidecar.suffix.lower() in SIDECAR_SUFFIXES and sidecar.is_file():
            return read_subtitles(sidecar, video_id=asset.video_id, strict=False)
    return read_embedded_subtitles(asset.path, video_id=asset.video_id)


def split_spans(spans: Iterable[TimeSpan], max_s: float) -> list[TimeSpan]:
    """Split every span longer than ``max_s`` into equal parts no longer than ``max_s``."""
    out = []
    for span in spans:
        parts = max(1, int(np.ceil(span.duration_s / max_s - 1e-9)))
        step = span.duration_s / parts
        out += [TimeSpan(span.start_s + k * step, span.end_s if k == parts - 1 else span.start_s + (k + 1) * step)
                for k in range(parts)]  # fmt: skip
    return out


def spoken_in(transcript: Sequence[TranscriptSegment], span: TimeSpan) -> str:
    """The words said inside ``span``. With word times, each sentence goes whole to the event that holds
    most of its words (the first word breaks ties), so a sentence said across a scene cut is quoted and
    found in one piece; without them, whole segments go by their midpoint."""
    words = []
    for seg in transcript:
        if seg.span.end_s < span.start_s or seg.span.start_s >= span.end_s:
            continue
        if seg.words:
            for sentence in _sentences(seg.words):
                inside = [span.contains(w.span.mid_s) for w in sentence]
                if 2 * sum(inside) > len(inside) or (2 * sum(inside) == len(inside) and inside[0]):
                    words += [w.text.strip() for w in sentence]
        elif span.contains(seg.span.mid_s):
            words.append(seg.text.strip())
    return " ".join(w for w in words if w)


def _sentences(words: Sequence[Word]) -> list[list[Word]]:
    """``words`` cut after every word that ends with ``.``, ``?`` or ``!``."""
    out: list[list[Word]] = [[]]
    for word in words:
        out[-1].append(word)
        if word.text.strip().endswith((".", "?", "!")):
            out.append([])
    return [s for s in out if s]


def _confident_tags(feats: FrameFeatures, floor: float) -> tuple[tuple[str, ...], ...]:
    """What each frame's tags can state at ``floor``: the labels over it, or the general word their summed
    probability clears (:func:`~longvid.encoders.concepts.confident_labels`); all tags when the encoder
    gives no probabilities."""
    if feats.tags is None:
        return tuple(() for _ in range(len(feats)))
    if feats.tag_scores is None:
        return feats.tags
    return tuple(tuple(word for word, _ in confident_labels(row, scores, floor))
                 for row, scores in zip(feats.tags, feats.tag_scores, strict=True))  # fmt: skip


def top_tags(rows: Iterable[Sequence[str]], limit: int) -> tuple[str, ...]:
    """The ``limit`` tags seen most across frames, weighting each frame's first tag most."""
    counts: Counter[str] = Counter()
    for row in rows:
        for rank, tag in enumerate(row):
            counts[tag] += len(row) - rank
    return tuple(tag for tag, _ in counts.most_common(limit))


def chunk_spans(duration_s: float, parts: int, grid_s: float = SYNC_S) -> list[TimeSpan]:
    """Up to ``parts`` chunks tiling ``[0, duration_s]``, of about equal length, each at least
    :data:`MIN_CHUNK_S` long (a video shorter than two of them stays whole), boundaries on a ``grid_s`` grid
    (a multiple of :data:`SYNC_S`; :meth:`Indexer.chunks` also aligns them with the speech windows) so that
    :meth:`Indexer.join` gives what a whole build gives.

    >>> [(c.start_s, c.end_s) for c in chunk_spans(7200.0, 2)]
    [(0.0, 3600.0), (3600.0, 7200.0)]
    >>> len(chunk_spans(900.0, 4)), len(chunk_spans(2400.0, 8)), len(chunk_spans(2400.0, 8, grid_s=1200.0))
    (1, 4, 2)
    """
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    if not grid_s > 0 or (grid_s / SYNC_S) % 1:
        raise ValueError(f"grid_s must be a positive multiple of {SYNC_S:g} s, got {grid_s}")
    parts = max(1, min(parts, int(duration_s // max(MIN_CHUNK_S, grid_s))))  # read here: a test may lower it
    cuts = sorted({round(duration_s * k / parts / grid_s) * grid_s for k in range(1, parts)})
    edges = [0.0, *(c for c in cuts if 0 < c < duration_s), duration_s]
    return [TimeSpan(a, b) for a, b in itertools.pairwise(edges)]


def _slot(t_s: float, step_s: float) -> float:
    """Which ``step_s``-long slot of the video's clock ``t_s`` falls in (``-inf`` before the first frame)."""
    return math.floor((t_s + 1e-6) / step_s) if math.isfinite(t_s) else -math.inf


def _look(pixels: np.ndarray) -> np.ndarray:
    """A coarse grey signature (1/8 size) to tell a still picture from a changed one."""
    return pixels[::8, ::8].mean(axis=-1, dtype=np.float32)


def _within(keyframes: Sequence[Keyframe], times: Sequence[float], span: TimeSpan) -> list[Keyframe]:
    """Keyframes inside ``span`` (``times``: their sorted times); the nearest one when none is."""
    inside = keyframes[bisect.bisect_left(times, span.start_s) : bisect.bisect_left(times, span.end_s)]
    return list(inside) or [_nearest(keyframes, span.mid_s)]


def _nearest(keyframes: Sequence[Keyframe], t: float) -> Keyframe:
    return min(keyframes, key=lambda k: abs(k.time_s - t))


def _jpeg(pixels: np.ndarray) -> bytes:
    from PIL import Image

    image = Image.fromarray(pixels)
    image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def _share(t_s: float, duration_s: float) -> float:
    return min(1.0, t_s / duration_s) if duration_s > 0 else 1.0


def _ignore(stage: str, fraction: float) -> None:
    """The progress listener when nobody listens."""


@dataclass(frozen=True)
class ThreadPlan:
    """CPU threads for each pass: with ``overlap`` the passes run at once and split the cores."""

    overlap: bool
    visual: int  # torch and onnxruntime threads of the visual pass (frame encoder, OCR, detector)
    speech: int  # CTranslate2 threads of speech recognition


def thread_plan(cores: int, overlap: bool) -> ThreadPlan:
    """Speech gets half the cores (at least one), the visual pass the rest; one core cannot overlap.

    >>> thread_plan(2, True), thread_plan(16, True).speech, thread_plan(16, False).visual
    (ThreadPlan(overlap=True, visual=1, speech=1), 8, 16)
    >>> thread_plan(1, True).overlap
    False
    """
    if not overlap or cores < 2:
        return ThreadPlan(False, cores, default_threads(cores))
    speech = cores // 2
    return ThreadPlan(True, cores - speech, speech)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Torch's intra-op thread count set to ``n`` inside the block, restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Tracker:
    """One monotonic progress figure from passes that may run at once: the visual pass's share of the work
    is :data:`FRAMES_SHARE`, speech's the next ``SPEECH_SHARE - FRAMES_SHARE``, the rest is the moments'."""

    def __init__(self, report: Progress):
        self.report, self.done = report, {"frames": 0.0, "speech": 0.0}
        self._lock = threading.Lock()

    def frames(self, fraction: float) -> None:
        self._moved("frames", fraction)

    def speech(self, fraction: float) -> None:
        self._moved("speech", fraction)

    def moments(self) -> None:
        self.report("moments", SPEECH_SHARE)

    def _moved(self, stage: str, fraction: float) -> None:
        with self._lock:
            self.done[stage] = max(self.done[stage], fraction)
            overall = FRAMES_SHARE * self.done["frames"] + (SPEECH_SHARE - FRAMES_SHARE) * self.done["speech"]
            self.report(stage, overall)
