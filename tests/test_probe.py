"""Probing and opening: streams described without ffprobe; bad input gets typed errors naming the file."""

import shutil

import pytest

from longvid.ingest import (
    DecodeError,
    MediaError,
    MediaLimitError,
    MediaLimits,
    NoVideoStreamError,
    VideoOpenError,
    open_video,
    probe,
    sample_frames,
)
from longvid.ingest.ffmpeg_cli import run_ffmpeg
from longvid.ingest.probe import content_id


def test_probe_describes_streams(shots_video):
    info = probe(shots_video.path)
    assert info.container.startswith("mov,mp4")
    assert info.duration_s == pytest.approx(33.0, abs=0.05)
    (video,) = info.video
    assert (video.codec, video.width, video.height, video.fps, video.rotation) == ("h264", 320, 180, 25.0, 0)
    assert video.frame_count == 33 * 25
    (audio,) = info.audio
    assert (audio.codec, audio.sample_rate, audio.channels) == ("aac", 44100, 1)
    assert info.subtitles == ()
    assert info.to_dict()["video"][0]["codec"] == "h264"


def test_probe_lists_subtitle_streams(tmp_path, silent_video):
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nhi\n")
    out = tmp_path / "subs.mkv"
    run_ffmpeg("-i {v} -i {s} -c:v copy -c:s srt -metadata:s:s:0 language=fra {out}", v=silent_video, s=srt, out=out)
    (sub,) = probe(out).subtitles
    assert (sub.codec, sub.language, sub.is_text) == ("srt", "fra", True)


def test_open_video_and_content_id(shots_video, tmp_path):
    asset = open_video(shots_video.path)
    assert (asset.width, asset.height, asset.fps, asset.has_audio) == (320, 180, 25.0, True)
    assert asset.duration_s == pytest.approx(33.0, abs=0.05)
    copy = tmp_path / "renamed copy.mp4"
    shutil.copy(shots_video.path, copy)
    assert open_video(copy).video_id == asset.video_id == content_id(copy)  # content, not name
    assert len(asset.video_id) == 20


# --- bad input -------------------------------------------------------------------------------------


def test_text_file_renamed_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoOpenError, match=r"notes\.mp4: not a media file FFmpeg can read"):
        open_video(path)


def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(VideoOpenError, match=r"empty\.mp4: file is empty \(0 bytes\)"):
        open_video(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(VideoOpenError, match=r"nope\.mp4: file not found"):
        open_video(tmp_path / "nope.mp4")
    with pytest.raises(VideoOpenError, match="is a directory"):
        open_video(tmp_path)


def test_truncated_mp4_without_index(shots_video, tmp_path):
    """mp4 writes its index (moov) at the end by default: cutting the file loses it."""
    data = shots_video.path.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoOpenError, match=r"cut\.mp4: not a media file FFmpeg can read"):
        open_video(path)


@pytest.fixture
def truncated_faststart(shots_video, tmp_path):
    fast = tmp_path / "fast.mp4"
    run_ffmpeg("-i {src} -c copy -movflags +faststart {out}", src=shots_video.path, out=fast)
    data = fast.read_bytes()
    cut = tmp_path / "fast_cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    return cut


@pytest.mark.parametrize("order", [("pyav", "decord"), ("decord", "pyav")])
def test_truncated_faststart_mp4_fails_loudly_after_good_frames(truncated_faststart, order, monkeypatch):
    """With the index up front the file opens; decoding must not pass a half file off as whole.

    With decord first, decord may refuse to index such a file: the next backend (PyAV) then decodes it.
    """
    monkeypatch.setattr("longvid.ingest.backends.DEFAULT_ORDER", order)
    backend = None
    asset = open_video(truncated_faststart)
    assert asset.duration_s == pytest.approx(33.0, abs=0.05)  # declared, not real
    seen = []
    with pytest.raises(DecodeError, match=r"fast_cut\.mp4: video stream ends at .* but declares 33\.00 s"):
        for batch in sample_frames(asset, fps=1.0, backend=backend):
            seen.extend(batch.timestamps_s.tolist())
    assert 5 < len(seen) < 30  # the frames before the cut were delivered


def test_audio_only_is_not_a_video(audio_only):
    with pytest.raises(NoVideoStreamError):
        open_video(audio_only)


def test_limits(shots_video):
    with pytest.raises(MediaLimitError, match=r"320x180 = 57600 pixels, over the limit of 1000"):
        open_video(shots_video.path, MediaLimits(max_pixels=1000))
    with pytest.raises(MediaLimitError, match="over the limit of 10 s"):
        open_video(shots_video.path, MediaLimits(max_duration_s=10))
    with pytest.raises(MediaLimitError, match="max_file_bytes"):
        open_video(shots_video.path, MediaLimits(max_file_bytes=1000))


def test_every_media_error_names_the_file(tmp_path):
    path = tmp_path / "weird name ünïcode $(rm -rf).mkv"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 100)  # an EBML magic number and nothing else
    with pytest.raises(MediaError) as err:
        open_video(path)
    assert str(err.value).startswith(str(path))


def test_decord_on_truncated_file_raises_typed_error(truncated_faststart):
    """decord either refuses to index the file (BackendOpenError) or stops early: DecodeError both ways."""
    from longvid.ingest.backends import available_backends

    if "decord" not in available_backends():
        pytest.skip("decord not installed")
    with pytest.raises(DecodeError, match=r"fast_cut\.mp4: (decord cannot index the file|video stream ends at)"):
        for _ in sample_frames(truncated_faststart, backend="decord"):
            pass


def test_run_ffmpeg_keeps_paths_with_spaces_whole_and_reports_failures(tmp_path):
    from longvid.ingest.ffmpeg_cli import FfmpegError

    out = tmp_path / "a folder" / "tone out.wav"
    out.parent.mkdir()
    run_ffmpeg("-f lavfi -i sine=d=0.5 {out}", out=out)
    assert probe(out).audio[0].codec == "pcm_s16le"
    with pytest.raises(FfmpegError, match="ffmpeg exited with"):
        run_ffmpeg("-f lavfi -i nosuchsource {out}", out=out)
