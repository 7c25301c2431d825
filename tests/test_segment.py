"""Scene segmentation: F1 on synthetic videos with known hard and gradual cuts, bounded scenes."""

import itertools

import numpy as np
import pytest

from longvid.app.eval.synth import CutScore, make_shot_video, random_shots, score_cuts
from longvid.ingest import FrameFeatures, SegmentConfig, detect_scenes, open_video, segment
from longvid.ingest.ffmpeg_cli import run_ffmpeg

TOLERANCE_S = 0.5  # plus half the transition's length (score_cuts)


def _check_tiling(scenes, duration_s):
    assert scenes[0].span.start_s == 0.0 and scenes[-1].span.end_s == pytest.approx(duration_s)
    for a, b in itertools.pairwise(scenes):
        assert a.span.end_s == b.span.start_s
    assert [s.index for s in scenes] == list(range(len(scenes)))


def test_known_cuts_in_fixture_video(shots_video):
    scenes = detect_scenes(shots_video.path)
    _check_tiling(scenes, shots_video.duration_s)
    result = score_cuts([s.span.start_s for s in scenes[1:]], shots_video.cuts, TOLERANCE_S)
    assert result.f1 >= 0.95, result


def test_f1_on_random_videos_with_hard_cuts_and_fades(media_dir, capsys):
    """Six 10-shot videos (3-8 s shots, half the cuts gradual: fades, dissolves, wipes, slides)."""
    rng = np.random.default_rng(2024)
    total, per_kind = CutScore(0, 0, 0), {}
    for k in range(6):
        truth = make_shot_video(media_dir / f"random{k}.mp4", random_shots(rng, 10), audio_hz=None)
        found = [s.span.start_s for s in detect_scenes(truth.path)[1:]]
        total = total + score_cuts(found, truth.cuts, TOLERANCE_S)
        for kind in ("hard", "gradual"):
            cuts = [c for c in truth.cuts if (c.kind == "hard") == (kind == "hard")]
            per_kind[kind] = per_kind.get(kind, CutScore(0, 0, 0)) + score_cuts(found, cuts, TOLERANCE_S)
    with capsys.disabled():
        print(
            f"\n[segmentation] {total.true_positives + total.false_negatives} cuts: precision {total.precision:.3f}"
            f" recall {total.recall:.3f} F1 {total.f1:.3f}; recall hard {per_kind['hard'].recall:.3f}"
            f" gradual {per_kind['gradual'].recall:.3f}"
        )
    assert total.f1 >= 0.95
    assert per_kind["gradual"].recall >= 0.9


def test_static_lecture_becomes_bounded_events(media_dir):
    """Ten minutes of one unchanging slide: forced splits keep every scene within the limits."""
    path = media_dir / "static.mp4"
    run_ffmpeg("-f lavfi -i smptehdbars=size=128x72:rate=5 -t 600 -c:v libx264 -preset ultrafast {out}", out=path)
    config = SegmentConfig(fps=1.0, max_scene_s=60.0)
    scenes = detect_scenes(open_video(path), config)
    _check_tiling(scenes, 600.0)
    assert all(s.span.duration_s <= 60.0 + 1e-6 for s in scenes)
    assert all(s.span.duration_s >= config.min_scene_s for s in scenes)
    assert {s.cut for s in scenes[1:]} == {"forced"}
    assert 10 <= len(scenes) <= 11


def test_segment_works_on_any_embeddings():
    """Model embeddings (cosine metric) with change points at known times, and no spurious cuts."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 64))
    times = np.arange(0, 80, 0.5)
    labels = np.searchsorted([20.0, 45.0, 60.0], times, side="right")
    emb = (centres[labels] + 0.05 * rng.normal(size=(len(times), 64))).astype(np.float32)
    feats = [FrameFeatures("vid", times[i : i + 32], emb[i : i + 32], "cosine") for i in range(0, len(times), 32)]
    scenes = segment(feats, 80.0, SegmentConfig(fps=2.0))
    assert [s.span.start_s for s in scenes] == [0.0, 20.0, 45.0, 60.0]
    assert [s.cut for s in scenes] == ["start", "hard", "hard", "hard"]
    assert {s.video_id for s in scenes} == {"vid"}


def test_min_scene_keeps_the_stronger_of_two_close_cuts():
    times = np.arange(0, 20, 0.5)
    emb = np.zeros((len(times), 8), np.float32)
    emb[:, 0] = 1
    emb[times >= 10.0] = np.eye(8)[1] * 1.0 + np.eye(8)[0] * 0.5  # moderate change at 10 s
    emb[times >= 11.0] = np.eye(8)[2]  # strong change 1 s later
    scenes = segment([FrameFeatures("v", times, emb, "cosine")], 20.0, SegmentConfig(min_scene_s=2.0))
    assert [s.span.start_s for s in scenes] == [0.0, 11.0]


def test_config_validation():
    with pytest.raises(ValueError, match="min_scene_s < max_scene_s"):
        SegmentConfig(min_scene_s=10, max_scene_s=5)


def _bincount_histograms(pixels: np.ndarray, levels: int) -> np.ndarray:
    """The histograms as NumPy counts them, the reference OpenCV's calcHist must equal."""
    n, h, w, _ = pixels.shape
    shift = 8 - int(np.log2(levels))
    q = pixels >> shift
    colour = (q[..., 0].astype(np.intp) * levels + q[..., 1]) * levels + q[..., 2]
    cell = np.minimum(np.arange(h) * 2 // h, 1)[:, None] * 2 + np.minimum(np.arange(w) * 2 // w, 1)[None, :]
    index = colour + cell[None] * levels**3 + (np.arange(n) * 4 * levels**3)[:, None, None]
    counts = np.bincount(index.ravel(), minlength=n * 4 * levels**3).reshape(n, -1)
    return (counts / (h * w)).astype(np.float32)


@pytest.mark.parametrize(("height", "width", "levels"), [(270, 480, 4), (37, 53, 2), (9, 2, 8), (121, 77, 16)])
def test_color_histograms_equal_the_bincount_reference(height, width, levels):
    from longvid.ingest.features import color_histograms
    from longvid.ingest.types import FrameBatch

    pixels = np.random.default_rng(height).integers(0, 256, (3, height, width, 3), dtype=np.uint8)
    got = color_histograms(FrameBatch("v", np.arange(3.0), pixels), levels=levels).embeddings
    np.testing.assert_array_equal(got, _bincount_histograms(pixels, levels))


def test_color_histograms_count_each_grid_cell():
    from longvid.ingest.features import color_histograms
    from longvid.ingest.types import FrameBatch

    pixels = np.zeros((2, 4, 4, 3), np.uint8)
    pixels[0, :2, :2] = (255, 0, 0)  # frame 0: top-left cell red, the rest black
    pixels[1, 2:, 2:] = (0, 0, 255)  # frame 1: bottom-right cell blue
    pixels[1, 0, 0] = (64, 128, 192)  # ... and one pixel of level (1, 2, 3) in the top-left cell
    h = color_histograms(FrameBatch("v", np.array([0.0, 1.0]), pixels), levels=4).embeddings.reshape(2, 4, 64)
    assert h.sum(axis=(1, 2)).tolist() == [1.0, 1.0]
    assert h[0, 0, 48] == 0.25 and h[0, 1, 0] == h[0, 2, 0] == h[0, 3, 0] == 0.25  # red = (3, 0, 0) -> 48
    assert h[1, 3, 3] == 0.25 and h[1, 0, 0] == 0.1875 and h[1, 0, 16 + 8 + 3] == 0.0625
