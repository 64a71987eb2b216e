"""Fuzzing what the request path parses: anything a client sends either parses or is refused
with our own error, never with an exception that would become a 500."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formrelay.api.http import is_json_content_type
from formrelay.auth.signing import (
    ALGORITHM,
    BOUND_HEADERS,
    CONTENT_SHA256_HEADER,
    CONTENT_TYPE_HEADER,
    CORRELATION_ID_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    KEY_ID_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SIGNED_HEADERS,
    TIMESTAMP_HEADER,
    bound_value,
    canonical_query,
    parse_signed_headers,
    sign_request,
    verify_signature,
)
from formrelay.domain.errors import SignatureError
from formrelay.domain.strict_json import MalformedJsonError, parse_body

KEY_ID, SECRET = "acme.0123456789abcdef", "frsk_fuzz"
ANY_TEXT = st.text(max_size=120)


# Every header the signature binds: the five signature headers and the three bound ones.
HEADERS = (*SIGNED_HEADERS, *BOUND_HEADERS)
ORIGINAL_BOUND = {
    CONTENT_TYPE_HEADER: "application/json",
    IDEMPOTENCY_KEY_HEADER: "order-42",
    CORRELATION_ID_HEADER: "corr-7",
}


def _original() -> dict[str, str]:
    signed = sign_request(
        key_id=KEY_ID,
        secret=SECRET,
        method="POST",
        path="/v1/x",
        raw_query="a=1&b=2",
        body=b"{}",
        content_type=ORIGINAL_BOUND[CONTENT_TYPE_HEADER],
        idempotency_key=ORIGINAL_BOUND[IDEMPOTENCY_KEY_HEADER],
        correlation_id=ORIGINAL_BOUND[CORRELATION_ID_HEADER],
    )
    return {**signed, **ORIGINAL_BOUND}


@settings(max_examples=500)
@given(
    changes=st.dictionaries(st.sampled_from(HEADERS), st.none() | ANY_TEXT),
    extra=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3),
    upper=st.booleans(),
)
def test_signature_headers_parse_or_are_refused_with_a_signature_error(
    changes: dict[str, str | None], extra: dict[str, str], upper: bool
) -> None:
    original = _original()
    headers = dict(original)
    for name, value in changes.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    headers = {(name.upper() if upper else name.lower()): value for name, value in headers.items()}
    taken = {name.lower() for name in HEADERS}
    headers.update({k: v for k, v in extra.items() if k.lower() not in taken})
    try:
        signed = parse_signed_headers(headers)
    except SignatureError:
        return
    # What parses is checked, and checking only ever refuses with a SignatureError.
    try:
        verify_signature(
            signed,
            method="POST",
            path="/v1/x",
            raw_query="a=1&b=2",
            secrets_to_try=[SECRET],
            now=time.time(),
        )
    except SignatureError:
        assert any(_differs(original.get(name), value) for name, value in changes.items())
    else:
        assert not any(_differs(original.get(name), value) for name, value in changes.items())


def _differs(before: str | None, after: str | None) -> bool:
    """Whether a header's meaning changed: trimming it, or emptying an absent one, does not."""
    return bound_value(before) != bound_value(after)


# The 11 inputs of the canonical string, and a strategy for a different value of each.
REQUEST = {
    "timestamp": 1_700_000_000,
    "nonce": "abcdefghijklmnop",
    "method": "POST",
    "path": "/v1/forms/contact/submissions",
    "raw_query": "a=1&b=2",
    "key_id": KEY_ID,
    "body": b"{}",
    "content_type": "application/json",
    "idempotency_key": "order-42",
    "correlation_id": "corr-7",
}
PRINTABLE = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)
ALTERED = {
    "algorithm": st.sampled_from(["FR1-HMAC-SHA256", "FR3-HMAC-SHA256", "fr2-hmac-sha256"]),
    "timestamp": st.integers(0, 10**12),
    "nonce": st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True),
    "method": st.sampled_from(["GET", "PUT", "PATCH", "DELETE"]),
    "path": PRINTABLE.map(lambda text: "/v1/" + text),
    "raw_query": st.dictionaries(
        st.from_regex(r"[a-z]{1,4}", fullmatch=True), st.text(max_size=5), max_size=3
    ).map(lambda pairs: "&".join(f"{k}={quote(v)}" for k, v in pairs.items())),
    "key_id": st.from_regex(r"acme\.[0-9a-f]{16}", fullmatch=True),
    "body": st.binary(max_size=50),
    "content_type": PRINTABLE,
    "idempotency_key": PRINTABLE,
    "correlation_id": PRINTABLE,
}


def _canonical(request: dict[str, Any], algorithm: str = ALGORITHM) -> str:
    """The canonical string as DESIGN.md defines it, built by hand."""
    return "\n".join(
        [
            algorithm,
            str(request["timestamp"]),
            request["nonce"],
            request["method"],
            request["path"],
            canonical_query(request["raw_query"]),
            request["key_id"],
            hashlib.sha256(request["body"]).hexdigest(),
            request["content_type"],
            request["idempotency_key"],
            request["correlation_id"],
        ]
    )


@settings(max_examples=400)
@given(data=st.data(), field=st.sampled_from(sorted(ALTERED)))
def test_any_change_to_any_of_the_eleven_inputs_breaks_the_signature(
    data: st.DataObject, field: str
) -> None:
    # Given a request signed by the client
    headers = sign_request(secret=SECRET, **REQUEST)
    # When one of the 11 inputs of the canonical string is changed to another value
    value = data.draw(ALTERED[field].filter(lambda v: v != REQUEST.get(field, ALGORITHM)))
    altered = {**REQUEST} if field == "algorithm" else {**REQUEST, field: value}
    if field == "raw_query" and canonical_query(value) == canonical_query(REQUEST["raw_query"]):
        return  # the same query, written another way
    message = _canonical(altered, value if field == "algorithm" else ALGORITHM)
    # Then the signature over the changed string is not the client's
    forged = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert forged != headers[SIGNATURE_HEADER]
    # and the server, seeing the changed request with the client's signature, refuses it
    if field == "algorithm":
        return  # the server only ever computes FR2
    sent = {
        **headers,
        KEY_ID_HEADER: altered["key_id"],
        TIMESTAMP_HEADER: str(altered["timestamp"]),
        NONCE_HEADER: altered["nonce"],
        CONTENT_SHA256_HEADER: hashlib.sha256(altered["body"]).hexdigest(),
        CONTENT_TYPE_HEADER: altered["content_type"],
        IDEMPOTENCY_KEY_HEADER: altered["idempotency_key"],
        CORRELATION_ID_HEADER: altered["correlation_id"],
    }
    with pytest.raises(SignatureError):
        verify_signature(
            parse_signed_headers(sent),
            method=altered["method"],
            path=altered["path"],
            raw_query=altered["raw_query"],
            secrets_to_try=[SECRET],
            now=altered["timestamp"],
        )


def test_the_hand_built_canonical_string_is_the_one_signed() -> None:
    # The property above relies on _canonical matching the implementation: pin it once.
    headers = sign_request(secret=SECRET, **REQUEST)
    message = _canonical(REQUEST)
    assert (
        hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
        == (headers[SIGNATURE_HEADER])
    )
    assert message.count("\n") == 10


JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=30,
).map(json.dumps)


@settings(max_examples=500)
@given(
    raw=st.one_of(
        st.binary(max_size=400),
        JSON_TEXT.map(str.encode),
        st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
        JSON_TEXT.map(lambda text: text.encode("utf-16")),
    )
)
def test_a_body_parses_or_is_refused_as_malformed_json(raw: bytes) -> None:
    try:
        value = parse_body(raw)
    except MalformedJsonError:
        return
    # What is accepted survives a round trip unchanged: no NaN, no lone surrogate.
    assert json.loads(json.dumps(value, allow_nan=False)) == value


@settings(max_examples=300)
@given(value=ANY_TEXT)
def test_only_json_media_types_are_accepted(value: str) -> None:
    if is_json_content_type(value):
        media_type = value.split(";")[0].strip().lower()
        assert media_type.startswith("application/")
        assert media_type.endswith("json")


def test_content_types_accepted_and_refused() -> None:
    accepted = ["application/json", "Application/JSON; Charset=UTF-8", "application/ld+json"]
    refused = ["", "text/json", "application/json; charset=utf-16", "application/jsonx", "*/*"]
    assert all(is_json_content_type(value) for value in accepted)
    assert not any(is_json_content_type(value) for value in refused)
