"""Fuzzing what the request path parses: anything a client sends either parses or is refused
with our own error, never with an exception that would become a 500."""

from __future__ import annotations

import json
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from formrelay.api.http import is_json_content_type
from formrelay.auth.signing import (
    SIGNED_HEADERS,
    parse_signed_headers,
    sign_request,
    verify_signature,
)
from formrelay.domain.errors import SignatureError
from formrelay.domain.strict_json import MalformedJsonError, parse_body

KEY_ID, SECRET = "acme.0123456789abcdef", "frsk_fuzz"
ANY_TEXT = st.text(max_size=120)


@settings(max_examples=500)
@given(
    changes=st.dictionaries(st.sampled_from(SIGNED_HEADERS), st.none() | ANY_TEXT),
    extra=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3),
    upper=st.booleans(),
)
def test_signature_headers_parse_or_are_refused_with_a_signature_error(
    changes: dict[str, str | None], extra: dict[str, str], upper: bool
) -> None:
    original = sign_request(key_id=KEY_ID, secret=SECRET, method="POST", path="/v1/x", body=b"{}")
    headers = dict(original)
    for name, value in changes.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    headers = {(name.upper() if upper else name.lower()): value for name, value in headers.items()}
    taken = {name.lower() for name in headers}
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
            raw_query="",
            secrets_to_try=[SECRET],
            now=time.time(),
        )
    except SignatureError:
        assert any(value != original[name] for name, value in changes.items())
    else:
        assert all(value == original[name] for name, value in changes.items())


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
