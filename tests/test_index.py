"""longvid.index: catalog, FAISS channels, hybrid retrieval, atomicity and crash recovery.

Vectors are seeded and clustered (in the manner of faiss's SyntheticDataset), texts are real sentences,
every library lives in ``tmp_path``. Crash tests run a writer in a subprocess and kill it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from longvid.index import (
    CatalogError,
    CountMismatchError,
    DimensionMismatchError,
    Event,
    EventIndex,
    MemoryBudgetError,
    RetrievalConfig,
    UnknownVideoError,
    VectorConfig,
    VideoExistsError,
    VideoRecord,
    choose_layout,
    rrf,
)
from longvid.index.catalog import Catalog
from longvid.index.retrieval import make_snippet
from longvid.ingest import LongvidError, TimeSpan, TranscriptSegment

DIM = 32

SENTENCES = [
    "welcome everyone to the quarterly planning meeting",
    "the budget forecast for next year looks tight",
    "a tabby cat walks across the keyboard",
    "slides show revenue by region and product line",
    "questions from the audience about hiring plans",
    "the weather in Zürich was cold and grey",
    "a dog chases a red ball in the park",
    "closing remarks and thanks to the organisers",
]


def clustered(n: int, dim: int = DIM, seed: int = 0, clusters: int = 8) -> np.ndarray:
    """``(n, dim)`` float32 unit vectors scattered around ``clusters`` random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_video(video_id: str, n: int, seed: int = 0, dim: int = DIM, step_s: float = 10.0):
    """A video of ``n`` consecutive ``step_s``-second events with sentences and clustered vectors."""
    video = VideoRecord(video_id, f"/media/{video_id}.mp4", n * step_s, 25.0, 640, 360, True, {"text": "test-enc"})
    events = [
        Event(video_id, i, TimeSpan(i * step_s, (i + 1) * step_s), keyframes_s=(i * step_s + 1.0,),
              transcript=SENTENCES[(i + seed) % len(SENTENCES)], tags=("person",) if i % 2 else ("screen", "chart"))
        for i in range(n)
    ]  # fmt: skip
    return video, events, {"text": clustered(n, dim, seed)}


@pytest.fixture
def index(tmp_path):
    with EventIndex(tmp_path / "lib") as ix:
        yield ix


def test_add_and_search_round_trip(index):
    video, events, vectors = make_video("v1", 8)
    transcript = [TranscriptSegment("v1", TimeSpan(0.0, 4.0), "welcome everyone", source="subtitle")]
    ids = index.add_video(video, events, vectors, transcript)
    assert len(ids) == 8 and len(set(ids)) == 8
    assert index.has_video("v1") and not index.has_video("nope")
    stored = index.video("v1")
    assert stored.settings == {"text": "test-enc"} and stored.added_at is not None
    assert replace(stored, added_at=None) == video
    assert index.events("v1") == [replace(e, event_id=i) for e, i in zip(events, ids, strict=True)]
    assert index.transcript("v1") == transcript
    assert [v.video_id for v in index.videos()] == ["v1"]
    for i in (0, 3, 7):  # each event's own vector finds it first
        hit = index.search("", {"text": vectors["text"][i]}, k=3)[0]
        assert hit.event.event_id == ids[i]
        assert hit.matches[0].channel == "text" and hit.matches[0].why == "cosine 1.00"
    assert index.check() == []


def test_rrf_ranks_events_found_by_both_channels_first(index):
    rng = np.random.default_rng(1)
    query = rng.standard_normal(DIM).astype(np.float32)
    query /= np.linalg.norm(query)
    texts = ["budget budget budget budget", "a cat on a mat", "we discussed the budget in detail", "nothing else"]
    vectors = rng.standard_normal((4, DIM)).astype(np.float32)
    vectors[0] = -query  # keyword favourite, dense last
    vectors[1] = query  # dense favourite, no keyword
    vectors[2] = query + 0.1 * rng.standard_normal(DIM).astype(np.float32)  # second in both
    events = [Event("v1", i, TimeSpan(i, i + 1), transcript=t) for i, t in enumerate(texts)]
    ids = index.add_video(VideoRecord("v1", "a.mp4", 4, 25, 64, 64, False), events, {"text": vectors})
    hits = index.search("budget", {"text": query}, k=4, expand=0)
    assert hits[0].event.event_id == ids[2]
    assert {m.channel for m in hits[0].matches} == {"keyword", "text"}
    assert hits[0].score == pytest.approx(2 / 62)
    assert {h.event.event_id for h in hits[1:3]} == {ids[0], ids[1]}
    assert hits[0].matches[0].why.startswith("matched: budget")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert rrf({"a": [1, 2], "b": [2, 3]}, k0=60) == pytest.approx({1: 1 / 61, 2: 1 / 62 + 1 / 61, 3: 1 / 62})


@pytest.mark.parametrize("exact_filter_max", [50_000, 0])  # exact numpy path / FAISS IDSelector path
def test_filters_by_video_and_time_range(tmp_path, exact_filter_max):
    config = RetrievalConfig(exact_filter_max=exact_filter_max)
    with EventIndex(tmp_path / "lib", retrieval_config=config) as index:
        va, ea, xa = make_video("a", 8, seed=0)
        vb, eb, xb = make_video("b", 8, seed=3)
        index.add_video(va, ea, xa)
        index.add_video(vb, eb, xb)
        query = {"text": xb["text"][2]}
        assert index.search("", query, k=1)[0].event.video_id == "b"
        hits = index.search("budget cat", query, k=20, video_id="a")
        assert hits and {h.video_id for h in hits} == {"a"}
        window = TimeSpan(25.0, 45.0)  # overlaps events 2 [20, 30), 3 [30, 40), 4 [40, 50)
        hits = index.search("budget cat", query, k=20, video_id="b", time_range=window)
        assert sorted(h.event.index for h in hits) == [2, 3, 4]
        assert all(h.span.overlap_s(window) > 0 for h in hits)
        assert [h.event.index for h in index.search("", query, video_id="b", time_range=TimeSpan(30, 30))] == [3]
        assert index.search("budget", query, video_id="missing") == []
        assert index.search("budget", query, time_range=TimeSpan(500, 600)) == []


def test_neighbour_expansion(index):
    video, events, vectors = make_video("v1", 6)
    ids = index.add_video(video, events, vectors)
    [hit] = index.search("", {"text": vectors["text"][3]}, k=1, expand=1)
    assert [e.index for e in hit.neighbours] == [2, 4]
    assert [e.event_id for e in hit.neighbours] == [ids[2], ids[4]]
    [hit] = index.search("", {"text": vectors["text"][0]}, k=1, expand=2)
    assert [e.index for e in hit.neighbours] == [1, 2]
    [hit] = index.search("", {"text": vectors["text"][5]}, k=1, expand=0)
    assert hit.neighbours == ()


# (query, events of make_video("v1", 8) it must find): FTS5 syntax in a query is text, never an operator.
# Event i says SENTENCES[i]; even events are tagged "screen", "chart", odd ones "person".
HOSTILE = [
    ('"', []), ('""', []), ("*", []), ("budget*", [1]), ("NEAR(", []), ("NEAR(budget cat", [1, 2]),
    ("NEAR(budget cat, 2)", [1, 2]), ("OR", []), ("AND OR NOT", [3, 5, 7]), ("-", []), ("-budget", [1]),
    ("^", []), ("^cat", [2]), (":", []), ("transcript:budget", [1]), ("tags:budget", [1]),
    ("{transcript}: cat", [2]), ("(((", []), (")", []), ("(budget OR cat) AND dog", [1, 2, 6]),
    ("'; DROP TABLE events; --", []), ("\x00", []), ("café ☕ 東京", []), ('"cat" OR "dog', [2, 6]),
    ('a" OR "b', []), ("budget + forecast", [1]), ("cat AND dog", [2, 6]), ("budget NOT forecast", [1]),
    ("chart -screen", [0, 2, 4, 6]), ("weather -zürich", [5]), ("\\", []), ("   ", []), ("", []),
]  # fmt: skip


@pytest.mark.parametrize(("query", "expected"), HOSTILE, ids=[repr(q) for q, _ in HOSTILE])
def test_hostile_keyword_queries_find_the_events_with_their_words(index, query, expected):
    video, events, vectors = make_video("v1", 8)
    index.add_video(video, events, vectors)
    hits = index.search(query, k=10)  # keyword channel only: no query vector
    assert sorted(h.event.index for h in hits) == expected
    assert all([m.channel for m in h.matches] == ["keyword"] for h in hits)
    assert len(index.events("v1")) == 8 and index.check() == []


def test_keyword_search_folds_case_accents_and_stems(index):
    video, events, vectors = make_video("v1", 8)
    index.add_video(video, events, vectors)
    assert "Zürich" in index.search("ZURICH", k=1)[0].event.transcript
    assert "forecast" in index.search("forecasts", k=1)[0].event.transcript  # porter stemming
    hit = index.search("charts", k=1)[0]  # tags are searchable too
    assert "chart" in hit.event.tags and "chart" in hit.matches[0].why


def test_snippet_centres_on_the_matched_words():
    filler = "lorem ipsum dolor sit amet " * 30
    marked = filler + "the \x02budget\x03 \x02forecast\x03 is here " + filler
    snippet, words = make_snippet(marked, 200)
    assert len(snippet) <= 200 and "budget forecast" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert words == ["budget", "forecast"]
    assert make_snippet(filler, 200)[0].startswith("lorem ipsum") and len(make_snippet(filler, 200)[0]) <= 200
    assert make_snippet("said hi\nSLIDE 3\nperson", 200) == ("said hi · SLIDE 3 · person", [])


def test_long_text_hit_has_short_snippet(index):
    text = " ".join(SENTENCES * 6) + " the secret password is swordfish " + " ".join(SENTENCES * 6)
    video = VideoRecord("v1", "a.mp4", 10, 25, 64, 64, False)
    index.add_video(video, [Event("v1", 0, TimeSpan(0, 10), transcript=text)], {})
    [hit] = index.search("What is the password?", k=1)
    assert len(hit.snippet) <= 200 and "password" in hit.snippet
    assert hit.matches[0].channel == "keyword" and "password" in hit.matches[0].why


def test_count_mismatch_stores_nothing(index):
    video, events, vectors = make_video("v1", 13)
    generation = index.catalog.generation()
    with pytest.raises(CountMismatchError, match="12 vectors for 13 events"):
        index.add_video(video, events, {"text": vectors["text"][:12]})
    assert not index.has_video("v1") and index.events("v1") == []
    assert index.catalog.generation() == generation


def test_failure_mid_transaction_rolls_back_everything(index, monkeypatch):
    index.add_video(*make_video("keep", 4, seed=1))
    video, events, vectors = make_video("v1", 8, seed=2)

    def fail(self, conn, video_id, ids, vectors):  # events and transcript are already inserted by now
        assert conn.execute("SELECT count(*) FROM events WHERE video_id = ?", (video_id,)).fetchone()[0] == 8
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Catalog, "_insert_vectors", fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        index.add_video(video, events, vectors, [TranscriptSegment("v1", TimeSpan(0, 1), "hello")])
    monkeypatch.undo()
    assert not index.has_video("v1") and index.events("v1") == [] and index.transcript("v1") == []
    conn = index.catalog._reader()
    for table in ("events", "transcript_segments"):
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE video_id = 'v1'").fetchone()[0] == 0
    assert conn.execute("SELECT count FROM channels WHERE channel = 'text'").fetchone()[0] == 4
    assert {h.video_id for h in index.search("budget forecast cat keyboard weather", k=20)} <= {"keep"}
    assert index.check() == []
    index.add_video(video, events, vectors)  # the same video goes in cleanly afterwards
    assert index.check() == []


def test_existing_video_and_unknown_video_errors(index):
    index.add_video(*make_video("v1", 3))
    with pytest.raises(VideoExistsError, match="already in"):
        index.add_video(*make_video("v1", 3))
    with pytest.raises(UnknownVideoError, match="not in"):
        index.remove_video("nope")
    assert issubclass(VideoExistsError, CatalogError) and issubclass(CatalogError, LongvidError)


def test_dim_mismatch_names_both_numbers(index):
    index.add_video(*make_video("v1", 3, dim=384))
    video, events, _ = make_video("v2", 3)
    with pytest.raises(DimensionMismatchError, match=r"384-d.*512-d"):
        index.add_video(video, events, {"text": clustered(3, 512)})
    assert not index.has_video("v2")
    with pytest.raises(DimensionMismatchError, match=r"384-d.*100-d"):
        index.search("x", {"text": np.ones(100, np.float32)})
    with pytest.raises(DimensionMismatchError, match=r"384-d.*512-d"):
        index.catalog.add_video(video, events, {"text": clustered(3, 512)})  # the catalog checks on its own too


def test_remove_video_removes_everything(index):
    va, ea, xa = make_video("a", 5, seed=0)
    vb, eb, xb = make_video("b", 5, seed=4)
    index.add_video(va, ea, xa, [TranscriptSegment("a", TimeSpan(0, 1), "hi")])
    index.add_video(vb, eb, xb, [TranscriptSegment("b", TimeSpan(0, 1), "hi")])
    index.add_video(VideoRecord("c", "c.mp4", 10, 25, 64, 64, False), [Event("c", 0, TimeSpan(0, 10))],
                    {"frames": clustered(1, 8)})  # fmt: skip
    index.remove_video("a")
    assert not index.has_video("a") and index.events("a") == [] and index.transcript("a") == []
    assert {h.video_id for h in index.search("budget cat", {"text": xa["text"][0]}, k=50)} == {"b"}
    assert index.vectors.channels()["text"].ntotal == 5
    index.remove_video("c")  # the last "frames" vectors: the channel and its files go
    assert "frames" not in index.vectors.channels()
    assert not (index.root / "vectors" / "frames.faiss").exists()
    assert index.check() == []


def test_video_without_events_or_vectors(index):
    video = VideoRecord("empty", "e.mp4", 0.0, 25, 64, 64, False)
    assert index.add_video(video, [], {"text": np.zeros((0, DIM), np.float32)}) == []
    assert index.has_video("empty") and index.events("empty") == []
    assert index.search("anything", {"text": np.ones(DIM, np.float32)}) == []
    assert index.check() == []
    index.add_video(*make_video("v1", 3))
    index.remove_video("empty")
    assert index.check() == []


def test_searches_from_threads_while_adding(index, caplog):
    video, events, vectors = make_video("v0", 10)
    index.add_video(video, events, vectors)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                [hit] = index.search("", {"text": vectors["text"][3]}, k=1)
                assert (hit.video_id, hit.event.index) == ("v0", 3)
            except BaseException as err:  # handed to the main thread
                errors.append(err)
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for v in range(1, 6):
        index.add_video(*make_video(f"v{v}", 10, seed=v + 10))
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert len(index.videos()) == 6 and index.check() == []
    assert "rebuilding" not in caplog.text  # searches racing a write catch up from the journal


@pytest.mark.parametrize("damage", ["missing", "corrupt", "stale", "no-sidecar", "swapped"])
def test_damaged_faiss_file_is_rebuilt(tmp_path, caplog, damage):
    root = tmp_path / "lib"
    with EventIndex(root) as index:
        video, events, vectors = make_video("v1", 6)
        index.add_video(video, events, vectors)
        index.add_video(*make_video("v2", 4, seed=5))
    faiss_path, meta_path = root / "vectors" / "text.faiss", root / "vectors" / "text.json"
    if damage == "missing":
        faiss_path.unlink()
    elif damage == "corrupt":
        faiss_path.write_bytes(b"not a faiss index" * 10)
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps({**meta, "file": [faiss_path.stat().st_size, faiss_path.stat().st_mtime_ns,
                                                          faiss_path.stat().st_ino]}))  # fmt: skip
    elif damage == "stale":
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps({**meta, "generation": meta["generation"] - 1}))
    elif damage == "no-sidecar":
        meta_path.unlink()
    else:  # an older index file put in place of the current one, sidecar untouched
        with EventIndex(tmp_path / "other") as other:
            other.add_video(video, events, vectors)
        os.replace(tmp_path / "other" / "vectors" / "text.faiss", faiss_path)
    with caplog.at_level(logging.WARNING, logger="longvid.index.vectors"), EventIndex(root) as index:
        # an older sidecar (an older file) is caught up from the journal; anything else is rebuilt
        assert ("rebuilding FAISS index of channel 'text'" in caplog.text) == (damage != "stale")
        assert index.vectors.channels()["text"].ntotal == 10
        [hit] = index.search("", {"text": vectors["text"][4]}, k=1)
        assert (hit.video_id, hit.event.index) == ("v1", 4)
        assert index.check() == []
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="longvid.index.vectors"), EventIndex(root) as index:
        assert "rebuilding" not in caplog.text  # the rebuilt file was saved


def test_large_index_is_saved_on_close_and_rebuilt_if_not(tmp_path, caplog):
    config = VectorConfig(autosave_max_bytes=0)  # nothing is saved after a write, only on flush/close
    video, events, vectors = make_video("v1", 6)
    index = EventIndex(tmp_path / "lib", vector_config=config)
    index.add_video(video, events, vectors)
    assert not (tmp_path / "lib" / "vectors" / "text.faiss").exists()
    index.catalog.close()  # a crash: the catalog is committed, the FAISS file never written
    with caplog.at_level(logging.INFO), EventIndex(tmp_path / "lib", vector_config=config) as index:
        assert "building the FAISS index of channel 'text' from the catalog (no saved index yet)" in caplog.text
        assert index.check() == []
    caplog.clear()
    with caplog.at_level(logging.WARNING), EventIndex(tmp_path / "lib", vector_config=config) as index:
        assert "rebuilding" not in caplog.text  # close() saved it
        assert index.search("", {"text": vectors["text"][1]}, k=1)[0].event.index == 1


def test_older_faiss_file_is_caught_up_from_the_journal(tmp_path, caplog):
    root = tmp_path / "lib"
    with EventIndex(root) as index:
        index.add_video(*make_video("a", 5, seed=1))
        index.add_video(*make_video("b", 5, seed=2))
    saved = {p.name: p.read_bytes() for p in (root / "vectors").glob("text.*")}  # the files at generation 2
    with EventIndex(root) as index:
        index.remove_video("a")
        vc, ec, xc = make_video("c", 7, seed=3)
        index.add_video(vc, ec, xc)
    for name, data in saved.items():  # put the generation-2 files back (sidecar and file match)
        (root / "vectors" / name).write_bytes(data)
    meta = json.loads((root / "vectors" / "text.json").read_text())
    path = root / "vectors" / "text.faiss"
    meta["file"] = [path.stat().st_size, path.stat().st_mtime_ns, path.stat().st_ino]
    (root / "vectors" / "text.json").write_text(json.dumps(meta))
    with caplog.at_level(logging.DEBUG, logger="longvid.index.vectors"), EventIndex(root) as index:
        assert "rebuilding" not in caplog.text and "generation 2 -> 4" in caplog.text
        assert index.vectors.channels()["text"].ntotal == 12
        assert index.search("", {"text": xc["text"][6]}, k=1)[0].event.index == 6
        assert index.check() == []
        index.catalog._writer.execute("DELETE FROM changes")  # a journal that no longer reaches back
        index.vectors.invalidate()
        meta = json.loads((root / "vectors" / "text.json").read_text())
        (root / "vectors" / "text.json").write_text(json.dumps({**meta, "generation": 1}))
        caplog.clear()
        assert index.check() == []
        assert "the journal does not reach back to its generation 1" in caplog.text


def test_second_process_view_picks_up_writes(tmp_path):
    with EventIndex(tmp_path / "lib") as writer, EventIndex(tmp_path / "lib") as reader:
        video, events, vectors = make_video("v1", 5)
        assert reader.search("budget", {}) == []
        writer.add_video(video, events, vectors)
        assert reader.search("", {"text": vectors["text"][2]}, k=1)[0].event.index == 2
        assert reader.search("budget", k=1)[0].video_id == "v1"
        writer.remove_video("v1")
        assert reader.search("budget", {"text": vectors["text"][2]}) == []
        assert reader.check() == [] and writer.check() == []


def test_index_switches_to_ivf_then_sq8(tmp_path):
    config = VectorConfig(flat_max_vectors=400)
    with EventIndex(tmp_path / "lib", vector_config=config) as index:
        x = clustered(900, DIM, seed=7)
        for v in range(3):
            video, events, _ = make_video(f"v{v}", 300, seed=v, step_s=1.0)
            index.add_video(video, events, {"text": x[300 * v : 300 * (v + 1)]})
            layout = index.vectors.channels()["text"].layout
            assert layout.kind == ("flat" if v == 0 else "ivf"), layout
        assert layout.factory == "IVF15,Flat"  # built at 600: 4 sqrt(600) = 98, capped at 600 // 39 = 15 lists
        assert json.loads((tmp_path / "lib" / "vectors" / "text.json").read_text())["factory"] == "IVF15,Flat"
        hit = index.search("", {"text": x[650]}, k=1)[0]
        assert (hit.video_id, hit.event.index) == ("v2", 50)
        assert index.check() == []
    # reopened with a budget that float32 codes exceed: rebuilt as SQ8 (at 900: 23 lists)
    with EventIndex(tmp_path / "lib", memory_budget_bytes=60_000, vector_config=config) as index:
        assert index.vectors.channels()["text"].layout.factory == "IVF23,SQ8"
        assert index.search("", {"text": x[650]}, k=1)[0].event.index == 50
        assert index.check() == []


def test_choose_layout_thresholds():
    config = VectorConfig()
    assert choose_layout(99_999, 384, config).factory == "IDMap2,Flat"
    assert choose_layout(1_000_000, 384, config).factory == "IVF4000,Flat"
    assert choose_layout(4_000_000, 384, config).factory == "IVF8000,SQ8"
    assert choose_layout(20_000_000, 384, config).factory == "IVF17889,PQ96"
    with pytest.raises(MemoryBudgetError, match="raise memory_budget_bytes"):
        choose_layout(10**9, 384, config)


WRITER = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_index import make_video
    from longvid.index import EventIndex, vectors

    root, crash = sys.argv[1], sys.argv[2]
    if crash == "between-faiss-and-sidecar":  # the new .faiss is in place, its sidecar not yet
        vectors.atomic_write_bytes = lambda path, data: os._exit(9)
    index = EventIndex(root)
    for v in range(10_000):
        if crash == "after-commit" and v == 3:  # the catalog has committed, FAISS never hears of it
            index.vectors.sync = lambda *args: os._exit(9)
        video, events, vecs = make_video(f"v{{v}}", 20 + v % 7, seed=v)
        index.add_video(video, events, vecs)
        print(v, flush=True)
    """
)


def _run_writer(root: Path, crash: str) -> int:
    """Run the writer; with crash "kill" SIGKILL it once 4 videos are in. Returns videos it reported."""
    script = root.parent / "writer.py"
    script.write_text(WRITER.format(tests=str(Path(__file__).parent)))
    proc = subprocess.Popen([sys.executable, str(script), str(root), crash], stdout=subprocess.PIPE, text=True)
    reported = 0
    try:
        for _line in proc.stdout:
            reported += 1
            if crash == "kill" and reported == 4:
                time.sleep(0.005)  # let it get well into the next add
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
    assert proc.returncode in (-signal.SIGKILL, 9), proc.returncode
    return reported


@pytest.mark.parametrize("crash", ["kill", "after-commit", "between-faiss-and-sidecar"])
def test_crash_while_adding_leaves_a_consistent_library(tmp_path, crash):
    root = tmp_path / "lib"
    reported = _run_writer(root, crash)
    with EventIndex(root) as index:
        assert index.check() == []
        present = [v.video_id for v in index.videos()]
        assert len(present) >= reported and present[:reported] == [f"v{v}" for v in range(reported)]
        channel = index.vectors.channels()["text"]
        total = 0
        for video_id in present:
            v = int(video_id[1:])
            _, events, vecs = make_video(video_id, 20 + v % 7, seed=v)
            stored = index.events(video_id)
            assert [replace(e, event_id=None) for e in stored] == events
            total += len(stored)
            [hit] = index.search("", {"text": vecs["text"][5]}, k=1, video_id=video_id)
            assert hit.event.index == 5
        assert channel.ntotal == total
        assert [v.video_id for v in index.videos()] == present
        index.add_video(*make_video("after", 3))  # the library takes writes again
        assert index.check() == []


@pytest.mark.parametrize("floors", [{}, {"keyword": 0.5}])
def test_equal_fused_scores_go_to_the_moment_holding_more_of_the_words(index, floors):
    """Keyword ranks B first (both words), text ranks A first: equal fused scores, and B holds more words.
    Without the tie rule the earlier event, A, would come first; with or without a keyword floor."""
    video = VideoRecord("ties", "/media/ties.mp4", 20.0, 25.0, 640, 360, True, {"text": "test-enc"})
    events = [Event("ties", 0, TimeSpan(0, 10), transcript="a horse and two cows in a field"),
              Event("ties", 1, TimeSpan(10, 20), transcript="a person rides a horse past a dog")]  # fmt: skip
    vectors = np.array([[1, 0, 0, 0], [0.6, 0.8, 0, 0]], dtype=np.float32)
    index.add_video(video, events, {"text": vectors})
    hits = index.search("a person with a horse", {"text": np.array([1, 0, 0, 0], np.float32)}, floors=floors)
    assert [h.event.index for h in hits] == [1, 0] and hits[0].score == hits[1].score
    ranks = {h.event.index: {m.channel: m.rank for m in h.matches} for h in hits}
    assert ranks == {0: {"keyword": 2, "text": 1}, 1: {"keyword": 1, "text": 2}}
