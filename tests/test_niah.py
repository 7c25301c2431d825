"""Needle in a video haystack: the generator's ground truth, the scoring rules, and the CI quick run.

``longvid eval niah --quick`` builds a 30-minute haystack with 10 spoken, 10 on-screen and 7 visual
needles (Debian's darknet sample photos: the test is skipped without them), indexes it with the embedded
profile and asks for every needle (about 2.5 minutes on 2 cores).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from longvid.app.cli import main
from longvid.app.eval.haystack import DARKNET_PHOTOS, KINDS, load_needles, niah_asset
from longvid.app.eval.heatmap import Panel, colour, save_heatmaps
from longvid.app.eval.niah import NeedleResult, NiahReport, overlaps
from longvid.ingest import extract_audio, sample_frames
from longvid.ingest.types import TimeSpan


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    if not DARKNET_PHOTOS.is_dir():
        pytest.skip(
            f"the visual needles are Debian's darknet sample photos ({DARKNET_PHOTOS}): apt-get install darknet"
        )
    work = tmp_path_factory.mktemp("niah")
    code = main(["eval", "niah", "--quick", "--work", str(work), "--min-hit5", "0.9", "--no-progress"])
    report = json.loads((work / "niah-report.json").read_text())
    return code, work, report


def test_quick_run_finds_spoken_and_on_screen_needles(quick):
    code, _, report = quick
    summary = report["summary"]
    assert code == 0
    assert summary["spoken"]["needles"] == 10 and summary["on_screen"]["needles"] == 10
    assert summary["visual"]["needles"] == 7
    assert summary["spoken"]["hit@5"] >= 0.9
    assert summary["on_screen"]["hit@5"] >= 0.9
    assert summary["spoken"]["read"] >= 0.8  # the answer quotes the key (Whisper base mishears a few words)
    lengths = {r["length_s"] for r in report["results"]}
    assert len(lengths) == 1 and 1800 <= lengths.pop() < 1900
    depths = sorted(r["depth"] for r in report["results"])
    assert depths[0] < 0.1 and depths[-1] > 0.9  # the needles span the whole haystack


def test_haystack_ground_truth_is_where_the_report_says(quick):
    """Slides are on screen inside their spans and off screen just outside; sentences are loud inside
    their spans over a near-silent floor."""
    _, work, report = quick
    video = work / "haystack-1800s-seed0.mp4"
    frames = {}
    for batch in sample_frames(video, fps=2):
        frames.update({round(float(t), 1): p for t, p in zip(batch.timestamps_s, batch.pixels, strict=True)})
    slide_blue = np.array([20, 40, 90])
    for r in report["results"]:
        if r["kind"] != "on_screen":
            continue
        start, end = r["span"]
        inside = frames[round(start + 1.0, 1)].reshape(-1, 3)
        assert np.median(np.abs(inside.astype(int) - slide_blue), axis=0).max() <= 6, r["needle"]
    audio = extract_audio(video)
    rate = audio.sample_rate
    for r in report["results"]:
        if r["kind"] != "spoken":
            continue
        start, end = r["span"]
        speech = audio.samples[int(start * rate) : int(end * rate)]
        before = audio.samples[int((start - 3) * rate) : int((start - 0.5) * rate)]
        assert np.sqrt(np.mean(speech**2)) > 10 * np.sqrt(np.mean(before**2)), r["needle"]


def test_heatmap_is_drawn(quick):
    _, work, _ = quick
    image = Image.open(work / "niah-heatmap.png")
    assert image.format == "PNG" and image.width > 400 and image.height > 200
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert any((pixels == colour(1.0)).all(axis=1))  # at least one perfect cell


def test_the_gate_fails_when_the_bar_is_out_of_reach(quick, capsys):
    """Re-running reuses the clip pool and the indexed haystack (same bytes, so it is skipped)."""
    _, work, _ = quick
    code = main(["eval", "niah", "--quick", "--work", str(work), "--min-hit5", "1.01", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "hit@5 below 1.01 for spoken, on_screen" in err
    assert "spoken" in out and "on_screen" in out


def test_needle_set_is_complete_and_clips_exist():
    needles = load_needles()
    for kind in KINDS:
        assert len(needles.of_kind(kind)) >= 5
        assert all(n.question for n in needles.of_kind(kind))
    for n in needles.spoken + needles.distractor_speech:
        assert niah_asset(f"{n.id}.ogg").exists(), n.id
        assert 2.0 < extract_audio(niah_asset(f"{n.id}.ogg")).duration_s < 8.0
    ids = [n.id for kind in KINDS for n in needles.of_kind(kind)]
    assert len(ids) == len(set(ids))


def test_bad_needle_file_is_named(tmp_path):
    bad = tmp_path / "needles.toml"
    bad.write_text('[[spoken]]\nid = "x"\nsay = "hello"\n')
    with pytest.raises(ValueError, match=r"needles.toml: spoken entry 0 \(x\) has no question"):
        load_needles(bad)


def test_overlap_rule():
    needle = TimeSpan(100.0, 104.0)
    assert overlaps(TimeSpan(90.0, 101.0), needle)  # one second of it
    assert not overlaps(TimeSpan(90.0, 100.5), needle)  # half a second is a near miss
    assert not overlaps(TimeSpan(104.0, 120.0), needle)
    assert overlaps(TimeSpan(100.2, 100.5), TimeSpan(100.0, 100.6))  # half of a short needle


def test_summary_and_heatmap_from_results(tmp_path):
    def result(kind, depth, hit5, read):
        return NeedleResult("n", kind, 1800.0, depth, (0.0, 1.0), False, hit5, 0.0, read, "")

    report = NiahReport(
        (result("spoken", 0.05, True, True), result("spoken", 0.55, False, False), result("visual", 0.5, True, None)),
        (),
    )
    summary = report.summary()
    assert summary["spoken"] == {"needles": 2, "hit@1": 0.0, "hit@5": 0.5, "iou": 0.0, "read": 0.5}
    assert "read" not in summary["visual"] and "on_screen" not in summary
    panel = Panel("p", ("a",), ("x", "y"), ((0.0, math.nan),))
    path = save_heatmaps([panel], tmp_path / "h.png", title="t")
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    assert any((pixels == colour(0.0)).all(axis=1)) and any((pixels == colour(math.nan)).all(axis=1))
    assert not any((pixels == colour(1.0)).all(axis=1))


def test_lengths_parse(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "niah", "--lengths", "ten"])
    assert "'ten' is not a length like 90s, 30m or 1.5h" in capsys.readouterr().err
