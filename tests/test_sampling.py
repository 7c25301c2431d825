import pytest

from longvid.ingest.sampling import FrameSelector


def reference_selection(times, fps):
    """Independent statement of the rule: for each grid time k/fps, the first frame at or after it."""
    chosen, k = [], 0
    for i, t in enumerate(times):
        if t + 1e-9 >= k / fps:
            chosen.append(i)
            k = int(t * fps + 1e-9) + 1
    return chosen


def test_selector_matches_reference_on_irregular_times():
    times = [0.0, 0.01, 0.3, 0.31, 0.9, 2.5, 2.51, 2.7, 3.0, 3.49, 3.5, 7.0]
    for fps in (0.5, 1.0, 2.0, 4.0, 30.0):
        assert FrameSelector(fps).select(times) == reference_selection(times, fps), fps


def test_selector_keeps_everything_without_fps_and_respects_max_frames():
    times = [i / 10 for i in range(50)]
    assert FrameSelector(None).select(times) == list(range(50))
    kept = FrameSelector(None, max_frames=5, duration_s=5.0).select(times)
    assert kept == [0, 10, 20, 30, 40]  # spread over the video, not the first five frames
    assert FrameSelector(10.0, max_frames=3).select(times) == [0, 1, 2]


def test_selector_drops_non_increasing_times():
    assert FrameSelector(None).select([0.0, 1.0, 1.0, 0.5, 2.0]) == [0, 1, 4]


@pytest.mark.parametrize("fps", [0, -1, float("nan"), float("inf")])
def test_selector_rejects_bad_fps(fps):
    with pytest.raises(ValueError, match="fps"):
        FrameSelector(fps)
