"""API benchmark: warm ``/api/search`` and ``/v1/chat/completions`` latency against the in-process calls.

Run ``python -m longvid.app.eval.benchmarks.api [--hours 10] [--requests 200]``. It fills a library as the
query benchmark does (:func:`~longvid.app.eval.benchmarks.query.fill_library`), starts ``longvid serve``
on it in another process (loopback), and times each question three ways in turn: ``Library.search`` /
``Library.ask`` in this process, then the same over HTTP with one kept-alive connection. The difference
of the medians is what the HTTP layer costs (JSON both ways, FastAPI, the socket).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .query import fill_library, questions


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, port: int, timeout_s: float = 180.0) -> subprocess.Popen:
    """``longvid serve`` on ``root``, once it answers ``/v1/models``."""
    import httpx

    server = subprocess.Popen([sys.executable, "-m", "longvid.app.cli", "serve", "--library", str(root),
                               "--port", str(port), "--root", str(root)], stdout=subprocess.DEVNULL,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"longvid serve exited with status {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit(f"longvid serve did not answer within {timeout_s:.0f} s")


def measure(root: Path, port: int, queries: list[str]) -> dict[str, np.ndarray]:
    """Milliseconds per request: in process and over HTTP, for search and for ask / chat."""
    import httpx

    from longvid.app import Library

    out: dict[str, list[float]] = {"search": [], "http search": [], "ask": [], "http chat": []}
    base = f"http://127.0.0.1:{port}"
    with Library(root) as lib, httpx.Client(base_url=base, timeout=60) as http:
        lib.search(queries[0], k=10)  # warm both sides: models, vectors, the connection
        lib.ask(queries[0])
        http.post("/api/search", json={"query": queries[0], "k": 10}).raise_for_status()
        for q in queries:
            start = time.perf_counter()
            lib.search(q, k=10)
            out["search"].append(time.perf_counter() - start)
            start = time.perf_counter()
            http.post("/api/search", json={"query": q, "k": 10}).raise_for_status()
            out["http search"].append(time.perf_counter() - start)
            start = time.perf_counter()
            lib.ask(q)
            out["ask"].append(time.perf_counter() - start)
            start = time.perf_counter()
            http.post("/v1/chat/completions", json={"model": "longvid", "messages": [{"role": "user", "content": q}]}
                      ).raise_for_status()  # fmt: skip
            out["http chat"].append(time.perf_counter() - start)
    return {k: np.array(v) * 1000 for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=10, help="hours of (synthetic) video in the library")
    parser.add_argument("--event-s", type=float, default=12.0, help="event length in seconds")
    parser.add_argument("--requests", type=int, default=200, help="timed requests of each kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events, samples = fill_library(root, args.hours, args.event_s)
        port = free_port()
        server = start_server(root, port)
        try:
            timings = measure(root, port, questions(samples, args.requests))
        finally:
            server.terminate()
            server.wait(30)
    print(f"machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} usable CPUs; "
          f"library: {args.hours} h, {events} events; {args.requests} requests each\n")  # fmt: skip
    print("| call | p50 ms | p99 ms | HTTP minus in-process, p50 ms |\n|---|---|---|---|")
    for local, remote in (("search", "http search"), ("ask", "http chat")):
        for name in (local, remote):
            w = timings[name]
            extra = f"{np.median(w) - np.median(timings[local]):+.1f}" if name == remote else ""
            label = {"search": "Library.search", "ask": "Library.ask", "http search": "POST /api/search",
                     "http chat": "POST /v1/chat/completions"}[name]  # fmt: skip
            print(f"| {label} | {np.percentile(w, 50):.1f} | {np.percentile(w, 99):.1f} | {extra} |")


if __name__ == "__main__":
    main()
