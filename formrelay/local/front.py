"""The HTTP front: mirrors API Gateway HTTP API with a Lambda REQUEST authorizer.

Odd requests get API Gateway's kind of answer, a `{"message": ...}` JSON 4xx, never
the HTML error page or dropped connection of Python's http.server, and no answer
carries a Server header (API Gateway sends none).
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from formrelay.local.apigw import (
    HttpRequest,
    HttpResponse,
    authorizer_event,
    gateway_error,
    map_response,
    missing_identity,
    proxy_event,
    simple_authorization,
)
from formrelay.local.functions import FunctionRuntime, FunctionSpec
from formrelay.local.routes import Route, RouteTable

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024
# HTTP API's quota on the request line and header values together (not adjustable).
MAX_HEADER_BYTES = 10240
# One Content-Length of ASCII digits only: not "5, 5", "+5", "0x10", nor other Unicode digits.
_CONTENT_LENGTH = re.compile(r"[0-9]{1,20}")


class BodyTooLargeError(ValueError):
    """The request body is over API Gateway's 10 MB payload limit."""


class BadFramingError(ValueError):
    """The request's Content-Length (or chunking) does not say where its body ends."""


class Gateway:
    """Routes a request, runs the authorizer, then the route's function."""

    def __init__(
        self, routes: RouteTable, runtimes: dict[str, FunctionRuntime] | None = None
    ) -> None:
        self.routes = routes
        # By logical id; given by the stack so every event source shares a function's containers.
        self._runtimes: dict[str, FunctionRuntime] = {} if runtimes is None else runtimes
        # Powertools' event handler keeps the current event on the BaseRouter class, not
        # on the resolver: one invocation per process, as on Lambda. Route functions run
        # one at a time here, or concurrent requests would read each other's event (and
        # each other's tenant). Authorizers use no resolver and run concurrently.
        self._route_lock = threading.Lock()

    def _runtime(self, spec: FunctionSpec) -> FunctionRuntime:
        """One runtime (lazily imported handler) per function."""
        if spec.logical_id not in self._runtimes:
            self._runtimes[spec.logical_id] = FunctionRuntime(spec)
        return self._runtimes[spec.logical_id]

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request the way API Gateway would."""
        found = self.routes.match(request.method, unquote(request.raw_path))
        if found is None:
            return gateway_error(404, "Not Found")
        route, path_params = found
        if missing_identity(request, route):
            return gateway_error(401, "Unauthorized")
        context = None
        if route.authorizer is not None:
            decision = self._authorize(request, route, path_params)
            if isinstance(decision, HttpResponse):
                return decision
            context = decision
        try:
            event = proxy_event(request, route, path_params, context)
            with self._route_lock:
                result = self._runtime(route.function).invoke(event)
            return map_response(result)
        except Exception:
            logger.exception("function %s failed on %s", route.function.name, route.route_key)
            return gateway_error(500, "Internal Server Error")

    def _authorize(
        self, request: HttpRequest, route: Route, path_params: dict[str, str]
    ) -> HttpResponse | dict[str, object]:
        """The authorizer's context, or the error response API Gateway would send."""
        assert route.authorizer is not None
        runtime = self._runtime(route.authorizer.function)
        try:
            result = runtime.invoke(authorizer_event(request, route, path_params))
            allowed, context = simple_authorization(result)
        except Exception:
            logger.exception("authorizer %s failed", route.authorizer.function.name)
            return gateway_error(500, "Internal Server Error")
        return context if allowed else gateway_error(403, "Forbidden")


def _read_chunked(rfile: io.BufferedIOBase) -> bytes:
    """Read a Transfer-Encoding: chunked body."""
    chunks: list[bytes] = []
    total = 0
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise BodyTooLargeError
        chunks.append(rfile.read(size))
        rfile.readline()


class FrontHandler(BaseHTTPRequestHandler):
    """Reads requests off the socket and hands them to the Gateway."""

    protocol_version = "HTTP/1.1"
    # What a request line that names no valid version is answered in: API Gateway speaks no
    # HTTP/0.9, whose bare answers (no status line, no headers) http.server would send.
    default_request_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: FrontServer

    def _read_body(self) -> bytes:
        """Read the body by Content-Length (or chunked); enforce the 10 MB limit."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            try:
                return _read_chunked(self.rfile)
            except ValueError as exc:  # a chunk size that is not hex
                raise BadFramingError from exc
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b""
        if len(lengths) > 1 or not _CONTENT_LENGTH.fullmatch(lengths[0].strip(" \t")):
            raise BadFramingError
        length = int(lengths[0])
        if length > MAX_BODY_BYTES:
            raise BodyTooLargeError
        return self.rfile.read(length) if length > 0 else b""

    def _header_bytes(self) -> int:
        """The size API Gateway counts against its header quota."""
        values = sum(
            len(value.encode("utf-8", "surrogateescape")) for value in self.headers.values()
        )
        return len(self.requestline.encode("utf-8", "surrogateescape")) + values

    def _handle(self) -> None:
        """Serve any method."""
        if self._header_bytes() > MAX_HEADER_BYTES:
            # The status API Gateway's quota error is mirrored with; the body is not read.
            self.close_connection = True
            self._send(gateway_error(431, "Request Header Fields Too Large"))
            return
        try:
            body = self._read_body()
        except BodyTooLargeError:
            self.close_connection = True
            self._send(gateway_error(413, "Request Entity Too Large"))
            return
        except BadFramingError:
            # Where this body ends is unknown, so the connection cannot carry another request.
            self.close_connection = True
            self._send(gateway_error(400, "Bad Request"))
            return
        parts = urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            raw_path=parts.path,
            raw_query=parts.query,
            header_pairs=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        response = self.server.gateway.handle(request)
        response.header_pairs.append(("apigw-requestid", request.request_id))
        self._send(response)

    def _send(self, response: HttpResponse) -> None:
        """Write status, headers and body with an exact Content-Length."""
        self.send_response(response.status)
        for name, value in response.header_pairs:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def __getattr__(self, name: str) -> Callable[[], None]:
        """Serve every method token: http.server dispatches on `do_<METHOD>` and answers any
        method it lacks (a lowercase `get`) with an HTML 501; API Gateway routes the method
        as sent, and a method no route has gets its 404 {"message":"Not Found"}."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def send_response(self, code: int, message: str | None = None) -> None:
        """The status line and Date, without http.server's Server header."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server refuses itself (a malformed request line, header lines too long
        or too many) answered as API Gateway's JSON, not an HTML page."""
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        self._send(gateway_error(code, HTTPStatus(code).phrase))

    def log_message(self, format: str, *args: object) -> None:
        """Access log at debug level instead of stderr."""
        logger.debug("%s " + format, self.address_string(), *args)


class FrontServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the Gateway."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        super().__init__(address, FrontHandler)
        self.gateway = gateway


class Front:
    """The HTTP front running in a background thread."""

    def __init__(
        self,
        routes: RouteTable,
        host: str = "127.0.0.1",
        port: int = 0,
        runtimes: dict[str, FunctionRuntime] | None = None,
    ) -> None:
        self._server = FrontServer((host, port), Gateway(routes, runtimes))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="formrelay-front", daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8787."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
