"""Clip and highlight-reel export, checked by probing and decoding what was written.

The source is a synthetic 6 s, 25 fps video whose every frame has its own brightness (frame i is
unmistakable for frame i - 1), keyframes exactly every 2 s and B-frames (x264 veryfast), so a cut that
starts one frame off, a stream copy where a re-encode was needed, or a copy that overruns its end shows.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from longvid.app import Library, clips
from longvid.app.cli import main
from longvid.app.clips import CARD_S, ClipError, export_clip, export_reel, keyframes
from longvid.index.records import Event, VideoRecord
from longvid.ingest import TimeSpan, TranscriptSegment, VideoOpenError, probe, read_embedded_subtitles
from longvid.ingest.ffmpeg_cli import ffmpeg_binary, run_ffmpeg
from longvid.llm import Answer, Citation

FPS = 25
FRAME_S = 1 / FPS
SIZE = (160, 90)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory) -> Path:
    """6 s at 25 fps, 160x90, keyframes at 0, 2 and 4 s, B-frames; frame i is a ramp at brightness 37*i mod 220;
    a 440 Hz AAC tone."""
    path = tmp_path_factory.mktemp("clips") / "keyed.mp4"
    ramp = "geq=lum='mod(N*37+X/4,220)+16':cb='mod(N*91,224)+16':cr=128"
    frames = f"color=black:s={SIZE[0]}x{SIZE[1]}:r={FPS}:d=6,{ramp}"
    run_ffmpeg(["-f", "lavfi", "-i", frames, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:d=6",
                "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
                "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)])  # fmt: skip
    return path


@pytest.fixture(scope="module")
def portrait(tmp_path_factory) -> Path:
    """3 s at 30 fps, 90x120 (another size, rate and shape), no B-frames, no audio."""
    path = tmp_path_factory.mktemp("clips") / "portrait.mp4"
    run_ffmpeg("-f lavfi -i testsrc2=size=90x120:rate=30:duration=3 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "
               "{out}", out=path)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def source_frames(keyed) -> list[np.ndarray]:
    with av.open(str(keyed)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.float32) for f in container.decode(video=0)]


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.float32) for f in container.decode(video=0)]


def differ(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_keyframes_come_from_packet_flags(keyed):
    assert keyframes(keyed) == [0.0, 2.0, 4.0]
    assert keyframes(keyed, 1.0, 3.0) == [2.0]


@pytest.mark.parametrize(
    ("start", "end", "method", "first_frame"),
    [
        (4.0, 99.0, "copy", 100),  # on a keyframe, to the end (END clamps to 6 s)
        (2.01, 6.0, "copy", 50),  # within half a frame of the keyframe at 2 s
        (2.36, 3.6, "encode", 59),  # between keyframes
        (2.03, 3.6, "encode", 51),  # nearer the frame after the keyframe than the keyframe
    ],
)
def test_clip_starts_on_the_frame_at_start(keyed, source_frames, tmp_path, start, end, method, first_frame):
    before = hashlib.sha256(keyed.read_bytes()).hexdigest()
    clip = export_clip(keyed, start, end, tmp_path / "clip.mp4")
    assert clip.method == method
    assert clip.start_s == pytest.approx(first_frame * FRAME_S)
    assert clip.end_s == min(end, 6.0)
    info = probe(clip.path)
    video_s = info.video[0].duration_s
    assert video_s == pytest.approx(min(end, 6.0) - start, abs=FRAME_S + 1e-6)
    assert clip.duration_s == pytest.approx(video_s)
    [audio] = info.audio
    assert audio.duration_s == pytest.approx(video_s, abs=0.03)  # in sync: AAC frames are 21 ms
    first = frames_of(clip.path)[0]
    assert differ(first, source_frames[first_frame]) < 2.0
    assert differ(first, source_frames[first_frame - 1]) > 10.0  # the check can tell neighbouring frames apart
    assert hashlib.sha256(keyed.read_bytes()).hexdigest() == before


def test_clip_ending_between_b_frames_keeps_its_length(keyed, source_frames, tmp_path):
    clip = export_clip(keyed, 2.0, 3.5, tmp_path / "clip.mp4")  # a copy may only end where decoding order allows
    assert clip.duration_s == pytest.approx(1.5, abs=FRAME_S + 1e-6)
    assert differ(frames_of(clip.path)[0], source_frames[50]) < 2.0


def test_stream_without_b_frames_is_copied_to_any_end(portrait, tmp_path):
    clip = export_clip(portrait, 0.0, 1.5, tmp_path / "clip.mov")
    assert clip.method == "copy"
    info = probe(clip.path)
    assert info.video[0].duration_s == pytest.approx(1.5, abs=1 / 30 + 1e-6)
    assert info.audio == ()


def test_file_without_an_index_is_cut_frame_accurately(keyed, source_frames, tmp_path):
    """MPEG-TS seeks land on the keyframe after the target, and its video starts after its audio: the cut
    still starts on the frame nearest START, on the file's own timeline (seconds from its start)."""
    ts = tmp_path / "keyed.ts"
    run_ffmpeg("-i {src} -c copy -f mpegts {dst}", src=keyed, dst=ts)
    with av.open(str(ts)) as container:
        video = container.streams.video[0]
        offset = float(video.start_time * video.time_base) - container.start_time / av.time_base  # > 0
    assert keyframes(ts) == pytest.approx([offset, 2 + offset, 4 + offset])
    for start, frame in [(2.36, round((2.36 - offset) * FPS)), (2 + offset, 50)]:  # on a keyframe, too
        clip = export_clip(ts, start, 4.0, tmp_path / "clip.mp4")
        assert clip.method == "encode"  # ffmpeg's own seek would miss the keyframe: no stream copy
        assert clip.start_s == pytest.approx(offset + frame * FRAME_S)
        first = frames_of(clip.path)[0]
        assert differ(first, source_frames[frame]) < 2.0 and differ(first, source_frames[frame - 1]) > 10.0
        assert clip.duration_s == pytest.approx(4.0 - start, abs=FRAME_S + 1e-6)


def test_odd_frame_size_is_cropped_to_even_for_h264(tmp_path):
    """ffmpeg 6 refuses odd sizes for H.264 in 4:2:0; newer releases crop on their own, as export_clip does."""
    odd = tmp_path / "odd.mp4"
    run_ffmpeg("-f lavfi -i testsrc2=size=161x91:rate=25:duration=2 -c:v libx264 -preset ultrafast -pix_fmt yuv444p "
               "{out}", out=odd)  # fmt: skip
    clip = export_clip(odd, 0.52, 1.5, tmp_path / "clip.mp4")
    assert clip.method == "encode" and (probe(clip.path).video[0].width, probe(clip.path).video[0].height) == SIZE


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        (3.0, 3.0, "START must come before END"),
        (4.0, 2.0, "START must come before END"),
        (-1.0, 2.0, "START must be 0 or more"),
        (7.0, 9.0, "START is past the end of the video"),
        (2.0, 2.01, "shorter than one frame"),
    ],
)
def test_bad_ranges_raise_one_line(keyed, tmp_path, start, end, words):
    with pytest.raises(ClipError, match=words) as err:
        export_clip(keyed, start, end, tmp_path / "clip.mp4")
    assert "\n" not in str(err.value) and "keyed.mp4" in str(err.value)
    assert not (tmp_path / "clip.mp4").exists()


def test_bad_sources_and_outputs(keyed, tmp_path):
    with pytest.raises(VideoOpenError, match="file not found"):
        export_clip(tmp_path / "gone.mp4", 0, 1, tmp_path / "clip.mp4")
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(VideoOpenError, match="not a media file"):
        export_clip(tmp_path / "notes.mp4", 0, 1, tmp_path / "clip.mp4")
    with pytest.raises(ClipError, match=r"cannot write a \.avi file"):
        export_clip(keyed, 0, 1, tmp_path / "clip.avi")
    with pytest.raises(ClipError, match="is the source itself"):
        export_clip(keyed, 0, 1, keyed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4"]  # no temporary file left behind


SEGMENTS = [
    TranscriptSegment("v", TimeSpan(1.0, 2.5), "before and during"),
    TranscriptSegment("v", TimeSpan(3.0, 3.4), "inside"),
    TranscriptSegment("v", TimeSpan(5.5, 6.0), "after"),
]


def test_muxed_subtitles_are_cut_to_clip_time(keyed, tmp_path):
    clip = export_clip(keyed, 2.36, 4.0, tmp_path / "clip.mp4", subtitles=SEGMENTS)
    assert (clip.method, clip.cues) == ("encode", 2)
    assert [s.codec for s in probe(clip.path).subtitles] == ["mov_text"]
    cues = read_embedded_subtitles(clip.path)
    assert [c.text for c in cues] == ["before and during", "inside"]
    assert [(c.span.start_s, c.span.end_s) for c in cues] == [
        pytest.approx((0.0, 0.14), abs=0.002),
        pytest.approx((0.64, 1.04), abs=0.002),
    ]
    copied = export_clip(keyed, 2.0, 6.0, tmp_path / "copied.mp4", subtitles=SEGMENTS)
    assert (copied.method, copied.cues) == ("copy", 3)
    assert read_embedded_subtitles(copied.path)[0].span.end_s == pytest.approx(0.5, abs=0.002)


def test_burned_subtitles_are_drawn_into_the_picture(keyed, source_frames, tmp_path):
    if "subtitles" not in clips._filters(ffmpeg_binary()):
        pytest.skip(f"{ffmpeg_binary()} has no libass 'subtitles' filter")
    clip = export_clip(keyed, 2.0, 3.0, tmp_path / "clip.mp4", subtitles=SEGMENTS[:1], burn=True)
    assert (clip.method, clip.cues) == ("encode", 1)
    assert probe(clip.path).subtitles == ()
    first = frames_of(clip.path)[0]
    assert differ(first[:60], source_frames[50][:60]) < 2.0  # the picture is the same frame...
    assert differ(first[72:, 40:120], source_frames[50][72:, 40:120]) > 3.0  # ...with text at the bottom


def test_burning_without_libass_says_so(keyed, tmp_path, monkeypatch):
    monkeypatch.setattr(clips, "_filters", lambda binary: frozenset())
    with pytest.raises(ClipError, match=r"no 'subtitles' filter \(it is built without libass\).*--subtitles mux"):
        export_clip(keyed, 2.0, 3.0, tmp_path / "clip.mp4", subtitles=SEGMENTS, burn=True)


def card_frames(rate: int) -> int:
    return round(CARD_S * rate)


def test_reel_joins_moments_of_different_videos_after_title_cards(keyed, portrait, source_frames, tmp_path):
    moments = [(keyed, 1.0, 2.0), Citation("p", 0.5, 1.5, str(portrait))]
    reel = export_reel(moments, tmp_path / "reel.mp4")
    card_s = card_frames(FPS) / FPS
    assert reel.method == "encode" and reel.end_s == pytest.approx(2.0 + 2 * card_s)
    info = probe(reel.path)
    assert (info.video[0].width, info.video[0].height) == SIZE  # the first moment's size; the portrait letterboxed
    assert info.video[0].duration_s == pytest.approx(2.0 + 2 * card_s, abs=2 * FRAME_S)
    assert info.audio[0].duration_s == pytest.approx(info.video[0].duration_s, abs=0.05)
    frames = frames_of(reel.path)
    card, moment = frames[0], frames[card_frames(FPS)]
    assert card.mean() < 40 and card.max() > 200  # white text on black
    assert differ(moment, source_frames[25]) < 3.0 and differ(moment, source_frames[24]) > 10.0


def test_reel_cards_fall_back_to_pillow(keyed, tmp_path, monkeypatch):
    monkeypatch.setattr(clips, "_filters", lambda binary: frozenset())  # a binary without drawtext
    reel = export_reel([(keyed, 1.0, 2.0)], tmp_path / "reel.mp4")
    card = frames_of(reel.path)[0]
    assert card.mean() < 40 and card.max() > 200
    assert reel.duration_s == pytest.approx(1.0 + card_frames(FPS) / FPS, abs=FRAME_S)
    bare = export_reel([(keyed, 1.0, 2.0), (keyed, 1.0, 2.0)], tmp_path / "bare.mp4", title_cards=False)
    assert bare.duration_s == pytest.approx(2.0, abs=2 * FRAME_S)  # the same moment twice is fine


def test_reel_errors(keyed, tmp_path):
    with pytest.raises(ClipError, match="no moments"):
        export_reel([], tmp_path / "reel.mp4")
    with pytest.raises(ClipError, match="names no file"):
        export_reel([Citation("v1", 1.0, 2.0)], tmp_path / "reel.mp4")
    with pytest.raises(ClipError, match="START must come before END"):
        export_reel([(keyed, 1.0, 2.0), (keyed, 3.0, 2.0)], tmp_path / "reel.mp4")


@pytest.fixture
def library(keyed, tmp_path) -> tuple[Path, str, Path]:
    """A library holding a copy of the keyed video (no models run) with one transcript segment."""
    video = tmp_path / "talk.mp4"
    shutil.copy(keyed, video)
    with Library(tmp_path / "lib", profile="embedded") as lib:
        lib.index.add_video(VideoRecord("vid1", str(video), 6.0, FPS, *SIZE, True), [Event("vid1", 0, TimeSpan(0, 6))],
                            {}, [TranscriptSegment("vid1", TimeSpan(2.5, 3.0), "hello")])  # fmt: skip
    return tmp_path / "lib", "vid1", video


def test_library_exports_clips_and_answers(library, tmp_path):
    root, video_id, video = library
    with Library(root) as lib:
        clip = lib.export_clip(video_id, 2.0, 4.0, tmp_path / "clip.mp4", subtitles=True)
        assert clip.cues == 1
        [cue] = read_embedded_subtitles(clip.path)
        assert (cue.text, cue.span.start_s, cue.span.end_s) == ("hello", pytest.approx(0.5), pytest.approx(1.0))
        answer = Answer("twice", (Citation(video_id, 1.0, 2.0), Citation(video_id, 3.0, 4.0)))
        reel = lib.export_answer(answer, tmp_path / "reel.mp4", title_cards=False)
        assert reel.duration_s == pytest.approx(2.0, abs=2 * FRAME_S)
        with pytest.raises(ClipError, match="cites no moment"):
            lib.export_answer(Answer("nothing"), tmp_path / "none.mp4")
        video.unlink()
        with pytest.raises(ClipError, match=f"the source file is missing: {video}"):
            lib.export_clip(video_id, 2.0, 4.0, tmp_path / "again.mp4")


def test_cli_clip(keyed, library, tmp_path, capsys):
    root, _, video = library
    out = tmp_path / "cli.mp4"
    assert main(["clip", str(keyed), "0:02.36", "00:00:03.6", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "wrote" in said and "00:00:02.360-00:00:03.600" in said and "re-encoded" in said
    assert probe(out).video[0].duration_s == pytest.approx(1.24, abs=FRAME_S)

    assert main(["clip", str(video), "2", "4", "-o", str(out), "--subtitles", "mux", "--library", str(root)]) == 0
    assert "1 subtitle cues muxed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["clip", "{keyed}", "4", "2", "-o", "{out}"], "START must come before END"),
        (["clip", "{tmp}/missing.mp4", "1", "2", "-o", "{out}", "--library", "{tmp}/nolib"], "no file"),
        (["clip", "vid1", "1", "2", "-o", "{out}", "--library", "{lib}"], "the source file is missing"),
        (["clip", "{keyed}", "1", "2", "-o", "{tmp}/clip.webm"], "cannot write a .webm file"),
    ],
)
def test_cli_clip_errors_are_one_line(keyed, library, tmp_path, capsys, argv, words):
    root, _, video = library
    video.unlink()
    places = {"keyed": str(keyed), "out": str(tmp_path / "out.mp4"), "tmp": str(tmp_path), "lib": str(root)}
    assert main([a.format(**places) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("longvid clip: error: ") and words in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_clip_rejects_bad_times(keyed, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["clip", str(keyed), "1:75", "2:00", "-o", str(tmp_path / "out.mp4")])
    assert exit_.value.code == 2
    assert "'1:75' is not a time like" in capsys.readouterr().err


def test_ask_writes_the_answer_as_a_reel(demo_library, tmp_path, capsys):
    out = tmp_path / "answer.mp4"
    question = "When was the budget for the new bridge approved?"
    assert main(["ask", "--library", str(demo_library.root), "--reel", str(out), question]) == 0
    cited = demo_library.ask(question).citations
    length = sum(c.end_s - c.start_s for c in cited) + len(cited) * CARD_S
    assert f"wrote {out}: {len(cited)} moments" in capsys.readouterr().err
    assert abs(probe(out).duration_s - length) < 0.25
    with pytest.raises(ClipError, match="cites no moment"):
        demo_library.export_answer(Answer("nothing", ()), tmp_path / "none.mp4")
