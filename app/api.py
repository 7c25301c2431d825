"""The HTTP API of ``longvid serve``: REST under ``/api`` and an OpenAI-compatible chat under ``/v1``.

Mounted on the same FastAPI app (and port) as the web page; the schema is at ``/openapi.json`` and the
reference at ``/docs``::

    GET  /api/videos                      the library's videos
    GET  /api/videos/{id}                 one video, with its overview
    GET  /api/videos/{id}/transcript      ?format=json|srt|vtt
    GET  /api/videos/{id}/chapters        ?format=json|youtube|ffmetadata
    GET  /api/videos/{id}/moments/{n}/thumbnail
    POST /api/search                      {"query", "k", "video", "time_range": [start_s, end_s]}
    POST /api/ask                         {"question", "video", "time_range"}
    POST /api/videos                      {"path"} under --root: a job id
    GET  /api/jobs/{id}                   the job's state and progress
    GET  /v1/models                       one model, "longvid"
    POST /v1/chat/completions             the last user message is the question; "video" picks one video;
                                          "stream": true sends server-sent events

Any chat client works (``OpenAI(base_url="http://127.0.0.1:7860/v1", api_key=KEY)``); citations come
back in the message text and as ``citations`` on the message and the completion. With an API key every
route wants ``Authorization: Bearer KEY``. Bodies over :data:`MAX_BODY_BYTES` are refused (413); videos
are added only from under the allowed roots; every error is JSON, ``{"error": {"message", "type", "code"}}``,
never a traceback.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from longvid.index import UnknownVideoError
from longvid.ingest import LongvidError, MediaError, TimeSpan

from . import exports, wire
from .jobs import VIDEO_SUFFIXES, IndexQueue
from .library import Library
from .webmedia import inside_roots

log = logging.getLogger(__name__)

MODEL_ID = "longvid"
MAX_BODY_BYTES = 1 << 20  # a JSON request larger than 1 MiB is not a question
MAX_K = 100  # most hits one search returns
MAX_TEXT_CHARS = 4000  # longest query or question
_PREFIXES = ("/api/", "/v1/")
_STREAM_WORDS = 4  # words per streamed chunk


class ApiError(Exception):
    """An error the API reports as JSON with an HTTP status."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def error_body(status: int, message: str, kind: str = "invalid_request_error") -> dict:
    """The one error shape (OpenAI's): ``{"error": {"message", "type", "code"}}``."""
    return {"error": {"message": message, "type": kind, "code": status}}


# -- requests ---------------------------------------------------------------------------------------------
class _Scoped(BaseModel):
    model_config = ConfigDict(extra="forbid")

    video: str | None = Field(None, description="video id, id prefix or file name (default: the whole library)")
    time_range: tuple[float, float] | None = Field(None, description="[start_s, end_s] to look inside")

    @model_validator(mode="after")
    def _range(self):
        if self.time_range is not None:
            start, end = self.time_range
            if not (0 <= start <= end):
                raise ValueError(f"time_range must be [start_s, end_s] with 0 <= start_s <= end_s, got {start}, {end}")
        return self

    def span(self) -> TimeSpan | None:
        return TimeSpan(*self.time_range) if self.time_range else None


class SearchRequest(_Scoped):
    query: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS)
    k: int = Field(10, ge=1, le=MAX_K)


class AskRequest(_Scoped):
    question: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS)


class AddRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., min_length=1, max_length=4096, description="a video file under one of the --root folders")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict] | None = None

    def text(self) -> str:
        """The message's text; a list of content parts contributes its ``text`` parts."""
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, ...: accepted, not used

    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    video: str | None = Field(None, description="longvid's extra field: answer about this video only")


# -- the app ----------------------------------------------------------------------------------------------
class BodyLimit:
    """ASGI middleware: an ``/api`` or ``/v1`` request body over ``max_bytes`` gets 413, declared or not
    (a chunked body is read up to the limit, then handed on whole)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(_PREFIXES):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return await self._refuse(send)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: disconnects, for streaming responses
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        body = json.dumps(error_body(413, f"the request body is over {self.max_bytes} bytes")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})  # fmt: skip


def create_app(
    library: Library, allowed_roots: Sequence[str | Path], api_key: str | None = None, jobs: IndexQueue | None = None
) -> FastAPI:
    """A FastAPI app with the API routes over ``library``; ``longvid serve`` mounts the web page on it."""
    roots = [Path(r).expanduser().resolve() for r in allowed_roots]
    runner = jobs or IndexQueue(library)
    app = FastAPI(title="longvid", summary="Ask long videos questions; answers cite the moments.",
                  version=_version())  # fmt: skip
    app.state.jobs = runner

    def authorised(request: Request) -> None:
        if api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            raise ApiError(401, "a valid API key is required: send Authorization: Bearer KEY", "authentication_error")

    api = APIRouter(prefix="/api", dependencies=[Depends(authorised)])
    openai = APIRouter(prefix="/v1", dependencies=[Depends(authorised)])

    @api.get("/videos", summary="The library's videos")
    def videos() -> dict:
        return {"videos": [wire.video_json(v) for v in library.videos()]}

    @api.get("/videos/{ref}", summary="One video and its overview")
    def one_video(ref: str) -> dict:
        record = library.video(ref)
        overview = library.overview(record.video_id)
        events = len(library.index.events(record.video_id))
        return wire.video_json(record, events, len(overview.chapters)) | {"overview": wire.overview_json(overview)}

    @api.get("/videos/{ref}/transcript", summary="What is said, with word times (json) or as subtitles")
    def transcript(ref: str, format: Literal["json", "srt", "vtt"] = "json"):
        record = library.video(ref)
        text = exports.export_transcript(library, record.video_id, format)
        return _formatted(text, format)

    @api.get("/videos/{ref}/chapters", summary="The video's chapters")
    def chapters(ref: str, format: Literal["json", "youtube", "ffmetadata"] = "json"):
        record = library.video(ref)
        text = exports.export_chapters(library, record.video_id, format)
        return _formatted(text, format)

    @api.get("/videos/{ref}/moments/{index}/thumbnail", summary="A moment's keyframe (JPEG)")
    def thumbnail(ref: str, index: int) -> FileResponse:
        path = library.thumbnail_path(library.video(ref).video_id, index)  # built here from an int: never a client path
        if index < 0 or not path.is_file():
            raise ApiError(404, f"video {ref} has no moment {index} with a thumbnail", "not_found_error")
        return FileResponse(path, media_type="image/jpeg")

    @api.post("/search", summary="Moments matching words, best first")
    def search(body: SearchRequest) -> dict:
        record = library.video(body.video) if body.video else None
        hits = library.search(body.query, k=body.k, video=record.video_id if record else None, time_range=body.span())
        return wire.hits_json(hits, hits.reason)

    @api.post("/ask", summary="An answer that cites the moments it rests on")
    def ask(body: AskRequest) -> dict:
        record = library.video(body.video) if body.video else None
        answer = library.ask(body.question, video=record.video_id if record else None, time_range=body.span())
        return wire.answer_json(answer)

    @api.post("/videos", status_code=202, summary="Index a video under --root; returns a job to poll")
    def add(body: AddRequest) -> dict:
        path = inside_roots(body.path, roots)
        if path is None or not path.is_file():
            raise ApiError(403, f"{body.path!r} is not a file under the allowed folders", "permission_error")
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise ApiError(400, f"{path.name} is not a video file ({', '.join(sorted(VIDEO_SUFFIXES))})")
        return asdict(runner.submit(path))

    @api.get("/jobs/{job_id}", summary="An indexing job's state and progress")
    def job(job_id: str) -> dict:
        found = runner.get(job_id)
        if found is None:
            raise ApiError(404, f"no job {job_id!r}", "not_found_error")
        return asdict(found)

    @openai.get("/models", summary="The one model: longvid")
    def models() -> dict:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "longvid"}]}

    @openai.post("/chat/completions", summary="OpenAI-compatible chat: the last user message is the question")
    def chat(body: ChatRequest):
        if body.model != MODEL_ID:
            raise ApiError(404, f"unknown model {body.model!r}; this server has one: {MODEL_ID!r}", "not_found_error")
        question = next((m.text() for m in reversed(body.messages) if m.role == "user"), "").strip()
        if not question:
            raise ApiError(400, "no user message with text: the last user message is the question")
        if len(question) > MAX_TEXT_CHARS:
            raise ApiError(400, f"the question is over {MAX_TEXT_CHARS} characters")
        record = library.video(body.video) if body.video else None
        answer = wire.answer_json(library.ask(question, video=record.video_id if record else None))
        text = chat_text(answer)
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if body.stream:
            return StreamingResponse(_stream(ident, created, text, answer), media_type="text/event-stream")
        message = {"role": "assistant", "content": text, "citations": answer["citations"]}
        return {"id": ident, "object": "chat.completion", "created": created, "model": MODEL_ID,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(question.split()), "completion_tokens": len(text.split()),
                          "total_tokens": len(question.split()) + len(text.split())},
                "citations": answer["citations"], "plan": answer["plan"]}  # fmt: skip

    for router in (api, openai):  # last: an unknown path under /api or /v1 is the API's 404, not the page's

        @router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
        def unknown_route(rest: str, request: Request):
            raise ApiError(404, f"no such endpoint: {request.method} {request.url.path}", "not_found_error")

        app.include_router(router)
    _errors(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    return app


def chat_text(answer: dict) -> str:
    """The answer with its citations listed under it, numbered, for chat clients that show only text.

    >>> chat_text({"answer": "A cat.", "citations": [{"video": "demo.mp4", "time": "00:12–00:18"}]})
    'A cat.\\n\\n[1] demo.mp4 00:12–00:18'
    """
    cites = [f"[{i}] {c['video']} {c['time']}" for i, c in enumerate(answer["citations"], start=1)]
    return answer["answer"] + ("\n\n" + "\n".join(cites) if cites else "")


def _stream(ident: str, created: int, text: str, answer: dict) -> Iterator[str]:
    """Server-sent ``chat.completion.chunk`` events: the role, the text a few words at a time, then the
    finish with the citations, then ``[DONE]``."""

    def event(delta: dict, finish: str | None = None, **extra) -> str:
        chunk = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}  # fmt: skip
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    words = text.split(" ")
    for at in range(0, len(words), _STREAM_WORDS):
        piece = " ".join(words[at : at + _STREAM_WORDS])
        yield event({"content": piece if at == 0 else " " + piece})
    yield event({}, "stop", citations=answer["citations"])
    yield "data: [DONE]\n\n"


def _formatted(text: str, fmt: str) -> PlainTextResponse:
    """An export's text as it is (the JSON formats are JSON already: sent, not parsed and written again)."""
    media = {"json": "application/json", "srt": "application/x-subrip", "vtt": "text/vtt"}.get(fmt, "text/plain")
    return PlainTextResponse(text, media_type=f"{media}; charset=utf-8")


def _errors(app: FastAPI) -> None:
    """Every failure as JSON in :func:`error_body`'s shape; unexpected ones logged here, not sent."""

    def reply(status: int, message: str, kind: str = "invalid_request_error", headers=None) -> JSONResponse:
        return JSONResponse(error_body(status, message, kind), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
        return reply(err.status, err.message, err.kind, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in err.errors())
        return reply(422, f"invalid request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException):
        return reply(err.status_code, str(err.detail), "not_found_error" if err.status_code == 404 else "http_error")

    def said(status: int, kind: str):  # longvid's own errors: their one-line message, with a status
        async def handler(request: Request, err: Exception):
            return reply(status, str(err), kind)

        return handler

    for error, status, kind in ((UnknownVideoError, 404, "not_found_error"), (MediaError, 422, "media_error"),
                                (LongvidError, 400, "invalid_request_error")):  # fmt: skip
        app.add_exception_handler(error, said(status, kind))  # the most specific class's handler answers

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception):
        log.exception("%s %s failed", request.method, request.url.path)
        return reply(500, f"internal error ({type(err).__name__}); the server log has the details", "server_error")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("longvid")
    except PackageNotFoundError:
        return "0"
