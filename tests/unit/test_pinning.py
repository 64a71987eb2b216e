"""The delivery client connects only to addresses the SSRF guard checked.

Real HTTP to real local servers; DNS is a resolver handed to the client (no global
patching): a name resolves to whatever the test says, once per connection.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
import trustme

from formrelay.delivery.pinning import pinned_client
from formrelay.delivery.ssrf import DestinationRefusedError, check_destination_url
from formrelay.delivery.webhook import OutgoingRequest, send
from tests.support.scripted_receiver import ScriptedReceiver

PUBLIC = "93.184.216.34"
NAME = "hooks.formrelay.test"


class Dns:
    """A resolver answering each lookup of a name with the next of its answers (the last
    one again when they run out), recording every lookup."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int, *args: Any) -> Sequence[tuple[Any, ...]]:
        self.lookups.append(host)
        address = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture(scope="module")
def receiver() -> Iterator[ScriptedReceiver]:
    server = ScriptedReceiver().start()
    yield server
    server.stop()


def _port(receiver: ScriptedReceiver) -> int:
    return int(receiver.address.rsplit(":", 1)[1])


def test_a_name_resolving_to_an_allowed_server_is_reached_with_its_own_host_header(
    receiver: ScriptedReceiver,
) -> None:
    port = _port(receiver)
    dns = Dns("127.0.0.1")
    with pinned_client(allowed=frozenset({f"{NAME}:{port}"}), resolve=dns) as client:
        answer = client.post(f"http://{NAME}:{port}/pinned", content=b"{}")
    assert answer.status_code == 200
    [seen] = receiver.requests("/pinned")
    assert seen["headers"]["host"] == f"{NAME}:{port}"
    assert dns.lookups == [NAME]  # resolved once, for the one connection


def test_a_name_that_rebinds_to_loopback_after_a_public_answer_is_never_reached(
    receiver: ScriptedReceiver,
) -> None:
    port = _port(receiver)
    dns = Dns(PUBLIC, "127.0.0.1")
    url = f"http://rebind.formrelay.test:{port}/rebound"
    check_destination_url(url, allowed=frozenset(), resolve=dns)  # the PUT's check: public
    client = pinned_client(allowed=frozenset({receiver.address}), resolve=dns)
    with client, pytest.raises(DestinationRefusedError, match="non-public"):
        client.post(url, content=b"{}")
    assert receiver.requests("/rebound") == []


def test_one_private_address_among_public_ones_refuses_the_name(
    receiver: ScriptedReceiver,
) -> None:
    port = _port(receiver)

    def mixed(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in ("127.0.0.1", PUBLIC)
        ]

    client = pinned_client(allowed=frozenset(), resolve=mixed)
    with client, pytest.raises(DestinationRefusedError):
        client.post(f"http://mixed.formrelay.test:{port}/mixed", content=b"{}")
    assert receiver.requests("/mixed") == []


def test_a_resolution_that_hangs_is_a_retryable_connect_timeout(
    receiver: ScriptedReceiver,
) -> None:
    released = threading.Event()

    def hangs(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        released.wait(30)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    port = _port(receiver)
    request = OutgoingRequest("POST", f"http://slow.formrelay.test:{port}/slow", {}, b"{}")
    try:
        with pinned_client(allowed=frozenset({f"slow.formrelay.test:{port}"}), resolve=hangs) as c:
            result = send(c, request, read_timeout=0.5, connect_timeout=0.2)
    finally:
        released.set()
    assert (result.outcome, result.error_class) == ("retryable_failure", "ConnectTimeout")
    assert receiver.requests("/slow") == []


class _TlsHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _TlsServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.hosts.append(self.headers.get("host", ""))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _TlsServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, certificate: trustme.LeafCert) -> None:
        super().__init__(("127.0.0.1", 0), _TlsHandler)
        self.hosts: list[str] = []
        self.server_names: list[str | None] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(context)
        context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
        self.socket = context.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client refusing the certificate hangs up: part of the test, not an error."""


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_server(authority: trustme.CA) -> Iterator[_TlsServer]:
    # The certificate names the made-up host only: not 127.0.0.1, the address connected to.
    server = _TlsServer(authority.issue_cert(NAME))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _trusting(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


def test_https_to_a_pinned_address_sends_the_name_for_sni_and_verifies_it(
    authority: trustme.CA, tls_server: _TlsServer
) -> None:
    port = tls_server.server_address[1]
    dns = Dns("127.0.0.1")
    allowed = frozenset({f"{NAME}:{port}"})
    with pinned_client(allowed=allowed, resolve=dns, verify=_trusting(authority)) as client:
        answer = client.post(f"https://{NAME}:{port}/in", content=b"{}")
    assert answer.status_code == 204
    assert tls_server.server_names[-1] == NAME
    assert tls_server.hosts[-1] == f"{NAME}:{port}"


def test_https_refuses_a_certificate_for_another_name(
    authority: trustme.CA, tls_server: _TlsServer
) -> None:
    port = tls_server.server_address[1]
    other = "other.formrelay.test"
    seen = len(tls_server.hosts)
    allowed = frozenset({f"{other}:{port}"})
    client = pinned_client(allowed=allowed, resolve=Dns("127.0.0.1"), verify=_trusting(authority))
    with client, pytest.raises(httpx.ConnectError, match=r"(?i)certificate|hostname"):
        client.post(f"https://{other}:{port}/in", content=b"{}")
    assert len(tls_server.hosts) == seen


def test_redirects_are_not_followed(receiver: ScriptedReceiver) -> None:
    port = _port(receiver)
    with pinned_client(allowed=frozenset({f"{NAME}:{port}"}), resolve=Dns("127.0.0.1")) as c:
        request = OutgoingRequest("POST", f"http://{NAME}:{port}/redirects", {}, b"{}")
        result = send(c, request, read_timeout=0.5, connect_timeout=0.5)
    assert (result.status_code, result.outcome) == (302, "final_failure")


def test_a_refusal_leaves_the_client_usable_for_the_next_destination(
    receiver: ScriptedReceiver,
) -> None:
    port = _port(receiver)

    def names(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        address = "127.0.0.1" if host == NAME else "10.0.0.7"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    with pinned_client(allowed=frozenset({f"{NAME}:{port}"}), resolve=names) as client:
        for _ in range(3):
            with pytest.raises(DestinationRefusedError):
                client.post(f"http://intranet.formrelay.test:{port}/intranet", content=b"{}")
            assert client.post(f"http://{NAME}:{port}/after", content=b"{}").status_code == 200
    assert receiver.requests("/intranet") == []
    assert len(receiver.requests("/after")) == 3
