"""The HTTP client deliveries go out on: it connects only to addresses the SSRF guard checked.

httpx resolves a URL's host when it connects; checking the host's addresses beforehand
leaves a window in which a changed DNS answer (rebinding) reaches a private address. Here
the connection itself is made by a network backend that resolves the host once, checks
every address (formrelay.delivery.ssrf.checked_addresses) and connects to one of those
addresses. httpcore keeps the URL's host for everything else: the Host header, the TLS
server name (SNI) and the certificate's hostname check. Redirects are never followed.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

import httpcore
import httpx

from formrelay.delivery.ssrf import (
    DEFAULT_RESOLVE_TIMEOUT_SECONDS,
    DestinationResolutionTimeoutError,
    Resolver,
    checked_addresses,
)


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, connecting to checked addresses of the host it is given."""

    def __init__(self, *, allowed: frozenset[str], resolve: Resolver) -> None:
        self.allowed = allowed
        self.resolve = resolve
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve host once (DestinationRefusedError if any address is not public) and
        connect to the first of its addresses that answers."""
        try:
            addresses = checked_addresses(
                host,
                port,
                allowed=self.allowed,
                resolve=self.resolve,
                timeout=timeout or DEFAULT_RESOLVE_TIMEOUT_SECONDS,
            )
        except DestinationResolutionTimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # checked_addresses returns at least one address
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Never: deliveries go over TCP only."""
        raise httpcore.ConnectError("deliveries do not use unix sockets")

    def sleep(self, seconds: float) -> None:
        """httpcore's own pause between connection retries."""
        self.inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a PinnedBackend (no proxies, no environment)."""

    def __init__(
        self,
        *,
        allowed: frozenset[str],
        resolve: Resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        super().__init__(verify=verify, trust_env=False)
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        limits = httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(allowed=allowed, resolve=resolve),
        )


def pinned_client(
    *,
    allowed: frozenset[str],
    resolve: Resolver = socket.getaddrinfo,
    verify: ssl.SSLContext | bool = True,
    event_hooks: Mapping[str, list[Any]] | None = None,
) -> httpx.Client:
    """The delivery client: checked addresses only, redirects never followed."""
    return httpx.Client(
        transport=PinnedTransport(allowed=allowed, resolve=resolve, verify=verify),
        follow_redirects=False,
        trust_env=False,
        event_hooks=dict(event_hooks or {}),
    )
