"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: scripted replies, recorded requests.

Each POST to /v1/chat/completions takes the next scripted reply (status, headers, body, delay);
when the script is empty it answers with `answer(request body)` (by default `answer_for`, a
deterministic completion); json.dumps sends any lone surrogate in it as a `\\udXXX` escape.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Scripted:
    status: int = 200
    body: bytes | None = None  # None: a normal completion for the request
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def answer_for(payload: dict) -> str:
    system = payload["messages"][0]["content"]
    question = payload["messages"][-1]["content"]
    # The regional prompt ends "based in <context>. ..." : echo the context to prove it arrived.
    context = system.split("based in ", 1)[-1].split(".", 1)[0]
    return f"[{payload['model']}] from {context}: {question}"


def completion(payload: dict, answer=answer_for) -> bytes:
    text = answer(payload)
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": payload["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 11, "completion_tokens": len(text.split())},
        }
    ).encode()


class FakeOpenAIServer:
    def __init__(
        self,
        models: list[str] | None = None,
        api_key: str | None = None,
        reply_headers: dict[str, str] | None = None,
        models_body: bytes | None = None,
        answer=answer_for,
    ):
        self.script: deque[Scripted] = deque()
        self.requests: list[dict] = []  # {"path", "headers", "json"}
        self.models = models  # listed by GET /v1/models; None: 404 there
        self.models_body = models_body  # when set, GET /v1/models answers 200 with it as is
        self.answer = answer  # request body -> the text of an unscripted completion
        # Headers of every reply not scripted, e.g. the cloud region that served it.
        self.reply_headers = dict(reply_headers or {})
        self.api_key = api_key  # when set, other bearer tokens get 401
        self.default_delay_s = 0.0  # delay of unscripted replies
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def _authorized(self) -> bool:
                return server.api_key is None or (
                    self.headers.get("Authorization") == f"Bearer {server.api_key}"
                )

            def do_GET(self):
                if not self._authorized():
                    return self._send(401, b'{"error": "bad key"}')
                if self.path == "/v1/models" and server.models_body is not None:
                    return self._send(200, server.models_body)
                if self.path == "/v1/models" and server.models is not None:
                    data = [{"id": m, "object": "model"} for m in server.models]
                    return self._send(200, json.dumps({"object": "list", "data": data}).encode())
                return self._send(404, b'{"error": "not found"}')

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "json": payload}
                    )
                    scripted = (
                        server.script.popleft()
                        if server.script
                        else Scripted(
                            delay_s=server.default_delay_s, headers=dict(server.reply_headers)
                        )
                    )
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if scripted.delay_s:
                        time.sleep(scripted.delay_s)
                    if not self._authorized():
                        return self._send(401, b'{"error": "bad key"}')
                    if self.path != "/v1/chat/completions":
                        return self._send(404, b'{"error": "no such route"}')
                    body = scripted.body
                    if body is None:
                        body = completion(payload, server.answer)
                    self._send(scripted.status, body, scripted.headers)
                finally:
                    with server._lock:
                        server.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"] == "/v1/chat/completions"]
