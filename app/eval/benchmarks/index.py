"""Vector-index benchmark: build time, single-query latency, memory and recall of a channel index.

Run ``python -m longvid.app.eval.benchmarks.index [--events 1000000] [--dim 384]``. It makes ``--events``
L2-normalised synthetic vectors with cluster structure (1000 centres, each cluster varying along a
shared 16-dimensional subspace, plus isotropic noise; see :class:`Distribution`) and builds
the index :mod:`longvid.index.vectors` would choose for that many events (``ChannelIndex.build``, the
same code a library uses), then reports, as a markdown table:

* build time (k-means training + adding), save time and file size (what a library writes to disk);
* resident memory: RSS growth while building (``VmRSS`` from ``/proc/self/status``) and peak RSS
  of the whole run (``VmHWM``, which includes the synthetic data itself);
* p50 / p99 latency of single queries (one vector, k=10: the realistic case) over ``--queries``
  queries drawn from the same distribution, for each ``--nprobe`` value of an IVF index;
* recall@10 against exact inner-product search on ``--recall-queries`` of those queries.

With ``--flat-baseline`` it also times exact search (``IndexFlatIP``) on the same vectors.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import faiss
import numpy as np

from longvid.index.vectors import ChannelIndex, VectorConfig, choose_layout

CENTRES = 1000  # clusters of the synthetic data
INTRINSIC = 16  # dimensions along which events of one cluster vary (a low-dimensional manifold)
SPREAD = 1.0  # scale of the within-cluster variation, relative to the centres' unit variance
NOISE = 0.3  # isotropic per-dimension noise on top


@dataclass(frozen=True)
class Distribution:
    """Clustered data on a low-dimensional manifold: ``centre + SPREAD * z @ basis + NOISE * eps``."""

    centres: np.ndarray  # (CENTRES, D)
    basis: np.ndarray  # (INTRINSIC, D)

    @classmethod
    def make(cls, dim: int, seed: int) -> Distribution:
        rng = np.random.default_rng(seed)
        return cls(
            rng.standard_normal((CENTRES, dim), dtype=np.float32),
            rng.standard_normal((INTRINSIC, dim), dtype=np.float32),
        )

    def sample(self, n: int, seed: int, chunk: int = 100_000) -> np.ndarray:
        """``(n, D)`` float32 unit vectors, made chunk by chunk."""
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.centres.shape[1]), np.float32)
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            z = rng.standard_normal((m, INTRINSIC), dtype=np.float32)  # (m, INTRINSIC)
            x = self.centres[rng.integers(0, CENTRES, m)] + SPREAD * (z @ self.basis)  # (m, D)
            x += NOISE * rng.standard_normal(x.shape, dtype=np.float32)
            out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out


def proc_status_mb(field: str) -> float:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MiB; 0 where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB -> MiB
    except OSError:
        pass
    return 0.0


def exact_top_k(data: np.ndarray, queries: np.ndarray, k: int, chunk: int = 200_000) -> np.ndarray:
    """Ids ``(Q, k)`` of the exact top-``k`` inner products, computed chunk by chunk."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 0), np.int64)
    for start in range(0, len(data), chunk):
        scores = queries @ data[start : start + chunk].T  # (Q, chunk)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        cand_s = np.concatenate([best_s, np.take_along_axis(scores, top, 1)], axis=1)
        cand_i = np.concatenate([best_i, top + start], axis=1)
        order = np.argsort(-cand_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, order, 1), np.take_along_axis(cand_i, order, 1)
    return best_i


def latency_ms(index: ChannelIndex, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query wall milliseconds (one query per call) and the ids found ``(Q, k)``."""
    for q in queries[:10]:  # warm-up
        index.search(q[None], k)
    times, found = [], []
    for q in queries:
        start = time.perf_counter()
        _, ids = index.search(q[None], k)
        times.append((time.perf_counter() - start) * 1000)
        found.append(ids[0])
    return np.array(times), np.array(found)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t)) / k for f, t in zip(found, truth, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="vectors in the index")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension")
    parser.add_argument("--queries", type=int, default=500, help="single queries timed (>= 200)")
    parser.add_argument("--recall-queries", type=int, default=200, help="queries checked against exact search")
    parser.add_argument("--nprobe", default="32,64,128,256", help="comma-separated IVF nprobe values to time")
    parser.add_argument("--memory-budget", type=int, default=VectorConfig().memory_budget_bytes, help="bytes")
    parser.add_argument("--flat-baseline", action="store_true", help="also time exact IndexFlatIP search")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    k = 10
    config = VectorConfig(memory_budget_bytes=args.memory_budget)
    layout = choose_layout(args.events, args.dim, config)
    cpu = f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores"
    threads = f"{faiss.omp_get_max_threads()} threads, {faiss.get_num_gpus()} GPUs visible, searched on CPU"
    print(f"machine: {cpu}; faiss {faiss.__version__} ({threads}); numpy {np.__version__}")
    print(f"RSS after imports: {proc_status_mb('VmRSS'):.0f} MiB")

    dist = Distribution.make(args.dim, args.seed)
    start = time.perf_counter()
    data = dist.sample(args.events, args.seed + 1)  # (N, D)
    queries = dist.sample(max(args.queries, args.recall_queries), args.seed + 2)  # (Q, D), unseen points
    print(f"made {args.events} x {args.dim} vectors in {time.perf_counter() - start:.1f} s; exact search for recall…")
    start = time.perf_counter()
    truth = exact_top_k(data, queries[: args.recall_queries], k)
    wall = time.perf_counter() - start
    print(f"exact top-{k} of {args.recall_queries} queries: {wall:.1f} s; building {layout.factory}…")

    rss_before = proc_status_mb("VmRSS")
    start = time.perf_counter()
    index = ChannelIndex.build("bench", np.arange(args.events), data, config)
    build_s = time.perf_counter() - start
    rss_delta = proc_status_mb("VmRSS") - rss_before
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index.save(Path(tmp))
        save_s = time.perf_counter() - start
        file_mb = (Path(tmp) / "bench.faiss").stat().st_size / 2**20

    rows = []
    peak = lambda: proc_status_mb("VmHWM")  # noqa: E731
    nprobes = [int(p) for p in args.nprobe.split(",")] if layout.kind != "flat" else [0]
    for nprobe in nprobes:
        if nprobe:
            index = ChannelIndex(index.channel, index.dim, index.index, index.layout, index.trained_n,
                                 replace(config, nprobe=nprobe))  # fmt: skip
        times, found = latency_ms(index, queries[: args.queries], k)
        rows.append((layout.factory, nprobe, times, recall_at_k(found[: args.recall_queries], truth), peak()))
    if args.flat_baseline and layout.kind != "flat":
        flat = faiss.IndexFlatIP(args.dim)
        flat.add(data)
        exact = ChannelIndex("bench", args.dim, flat, replace(layout, kind="flat", nlist=0), 0, config)
        times, found = latency_ms(exact, queries[: args.queries], k)
        rows.append(("Flat (exact)", 0, times, recall_at_k(found[: args.recall_queries], truth), peak()))

    default = config.nprobe
    print(f"\n### Vector index: {args.events:,} events x {args.dim}-d, k={k}, single-query latency over "
          f"{args.queries} queries, recall@{k} vs exact on {args.recall_queries}")  # fmt: skip
    print("| index | nprobe | build s | save s | file MiB | RSS Δ MiB | peak RSS MiB | p50 ms | p99 ms | recall@10 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for factory, nprobe, times, recall, peak_mb in rows:
        built = factory == layout.factory
        probe = "—" if not nprobe else f"{nprobe}{' (default)' if nprobe == default else ''}"
        cells = [f"{build_s:.1f}", f"{save_s:.1f}", f"{file_mb:.0f}", f"{rss_delta:.0f}"] if built else ["—"] * 4
        print(f"| {factory} | {probe} | {' | '.join(cells)} | {peak_mb:.0f} | "
              f"{np.percentile(times, 50):.2f} | {np.percentile(times, 99):.2f} | {recall:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
