"""Transcripts: longvid's speech pass against plain faster-whisper on the same long, mostly quiet audio.

Run ``python -m longvid.app.eval.benchmarks.speech [--minutes 30]``. The input is a needle-in-a-haystack
video (``longvid.app.eval.haystack``): faint noise with TTS sentences at known times, which is what a
recording with long pauses looks like to a recogniser. Both sides run the same model (the embedded
Whisper base, int8, same threads, beam 5):

* **plain faster-whisper**: ``WhisperModel(...).transcribe(path)`` with its defaults, what a user would
  write first;
* **longvid**: :class:`~longvid.encoders.speech.SpeechRecognizer` (Silero VAD, 10-minute windows cut at
  quiet moments, hallucination guard, word timestamps).

Reported: long-form word error rate (the whole transcript against all sentences in time order, so words
made up in the noise count as insertions), words transcribed against words said, and speed.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time

from longvid.app.eval.haystack import HaystackSpec, build_haystack
from longvid.encoders.speech import SpeechConfig, SpeechRecognizer, embedded_whisper_dir
from longvid.ingest import open_video
from longvid.ingest.types import TimeSpan

_NUMBERS = {"2": "two", "3": "three", "9": "nine", "42": "forty two"}


def words(text: str) -> list[str]:
    """Lower-case words, digits spelled as the sentences spell them."""
    out = []
    for w in re.findall(r"[a-z0-9']+", text.lower().replace("%", " percent")):
        out += _NUMBERS.get(w, w).split()
    return out


def edit_distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def score(segments: list[tuple[float, float, str]], sentences: list[tuple[TimeSpan, str]]) -> dict[str, float]:
    """Word error rate of the whole transcript against all sentences in time order (long-form WER:
    hallucinated words count as insertions, missed sentences as deletions), and the word counts."""
    ref = [w for _, text in sentences for w in words(text)]
    hyp = [w for *_, text in sorted(segments) for w in words(text)]
    return {"wer": edit_distance(hyp, ref) / max(len(ref), 1), "heard": len(hyp), "said": len(ref)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the test audio")
    parser.add_argument("--work", help="folder for the haystack video (default: temporary)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = build_haystack(HaystackSpec(args.minutes * 60), args.work or tmp)
        sentences = [(p.span, p.needle.say) for p in stack.speech]
        config = SpeechConfig()
        speech_s = sum(p.span.duration_s for p in stack.speech)
        print(f"machine: {len(os.sched_getaffinity(0))} usable CPUs; {stack.duration_s / 60:.1f} min of audio, "
              f"{len(sentences)} sentences ({speech_s:.0f} s of speech)\n")  # fmt: skip
        print("| transcriber | wall s | audio s / wall s | WER | words transcribed / said |\n|---|---|---|---|---|")

        from faster_whisper import WhisperModel

        plain = WhisperModel(str(embedded_whisper_dir()), device="cpu", compute_type=config.compute_type,
                             cpu_threads=config.threads)  # fmt: skip
        start = time.perf_counter()
        found, _ = plain.transcribe(str(stack.path))
        plain_segments = [(s.start, s.end, s.text) for s in found]
        _row("plain faster-whisper (defaults)", time.perf_counter() - start, stack.duration_s,
             score(plain_segments, sentences))  # fmt: skip

        recognizer = SpeechRecognizer(config)
        recognizer.load()
        start = time.perf_counter()
        ours = [(s.span.start_s, s.span.end_s, s.text) for s in recognizer.transcribe(open_video(stack.path))]
        _row("longvid SpeechRecognizer", time.perf_counter() - start, stack.duration_s, score(ours, sentences))


def _row(name: str, wall_s: float, duration_s: float, result: dict[str, float]) -> None:
    print(f"| {name} | {wall_s:.0f} | {duration_s / wall_s:.0f}x | {result['wer']:.3f} "
          f"| {result['heard']} / {result['said']} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
