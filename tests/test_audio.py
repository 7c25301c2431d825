"""Audio extraction: 16 kHz mono float32, exact length, streamed chunks, files without audio."""

import numpy as np
import pytest

from longvid.ingest import NoAudioStreamError, NoVideoStreamError, extract_audio, iter_audio, open_video
from longvid.ingest.ffmpeg_cli import run_ffmpeg


def _peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


def test_aac_in_mp4_has_exact_length_and_content(shots_video):
    clip = extract_audio(open_video(shots_video.path))
    assert clip.sample_rate == 16_000 and clip.samples.dtype == np.float32
    assert len(clip.samples) == round(shots_video.duration_s * 16_000)  # encoder padding trimmed
    assert clip.start_s == 0.0
    assert _peak_hz(clip.samples, 16_000) == pytest.approx(440.0, abs=1.0)
    assert 0.1 < np.abs(clip.samples).max() <= 1.0  # ffmpeg sine amplitude is 1/8 (x mono mixdown)


@pytest.mark.parametrize(
    ("codec", "ext", "seconds"), [("pcm_s16le", "wav", 2.5), ("flac", "mkv", 7.0), ("libopus", "webm", 4.0)]
)
def test_exact_length_across_codecs(media_dir, codec, ext, seconds):
    path = media_dir / f"tone_{codec}.{ext}"
    run_ffmpeg(f"-f lavfi -i sine=frequency=1000:sample_rate=48000 -ac 2 -t {seconds} -c:a {codec} {{out}}", out=path)
    clip = extract_audio(path)
    assert len(clip.samples) == round(seconds * 16_000)
    assert _peak_hz(clip.samples, 16_000) == pytest.approx(1000.0, abs=1.0)


def test_chunks_are_consecutive_and_join_to_the_whole(shots_video):
    whole = extract_audio(shots_video.path).samples
    chunks = list(iter_audio(shots_video.path, chunk_s=10.0))
    assert [c.start_s for c in chunks] == [0.0, 10.0, 20.0, 30.0]
    assert [len(c.samples) for c in chunks[:-1]] == [160_000] * 3
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), whole)


def test_video_without_audio(silent_video):
    asset = open_video(silent_video)
    assert not asset.has_audio
    with pytest.raises(NoAudioStreamError, match=r"silent\.mp4: has no audio stream"):
        extract_audio(asset)


def test_audio_only_file_gives_audio_but_is_not_a_video(audio_only):
    assert len(extract_audio(audio_only).samples) == 3 * 16_000
    with pytest.raises(NoVideoStreamError, match=r"tone\.m4a: has no video stream \(audio only: aac\)"):
        open_video(audio_only)


def test_bad_stream_index(shots_video):
    with pytest.raises(NoAudioStreamError, match="stream 0 is not an audio stream"):
        extract_audio(shots_video.path, stream_index=0)
