"""The SSRF guard: a destination URL may only reach the public internet.

A tenant chooses where deliveries go, so a destination could otherwise point
the connector at the instance metadata service, at the VPC, or at loopback.
Every address the host resolves to must be public; an operator may allow
specific internal `host:port` pairs (DELIVERY_ALLOWED_DESTINATIONS), which
is how the local stack delivers to its receiver on 127.0.0.1.

Checking at registration is not enough on its own (DNS can change between
the check and the delivery): the connector should check again before it
sends. Powertools has nothing for this; the standard library's `ipaddress`
does the classification.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from formrelay.domain.errors import FormrelayError

Resolver = Callable[..., Sequence[tuple[Any, ...]]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PORT = re.compile(r"[0-9]{1,5}")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


class DestinationRefusedError(FormrelayError):
    """A destination URL is malformed or would reach a non-public address."""


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


def check_destination_url(
    url: str, *, allowed: frozenset[str], resolve: Resolver = socket.getaddrinfo
) -> None:
    """Return if url may receive deliveries; raise DestinationRefusedError otherwise."""
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
    port = port if port is not None else _DEFAULT_PORTS[scheme]
    if f"{host}:{port}" in allowed:
        return
    try:
        answers = resolve(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DestinationRefusedError(f"host {host} does not resolve") from exc
    addresses = {str(answer[4][0]) for answer in answers}
    if not addresses:
        raise DestinationRefusedError(f"host {host} does not resolve")
    if not all(is_public_address(a) for a in addresses):
        # Which address is not said: the answer would map internal DNS for the caller.
        raise DestinationRefusedError(f"host {host} resolves to a non-public address")
