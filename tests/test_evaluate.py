"""Multiple-choice evaluation through ask(): Video-MME / MLVU style items about the demo video."""

import json

import pytest

from longvid.app.cli import main
from longvid.app.eval.mc import evaluate_mc, load_items

from .conftest import DEMO

ITEMS = [
    {"video": str(DEMO), "question": "Which animal is shown in the video?",
     "options": ["A. a dog", "B. a cat", "C. a horse", "D. a goldfish"], "answer": "B"},
    {"video": str(DEMO), "question": "What did the board approve?",
     "options": ["A. a new company logo", "B. the holiday schedule", "C. the budget for the new bridge",
                 "D. a merger"], "answer": "C"},
    {"video": "demo.mp4", "question": "What is the deadline of the lighthouse project?",
     "candidates": ["June 9", "March 3", "next year", "October 12"], "answer": "March 3"},
]  # fmt: skip


def test_load_items_accepts_both_styles_and_rejects_bad_ones(tmp_path):
    path = DEMO.parent / "mc_test_items.json"  # relative video paths resolve against the file's folder
    path.write_text(json.dumps(ITEMS))
    try:
        items = load_items(path)
    finally:
        path.unlink()
    assert [i.answer for i in items] == [1, 2, 1] and items[2].video == DEMO
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**ITEMS[0], "answer": "Z"}]))
    with pytest.raises(ValueError, match="item 0: answer 'Z' is neither"):
        load_items(bad)


def test_mc_accuracy_on_the_demo(demo_library, tmp_path, capsys):
    path = tmp_path / "mc.json"
    path.write_text(json.dumps([{**item, "video": str(DEMO)} for item in ITEMS]))
    report = evaluate_mc(demo_library, load_items(path))
    assert [r.correct for r in report.results] == [True, True, True], [r.answer_text for r in report.results]
    assert report.accuracy == 1.0
    assert main(["eval", "mc", "--library", str(demo_library.root), str(path)]) == 0
    assert "accuracy 3/3 = 1.000" in capsys.readouterr().out
