"""Speech recognition beside the visual pass: the same index as the serial run, progress that only grows,
the cores split between the passes, and a failed visual pass that stops speech."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from longvid.app.pipeline import Indexer, ThreadPlan
from longvid.app.profiles import load_profile
from longvid.ingest import open_video

from .conftest import DEMO


@pytest.fixture(scope="module")
def builds():
    """The demo built serially and overlapped, with the same thread counts (one each), by one indexer."""
    asset = open_video(DEMO)
    indexer = Indexer(load_profile("embedded", {"speech.cpu_threads": 1}))
    out = {}
    widths: list[int] = []  # the thread counts speech was switched to (Indexer -> SpeechRecognizer.use_threads)
    switch = indexer.speech.use_threads
    indexer.speech.use_threads = lambda threads: widths.append(threads) or switch(threads)
    for overlap in (False, True):
        indexer.threads = ThreadPlan(overlap, visual=1, speech=1)
        heard: list[tuple[str, float, str]] = []

        def listen(stage: str, fraction: float, heard: list = heard) -> None:
            heard.append((stage, fraction, threading.current_thread().name))

        widths.clear()
        built = indexer.build(asset, listen)
        out[overlap] = built, heard, list(widths)
    return out


def test_overlapped_index_equals_the_serial_one(builds):
    (serial, _, _), (overlapped, _, _) = builds[False], builds[True]
    assert len(serial.events) == len(overlapped.events) == 5
    for a, b in zip(serial.events, overlapped.events, strict=True):
        assert (a.span, a.transcript, a.ocr_text, a.tags, a.concepts) == (b.span, b.transcript, b.ocr_text, b.tags,
                                                                           b.concepts)  # fmt: skip
        assert [(o.label, o.box) for o in a.objects] == [(o.label, o.box) for o in b.objects]
    assert [(s.span, s.text, s.words) for s in serial.transcript] == [
        (s.span, s.text, s.words) for s in overlapped.transcript
    ]
    assert "budget for the new bridge" in " ".join(s.text for s in overlapped.transcript)
    for channel in serial.vectors:
        np.testing.assert_array_equal(serial.vectors[channel], overlapped.vectors[channel])
    assert serial.thumbnails == overlapped.thumbnails


def test_speech_takes_both_cores_once_the_visual_side_is_done(builds):
    """The demo's narration outlasts its frame pass: overlapped, speech goes on on both threads, then back
    to its own share; serially nothing changes. (Its transcript is the serial one: the test above.)"""
    (_, _, serial), (built, _, overlapped) = builds[False], builds[True]
    assert serial == []
    done_s = built.seconds["visual_total"] + built.seconds["objects"]
    assert overlapped[-1:] == [1] and (overlapped == [2, 1] or built.seconds["speech"] < done_s + 1.0)


def test_overlap_runs_speech_on_its_own_thread_and_progress_only_grows(builds):
    for overlap, (_, heard, _) in builds.items():
        fractions = [f for _, f, _ in heard]
        assert fractions == sorted(fractions) and heard[-1][:2] == ("moments", pytest.approx(0.9))
        speech_threads = {name for stage, _, name in heard if stage == "speech"}
        assert speech_threads and all(name.startswith("longvid-speech") == overlap for name in speech_threads)


def test_a_failed_visual_pass_stops_speech_and_is_the_error_raised(monkeypatch):
    indexer = Indexer(load_profile("embedded"))
    indexer.threads = ThreadPlan(True, visual=1, speech=1)
    segments = []

    def failing_visual_pass(*args):
        time.sleep(0.5)  # speech is under way
        raise RuntimeError("visual pass failed")

    monkeypatch.setattr(indexer, "_visual_pass", failing_visual_pass)
    original = indexer._transcript

    def counted(asset, tracker, stop):
        out = original(asset, tracker, stop)
        segments.append((len(out), stop.is_set()))
        return out

    monkeypatch.setattr(indexer, "_transcript", counted)
    with pytest.raises(RuntimeError, match="visual pass failed"):
        indexer.build(open_video(DEMO))
    assert segments and segments[0][1]  # the speech pass ran, saw the stop and returned


def test_the_cores_are_split_only_when_there_are_two():
    assert Indexer(load_profile("embedded", {"overlap": False})).threads.overlap is False
    plan = Indexer(load_profile("embedded")).threads
    assert plan.overlap == (plan.visual + plan.speech >= 2) and plan.visual >= 1 and plan.speech >= 1


def test_speech_outlasting_the_frames_is_widened_and_says_the_same(tmp_path):
    """A short still clip narrated throughout: its frames are done long before its speech, which then goes on
    on both threads; the transcript is the one of a serial build on one thread."""
    from longvid.ingest.ffmpeg_cli import run_ffmpeg

    from .test_speech import BUDGET

    clip = tmp_path / "narrated.mp4"
    run_ffmpeg("-f lavfi -i color=c=navy:size=320x180:rate=5 -i {speech} -t 7 -c:v libx264 -c:a aac -shortest {out}",
               speech=BUDGET, out=clip)  # fmt: skip
    indexer = Indexer(load_profile("embedded", {"speech.cpu_threads": 1, "objects.detector": ""}))
    widths: list[int] = []
    switch = indexer.speech.use_threads
    indexer.speech.use_threads = lambda threads: widths.append(threads) or switch(threads)
    said = {}
    for overlap in (False, True):
        indexer.threads = ThreadPlan(overlap, visual=1, speech=1)
        said[overlap] = [(s.span, s.text, s.words) for s in indexer.build(open_video(clip)).transcript]
    assert widths == [2, 1] and said[True] == said[False] and "lighthouse" in str(said[True]).lower()
