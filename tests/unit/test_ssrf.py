"""The SSRF guard: destination URLs may only reach public addresses (no real DNS here)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formrelay.delivery.ssrf import (
    DestinationRefusedError,
    allowed_from_env,
    check_destination_url,
    checked_addresses,
    destination_origin,
    is_public_address,
)
from formrelay.domain.errors import FormrelayError

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


def resolver(*addresses: str) -> Callable[..., Sequence[tuple[Any, ...]]]:
    """A getaddrinfo stand-in answering the given addresses for any host."""

    def resolve(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        answers: list[tuple[Any, ...]] = []
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            answers.append((family, socket.SOCK_STREAM, 6, "", (address, port)))
        return answers

    return resolve


def unresolvable(*args: Any) -> list[tuple[Any, ...]]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_public_host_passes() -> None:
    check_destination_url(
        "https://hooks.example.com/in", allowed=frozenset(), resolve=resolver(PUBLIC_V4, PUBLIC_V6)
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # EC2/ECS metadata
        "169.254.10.10",
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",  # EC2 metadata over IPv6
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "2002:0a00:0001::1",  # 6to4 wrapping 10.0.0.1
        "64:ff9b::10.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(DestinationRefusedError):
        check_destination_url(
            "https://hooks.example.com/", allowed=frozenset(), resolve=resolver(address)
        )


def test_one_private_answer_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(DestinationRefusedError, match="non-public"):
        check_destination_url(
            "https://rebind.example.com/",
            allowed=frozenset(),
            resolve=resolver(PUBLIC_V4, "10.1.2.3"),
        )


def test_the_refusal_does_not_say_which_address() -> None:
    with pytest.raises(DestinationRefusedError) as caught:
        check_destination_url(
            "https://intranet.example.com/", allowed=frozenset(), resolve=resolver("10.9.8.7")
        )
    assert "10.9.8.7" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://0x7f.1/",
    ],
)
def test_literal_addresses_are_refused_with_the_real_resolver(url: str) -> None:
    with pytest.raises(DestinationRefusedError):
        check_destination_url(url, allowed=frozenset())


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://hooks.example.com/", "scheme"),
        ("https:///path-only", "no host"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://user@hooks.example.com/", "credentials"),
        ("https://hooks.example.com:99999/", "malformed"),
        ("https://[::1/", "malformed"),
    ],
)
def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(DestinationRefusedError, match=reason):
        check_destination_url(url, allowed=frozenset(), resolve=resolver(PUBLIC_V4))


def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(DestinationRefusedError, match="does not resolve"):
        check_destination_url("https://nowhere.invalid/", allowed=frozenset(), resolve=unresolvable)
    with pytest.raises(DestinationRefusedError, match="does not resolve"):
        check_destination_url("https://empty.example/", allowed=frozenset(), resolve=resolver())


def test_an_allowed_host_and_port_passes_without_resolving() -> None:
    allowed = allowed_from_env("127.0.0.1:8080, sink.local:80")
    check_destination_url("http://127.0.0.1:8080/hooks", allowed=allowed, resolve=unresolvable)
    check_destination_url("http://SINK.local/in", allowed=allowed, resolve=unresolvable)


def test_the_allowance_is_for_that_port_only() -> None:
    allowed = allowed_from_env("127.0.0.1:8080")
    with pytest.raises(DestinationRefusedError):
        check_destination_url("http://127.0.0.1:8081/", allowed=allowed)
    with pytest.raises(DestinationRefusedError):
        check_destination_url("https://127.0.0.1/", allowed=allowed)  # defaults to 443


def test_allowed_from_env_parses_and_normalises() -> None:
    assert allowed_from_env("") == frozenset()
    assert allowed_from_env(" Sink:80 ,,[::1]:9000") == frozenset({"sink:80", "::1:9000"})


@pytest.mark.parametrize(
    "value",
    [
        "sink",
        "sink:",
        ":80",
        "sink:http",
        "sink:0",
        "sink:70000",
        "sink:\u0668\u0660",  # Arabic-Indic 80: int() would read it
        "sink:\u00b2",
        "sink:+80",
    ],
)
def test_allowed_from_env_refuses_entries_without_a_port(value: str) -> None:
    with pytest.raises(ValueError):
        allowed_from_env(value)


def test_the_error_belongs_to_the_hierarchy() -> None:
    assert issubclass(DestinationRefusedError, FormrelayError)


def test_is_public_address_refuses_garbage() -> None:
    assert not is_public_address("not an address")
    assert is_public_address(PUBLIC_V4)
    assert is_public_address(PUBLIC_V6)


_ADDRESSES = st.sampled_from(
    [PUBLIC_V4, PUBLIC_V6, "8.8.8.8", "127.0.0.1", "10.0.0.1", "169.254.169.254", "::1"]
)


@given(st.lists(_ADDRESSES, min_size=1, max_size=6), st.booleans())
def test_checked_addresses_are_the_answer_when_every_one_is_public_or_the_pair_allowed(
    addresses: list[str], allow: bool
) -> None:
    allowed = frozenset({"hooks.example.com:443"}) if allow else frozenset()
    resolve = resolver(*addresses)
    if allow or all(is_public_address(a) for a in addresses):
        got = checked_addresses("hooks.example.com", 443, allowed=allowed, resolve=resolve)
        assert got == list(dict.fromkeys(addresses))
    else:
        with pytest.raises(DestinationRefusedError):
            checked_addresses("hooks.example.com", 443, allowed=allowed, resolve=resolve)


def test_a_resolver_that_fails_fast_is_its_own_refusal_not_a_timeout() -> None:
    with pytest.raises(DestinationRefusedError, match="does not resolve"):
        checked_addresses("nowhere.invalid", 443, allowed=frozenset(), resolve=unresolvable)


def test_destination_origin_is_the_urls_scheme_host_and_port() -> None:
    assert destination_origin("https://Hooks.Example.com/in") == ("https", "hooks.example.com", 443)
    assert destination_origin("http://[::1]:8080/") == ("http", "::1", 8080)
