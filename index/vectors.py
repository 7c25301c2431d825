"""FAISS indexes, one per embedding channel, kept as a crash-safe cache of the catalog's vectors.

Each channel (``"text"``, ``"frames"``, ...) has one index at ``LIBRARY/vectors/<channel>.faiss`` whose
int64 ids are event ids. Vectors are L2-normalised and searched by inner product, i.e. cosine.

Which index (:func:`choose_layout`), by the number of vectors ``n`` of dimension ``d``:

=====================================  ===================================  =========================
when                                   index                                memory per vector
=====================================  ===================================  =========================
``n < flat_max_vectors`` (100k)        ``IDMap2,Flat`` (exact)              ``4d + 8`` bytes
``4dn`` fits ``memory_budget_bytes``   ``IVF{nlist},Flat``                  ``4d + 8``
``dn`` fits the budget                 ``IVF{nlist},SQ8``                   ``d + 8``
otherwise                              ``IVF{nlist},PQ{m}`` (largest m|d)   ``m + 8``
=====================================  ===================================  =========================

with ``nlist = 4 sqrt(n)`` (capped so each list has >= 39 training points), k-means trained on a
seeded sample of ``40 nlist`` vectors, and ``nprobe`` lists searched per query (128 by default: recall@10
0.99 at ~2 ms per query for 1M x 384 on 2 CPU cores, see ``longvid.app.eval.benchmarks.index``). An IVF
index is retrained when it has grown ``retrain_growth`` times past the size it was trained at.

Crash safety. The catalog (SQLite) is the source of truth; a FAISS file is a cache of it. Every save
writes ``<channel>.faiss`` (temp file in the same folder, fsync, ``os.replace``) and then a sidecar
``<channel>.json`` naming the catalog generation the file holds, its vector count and the file's
size/mtime/inode. A file is used only when it is exactly the one its sidecar describes; it is then
brought to the catalog's generation by replaying the catalog's change journal (removals, then
additions, so a replay is idempotent) and its count checked against the catalog. A missing, damaged or
unexplainable file is rebuilt from the catalog's vectors, and the rebuild is logged. The catalog
commits before any file is written, so after a crash at any point the two cannot disagree. Saves and
loads take a file lock (``filelock``, flock underneath) on ``vectors/.lock`` so several processes may
share a library.

Example (the benchmark uses :class:`ChannelIndex` the same way)::

    >>> import numpy as np
    >>> from longvid.index.vectors import ChannelIndex, VectorConfig
    >>> from longvid.ingest.features import unit_rows
    >>> x = unit_rows(np.random.default_rng(0).standard_normal((1000, 64)).astype(np.float32))
    >>> idx = ChannelIndex.build("text", np.arange(1000), x, VectorConfig())
    >>> scores, ids = idx.search(x[:1], k=3)
    >>> idx.layout.factory, int(ids[0, 0])
    ('IDMap2,Flat', 0)
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import faiss
import numpy as np
from filelock import FileLock

from longvid.ingest.atomic import atomic_path, atomic_write_bytes, fsync_dir

from .errors import DimensionMismatchError, MemoryBudgetError

log = logging.getLogger(__name__)

IndexKind = Literal["flat", "ivf", "ivf-sq8", "ivf-pq"]
_ID_BYTES = 8  # int64 id stored beside each code


@dataclass(frozen=True)
class VectorConfig:
    """How channel indexes are chosen, trained, searched and saved."""

    flat_max_vectors: int = 100_000  # below this many vectors: exact IndexFlatIP
    nlist_per_sqrt_n: float = 4.0  # IVF lists = this * sqrt(n)
    min_points_per_list: int = 39  # caps nlist at n / this (k-means needs ~39 points per centroid)
    train_points_per_list: int = 40  # k-means training sample = this * nlist vectors (at most n)
    train_iterations: int = 10  # k-means iterations when training an IVF quantizer
    nprobe: int = 128  # IVF lists scanned per query: more is slower and closer to exact
    memory_budget_bytes: int = 2 << 30  # codes beyond this size switch float32 -> SQ8 (1 B/dim) -> PQ
    retrain_growth: float = 4.0  # retrain an IVF index once it holds this many times its training size
    autosave_max_bytes: int = 256 << 20  # indexes up to this size are saved after every write, larger on flush()
    use_gpu: bool | None = None  # None: search on GPU when faiss sees one; False: always CPU
    seed: int = 1234  # training-sample and k-means seed

    def __post_init__(self) -> None:
        if self.flat_max_vectors < 1 or self.nprobe < 1 or self.memory_budget_bytes <= 0:
            raise ValueError(
                f"VectorConfig needs flat_max_vectors >= 1, nprobe >= 1 and a positive memory budget, got "
                f"{self.flat_max_vectors}, {self.nprobe}, {self.memory_budget_bytes}"
            )


@dataclass(frozen=True)
class IndexLayout:
    """The shape of one FAISS index: its kind and size parameters."""

    kind: IndexKind
    nlist: int = 0  # IVF lists (0 for flat)
    pq_m: int = 0  # PQ sub-quantizers (ivf-pq only), 8 bits each

    @property
    def factory(self) -> str:
        """The ``faiss.index_factory`` string that builds this layout."""
        codes = {"flat": "Flat", "ivf": "Flat", "ivf-sq8": "SQ8", "ivf-pq": f"PQ{self.pq_m}"}[self.kind]
        return "IDMap2,Flat" if self.kind == "flat" else f"IVF{self.nlist},{codes}"

    def code_bytes(self, dim: int) -> int:
        """Bytes stored per vector (code + id)."""
        per = {"flat": 4 * dim, "ivf": 4 * dim, "ivf-sq8": dim, "ivf-pq": self.pq_m}[self.kind]
        return per + _ID_BYTES

    def estimate_bytes(self, n: int, dim: int) -> int:
        """Approximate memory of the index holding ``n`` vectors: codes, ids and centroids."""
        extra = 4 * dim * self.nlist + (256 * 4 * dim if self.kind == "ivf-pq" else 0)
        if self.kind == "flat":
            extra += 16 * n  # IDMap2's reverse map
        return n * self.code_bytes(dim) + extra


def choose_layout(n: int, dim: int, config: VectorConfig) -> IndexLayout:
    """The index for ``n`` vectors of dimension ``dim`` (see the module docstring's table).

    >>> choose_layout(1_000_000, 384, VectorConfig()).factory
    'IVF4000,Flat'
    >>> choose_layout(1_000_000, 384, VectorConfig(memory_budget_bytes=1 << 30)).factory
    'IVF4000,SQ8'
    """
    if n < config.flat_max_vectors:
        return IndexLayout("flat")
    nlist = max(1, min(round(config.nlist_per_sqrt_n * math.sqrt(n)), n // config.min_points_per_list))
    for kind in ("ivf", "ivf-sq8"):
        layout = IndexLayout(kind, nlist)
        if layout.estimate_bytes(n, dim) <= config.memory_budget_bytes:
            return layout
    for m in sorted((m for m in range(1, dim + 1) if dim % m == 0), reverse=True):
        layout = IndexLayout("ivf-pq", nlist, m)
        if layout.estimate_bytes(n, dim) <= config.memory_budget_bytes:
            return layout
    smallest = IndexLayout("ivf-pq", nlist, 1).estimate_bytes(n, dim)
    raise MemoryBudgetError(
        f"{n} vectors of dimension {dim} need at least {smallest} bytes (IVF{nlist},PQ1) but the memory budget "
        f"is {config.memory_budget_bytes} bytes; raise memory_budget_bytes"
    )


def check_dim(channel: str, expected: int, got: int, what: str = "vectors") -> None:
    """Raise :class:`DimensionMismatchError` naming both numbers when ``got != expected``."""
    if got != expected:
        raise DimensionMismatchError(
            f"channel {channel!r} holds {expected}-d vectors but {what} are {got}-d; use the encoder "
            "that built the channel (or a new channel name for a new model)"
        )


class _StaleFileError(Exception):
    """A FAISS file that cannot be used as is (missing, corrupt, stale); the message says why."""


class ChannelIndex:
    """One channel's FAISS index (CPU master copy, plus a lazily cloned GPU copy for search)."""

    def __init__(
        self,
        channel: str,
        dim: int,
        index: faiss.Index,
        layout: IndexLayout,
        trained_n: int,
        config: VectorConfig,
        generation: int = 0,
    ) -> None:
        self.channel = channel
        self.dim = dim
        self.index = index
        self.layout = layout
        self.trained_n = trained_n  # size of the set the IVF quantizer was trained for (0 for flat)
        self.config = config
        self.generation = generation  # catalog generation whose vectors this index holds
        self._gpu_index: faiss.Index | None = None
        if layout.kind != "flat":
            faiss.extract_index_ivf(index).nprobe = min(config.nprobe, layout.nlist)

    # ------------------------------------------------------------------------------------------- build
    @classmethod
    def build(
        cls, channel: str, ids: np.ndarray, vectors: np.ndarray, config: VectorConfig, generation: int = 0
    ) -> ChannelIndex:
        """An index of ``vectors (N, D)`` (L2-normalised float32) under ``ids (N,)``, layout by size."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(ids) != len(vectors):
            raise ValueError(f"build needs (N, D) vectors and N ids, got {vectors.shape} and {ids.shape}")
        n, dim = vectors.shape
        layout = choose_layout(n, dim, config)
        index = faiss.index_factory(dim, layout.factory, faiss.METRIC_INNER_PRODUCT)
        trained_n = 0
        if layout.kind != "flat":
            ivf = faiss.extract_index_ivf(index)
            ivf.cp.niter = config.train_iterations
            ivf.cp.seed = config.seed
            size = min(n, config.train_points_per_list * layout.nlist)
            rng = np.random.default_rng(config.seed)
            sample = vectors[np.sort(rng.choice(n, size=size, replace=False))] if size < n else vectors  # (S, D)
            log.info("training %s for channel %r on %d of %d vectors", layout.factory, channel, size, n)
            index.train(sample)
            trained_n = n
        step = 200_000
        for start in range(0, n, step):
            index.add_with_ids(vectors[start : start + step], ids[start : start + step])
        log.info("built %s index for channel %r: %d vectors of dim %d", layout.factory, channel, n, dim)
        return cls(channel, dim, index, layout, trained_n, config, generation)

    # ----------------------------------------------------------------------------------------- queries
    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def nbytes(self) -> int:
        """Approximate memory of the CPU index."""
        return self.layout.estimate_bytes(self.ntotal, self.dim)

    def suits(self, n: int) -> bool:
        """Whether this index's layout is still the right one for ``n`` vectors under its config."""
        want = choose_layout(n, self.dim, self.config)
        if want.kind != self.layout.kind:
            return False
        return self.layout.kind == "flat" or n <= self.config.retrain_growth * max(self.trained_n, 1)

    def ids(self) -> np.ndarray:
        """Every id in the index (int64, unordered)."""
        if self.layout.kind == "flat":
            return faiss.vector_to_array(faiss.downcast_index(self.index).id_map).astype(np.int64)
        invlists = faiss.extract_index_ivf(self.index).invlists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
            for i in range(invlists.nlist)
            if invlists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def search(
        self,
        queries: np.ndarray,
        k: int,
        subset: np.ndarray | None = None,
        gpu: faiss.StandardGpuResources | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` cosine scores and ids ``(Q, k)`` of L2-normalised ``queries (Q, D)``; id -1 pads.

        ``subset`` (int64 ids) restricts the search to those ids (searched on the CPU copy).
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)  # (Q, D)
        check_dim(self.channel, self.dim, queries.shape[1], "query vectors")
        if self.ntotal == 0 or k <= 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        k = min(k, self.ntotal)
        if subset is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(subset, dtype=np.int64))
            if self.layout.kind == "flat":
                params = faiss.SearchParameters(sel=selector)
            else:
                params = faiss.SearchParametersIVF(sel=selector, nprobe=faiss.extract_index_ivf(self.index).nprobe)
            return self.index.search(queries, k, params=params)
        index = self._gpu(gpu) if gpu is not None else self.index
        return index.search(queries, k)

    def _gpu(self, resources: faiss.StandardGpuResources) -> faiss.Index:
        """The GPU copy (cloned after each change); the CPU index when cloning fails (logged)."""
        if self._gpu_index is None:
            try:
                self._gpu_index = faiss.index_cpu_to_gpu(resources, 0, self.index)
                if self.layout.kind != "flat":
                    nprobe = faiss.extract_index_ivf(self.index).nprobe
                    faiss.GpuParameterSpace().set_index_parameter(self._gpu_index, "nprobe", nprobe)
            except (RuntimeError, AttributeError) as err:
                log.warning("channel %r: FAISS GPU copy failed (%s); searching on CPU", self.channel, err)
                self._gpu_index = self.index
        return self._gpu_index

    # ---------------------------------------------------------------------------------------- changes
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add L2-normalised ``vectors (N, D)`` under ``ids (N,)``."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        check_dim(self.channel, self.dim, vectors.shape[1])
        self.index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))
        self._gpu_index = None

    def remove(self, ids: np.ndarray) -> int:
        """Remove ``ids``; returns how many were found."""
        removed = int(self.index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))))
        self._gpu_index = None
        return removed

    # ------------------------------------------------------------------------------------------- files
    def save(self, directory: Path) -> dict:
        """Write ``<channel>.faiss`` then ``<channel>.json`` (its generation, count, file identity), each
        atomically; returns the sidecar. Call with the store's file lock held."""
        generation = self.generation
        path = directory / f"{self.channel}.faiss"
        with atomic_path(path) as tmp:
            faiss.write_index(self.index, str(tmp))
        sidecar = {
            "channel": self.channel,
            "generation": generation,
            "count": self.ntotal,
            "dim": self.dim,
            "kind": self.layout.kind,
            "factory": self.layout.factory,
            "nlist": self.layout.nlist,
            "pq_m": self.layout.pq_m,
            "trained_n": self.trained_n,
            "file": _fingerprint(path),
        }
        atomic_write_bytes(directory / f"{self.channel}.json", json.dumps(sidecar, indent=1).encode())
        fsync_dir(directory)
        log.debug("saved %s (%s, %d vectors, generation %d)", path, self.layout.factory, self.ntotal, generation)
        return sidecar

    @classmethod
    def load(cls, directory: Path, channel: str, config: VectorConfig) -> ChannelIndex:
        """The saved index, at the generation its sidecar names; ``_StaleFileError`` says why not."""
        path, meta_path = directory / f"{channel}.faiss", directory / f"{channel}.json"
        if not path.exists():
            raise _StaleFileError(f"{path.name} is missing")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as err:
            raise _StaleFileError(f"its sidecar {meta_path.name} is unreadable ({err})") from err
        if meta.get("file") != _fingerprint(path):
            raise _StaleFileError("the file is not the one its sidecar describes (an interrupted save?)")
        try:
            layout = IndexLayout(meta["kind"], int(meta["nlist"]), int(meta["pq_m"]))
            generation, count, dim = int(meta["generation"]), int(meta["count"]), int(meta["dim"])
            trained_n = int(meta["trained_n"])
        except (KeyError, TypeError, ValueError) as err:
            raise _StaleFileError(f"its sidecar lacks a valid {err}") from err
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as err:
            raise _StaleFileError(f"FAISS cannot read it ({str(err).splitlines()[0]})") from err
        if index.ntotal != count or index.d != dim:
            raise _StaleFileError(f"it holds {index.ntotal} x {index.d}-d vectors, its sidecar says {count} x {dim}")
        return cls(channel, dim, index, layout, trained_n, config, generation)


def _fingerprint(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


@dataclass(frozen=True, eq=False)
class VectorDelta:
    """A channel's change between two catalog generations (or, with nothing removed, its full state)."""

    generation: int  # the catalog generation the delta leads to
    removed: np.ndarray  # (R,) int64 ids to drop first (removed events, and ids about to be re-added)
    ids: np.ndarray  # (A,) int64 ids to add
    vectors: np.ndarray  # (A, D) float32, L2-normalised
    count: int  # vectors the channel holds at ``generation``


class VectorSource(Protocol):
    """Where the vectors really live (the catalog): what a :class:`VectorStore` syncs from."""

    def generation(self) -> int: ...
    def channel_dims(self) -> dict[str, int]: ...
    def delta(self, channel: str, since: int | None = None) -> VectorDelta | None: ...
    def vector_ids(self, channel: str) -> np.ndarray: ...


class VectorStore:
    """All channel indexes of a library folder ``vectors/``, kept in step with a :class:`VectorSource`.

    :meth:`sync` brings every channel to the source's generation the cheapest safe way: nothing when
    already there; replaying the journal's delta onto the in-memory index or onto the saved file
    (remove, then add: replaying twice gives the same index); rebuilding from all vectors when the
    file is missing, damaged, or older than the journal (logged). Thread-safe (one lock); processes
    sharing the folder coordinate through ``vectors/.lock``.
    """

    def __init__(self, directory: str | Path, config: VectorConfig | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config = config or VectorConfig()
        self._indexes: dict[str, ChannelIndex] = {}
        self._dirty: set[str] = set()  # channels whose in-memory index is newer than its file
        self._generation: int | None = None  # catalog generation every channel has been brought to
        self._lock = threading.RLock()
        self._gpu: faiss.StandardGpuResources | None = None
        gpus = faiss.get_num_gpus()
        if gpus > 0 and self.config.use_gpu is not False:
            try:
                self._gpu = faiss.StandardGpuResources()
                log.info("FAISS: searching on GPU (%d visible)", gpus)
            except (RuntimeError, AttributeError) as err:
                log.warning("FAISS: GPU resources failed (%s); searching on CPU", err)
        else:
            log.info("FAISS: searching on CPU (%s)", "disabled by VectorConfig.use_gpu" if gpus else "no GPU visible")
        with self.file_lock():
            for tmp in self.directory.glob(".*.tmp"):
                log.info("removing %s left by an interrupted save", tmp)
                tmp.unlink(missing_ok=True)

    @property
    def generation(self) -> int | None:
        return self._generation

    def channels(self) -> dict[str, ChannelIndex]:
        return dict(self._indexes)

    def file_lock(self) -> FileLock:
        """Held while FAISS files are written or read, by every process sharing the library."""
        return FileLock(self.directory / ".lock")

    # -------------------------------------------------------------------------------------- in step
    def sync(self, source: VectorSource) -> None:
        """Bring every channel to the source's generation (see the class doc); save what changed."""
        with self._lock:
            generation = source.generation()
            if generation == self._generation:
                return
            dims = source.channel_dims()
            with self.file_lock():
                for channel in sorted(dims):
                    index = self._indexes.get(channel)
                    if index is None:
                        index = self._load(channel)
                    if index is not None and index.dim != dims[channel]:
                        log.warning("channel %r: index dim %d, catalog dim %d", channel, index.dim, dims[channel])
                        index = None
                    if index is not None and index.generation != generation:
                        index = self._catch_up(source, index)
                    if index is not None and not index.suits(index.ntotal):
                        log.info("channel %r: %s does not suit %d vectors under the current config; rebuilding",
                                 channel, index.layout.factory, index.ntotal)  # fmt: skip
                        index = None
                    if index is None:
                        index = self._rebuild(source, channel)
                    if index is not None:
                        self._indexes[channel] = index
                self._drop_missing(set(dims))
            self._generation = generation
            self._persist()

    def _load(self, channel: str) -> ChannelIndex | None:
        if not any((self.directory / f"{channel}{suffix}").exists() for suffix in (".faiss", ".json")):
            log.info("building the FAISS index of channel %r from the catalog (no saved index yet)", channel)
            return None
        try:
            index = ChannelIndex.load(self.directory, channel, self.config)
        except _StaleFileError as why:
            log.warning("rebuilding FAISS index of channel %r from the catalog: %s", channel, why)
            return None
        self._dirty.discard(channel)
        return index

    def _catch_up(self, source: VectorSource, index: ChannelIndex) -> ChannelIndex | None:
        """Replay the journal onto ``index``; None (rebuild) when that cannot give the catalog's state."""
        channel, since = index.channel, index.generation
        delta = source.delta(channel, since)
        if delta is None:
            log.warning(
                "rebuilding FAISS index of channel %r from the catalog: the journal does not reach back to "
                "its generation %d",
                channel,
                since,
            )
            return None
        if len(delta.removed):
            index.remove(delta.removed)
        if len(delta.ids):
            index.add(delta.ids, delta.vectors)
        index.generation = delta.generation
        if len(delta.removed) or len(delta.ids):
            self._dirty.add(channel)
        log.debug("channel %r: generation %d -> %d (+%d, -<=%d)", channel, since, delta.generation,
                  len(delta.ids), len(delta.removed))  # fmt: skip
        if index.ntotal != delta.count:
            log.warning(
                "rebuilding FAISS index of channel %r from the catalog: replay left %d vectors, the catalog has %d",
                channel,
                index.ntotal,
                delta.count,
            )
            return None
        return index

    def _rebuild(self, source: VectorSource, channel: str) -> ChannelIndex | None:
        full = source.delta(channel)
        self._indexes.pop(channel, None)
        if full is None or len(full.ids) == 0:
            return None
        self._dirty.add(channel)
        return ChannelIndex.build(channel, full.ids, full.vectors, self.config, full.generation)

    def _drop_missing(self, present: set[str]) -> None:
        """Forget channels the catalog no longer has and delete their files (file lock held)."""
        on_disk = {p.stem for p in self.directory.glob("*.faiss")} | {p.stem for p in self.directory.glob("*.json")}
        for channel in (set(self._indexes) | on_disk) - present:
            self._indexes.pop(channel, None)
            self._dirty.discard(channel)
            for suffix in (".json", ".faiss"):
                (self.directory / f"{channel}{suffix}").unlink(missing_ok=True)
            log.info("channel %r has no vectors any more; dropped its index", channel)

    def _persist(self, force: bool = False) -> None:
        """Save changed indexes: small ones always, large ones only when ``force`` (flush/close)."""
        with self.file_lock():
            for channel, index in self._indexes.items():
                if channel not in self._dirty:
                    continue
                if force or index.nbytes <= self.config.autosave_max_bytes:
                    index.save(self.directory)
                    self._dirty.discard(channel)
                else:
                    log.debug("channel %r: %d-byte index is saved on flush()/close()", channel, index.nbytes)

    def invalidate(self) -> None:
        """Forget the in-memory indexes: the next :meth:`sync` loads or rebuilds every channel."""
        with self._lock:
            self._indexes.clear()
            self._dirty.clear()
            self._generation = None

    def flush(self) -> None:
        """Save every index newer than its file (large ones are saved only here and on close)."""
        with self._lock:
            self._persist(force=True)

    # ---------------------------------------------------------------------------------------- search
    def dim(self, channel: str) -> int | None:
        index = self._indexes.get(channel)
        return index.dim if index else None

    def search(
        self, channel: str, queries: np.ndarray, k: int, subset: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``ChannelIndex.search`` of one channel; empty results for a channel with no vectors."""
        with self._lock:
            index = self._indexes.get(channel)
            if index is None:
                q = np.atleast_2d(queries)
                return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
            return index.search(queries, k, subset=subset, gpu=self._gpu)

    def check(self, source: VectorSource) -> list[str]:
        """Disagreements between the in-memory indexes and the source ([] when in step)."""
        problems = []
        with self._lock:
            dims = source.channel_dims()
            if set(dims) != set(self._indexes):
                problems.append(f"FAISS channels {sorted(self._indexes)} differ from the catalog's {sorted(dims)}")
            for channel in sorted(set(dims) & set(self._indexes)):
                index = self._indexes[channel]
                if index.dim != dims[channel]:
                    problems.append(f"channel {channel!r}: FAISS dim {index.dim} != catalog dim {dims[channel]}")
                catalog_ids, faiss_ids = source.vector_ids(channel), np.sort(index.ids())
                if not np.array_equal(faiss_ids, catalog_ids):
                    extra = np.setdiff1d(faiss_ids, catalog_ids).size
                    missing = np.setdiff1d(catalog_ids, faiss_ids).size
                    problems.append(
                        f"channel {channel!r}: FAISS holds {len(faiss_ids)} vectors, the catalog {len(catalog_ids)}; "
                        f"{extra} FAISS ids have no catalog vector, {missing} catalog vectors are not in FAISS"
                    )
        return problems

    def close(self) -> None:
        """Save what is unsaved and let go of the indexes."""
        with self._lock:
            self._persist(force=True)
            self._indexes.clear()
            self._gpu = None
