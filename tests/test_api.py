"""The HTTP API of ``longvid serve``: a live server on loopback, driven with the real ``openai`` client and
with plain HTTP; jobs and internal errors through the same FastAPI app in process."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from fastapi.testclient import TestClient

from longvid.app import Library
from longvid.app.api import MAX_BODY_BYTES, create_app
from longvid.app.web import build_ui, launch
from longvid.ingest.ffmpeg_cli import run_ffmpeg

from .conftest import DEMO

KEY = "k3y-for-tests"
BUDGET = "When was the budget for the new bridge approved?"


@pytest.fixture(scope="module")
def server(demo_library):
    """The demo library served with an API key on a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    roots = [DEMO.parent]
    served = launch(build_ui(demo_library, roots), demo_library, roots, port=port, block=False, api_key=KEY)
    yield served.url
    served.close()


def _call(url: str, body: bytes | dict | None = None, key: str | None = KEY, method: str | None = None):
    """(status, JSON or text) of one request; HTTP errors are answers too."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw, kind = response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as err:
        status, raw, kind = err.code, err.read(), err.headers.get("content-type", "")
    return status, json.loads(raw) if kind.startswith("application/json") else raw.decode()


def test_openai_client_chat_with_citations(server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server}/v1", api_key=KEY)
    assert [m.id for m in client.models.list()] == ["longvid"]
    done = client.chat.completions.create(model="longvid", messages=[
        {"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Is there a cat?"},
        {"role": "assistant", "content": "Yes."}, {"role": "user", "content": BUDGET}])  # fmt: skip
    text = done.choices[0].message.content
    cites = done.model_extra["citations"]
    assert "budget" in text.lower() and done.choices[0].finish_reason == "stop"
    assert cites[0]["start_s"] == pytest.approx(36.0, abs=2.0) and cites[0]["video"] == DEMO.name
    assert f"[1] {DEMO.name} {cites[0]['time']}" in text  # the citation in the text, for text-only clients
    assert done.choices[0].message.model_extra["citations"] == cites
    scoped = client.chat.completions.create(model="longvid", messages=[{"role": "user", "content": BUDGET}],
                                            extra_body={"video": DEMO.name})  # fmt: skip
    assert scoped.model_extra["citations"] == cites

    stream = client.chat.completions.create(model="longvid", messages=[{"role": "user", "content": BUDGET}],
                                            stream=True)  # fmt: skip
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["citations"] == cites

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server}/v1", api_key="wrong").models.list()
    with pytest.raises(openai.NotFoundError, match="unknown model"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": BUDGET}])


def test_chat_picks_a_video_with_the_extra_field(server):
    status, body = _call(f"{server}/v1/chat/completions", {"messages": [{"role": "user", "content": BUDGET}],
                                                           "video": "no-such-video"})  # fmt: skip
    assert status == 404 and "no-such-video" in body["error"]["message"]
    status, body = _call(f"{server}/v1/chat/completions", {"model": "longvid", "video": DEMO.name, "messages": [
        {"role": "user", "content": [{"type": "text", "text": BUDGET}]}]})  # fmt: skip
    assert status == 200 and body["citations"][0]["start_s"] == pytest.approx(36.0, abs=2.0)


def test_key_is_required_everywhere_and_errors_are_json(server):
    for path in ("/api/videos", "/v1/models"):
        status, body = _call(server + path, key=None)
        assert status == 401 and body["error"]["type"] == "authentication_error"
        assert _call(server + path, key="almost" + KEY)[0] == 401
    status, body = _call(f"{server}/api/search", b"{not json", method="POST")
    assert status == 422 and body["error"]["message"].startswith("invalid request")
    status, body = _call(f"{server}/api/search", {"query": "budget", "k": 0})
    assert status == 422 and "k" in body["error"]["message"]
    status, body = _call(f"{server}/api/search", {"query": "budget", "colour": "red"})
    assert status == 422 and "colour" in body["error"]["message"]
    status, body = _call(f"{server}/api/nothing-here")
    assert status == 404 and "error" in body
    status, body = _call(f"{server}/api/videos/nope")
    assert status == 404 and "nope" in body["error"]["message"]


def _raw_reply(server: str, head: str, body_pieces=()) -> str:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(f"POST /api/search HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n{head}\r\n".encode())
        for piece in body_pieces:
            conn.sendall(piece)
        return _read_reply(conn)


def _read_reply(conn: socket.socket) -> str:
    """The status line and the whole body: a head and its body may arrive in separate packets."""
    reply = http.client.HTTPResponse(conn)
    reply.begin()
    return f"HTTP/1.1 {reply.status} {reply.reason}\r\n\r\n{reply.read().decode()}"


def test_body_limit_refuses_a_declared_length_unread(server):
    reply = _raw_reply(server, f"Content-Type: application/json\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n")
    assert reply.startswith("HTTP/1.1 413") and "is over" in reply


def test_body_limit_holds_without_a_declared_length(server):
    """A chunked upload declares no length: the limit counts what arrives."""
    piece = b"x" * 65536
    chunks = [f"{len(piece):x}\r\n".encode() + piece + b"\r\n"] * (MAX_BODY_BYTES // len(piece) + 2) + [b"0\r\n\r\n"]
    reply = _raw_reply(server, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", chunks)
    assert reply.startswith("HTTP/1.1 413")


def test_the_openapi_schema_lists_every_route(server):
    status, schema = _call(f"{server}/openapi.json", key=None)
    assert status == 200 and schema["info"]["title"] == "longvid"
    assert {
        "/api/videos",
        "/api/videos/{ref}",
        "/api/videos/{ref}/transcript",
        "/api/videos/{ref}/chapters",
        "/api/search",
        "/api/ask",
        "/api/jobs/{job_id}",
        "/v1/models",
        "/v1/chat/completions",
    } <= set(schema["paths"])
    assert not any(path.startswith("/media") or "{rest" in path for path in schema["paths"])  # the page's, unlisted


def test_rest_videos_search_ask_transcript_chapters(server, demo_library):
    status, body = _call(f"{server}/api/videos")
    assert status == 200 and [v["name"] for v in body["videos"]] == [DEMO.name] and body["videos"][0]["present"]
    video_id = body["videos"][0]["id"]
    status, one = _call(f"{server}/api/videos/{video_id[:6]}")
    assert one["events"] == len(demo_library.index.events(video_id)) and one["overview"]["chapters"]

    status, found = _call(f"{server}/api/search", {"query": "budget bridge", "k": 3})
    assert status == 200 and found["hits"][0]["start_s"] == pytest.approx(36.0, abs=2.0)
    assert found["hits"][0]["relevance"] == 1.0 and all(h["relevance"] <= 1.0 for h in found["hits"])
    status, scoped = _call(f"{server}/api/search", {"query": "budget bridge", "time_range": [0, 20]})
    assert all(h["end_s"] > 0 and h["start_s"] < 20 for h in scoped["hits"])
    assert not any(h["start_s"] == found["hits"][0]["start_s"] for h in scoped["hits"])
    status, none = _call(f"{server}/api/search", {"query": "purple quantum giraffe spaceship"})
    assert status == 200 and none["hits"] == [] and none["reason"].startswith("no confident match")
    assert _call(f"{server}/api/search", {"query": "budget", "time_range": [20, 10]})[0] == 422

    status, answer = _call(f"{server}/api/ask", {"question": BUDGET})
    assert status == 200 and answer["citations"][0]["start_s"] == pytest.approx(36.0, abs=2.0)
    assert answer["plan"]["kind"] == "lookup"
    status, outside = _call(f"{server}/api/ask", {"question": BUDGET, "time_range": [0, 20]})
    assert all(c["start_s"] < 20 for c in outside["citations"])

    status, srt = _call(f"{server}/api/videos/{video_id}/transcript?format=srt")
    assert status == 200 and srt.startswith("1\n") and "budget for the new bridge" in srt
    status, words = _call(f"{server}/api/videos/{video_id}/transcript")
    assert any(w["text"].strip(".").lower() == "budget" for s in words["segments"] for w in s["words"])
    status, youtube = _call(f"{server}/api/videos/{video_id}/chapters?format=youtube")
    assert status == 200 and youtube.startswith("0:00 ")
    assert _call(f"{server}/api/videos/{video_id}/chapters?format=mkv")[0] == 422

    hit = found["hits"][0]
    request = urllib.request.Request(f"{server}/api/videos/{video_id}/moments/{hit['event']}/thumbnail")
    request.add_header("Authorization", f"Bearer {KEY}")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["content-type"] == "image/jpeg" and response.read(3) == b"\xff\xd8\xff"
    assert _call(f"{server}/api/videos/{video_id}/moments/9999/thumbnail")[0] == 404


def test_add_a_video_by_path_as_a_job(tmp_path):
    root = tmp_path / "videos"
    root.mkdir()
    clip = root / "bars.mp4"
    run_ffmpeg("-f lavfi -i testsrc2=size=160x90:rate=5 -t 4 -c:v libx264 -preset ultrafast {out}", out=clip)
    (root / "notes.txt").write_text("not a video")
    with Library(tmp_path / "lib", profile="embedded") as lib:
        app = create_app(lib, [root])
        try:
            with TestClient(app) as client:
                for path, status in (("/etc/passwd", 403), (str(root / ".." / "lib"), 403),
                                     (str(root / "notes.txt"), 400)):  # fmt: skip
                    assert client.post("/api/videos", json={"path": path}).status_code == status, path
                job = client.post("/api/videos", json={"path": str(clip)}).json()
                assert job["state"] in ("queued", "running")
                deadline = time.monotonic() + 120
                while (job := client.get(f"/api/jobs/{job['id']}").json())["state"] not in ("done", "failed"):
                    assert time.monotonic() < deadline, job
                    time.sleep(0.2)
                assert job["state"] == "done" and job["progress"] == 1.0 and job["status"] == "indexed", job
                assert [v["id"] for v in client.get("/api/videos").json()["videos"]] == [job["video_id"]]
                assert client.get("/api/jobs/nope").status_code == 404
        finally:
            app.state.jobs.close()


def test_job_reports_a_bad_video_and_the_worker_goes_on(tmp_path):
    root = tmp_path / "videos"
    root.mkdir()
    (root / "broken.mp4").write_text("nope")
    with Library(tmp_path / "lib", profile="embedded") as lib:
        app = create_app(lib, [root])
        try:
            with TestClient(app) as client:
                job = client.post("/api/videos", json={"path": str(root / "broken.mp4")}).json()
                for _ in range(300):
                    job = client.get(f"/api/jobs/{job['id']}").json()
                    if job["state"] == "failed":
                        break
                    time.sleep(0.1)
                assert job["state"] == "failed" and "broken.mp4" in job["error"] and "Traceback" not in job["error"]
        finally:
            app.state.jobs.close()


def test_progress_is_reported_in_order(tmp_path):
    part = tmp_path / "demo-part.mp4"  # the demo's first 40 s: slides and two sentences
    run_ffmpeg("-i {src} -t 40 -c copy {out}", src=DEMO, out=part)
    heard: list[tuple[str, float]] = []
    with Library(tmp_path / "lib", profile="embedded") as lib:
        lib.add(part, on_progress=lambda stage, f: heard.append((stage, f)))
    stages = [stage for stage, _ in heard]
    fractions = [f for _, f in heard]
    assert set(stages) == {"frames", "speech", "moments"} and stages[-1] == "moments"  # the passes overlap
    assert fractions == sorted(fractions) and 0 < fractions[0] <= 0.5 and fractions[-1] == pytest.approx(0.9)


def test_internal_errors_are_json_without_a_traceback(demo_library, monkeypatch):
    app = create_app(demo_library, [DEMO.parent])
    try:
        monkeypatch.setattr(demo_library, "search", lambda *a, **k: 1 / 0)
        with TestClient(app, raise_server_exceptions=False) as client:
            reply = client.post("/api/search", json={"query": "budget"})
        assert reply.status_code == 500 and reply.json()["error"]["message"].startswith("internal error (ZeroDivision")
        assert "Traceback" not in reply.text
    finally:
        app.state.jobs.close()


def test_cli_asks_a_running_server(server, monkeypatch, capsys):
    from longvid.app.cli import main

    monkeypatch.setenv("LONGVID_API_KEY", KEY)
    start = time.perf_counter()
    assert main(["ask", "--server", server, "--json", BUDGET]) == 0
    took = time.perf_counter() - start
    answer = json.loads(capsys.readouterr().out)
    assert answer["citations"][0]["start_s"] == pytest.approx(36.0, abs=2.0) and took < 3.0, took
    assert main(["search", "--server", server, "-k", "1", "budget bridge"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f" 1. {DEMO.name} 00:00:36.000") and "relevance 1.00" in out
    monkeypatch.setenv("LONGVID_API_KEY", "wrong")
    assert main(["ask", "--server", server, BUDGET]) == 1
    assert capsys.readouterr().err.strip().endswith("a valid API key is required: send Authorization: Bearer KEY")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    assert main(["ask", "--server", closed, BUDGET]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"longvid ask: error: cannot reach longvid serve at {closed}") and err.count("\n") == 1


def test_warm_loads_what_a_question_needs(tmp_path, demo_library):
    with Library(demo_library.root) as lib:
        assert "planner" not in vars(lib) and "text_embedder" not in vars(lib.indexer)
        lib.warm()
        assert "planner" in vars(lib) and "text_embedder" in vars(lib.indexer)
