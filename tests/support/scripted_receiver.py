"""A webhook receiver that misbehaves on purpose, by path, and records everything.

Each path is a script: what to answer on the first, second, ... request of a
given webhook-id. A test may also `play` a path of its own: a list of answers
(`Answer`: a status with headers, a connection reset, or a hang past the
client's timeout), one per request in order. Requests are recorded with their
headers and bodies so tests can verify signatures and count attempts.
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Behaviour = Callable[["_Handler", int], None]


def _answer(handler: _Handler, status: int, headers: dict[str, str] | None = None) -> None:
    # A 204 or 304 has no body (RFC 9110): bytes sent after one would be read as the start
    # of the next answer on the connection.
    body = b"" if status in (204, 304) else json.dumps({"status": status}).encode()
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if body:
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def ok(handler: _Handler, seen: int) -> None:
    """200 always."""
    _answer(handler, 200)


def flaky(handler: _Handler, seen: int) -> None:
    """500 the first time, then 200."""
    _answer(handler, 500 if seen == 1 else 200)


def down(handler: _Handler, seen: int) -> None:
    """503 forever."""
    _answer(handler, 503)


def hangs_once(handler: _Handler, seen: int) -> None:
    """Longer than any read timeout the first time, then 200."""
    if seen == 1:
        time.sleep(4)
    _answer(handler, 200)


def _reset(handler: _Handler) -> None:
    """Close the connection with an RST, answering nothing."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def resets_once(handler: _Handler, seen: int) -> None:
    """Connection reset (RST) the first time, then 200."""
    if seen == 1:
        _reset(handler)
        return
    _answer(handler, 200)


def rate_limited_once(handler: _Handler, seen: int) -> None:
    """429 with Retry-After: 3600 the first time, then 200."""
    if seen == 1:
        _answer(handler, 429, {"retry-after": "3600"})
    else:
        _answer(handler, 200)


def odd_retry_after_once(handler: _Handler, seen: int) -> None:
    """429 with `Retry-After: \u00b2` (superscript two: not a number to RFC 9110) once, then 200."""
    if seen == 1:
        _answer(handler, 429, {"retry-after": "\u00b2"})
    else:
        _answer(handler, 200)


def gone(handler: _Handler, seen: int) -> None:
    """410 Gone."""
    _answer(handler, 410)


def slow_body(handler: _Handler, seen: int) -> None:
    """200 at once, then a body that trickles for seconds."""
    handler.send_response(200)
    handler.send_header("content-type", "text/plain")
    handler.send_header("content-length", "2000")
    handler.end_headers()
    for _ in range(20):
        try:
            handler.wfile.write(b"x" * 100)
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(0.25)


def redirects(handler: _Handler, seen: int) -> None:
    """302 to a path that would accept anything."""
    _answer(handler, 302, {"location": "/ok"})


def coin_flip(handler: _Handler, seen: int) -> None:
    """500 half the time."""
    _answer(handler, 500 if random.random() < 0.5 else 200)


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a status with headers, or a reset, or a hang of so many seconds
    before answering the status (longer than the client waits: a timeout)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    hang_seconds: float = 0.0

    def play(self, handler: _Handler) -> None:
        """Answer one request as scripted."""
        if self.reset:
            _reset(handler)
            return
        if self.hang_seconds:
            time.sleep(self.hang_seconds)
            handler.close_connection = True
        _answer(handler, self.status, self.headers)


SCRIPTS: dict[str, Behaviour] = {
    "/ok": ok,
    "/flaky": flaky,
    "/down": down,
    "/hangs-once": hangs_once,
    "/resets-once": resets_once,
    "/rate-limited-once": rate_limited_once,
    "/odd-retry-after-once": odd_retry_after_once,
    "/gone": gone,
    "/slow-body": slow_body,
    "/redirects": redirects,
    "/coin-flip": coin_flip,
}


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        seen = self.server.record(self.path, dict(self.headers.items()), body)
        played = self.server.played(self.path)
        if played is not None:
            played.play(self)
            return
        SCRIPTS.get(self.path, ok)(self, seen)

    do_PUT = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.seen: dict[tuple[str, str], int] = defaultdict(int)
        self.plays: dict[str, list[Answer]] = {}

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer are part of the script, not errors."""

    def played(self, path: str) -> Answer | None:
        """The next answer of a played path (200 once its answers run out); None if unplayed."""
        with self.lock:
            answers = self.plays.get(path)
            if answers is None:
                return None
            return answers.pop(0) if answers else Answer()

    def record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        lowered = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            key = (path, lowered.get("webhook-id", ""))
            self.seen[key] += 1
            self.requests.append(
                {"path": path, "headers": lowered, "body": body, "at": time.time()}
            )
            return self.seen[key]


class ScriptedReceiver:
    """Start it, point destinations at `url + path`, read `requests` afterwards."""

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """host:port, for allowing it past the SSRF guard."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://{self.address}"

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Everything received (on one path)."""
        with self._server.lock:
            return [r for r in self._server.requests if path is None or r["path"] == path]

    def play(self, path: str, answers: Sequence[Answer]) -> str:
        """Answer the requests to `path` with these answers, in order; return its URL."""
        with self._server.lock:
            self._server.plays[path] = list(answers)
        return self.url + path

    def start(self) -> ScriptedReceiver:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
