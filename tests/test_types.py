import math
from pathlib import Path

import numpy as np
import pytest

from longvid.ingest import AudioClip, FrameBatch, FrameFeatures, TimeSpan, VideoAsset


def test_timespan_geometry():
    a, b = TimeSpan(10.0, 20.0), TimeSpan(15.0, 30.0)
    assert a.duration_s == 10.0 and a.mid_s == 15.0
    assert a.contains(10.0) and not a.contains(20.0)
    assert a.overlap_s(b) == 5.0
    assert a.iou(b) == pytest.approx(5.0 / 20.0)
    assert a.iou(TimeSpan(20.0, 25.0)) == 0.0


@pytest.mark.parametrize(("start", "end"), [(-1.0, 2.0), (3.0, 2.0), (0.0, math.nan), (0.0, math.inf)])
def test_timespan_rejects_bad_bounds(start, end):
    with pytest.raises(ValueError, match=r"TimeSpan|seconds"):
        TimeSpan(start, end)


def test_frame_batch_checks_counts_and_order():
    px = np.zeros((3, 4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="2 timestamps but 3 frames"):
        FrameBatch("v", np.array([0.0, 1.0]), px)
    with pytest.raises(ValueError, match="strictly increasing"):
        FrameBatch("v", np.array([0.0, 2.0, 1.0]), px)
    with pytest.raises(ValueError, match="uint8"):
        FrameBatch("v", np.array([0.0, 1.0, 2.0]), px.astype(np.float32))
    assert len(FrameBatch("v", np.array([0.0, 1.0, 2.0]), px)) == 3


def test_frame_features_checks_counts():
    with pytest.raises(ValueError, match="2 timestamps but 3 embeddings"):
        FrameFeatures("v", np.array([0.0, 1.0]), np.zeros((3, 8), np.float32), metric="cosine")
    with pytest.raises(ValueError, match="metric"):
        FrameFeatures("v", np.array([0.0]), np.zeros((1, 8), np.float32), metric="l2")


def test_audio_clip_span():
    clip = AudioClip("v", 2.0, np.zeros(8000, np.float32))
    assert clip.span == TimeSpan(2.0, 2.5)
    with pytest.raises(ValueError, match="float32"):
        AudioClip("v", 0.0, np.zeros(10, np.float64))


def test_video_asset_fit_keeps_aspect_and_even_sizes():
    asset = VideoAsset("id", Path("/x.mp4"), 10.0, 25.0, 1920, 1080, True)
    assert asset.fit(128) == (128, 72)
    assert asset.fit(4000) == (1920, 1080)
    portrait = VideoAsset("id", Path("/x.mp4"), 10.0, 25.0, 1080, 1920, True, rotation=90)
    assert portrait.fit(100) == (56, 100)
    with pytest.raises(ValueError, match="rotation"):
        VideoAsset("id", Path("/x.mp4"), 10.0, 25.0, 10, 10, True, rotation=45)
