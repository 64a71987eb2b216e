"""Request signing (FR1-HMAC-SHA256): the client signs, the authorizer verifies."""

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
        "timestamp": NOW,
        "nonce": "n0nce-0123456789abcdef",
    }
    args.update(overrides)
    return sign_request(**args)


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
        ("a=2&a=1", "a=1&a=2"),  # repeated keys sorted by value too
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
    # Given the canonical string exactly as DESIGN.md defines it
    body = b'{"name":"Ada"}'
    content_sha256 = hashlib.sha256(body).hexdigest()
    canonical = "\n".join(
        [
            "FR1-HMAC-SHA256",
            "1700000000",
            "abcdefghijklmnop",
            "POST",
            "/v1/forms/contact/submissions",
            "a=1&b=x%20y",
            "acme.00000000000000ff",
            content_sha256,
        ]
    )
    expected = hmac.new(b"whatever-secret", canonical.encode(), hashlib.sha256).hexdigest()

    # When the client signs the same request (method in lower case, query unsorted)
    headers = sign_request(
        key_id="acme.00000000000000ff",
        secret="whatever-secret",
        method="post",
        path="/v1/forms/contact/submissions",
        raw_query="b=x+y&a=1",
        body=body,
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
    assert expected == "80de6c576a4fe2b42277097d719a0d435f85d5ef71c287811726615fabee0110"


# -- verification -------------------------------------------------------------


def test_a_signed_request_verifies() -> None:
    verify(signed())


def test_header_names_are_case_insensitive() -> None:
    # API Gateway HTTP API hands headers to the authorizer in lower case
    verify({name.lower(): value for name, value in signed().items()})


def test_a_generated_nonce_and_current_time_verify() -> None:
    headers = signed(timestamp=None, nonce=None)
    verify(headers, now=time.time())
    assert headers[NONCE_HEADER] != signed(timestamp=None, nonce=None)[NONCE_HEADER]


def test_the_wrong_secret_fails() -> None:
    with pytest.raises(SignatureError):
        verify(signed(secret="not-the-secret"))


def test_no_secrets_at_all_fails() -> None:
    with pytest.raises(SignatureError):
        verify(signed(), secrets_to_try=[])


@pytest.mark.parametrize("secret", [SECRET, PENDING])
def test_current_and_pending_secrets_are_both_accepted_during_rotation(secret: str) -> None:
    verify(signed(secret=secret), secrets_to_try=[SECRET, PENDING])


@pytest.mark.parametrize("skew", [-300, 300, 0])
def test_timestamps_within_300_seconds_are_accepted(skew: int) -> None:
    verify(signed(timestamp=NOW + skew))


@pytest.mark.parametrize("skew", [-301, 301])
def test_timestamps_301_seconds_off_are_refused(skew: int) -> None:
    with pytest.raises(SignatureError):
        verify(signed(timestamp=NOW + skew))


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
        verify(signed(), **overrides)


def test_a_reordered_query_still_verifies() -> None:
    verify(signed(raw_query="b=2&a=1"), raw_query="a=1&b=2")


@pytest.mark.parametrize(
    "header, value",
    [
        (KEY_ID_HEADER, "acme.fedcba9876543210"),
        (CONTENT_SHA256_HEADER, hashlib.sha256(b"another body").hexdigest()),
        (TIMESTAMP_HEADER, str(NOW + 1)),
        (NONCE_HEADER, "another-nonce-0123456"),
    ],
)
def test_an_altered_signed_header_fails(header: str, value: str) -> None:
    headers = {**signed(), header: value}
    with pytest.raises(SignatureError):
        verify(headers)


def test_a_repeated_header_joined_with_a_comma_is_refused() -> None:
    # API Gateway joins a repeated header's values with a comma
    headers = signed()
    headers[KEY_ID_HEADER] = f"{KEY_ID},acme.fedcba9876543210"
    with pytest.raises(SignatureError):
        parse_signed_headers(headers)


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
    headers = {**signed(), header: value}
    with pytest.raises(SignatureError):
        parse_signed_headers(headers)


@pytest.mark.parametrize("missing", [KEY_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_a_missing_header_is_refused(missing: str) -> None:
    headers = signed()
    del headers[missing]
    with pytest.raises(SignatureError):
        parse_signed_headers(headers)


def test_refusals_do_not_say_which_secret_or_check_failed() -> None:
    with pytest.raises(SignatureError) as wrong_secret:
        verify(signed(secret="nope"))
    with pytest.raises(SignatureError) as wrong_path:
        verify(signed(), path="/elsewhere")
    assert str(wrong_secret.value) == str(wrong_path.value)
