"""Frame sampling: real timestamps exact to the frame (CFR and VFR), backend agreement, memory."""

import json
import subprocess
import sys

import numpy as np
import pytest

from longvid.app.eval.synth import read_frame_number
from longvid.ingest import TimeSpan, open_video, sample_frames
from longvid.ingest.backends import available_backends
from longvid.ingest.ffmpeg_cli import run_ffmpeg

from .conftest import CFR_FPS, CFR_FRAMES, DEMO
from .test_sampling import reference_selection

BACKENDS = available_backends()


def _collect(video, **kwargs):
    batches = list(sample_frames(video, **kwargs))
    times = np.concatenate([b.timestamps_s for b in batches])
    pixels = np.concatenate([b.pixels for b in batches])
    return times, pixels, batches


@pytest.mark.parametrize("backend", BACKENDS)
def test_cfr_every_frame_exact(cfr_video, backend):
    times, pixels, _ = _collect(cfr_video, fps=None, backend=backend)
    assert len(times) == CFR_FRAMES
    np.testing.assert_allclose(times, np.arange(CFR_FRAMES) / CFR_FPS, atol=1e-9)
    assert [read_frame_number(p) for p in pixels] == list(range(CFR_FRAMES))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_span_gives_its_frames_and_decodes_little_else(vfr_video, vfr_timestamps, backend, decoded_frames):
    """Frames of a span are exactly the whole decode's frames inside it; PyAV seeks instead of decoding
    from the start, and stops at the span's end."""
    decoded = decoded_frames
    start, end = vfr_timestamps[70], vfr_timestamps[90]
    times, pixels, _ = _collect(vfr_video, fps=3.0, backend=backend, span=TimeSpan(start, end))
    whole = reference_selection(vfr_timestamps, 3.0)
    expected = [i for i in whole if start <= vfr_timestamps[i] < end]
    assert expected and [read_frame_number(p) for p in pixels] == expected  # the very frames, by number
    np.testing.assert_allclose(times, [vfr_timestamps[i] for i in expected], atol=1e-9)
    if backend == "pyav":  # the demo's keyframes are at its cuts (every 12 s): 12 s of 60 cost 12 s, not 48
        decoded.clear()
        demo = [t for b in sample_frames(DEMO, fps=1.0, backend=backend, span=TimeSpan(36, 48)) for t in b.timestamps_s]
        assert demo == list(range(36, 48)) and 12 <= len(decoded) < 120  # of 600; unreferenced B-frames skipped


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fps", [None, 1.0, 3.0, 7.5])
def test_vfr_timestamps_are_the_real_frames(vfr_video, vfr_timestamps, backend, fps):
    times, pixels, _ = _collect(vfr_video, fps=fps, backend=backend, batch_size=16)
    expected = reference_selection(vfr_timestamps, fps) if fps else list(range(len(vfr_timestamps)))
    np.testing.assert_allclose(times, [vfr_timestamps[i] for i in expected], atol=1e-9)
    # each returned frame is the one that was encoded at that timestamp
    assert [read_frame_number(p) for p in pixels] == expected


def test_backends_agree_on_frames_and_timestamps(shots_video):
    if len(BACKENDS) < 2:
        pytest.skip("needs decord and PyAV")
    asset = open_video(shots_video.path)
    t_dec, px_dec, _ = _collect(asset, fps=2.0, backend="decord")
    t_av, px_av, _ = _collect(asset, fps=2.0, backend="pyav")
    np.testing.assert_array_equal(t_dec, t_av)
    np.testing.assert_array_equal(px_dec, px_av)  # same decoder output at native size
    size = asset.fit(128)
    r_dec, rpx_dec, _ = _collect(asset, fps=2.0, size=size, backend="decord")
    r_av, rpx_av, _ = _collect(asset, fps=2.0, size=size, backend="pyav")
    np.testing.assert_array_equal(r_dec, r_av)
    assert rpx_dec.shape == rpx_av.shape == (len(r_av), size[1], size[0], 3)
    # resizing uses each library's own scaler: close, not bit-identical
    assert np.abs(rpx_dec.astype(int) - rpx_av).mean() < 3.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_batches_sizes_and_max_frames(shots_video, backend):
    _, _, batches = _collect(shots_video.path, fps=4.0, batch_size=10, size=(64, 36), backend=backend)
    assert all(len(b) == 10 for b in batches[:-1]) and 0 < len(batches[-1]) <= 10
    assert batches[0].pixels.shape[1:] == (36, 64, 3)
    times, _, _ = _collect(shots_video.path, fps=None, max_frames=11, backend=backend)
    assert len(times) == 11
    assert times[-1] > 0.85 * shots_video.duration_s  # spread over the whole video


@pytest.mark.parametrize("backend", BACKENDS)
def test_rotation_metadata_gives_upright_frames(cfr_video, media_dir, backend):
    rotated = media_dir / "rotated.mp4"
    run_ffmpeg("-display_rotation 90 -i {src} -c copy {out}", src=cfr_video, out=rotated)
    plain, rot = open_video(cfr_video), open_video(rotated)
    assert rot.rotation == 90 and (rot.width, rot.height) == (plain.height, plain.width)
    _, upright, _ = _collect(rot, fps=5.0, backend=backend)
    _, original, _ = _collect(plain, fps=5.0, backend=backend)
    assert upright.shape[1:3] == (rot.height, rot.width)
    np.testing.assert_array_equal(upright, np.rot90(original, 1, axes=(1, 2)))
    _, small, _ = _collect(rot, fps=5.0, size=(36, 64), backend=backend)
    assert small.shape[1:3] == (64, 36)


# Peak RSS of this process only: VmHWM restarts at exec (ru_maxrss would inherit pytest's peak).
_RSS_SCRIPT = """
import json, re, sys
from pathlib import Path
from longvid.ingest import sample_frames

def peak_mb():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024

frames, last, base = 0, -1.0, None
for batch in sample_frames(sys.argv[1], fps=1.0, backend=sys.argv[2], batch_size=32):
    frames += len(batch)
    last = float(batch.timestamps_s[-1])
    if base is None:
        base = peak_mb()
print(json.dumps({"frames": frames, "last": last, "base_mb": base, "peak_mb": peak_mb()}))
"""


def _sample_long_video(media_dir, hours, backend, capsys):
    path = media_dir / f"{hours}h.mp4"
    if not path.exists():
        seconds = 3600 * hours
        run_ffmpeg(
            f"-f lavfi -i testsrc2=size=160x90:rate=5 -t {seconds} -c:v libx264 -preset ultrafast {{out}}", out=path
        )
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(path), backend],
                         capture_output=True, text=True, check=True)  # fmt: skip
    stats = json.loads(out.stdout)
    with capsys.disabled():
        print(f"\n[{hours}-hour video, 1 fps, {backend}] frames={stats['frames']} peak RSS {stats['peak_mb']:.0f} MB"
              f" (after first batch {stats['base_mb']:.0f} MB)")  # fmt: skip
    assert stats["frames"] == 3600 * hours
    assert stats["last"] == pytest.approx(3600.0 * hours - 1)
    assert stats["peak_mb"] - stats["base_mb"] < 64  # flat: no growth with the video's length


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_hour_at_1fps_streams_in_constant_memory(media_dir, backend, capsys):
    _sample_long_video(media_dir, 1, backend, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_ten_hours_at_1fps_streams_in_constant_memory(media_dir, backend, capsys):
    _sample_long_video(media_dir, 10, backend, capsys)


@pytest.mark.parametrize("codec", ["libx264", "mpeg2video"])
def test_frames_nobody_keeps_are_not_decoded_and_the_kept_ones_are_the_same(tmp_path, codec, monkeypatch,
                                                                           decoded_frames):  # fmt: skip
    """With B-frames at 25 fps sampled at 2 fps, the decoder skips the non-reference frames the selector would
    drop; the frames kept, and their pixels, are those of a decode of every frame."""
    from longvid.ingest.backends import pyav_backend

    video = tmp_path / f"bframes-{codec}.mkv"
    run_ffmpeg(f"-f lavfi -i testsrc2=size=320x180:rate=25 -t 8 -c:v {codec} -bf 3 -g 50 {{out}}", out=video)
    times, pixels, _ = _collect(video, fps=2.0, size=(240, 135))
    skipped = len(decoded_frames)
    decoded_frames.clear()
    monkeypatch.setattr(pyav_backend._Unseen, "__call__", lambda self, packet: False)
    every_times, every_pixels, _ = _collect(video, fps=2.0, size=(240, 135))
    assert len(decoded_frames) == 200 and skipped < 150  # of 200 frames, about half are not referenced
    np.testing.assert_array_equal(times, every_times)
    np.testing.assert_array_equal(pixels, every_pixels)
    assert len(times) == 16


def test_passes_over_never_drops_a_frame_the_selector_keeps():
    """On irregular times (and float noise), a frame ``passes_over`` calls dropped is never kept, at any rate
    and inside a span; it may be kept wrongly only if the claim is false."""
    from longvid.ingest.sampling import FrameSelector

    rng = np.random.default_rng(3)
    times = np.cumsum(rng.choice([0.001, 0.01, 1 / 30, 0.04, 0.25, 0.5, 1.0], size=400))
    times = (times + rng.normal(0, 1e-7, size=times.size)).tolist()
    claims = 0
    for fps in (0.1, 0.5, 2.0, 3.0, 25.0, 29.97):
        for span in (None, TimeSpan(times[50], times[300])):
            selector = FrameSelector(fps=fps, span=span)
            for i, t in enumerate(times):
                dropped = any(selector.passes_over(t, e) for e in times[max(0, i - 8) : i])
                kept = selector.accept(t)
                assert not (dropped and kept), (fps, span, t)
                claims += dropped
    assert claims > 500


def test_decoding_ahead_on_its_own_thread_gives_the_same_batches_and_errors(shots_video, tmp_path):
    """``ahead``: the same batches; a truncated file's error is raised in the caller's thread after its last
    good batch; leaving the loop early stops the decoding thread."""
    import threading

    from longvid.ingest import DecodeError

    here = _collect(shots_video.path, fps=2.0, batch_size=8)
    ahead = _collect(shots_video.path, fps=2.0, batch_size=8, ahead=2)
    np.testing.assert_array_equal(here[0], ahead[0])
    np.testing.assert_array_equal(here[1], ahead[1])

    cut = tmp_path / "cut.mkv"
    run_ffmpeg("-i {src} -c copy {out}", src=shots_video.path, out=cut)
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    got = []
    with pytest.raises(DecodeError, match="truncated or corrupt"):
        for batch in sample_frames(cut, fps=2.0, batch_size=8, ahead=2):
            got.append(batch.timestamps_s[-1])
    assert got and got[-1] > 5.0

    frames = sample_frames(shots_video.path, fps=2.0, batch_size=4, ahead=1)
    next(frames)
    frames.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("longvid-decode")]
    with pytest.raises(ValueError, match="ahead and threads"):
        next(sample_frames(shots_video.path, ahead=-1))
