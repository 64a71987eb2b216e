"""The SSRF guard: a destination URL may only reach the public internet.

A tenant chooses where deliveries go, so a destination could otherwise point
the connector at the instance metadata service, at the VPC, or at loopback.
Every address the host resolves to must be public; an operator may allow
specific internal `host:port` pairs (DELIVERY_ALLOWED_DESTINATIONS), which
is how the local stack delivers to its receiver on 127.0.0.1.

Checking at registration is not enough on its own (DNS can change between
the check and the delivery), and neither is checking again before sending if
the HTTP client then resolves the name a second time: an answer that changes
in between (DNS rebinding) would reach a private address. So the connector
resolves once, checks every address, and connects to a checked address
itself (formrelay.delivery.pinning), while Host, SNI and the certificate check
keep the URL's name. Powertools has nothing for this; the standard library's
`ipaddress` does the classification.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from formrelay.domain.errors import FormrelayError

Resolver = Callable[..., Sequence[tuple[Any, ...]]]

DEFAULT_RESOLVE_TIMEOUT_SECONDS = 2.0
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PORT = re.compile(r"[0-9]{1,5}")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


class DestinationRefusedError(FormrelayError):
    """A destination URL is malformed or would reach a non-public address."""


class DestinationResolutionTimeoutError(FormrelayError):
    """A destination's host did not resolve within the resolution timeout."""


def allowed_from_env(value: str) -> frozenset[str]:
    """The `host:port` pairs of DELIVERY_ALLOWED_DESTINATIONS ("host:port,host:port")."""
    allowed = set()
    for part in value.split(","):
        entry = part.strip().lower()
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        # ASCII digits only: '\u0668\u0660'.isdigit() is true, and int() reads it as 80.
        if not sep or not host or not _PORT.fullmatch(port) or not 0 < int(port) < 65536:
            raise ValueError(f"allowed destination {entry!r} is not host:port")
        allowed.add(f"{host.strip('[]')}:{int(port)}")
    return frozenset(allowed)


def is_public_address(address: str) -> bool:
    """Whether an IP address (text) is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    if ip in _METADATA or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED):
        return False
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def destination_origin(url: str) -> tuple[str, str, int]:
    """A destination URL's (scheme, host, port); DestinationRefusedError if malformed.

    Only the URL's shape: whether its addresses are public is checked on resolution.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefusedError(f"url is malformed: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise DestinationRefusedError("url scheme must be http or https")
    host = (parts.hostname or "").lower()
    if not host:
        raise DestinationRefusedError("url has no host")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise DestinationRefusedError("url must not carry credentials (use auth)")
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def resolve_within(
    resolve: Resolver, host: str, port: int, timeout: float
) -> Sequence[tuple[Any, ...]]:
    """resolve(host, port, 0, SOCK_STREAM), or DestinationResolutionTimeoutError after timeout.

    The resolver runs on a daemon thread: a lookup that hangs is abandoned, never waited on.
    """
    answer: list[Sequence[tuple[Any, ...]]] = []
    failure: list[BaseException] = []

    def lookup() -> None:
        try:
            answer.append(resolve(host, port, 0, socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if failure:
        raise failure[0]
    if not answer:
        raise DestinationResolutionTimeoutError(f"host {host} did not resolve within {timeout:g} s")
    return answer[0]


def checked_addresses(
    host: str,
    port: int,
    *,
    allowed: frozenset[str],
    resolve: Resolver = socket.getaddrinfo,
    timeout: float = DEFAULT_RESOLVE_TIMEOUT_SECONDS,
) -> list[str]:
    """Resolve host once and return its addresses, every one public unless host:port is allowed.

    DestinationRefusedError if the host does not resolve or any address is not public;
    DestinationResolutionTimeoutError if the resolver takes longer than timeout.
    """
    host = host.lower().strip("[]")
    try:
        answers = resolve_within(resolve, host, port, timeout)
    except (OSError, UnicodeError) as exc:
        raise DestinationRefusedError(f"host {host} does not resolve") from exc
    addresses = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
    if not addresses:
        raise DestinationRefusedError(f"host {host} does not resolve")
    if f"{host}:{port}" in allowed:
        return addresses
    if not all(is_public_address(a) for a in addresses):
        # Which address is not said: the answer would map internal DNS for the caller.
        raise DestinationRefusedError(f"host {host} resolves to a non-public address")
    return addresses


def check_destination_url(
    url: str,
    *,
    allowed: frozenset[str],
    resolve: Resolver = socket.getaddrinfo,
    timeout: float = DEFAULT_RESOLVE_TIMEOUT_SECONDS,
) -> None:
    """Return if url may receive deliveries; raise DestinationRefusedError otherwise
    (DestinationResolutionTimeoutError if its host takes longer than timeout to resolve)."""
    _, host, port = destination_origin(url)
    if f"{host}:{port}" in allowed:
        return
    checked_addresses(host, port, allowed=allowed, resolve=resolve, timeout=timeout)
