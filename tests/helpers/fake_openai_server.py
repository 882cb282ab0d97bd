"""A loopback OpenAI-compatible server for tests: real HTTP on 127.0.0.1, scripted replies.

``FakeOpenAIServer`` speaks ``POST /v1/chat/completions`` and ``GET /v1/models``. Each chat
request takes the next entry of its script: a ``Reply`` (status, headers, body, delay) or a
callable ``(request_json) -> Reply``. When the script runs out, ``default`` answers (a 500 that
says so, unless set). Every request is recorded (JSON body and headers), and the server tracks
the largest number of requests it was handling at once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted HTTP reply; ``body`` is JSON-encoded unless it is already a string."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def chat_reply(
    content: str | None, finish_reason: str = "stop", prompt_tokens: int = 100, completion_tokens: int = 20
) -> Reply:
    """A 200 chat-completion reply whose first choice's message content is ``content``."""
    return Reply(
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": "fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def json_reply(data: dict[str, Any], **kwargs: Any) -> Reply:
    """A chat reply whose content is ``data`` as JSON text."""
    return chat_reply(json.dumps(data), **kwargs)


ScriptEntry = Reply | Callable[[dict[str, Any]], Reply]


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeOpenAIServer:
    """Context manager: ``with FakeOpenAIServer([...]) as srv: srv.base_url``."""

    def __init__(self, script: list[ScriptEntry] | None = None, default: ScriptEntry | None = None) -> None:
        self.script: list[ScriptEntry] = list(script or [])
        self.default: ScriptEntry = default or Reply(
            500, {"error": {"message": "fake server: script exhausted"}}
        )
        self.requests: list[Recorded] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a handler stuck in a scripted hang must not block shutdown
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            entry = self.script.pop(0) if self.script else self.default
        return entry(body) if callable(entry) else entry

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output clean

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    server._stop.wait(reply.delay)
                payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = payload.encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/v1/models"):
                    self._send(Reply(body={"object": "list", "data": [{"id": "fake", "object": "model"}]}))
                else:
                    self._send(Reply(404, {"error": {"message": f"no route {self.path}"}}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                with server._lock:
                    server.requests.append(Recorded(self.path, dict(self.headers.items()), body))
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    if not self.path.rstrip("/").endswith("/v1/chat/completions"):
                        self._send(Reply(404, {"error": {"message": f"no route {self.path}"}}))
                        return
                    self._send(server._next(body))
                finally:
                    with server._lock:
                        server._in_flight -= 1

        return Handler
