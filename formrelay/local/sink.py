"""A local webhook receiver that records every delivery it gets.

It answers 200, except at `/status/<code>` (a code from 200 to 599), which answers
that status: a destination there fails as a receiver that is down (503) or that
refuses the delivery (422) would, so the demo shows every state a delivery ends in.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

logger = logging.getLogger(__name__)

# /status/503 answers 503; any other path, 200.
_STATUS_PATH = re.compile(r"/status/([2-5][0-9][0-9])")


def answer_status(path: str) -> int:
    """The status the sink answers a request for this path with."""
    matched = _STATUS_PATH.fullmatch(path.split("?")[0])
    return int(matched.group(1)) if matched else 200


class SinkHandler(BaseHTTPRequestHandler):
    """Records each request (a /status/ one too); GET /received lists what was recorded."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: SinkServer

    def _handle(self) -> None:
        """Record the request and answer {"ok": true} with 200, or its path's status."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if self.command == "GET" and self.path.split("?")[0] == "/received":
            self._send(json.dumps(self.server.received()).encode())
            return
        self.server.record(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body.decode("utf-8", errors="replace"),
                "received_at": time.time(),
            }
        )
        status = answer_status(self.path)
        answer = {"ok": True} if status < 300 else {"ok": False, "status": status}
        self._send(json.dumps(answer, separators=(",", ":")).encode(), status)

    def _send(self, body: bytes, status: int = 200) -> None:
        """Write a JSON response."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: object) -> None:
        """Access log at debug level instead of stderr."""
        logger.debug("sink: " + format, *args)


class SinkServer(ThreadingHTTPServer):
    """Threading HTTP server holding the recorded requests."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, SinkHandler)
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []

    def record(self, entry: dict[str, Any]) -> None:
        """Append one recorded request."""
        with self._lock:
            self._received.append(entry)

    def received(self) -> list[dict[str, Any]]:
        """A copy of everything recorded so far."""
        with self._lock:
            return list(self._received)


class Sink:
    """The webhook sink in a background thread; usable as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = SinkServer((host, port))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="formrelay-sink", daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL of the sink, e.g. http://127.0.0.1:50123."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def received(self) -> list[dict[str, Any]]:
        """Everything recorded so far (in-process; GET /received over HTTP)."""
        return self._server.received()

    def start(self) -> Sink:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
