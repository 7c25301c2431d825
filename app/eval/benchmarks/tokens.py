"""Visual-token benchmark: prompt tokens for a 1-hour video, and the CPU cost of HiCo compression.

Run ``python -m longvid.app.eval.benchmarks.tokens [--frames 3600] [--budget 16384]``. Geometry is the real
Qwen2.5-VL-7B one: 448x448 frames, 14-px patches (32x32 = 1024 per frame), a 2x2 patch merger (256 tokens
per temporal group at hidden size 3584) and ``temporal_patch_size = 2`` (two consecutive frames share one
group), so **128 visual tokens per frame on average**; we model that as ``(T, 128, 3584)`` tokens, one row
per sampled frame. The video is 1 hour at 1 fps (3600 frames). The markdown table compares:

* **uniform** — every frame as Qwen2.5-VL takes it (128 tokens/frame);
* **HiCo** — :func:`longvid.compression.compress_video`, clips of 4 frames, 16 tokens per frame;
* **retrieval + budget** — :func:`longvid.compression.allocate` over 30-s segments: the ``--top``
  most relevant segments rich, the rest thin (``floor_per_frame = 1``), ``--budget`` tokens in all;

with the V2PE ``delta`` (:func:`~longvid.compression.choose_delta`) that fits each prompt, plus 512 text
tokens, in a 32K position window. It then times ``compress_video`` on random fp32 tokens of that geometry,
streamed in chunks of ``--chunk`` frames (an hour at once would be 6.6 GB); the random data is made
outside the timed region. With ``--frames`` below 3600 the hour's time is extrapolated linearly, and the
table says so.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from longvid.compression import allocate, choose_delta, compress_video

FPS = 1.0
TOKENS_PER_FRAME = 128  # Qwen2.5-VL-7B at 448x448: 1024 patches / (2x2 merger) / temporal_patch_size 2
HIDDEN = 3584  # Qwen2.5-VL-7B hidden size (the merger's output width)
HOUR_FRAMES = 3600
CLIP_LEN = 4
HICO_PER_FRAME = 16
SEGMENT_S = 30
TEXT_TOKENS = 512  # system prompt + question + timestamps, roughly
WINDOW = 32_768  # Qwen2.5-VL-7B's native context (positions)


def time_compression(frames: int, chunk: int, seed: int) -> float:
    """CPU seconds of ``compress_video`` over ``frames`` frames of random tokens, chunk by chunk."""
    g = torch.Generator().manual_seed(seed)
    elapsed = 0.0
    for start in range(0, frames, chunk):
        n = min(chunk, frames - start)
        tokens = torch.randn(n, TOKENS_PER_FRAME, HIDDEN, generator=g)  # (n, N, D)
        times = torch.arange(start, start + n, dtype=torch.float64) / FPS  # (n,)
        t0 = time.perf_counter()
        compress_video(tokens, times, clip_len=CLIP_LEN, tokens_per_frame=HICO_PER_FRAME)
        elapsed += time.perf_counter() - t0
    return elapsed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=HOUR_FRAMES, help="frames to time (extrapolated to 1 h)")
    ap.add_argument("--chunk", type=int, default=60, help="frames per compress_video call (multiple of 4)")
    ap.add_argument("--budget", type=int, default=16_384, help="visual-token budget of the retrieval row")
    ap.add_argument("--top", type=int, default=10, help="relevant 30-s segments in the retrieval row")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    n_seg = HOUR_FRAMES // SEGMENT_S
    frames = [SEGMENT_S] * n_seg
    relevance = [1.0 if i < args.top else 0.0 for i in range(n_seg)]  # which ones does not matter
    alloc = allocate(relevance, frames, args.budget, floor_per_frame=1, max_per_frame=HICO_PER_FRAME * 4)
    rich, thin = alloc[0], alloc[-1]
    rows = [
        ("uniform (Qwen2.5-VL, 1 fps)", HOUR_FRAMES * TOKENS_PER_FRAME, f"{TOKENS_PER_FRAME}/frame"),
        (
            f"HiCo only ({HICO_PER_FRAME}/frame, clips of {CLIP_LEN})",
            HOUR_FRAMES * HICO_PER_FRAME,
            f"{HICO_PER_FRAME}/frame",
        ),
        (
            f"retrieval + budget ({args.budget}, top {args.top} of {n_seg} x {SEGMENT_S}s)",
            sum(alloc),
            f"rich {rich}/segment ({rich / SEGMENT_S:.1f}/frame), thin {thin}/segment ({thin / SEGMENT_S:.1f}/frame)",
        ),
    ]

    torch.set_num_threads(os.cpu_count() or 1)
    secs = time_compression(args.frames, args.chunk, args.seed)
    hour_s = secs * HOUR_FRAMES / args.frames

    print(f"1 h video at {FPS:g} fps = {HOUR_FRAMES} frames; tokens of shape (T, {TOKENS_PER_FRAME}, {HIDDEN})")
    print("(Qwen2.5-VL-7B, 448x448: 1024 patches -> 2x2 merger -> 256 per 2-frame group = 128/frame)\n")
    print(f"| prompt visual tokens | tokens | per frame / segment | V2PE delta ({TEXT_TOKENS} text, {WINDOW} window) |")
    print("|---|---:|---|---:|")
    for name, n, detail in rows:
        try:
            delta = f"1/{round(1 / choose_delta(TEXT_TOKENS, n, WINDOW))}"
        except ValueError:
            delta = "does not fit"
        print(f"| {name} | {n:,} | {detail} | {delta} |")
    how = "measured" if args.frames >= HOUR_FRAMES else f"extrapolated from {args.frames} frames ({secs:.1f} s)"
    print(
        f"\n`compress_video` CPU wall time for 1 h ({HOUR_FRAMES // CLIP_LEN} clips of "
        f"{CLIP_LEN * TOKENS_PER_FRAME} -> {CLIP_LEN * HICO_PER_FRAME} tokens, fp32): **{hour_s:.1f} s** ({how}; "
        f"{1000 * secs / (args.frames / CLIP_LEN):.0f} ms/clip) on {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
    )


if __name__ == "__main__":
    main()
