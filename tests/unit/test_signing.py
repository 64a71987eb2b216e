"""Request signing (FR2-HMAC-SHA256): the client signs, the authorizer verifies."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest

from formrelay.auth.signing import (
    CONTENT_SHA256_HEADER,
    KEY_ID_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    canonical_query,
    has_repeated_key,
    parse_signed_headers,
    sign_request,
    verify_signature,
)
from formrelay.domain.errors import SignatureError

KEY_ID = "acme.0123456789abcdef"
SECRET = "s3cret-current"
PENDING = "s3cret-pending"
NOW = 1_714_564_800
PATH = "/v1/forms/contact/submissions"
BODY = b'{"email":"ada@example.com","name":"Ada"}'


def signed(**overrides: Any) -> dict[str, str]:
    args: dict[str, Any] = {
        "key_id": KEY_ID,
        "secret": SECRET,
        "method": "POST",
        "path": PATH,
        "raw_query": "dry_run=1",
        "body": BODY,
        "content_type": "application/json",
        "idempotency_key": "order-42",
        "correlation_id": "corr-7",
        "timestamp": NOW,
        "nonce": "n0nce-0123456789abcdef",
    }
    args.update(overrides)
    return sign_request(**args)


# The bound headers as `signed()` signs them, sent beside its signature headers.
BOUND = {
    "Content-Type": "application/json",
    "Idempotency-Key": "order-42",
    "X-Correlation-Id": "corr-7",
}


def sent(**overrides: Any) -> dict[str, str]:
    """What a client sends: the signature headers and the bound headers they sign."""
    return {**signed(**overrides), **BOUND}


def verify(headers: dict[str, str], **overrides: Any) -> None:
    args: dict[str, Any] = {
        "method": "POST",
        "path": PATH,
        "raw_query": "dry_run=1",
        "secrets_to_try": [SECRET],
        "now": NOW,
    }
    args.update(overrides)
    verify_signature(parse_signed_headers(headers), **args)


# -- canonical query ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("q=hello world", "q=hello%20world"),
        ("q=hello+world", "q=hello%20world"),  # form encoding of a space
        ("q=hello%20world", "q=hello%20world"),
        ("q=a%2Bb", "q=a%2Bb"),  # an encoded plus stays a plus, not a space
        ("q=caf%C3%A9", "q=caf%C3%A9"),
        ("q=café", "q=caf%C3%A9"),
        ("q=~-_.", "q=~-_."),  # unreserved characters stay as they are
        ("q=a/b&r=x=y", "q=a%2Fb&r=x%3Dy"),
        ("flag&b=", "b=&flag="),  # blank values kept
        ("%7a=1", "z=1"),  # needless escapes are undone
    ],
)
def test_canonical_query_sorts_and_encodes_one_way(raw: str, canonical: str) -> None:
    assert canonical_query(raw) == canonical


# -- the wire format, by hand -----------------------------------------------------


def test_a_fixed_vector_computed_from_the_design_definition() -> None:
    # Given the canonical string exactly as DESIGN.md defines it: FR1's eight lines under the
    # FR2 name, then Content-Type, Idempotency-Key and X-Correlation-Id (11 lines)
    body = b'{"name":"Ada"}'
    content_sha256 = hashlib.sha256(body).hexdigest()
    canonical = "\n".join(
        [
            "FR2-HMAC-SHA256",
            "1700000000",
            "abcdefghijklmnop",
            "POST",
            "/v1/forms/contact/submissions",
            "a=1&b=x%20y",
            "acme.00000000000000ff",
            content_sha256,
            "application/json; charset=utf-8",
            "order-42",
            "corr-7",
        ]
    )
    expected = hmac.new(b"whatever-secret", canonical.encode(), hashlib.sha256).hexdigest()

    # When the client signs the same request (method in lower case, query unsorted, the
    # header values with surrounding whitespace)
    headers = sign_request(
        key_id="acme.00000000000000ff",
        secret="whatever-secret",
        method="post",
        path="/v1/forms/contact/submissions",
        raw_query="b=x+y&a=1",
        body=body,
        content_type=" application/json; charset=utf-8\t",
        idempotency_key="order-42 ",
        correlation_id=" corr-7",
        timestamp=1700000000,
        nonce="abcdefghijklmnop",
    )

    # Then the headers carry exactly that signature (the wire format did not drift)
    assert headers == {
        "X-Fr-Key-Id": "acme.00000000000000ff",
        "X-Fr-Timestamp": "1700000000",
        "X-Fr-Nonce": "abcdefghijklmnop",
        "X-Fr-Content-Sha256": content_sha256,
        "X-Fr-Signature": expected,
    }
    # and the same figures, written down once, pin it against both sides drifting together
    assert content_sha256 == "88bab6d8f6dc68a877064d584cbb5b6c50e74f617ea50d81d3a53c2ee6ffbc4f"
    assert expected == "ee7174bf4e5c61b70f1dd7d353cae647fd5b1cc401a7ed967563a36ca56c3a54"


def test_absent_bound_headers_are_empty_lines() -> None:
    # Given a GET that sends no Content-Type, Idempotency-Key or X-Correlation-Id
    empty_sha256 = hashlib.sha256(b"").hexdigest()
    canonical = "\n".join(
        [
            *("FR2-HMAC-SHA256", "1700000000", "abcdefghijklmnop", "GET", "/v1/submissions", ""),
            *("acme.00000000000000ff", empty_sha256, "", "", ""),
        ]
    )
    expected = hmac.new(b"whatever-secret", canonical.encode(), hashlib.sha256).hexdigest()

    headers = sign_request(
        key_id="acme.00000000000000ff",
        secret="whatever-secret",
        method="GET",
        path="/v1/submissions",
        timestamp=1700000000,
        nonce="abcdefghijklmnop",
    )

    assert headers[SIGNATURE_HEADER] == expected


# -- verification -------------------------------------------------------------


def test_a_signed_request_verifies() -> None:
    verify(sent())


def test_header_names_are_case_insensitive() -> None:
    # API Gateway HTTP API hands headers to the authorizer in lower case
    verify({name.lower(): value for name, value in sent().items()})
    verify({name.upper(): value for name, value in sent().items()})


def test_a_generated_nonce_and_current_time_verify() -> None:
    headers = sent(timestamp=None, nonce=None)
    verify(headers, now=time.time())
    assert headers[NONCE_HEADER] != signed(timestamp=None, nonce=None)[NONCE_HEADER]


def test_the_wrong_secret_fails() -> None:
    with pytest.raises(SignatureError):
        verify(sent(secret="not-the-secret"))


def test_no_secrets_at_all_fails() -> None:
    with pytest.raises(SignatureError):
        verify(sent(), secrets_to_try=[])


@pytest.mark.parametrize("secret", [SECRET, PENDING])
def test_current_and_pending_secrets_are_both_accepted_during_rotation(secret: str) -> None:
    verify(sent(secret=secret), secrets_to_try=[SECRET, PENDING])


@pytest.mark.parametrize("skew", [-300, 300, 0])
def test_timestamps_within_300_seconds_are_accepted(skew: int) -> None:
    verify(sent(timestamp=NOW + skew))


@pytest.mark.parametrize("skew", [-301, 301])
def test_timestamps_301_seconds_off_are_refused(skew: int) -> None:
    with pytest.raises(SignatureError):
        verify(sent(timestamp=NOW + skew))


@pytest.mark.parametrize(
    "overrides",
    [
        {"path": "/v1/forms/other/submissions"},
        {"method": "PUT"},
        {"raw_query": "dry_run=0"},
        {"raw_query": ""},
    ],
    ids=["path", "method", "query", "query dropped"],
)
def test_an_altered_request_fails(overrides: dict[str, str]) -> None:
    with pytest.raises(SignatureError):
        verify(sent(), **overrides)


def test_a_reordered_query_still_verifies() -> None:
    verify(sent(raw_query="b=2&a=1"), raw_query="a=1&b=2")


@pytest.mark.parametrize(
    "header, value",
    [
        (KEY_ID_HEADER, "acme.fedcba9876543210"),
        (CONTENT_SHA256_HEADER, hashlib.sha256(b"another body").hexdigest()),
        (TIMESTAMP_HEADER, str(NOW + 1)),
        (NONCE_HEADER, "another-nonce-0123456"),
        ("Content-Type", "application/vnd.other+json"),
        ("Idempotency-Key", "order-43"),
        ("X-Correlation-Id", "forged-correlation"),
    ],
)
def test_an_altered_signed_header_fails(header: str, value: str) -> None:
    headers = {**sent(), header: value}
    with pytest.raises(SignatureError):
        verify(headers)


@pytest.mark.parametrize("header", ["Content-Type", "Idempotency-Key", "X-Correlation-Id"])
def test_a_bound_header_added_or_dropped_after_signing_fails(header: str) -> None:
    dropped = {name: value for name, value in sent().items() if name != header}
    with pytest.raises(SignatureError):
        verify(dropped)
    added = {**signed(**{_argument(header): None}), **BOUND}
    with pytest.raises(SignatureError):
        verify(added)


def _argument(header: str) -> str:
    return {
        "Content-Type": "content_type",
        "Idempotency-Key": "idempotency_key",
        "X-Correlation-Id": "correlation_id",
    }[header]


def test_bound_headers_are_signed_trimmed_and_absent_equals_empty() -> None:
    verify({**sent(), "Idempotency-Key": " order-42\t"})
    bare = signed(content_type=None, idempotency_key=None, correlation_id=None)
    verify(bare)
    verify({**bare, "Content-Type": "", "Idempotency-Key": "  ", "X-Correlation-Id": ""})


@pytest.mark.parametrize(
    "header", [KEY_ID_HEADER, NONCE_HEADER, "Content-Type", "Idempotency-Key", "X-Correlation-Id"]
)
def test_a_repeated_header_joined_with_a_comma_is_refused(header: str) -> None:
    # API Gateway joins a repeated header's values with a comma: signing the joined value
    # does not help, a repeat is refused before any signature is checked
    headers = sent()
    joined = f"{headers[header]},{headers[header]}"
    headers[header] = joined
    if header in BOUND:
        headers.update(signed(**{_argument(header): joined}))
    with pytest.raises(SignatureError):
        parse_signed_headers(headers)


def test_a_header_given_twice_in_two_cases_is_refused() -> None:
    headers = {**sent(), "idempotency-key": "order-42"}
    with pytest.raises(SignatureError):
        parse_signed_headers(headers)


@pytest.mark.parametrize("value", ["order-42\nx", "order-42\r", "a\x00b", "a\x7fb"])
def test_a_control_character_in_a_bound_header_is_refused(value: str) -> None:
    # one value must never pass for two lines of the canonical string
    with pytest.raises(SignatureError):
        parse_signed_headers({**sent(), "Idempotency-Key": value})
    with pytest.raises(ValueError):
        signed(idempotency_key=value)


@pytest.mark.parametrize(
    "raw_query",
    ["since=2000&since=2099", "since=2099&since=2000", "a=1&%61=2", "flag&flag", "a=1&b=2&a=1"],
)
def test_a_query_with_a_repeated_key_is_refused_although_signed(raw_query: str) -> None:
    # API Gateway hands the route both values joined in arrival order, while the canonical
    # query sorts them: two different requests would share one signature
    assert has_repeated_key(raw_query)
    with pytest.raises(SignatureError):
        verify(sent(raw_query=raw_query), raw_query=raw_query)


def test_distinct_query_keys_are_not_a_repeat() -> None:
    assert not has_repeated_key("a=1&b=1&A=1")
    assert not has_repeated_key("")


@pytest.mark.parametrize(
    "header, value",
    [
        (KEY_ID_HEADER, ""),
        (KEY_ID_HEADER, "acme key"),
        (TIMESTAMP_HEADER, "1714564800.5"),
        (TIMESTAMP_HEADER, "-1714564800"),
        (TIMESTAMP_HEADER, "1" * 13),
        (NONCE_HEADER, "short"),
        (NONCE_HEADER, "n" * 65),
        (NONCE_HEADER, "nonce with spaces ok?"),
        (CONTENT_SHA256_HEADER, "A" * 64),
        (CONTENT_SHA256_HEADER, "a" * 63),
        (SIGNATURE_HEADER, "g" * 64),
        (SIGNATURE_HEADER, "a" * 65),
        (SIGNATURE_HEADER, "a" * 64 + "\n"),
    ],
)
def test_malformed_headers_are_refused(header: str, value: str) -> None:
    headers = {**sent(), header: value}
    with pytest.raises(SignatureError):
        parse_signed_headers(headers)


@pytest.mark.parametrize("missing", [KEY_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_a_missing_header_is_refused(missing: str) -> None:
    headers = sent()
    del headers[missing]
    with pytest.raises(SignatureError):
        parse_signed_headers(headers)


def test_refusals_do_not_say_which_secret_or_check_failed() -> None:
    with pytest.raises(SignatureError) as wrong_secret:
        verify(sent(secret="nope"))
    with pytest.raises(SignatureError) as wrong_path:
        verify(sent(), path="/elsewhere")
    assert str(wrong_secret.value) == str(wrong_path.value)
