"""Hostile requests against the local stack over HTTP: each gets its intended 4xx, none a 5xx,
and the event table holds no event from any of them.

Every case is one row of ATTACKS. A row names the request (method, path, query, body,
content type), how it is signed (with whose key, over what), what is done to the signed
headers (dropped, replaced, repeated), and the answer it must get: from API Gateway (the
local front mirrors it: `{"message": ...}`) or from our code (problem+json). Requests no
HTTP client sends (a lowercase method, a broken Content-Length) are rows of RAW_REQUESTS,
written to a socket byte for byte.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from http.client import HTTPResponse
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formrelay.auth import scopes
from formrelay.auth.signing import (
    CONTENT_SHA256_HEADER,
    CONTENT_TYPE_HEADER,
    CORRELATION_ID_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    KEY_ID_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SIGNED_HEADERS,
    TIMESTAMP_HEADER,
    sign_request,
)
from formrelay.client import FormrelayClient
from formrelay.domain.events import LEDGER_STREAM
from formrelay.local.routes import path_pattern
from formrelay.local.template import load_template
from formrelay.registry.registration import register
from tests.e2e.conftest import REPO, RunningStack, running_stack

GOOD = json.dumps({"email": "ada@example.com", "name": "Ada"}).encode()
OTHER = json.dumps({"email": "eve@example.com", "name": "Eve"}).encode()
SUBMIT = "/v1/forms/contact/submissions"
# A form of the attacked tenant with no destinations: requests a case needs to succeed first
# (the original of a replay, the first use of an Idempotency-Key) cause no deliveries.
QUIET = "/v1/forms/quiet/submissions"
LISTING = "/v1/submissions"
GATEWAY, PROBLEM = "gateway", "problem"
UNAUTHORIZED = {"message": "Unauthorized"}
FORBIDDEN = {"message": "Forbidden"}


@dataclass(frozen=True)
class Attack:
    """One hostile request and the answer it must get."""

    name: str
    expect: int
    answered_by: str
    method: str = "POST"
    path: str = SUBMIT
    query: str = ""
    body: bytes = GOOD
    content_type: str | None = "application/json"
    key: str = "demo"  # whose credentials sign it (see Target.keys)
    # What the signature is made over, where it is not the request as sent: method, path,
    # query, body, secret, timestamp, and content_type / idempotency_key / correlation_id
    # (None: signed as absent).
    signed: dict[str, Any] = field(default_factory=dict)
    drop: tuple[str, ...] = ()  # signature headers left out
    replace: dict[str, str] = field(default_factory=dict)  # signature header values changed
    extra: tuple[tuple[str, str | bytes], ...] = ()  # more headers (repeats allowed)
    # Sent first and must pass: "same" (then replayed with its own headers) or "original"
    # (the attack with the good body, e.g. the first use of an Idempotency-Key).
    first: str | None = None
    # A GET whose answer the attack must leave as it was (what it would have changed).
    probe: str | None = None


def a(name: str, expect: int, answered_by: str, **kwargs: Any) -> Attack:
    """A row of the table."""
    return Attack(name, expect, answered_by, **kwargs)


# A bodiless GET, as reads are sent.
READ: dict[str, Any] = {"method": "GET", "body": b"", "content_type": None}
DEEP = b'{"email": "a@b.co", "name": "A", "x": ' + b"[" * 33 + b"]" * 33 + b"}"
READ_WITH_BODY: dict[str, Any] = {
    "method": "GET",
    "path": "/v1/submissions/{submission}",
    "body": b'{"x": 1}',
}
# Destinations the API would accept (the local receiver is always allowed): "{sink}" in a
# body is the receiver's URL.
GOOD_DESTINATION = b'{"url": "{sink}/hooks/contact"}'
EVIL_DESTINATION = b'{"url": "{sink}/hooks/attacker"}'
# Registrations of the quiet form: its current schema again, and one that drops its field.
GOOD_FORM = json.dumps(
    {
        "schema": {
            "type": "object",
            "required": ["email"],
            "properties": {"email": {"type": "string"}},
        }
    }
).encode()
EVIL_FORM = b'{"schema": {"type": "object"}, "compatibility": "NONE"}'
WIDE = json.dumps({f"k{i}": i for i in range(1001)}).encode()

ATTACKS: list[Attack] = [
    # Signature headers missing or empty: API Gateway answers 401 without calling the authorizer.
    *(a(f"missing {h}", 401, GATEWAY, drop=(h,)) for h in SIGNED_HEADERS),
    *(a(f"empty {h}", 401, GATEWAY, replace={h: ""}) for h in SIGNED_HEADERS),
    a("no signature headers at all", 401, GATEWAY, drop=SIGNED_HEADERS),
    # Malformed signature headers: the authorizer refuses, never saying why.
    a("signature repeated", 403, GATEWAY, extra=((SIGNATURE_HEADER, "0" * 64),)),
    a("key id repeated", 403, GATEWAY, extra=((KEY_ID_HEADER, "demo.0000000000000000"),)),
    a("nonce repeated", 403, GATEWAY, extra=((NONCE_HEADER, "n" * 20),)),
    a("timestamp repeated", 403, GATEWAY, extra=((TIMESTAMP_HEADER, "1"),)),
    a("signature not hex", 403, GATEWAY, replace={SIGNATURE_HEADER: "z" * 64}),
    a("signature upper-case hex", 403, GATEWAY, replace={SIGNATURE_HEADER: "AB" * 32}),
    a("signature one digit short", 403, GATEWAY, replace={SIGNATURE_HEADER: "a" * 63}),
    a("signature 1 KB long", 403, GATEWAY, replace={SIGNATURE_HEADER: "a" * 1024}),
    a("signature all zeros", 403, GATEWAY, replace={SIGNATURE_HEADER: "0" * 64}),
    a("key id with spaces", 403, GATEWAY, replace={KEY_ID_HEADER: "demo key"}),
    a("key id of no key", 403, GATEWAY, replace={KEY_ID_HEADER: "demo.0123456789abcdef"}),
    a("key id of no tenant", 403, GATEWAY, replace={KEY_ID_HEADER: "ghost.0123456789abcdef"}),
    a("key id without tenant", 403, GATEWAY, replace={KEY_ID_HEADER: "0123456789abcdef"}),
    a("nonce too short", 403, GATEWAY, replace={NONCE_HEADER: "n" * 15}),
    a("nonce too long", 403, GATEWAY, replace={NONCE_HEADER: "n" * 65}),
    a("nonce with slashes", 403, GATEWAY, replace={NONCE_HEADER: "../../" + "n" * 16}),
    a("timestamp not a number", 403, GATEWAY, replace={TIMESTAMP_HEADER: "yesterday"}),
    a("timestamp negative", 403, GATEWAY, replace={TIMESTAMP_HEADER: "-5"}),
    a("timestamp with decimals", 403, GATEWAY, replace={TIMESTAMP_HEADER: "1700000000.5"}),
    a("digest not hex", 403, GATEWAY, replace={CONTENT_SHA256_HEADER: "x" * 64}),
    # Well formed but wrongly signed.
    a("wrong secret", 403, GATEWAY, signed={"secret": "frsk_not-the-secret"}),
    a("timestamp 301 s old", 403, GATEWAY, signed={"timestamp": -301}),
    # Ahead by a few seconds more than the window: the clock moves on between signing
    # (on whole seconds) and the check, so 301 s ahead can arrive 300 s ahead. The exact
    # boundary is in tests/unit/test_signing.py, on an injected clock.
    a("timestamp 303 s ahead", 403, GATEWAY, signed={"timestamp": 303}),
    a("timestamp in milliseconds", 403, GATEWAY, signed={"timestamp": "ms"}),
    a("timestamp zero", 403, GATEWAY, signed={"timestamp": "zero"}),
    a("signed as GET, sent as POST", 403, GATEWAY, signed={"method": "GET"}),
    a("signed for another form", 403, GATEWAY, signed={"path": "/v1/forms/other/submissions"}),
    a(
        "listing signature reused on submit",
        403,
        GATEWAY,
        signed={"method": "GET", "path": LISTING},
    ),
    a(
        "submit signature reused on listing",
        403,
        GATEWAY,
        **READ,
        path=LISTING,
        signed={"method": "POST", "path": SUBMIT, "body": GOOD},
    ),
    a(
        "tampered query",
        403,
        GATEWAY,
        **READ,
        path=LISTING,
        query="status=dead_lettered",
        signed={"query": "status=delivered"},
    ),
    a("query added after signing", 403, GATEWAY, query="form_id=contact", signed={"query": ""}),
    a("signed with path case changed", 403, GATEWAY, signed={"path": SUBMIT.upper()}),
    a("body tampered after signing", 401, PROBLEM, signed={"body": OTHER}),
    a("body dropped after signing", 401, PROBLEM, body=b"", signed={"body": GOOD}),
    # Replays: the first request passes (outside the count), the second is refused.
    a("exact replay of a submission", 403, GATEWAY, path=QUIET, first="same"),
    a("replay with another body", 403, GATEWAY, path=QUIET, first="same", body=OTHER),
    a(
        "exact replay of a read",
        403,
        GATEWAY,
        **READ,
        path=LISTING,
        query="status=received",
        first="same",
    ),
    # Keys without the route's scope, revoked keys, another tenant's key.
    a("read-only key submits", 403, GATEWAY, key="read_only"),
    a(
        "submit-only key reads",
        403,
        GATEWAY,
        **READ,
        path="/v1/submissions/{submission}",
        key="submit_only",
    ),
    a(
        "submit key manages destinations",
        403,
        GATEWAY,
        method="PUT",
        path="/v1/forms/contact/destinations/evil",
        body=b'{"url": "https://evil.example.com/"}',
        key="submit_only",
    ),
    a("revoked key", 403, GATEWAY, key="revoked"),
    a(
        "another tenant reads a submission",
        404,
        PROBLEM,
        **READ,
        path="/v1/submissions/{submission}",
        key="other_tenant",
    ),
    a(
        "another tenant reads a history naming the tenant in a header",
        404,
        PROBLEM,
        **READ,
        path="/v1/submissions/{submission}/events",
        key="other_tenant",
        extra=(("X-Fr-Tenant", "demo"), ("X-Tenant-Id", "demo")),
    ),
    a("another tenant submits to a form it lacks", 404, PROBLEM, path=QUIET, key="other_tenant"),
    a(
        "another tenant redelivers a submission",
        404,
        PROBLEM,
        path="/v1/submissions/{submission}/redeliveries",
        body=b"{}",
        key="other_tenant",
    ),
    # Limits and shapes of the body.
    a("body over 256 KB", 413, PROBLEM, body=b'{"name": "' + b"a" * (256 * 1024) + b'"}'),
    a("text/plain", 415, PROBLEM, content_type="text/plain"),
    a("no content type", 415, PROBLEM, content_type=None),
    a("form encoded", 415, PROBLEM, content_type="application/x-www-form-urlencoded"),
    a("multipart", 415, PROBLEM, content_type="multipart/form-data; boundary=x"),
    a("JSON in latin-1", 415, PROBLEM, content_type="application/json; charset=iso-8859-1"),
    a("JSON with an unknown parameter", 415, PROBLEM, content_type="application/json; v=2"),
    a("nesting 33 deep", 400, PROBLEM, body=DEEP),
    a("1,001 keys", 400, PROBLEM, body=WIDE),
    a("duplicate keys", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "A", "name": "B"}'),
    a("malformed UTF-8", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "\xff\xfe"}'),
    a("overlong UTF-8", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "\xc0\xaf"}'),
    a("UTF-8 encoded surrogate", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "\xed\xa0\x80"}'),
    a("lone surrogate escape", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "\\ud800"}'),
    a("number out of range", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "A", "n": 1e400}'),
    a("integer of 200 digits", 400, PROBLEM, body=b'{"name": "A", "n": 1' + b"0" * 200 + b"}"),
    a("NaN", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "A", "n": NaN}'),
    a("Infinity", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "A", "n": -Infinity}'),
    a("byte order mark", 400, PROBLEM, body=b"\xef\xbb\xbf" + GOOD),
    a("empty body", 400, PROBLEM, body=b""),
    a("array body", 400, PROBLEM, body=b"[" + GOOD + b"]"),
    a("null body", 400, PROBLEM, body=b"null"),
    a("trailing garbage", 400, PROBLEM, body=GOOD + b"{}"),
    a("schema violation", 422, PROBLEM, body=b'{"email": "not-an-email"}'),
    # Path parameters and routes.
    a("form id with upper case", 404, PROBLEM, path="/v1/forms/Contact/submissions"),
    a("form id of 65 characters", 404, PROBLEM, path=f"/v1/forms/{'f' * 65}/submissions"),
    a("form id '..'", 404, PROBLEM, path="/v1/forms/%2E%2E/submissions"),
    a("path traversal", 404, GATEWAY, path="/v1/forms/..%2F..%2Fkeys/submissions"),
    a(
        "submission id with a quote",
        404,
        PROBLEM,
        **READ,
        path="/v1/submissions/abc'%20OR%201=1",
    ),
    a(
        "destination id with a hash",
        404,
        PROBLEM,
        **READ,
        path="/v1/forms/contact/destinations/a%23b",
    ),
    a("no such route", 404, GATEWAY, path="/v1/keys"),
    a("method without a route", 404, GATEWAY, method="PATCH"),
    # The unsigned API description is a GET and nothing else: no write reaches a function.
    a("POST to the API description", 404, GATEWAY, path="/v1/openapi.json"),
    a("PUT over the API description", 404, GATEWAY, method="PUT", path="/v1/openapi.json"),
    a(
        "DELETE the API description",
        404,
        GATEWAY,
        method="DELETE",
        path="/v1/openapi.json",
        body=b"",
        content_type=None,
    ),
    # Idempotency keys.
    a("Idempotency-Key with spaces", 400, PROBLEM, extra=(("Idempotency-Key", "a b"),)),
    a("Idempotency-Key of 129 characters", 400, PROBLEM, extra=(("Idempotency-Key", "k" * 129),)),
    a(
        "Idempotency-Key reused with another body",
        409,
        PROBLEM,
        path=QUIET,
        body=OTHER,
        first="original",
        extra=(("Idempotency-Key", "hostile-reuse-1"),),
    ),
    # A tenant over its request rate (burst 1: the first read takes the only token).
    a(
        "over the tenant's rate limit",
        429,
        PROBLEM,
        **READ,
        path=LISTING,
        query="status=received",
        key="throttled",
        first="original",
    ),
    # Headers over HTTP API's quota on their total size.
    a("headers over 10,240 bytes", 431, GATEWAY, extra=(("X-Padding", "p" * 10300),)),
    # Redelivery options and destinations are bodies too.
    a(
        "redelivery with unknown options",
        400,
        PROBLEM,
        path="/v1/submissions/{submission}/redeliveries",
        body=b'{"tenant_id": "acme"}',
    ),
    a(
        "destination pointing at the metadata service",
        422,
        PROBLEM,
        method="PUT",
        path="/v1/forms/contact/destinations/meta",
        body=b'{"url": "http://169.254.169.254/latest/meta-data/"}',
    ),
    # The form registry: scopes, other tenants, and what is not a form's schema.
    a(
        "submit key registers a form",
        403,
        GATEWAY,
        method="PUT",
        path="/v1/forms/quiet",
        body=EVIL_FORM,
        key="submit_only",
        probe="/v1/forms/quiet",
    ),
    a(
        "another tenant reads a form's version",
        404,
        PROBLEM,
        **READ,
        path="/v1/forms/quiet/versions/1",
        key="other_tenant",
    ),
    a(
        "form registration naming a tenant",
        422,
        PROBLEM,
        method="PUT",
        path="/v1/forms/quiet",
        body=b'{"schema": {"type": "object"}, "tenant_id": "rival"}',
        probe="/v1/forms/quiet",
    ),
    a(
        "form schema with a $ref to the metadata service",
        422,
        PROBLEM,
        method="PUT",
        path="/v1/forms/quiet",
        body=b'{"schema": {"type": "object", "$ref": "http://169.254.169.254/latest/"}}',
        probe="/v1/forms/quiet",
    ),
    a(
        "form schema requiring a new field under BACKWARD",
        409,
        PROBLEM,
        method="PUT",
        path="/v1/forms/quiet",
        body=b'{"schema": {"type": "object", "required": ["email", "phone"]}}',
        probe="/v1/forms/quiet",
    ),
    a("form version not a number", 404, PROBLEM, **READ, path="/v1/forms/quiet/versions/1e0"),
    # Bodies swapped after signing: the shared HTTP app checks the body against the signed
    # digest on every route, before any route code runs. Every route that takes a body has
    # a row here (test_every_body_carrying_route_has_a_swapped_body_row), reads too.
    a(
        "destination created with a body swapped after signing",
        401,
        PROBLEM,
        method="PUT",
        path="/v1/forms/contact/destinations/swapped",
        body=EVIL_DESTINATION,
        signed={"body": GOOD_DESTINATION},
        probe="/v1/forms/contact/destinations/swapped",
    ),
    a(
        "destination replaced with a body swapped after signing",
        401,
        PROBLEM,
        method="PUT",
        path="/v1/forms/contact/destinations/primary",
        body=EVIL_DESTINATION,
        signed={"body": GOOD_DESTINATION},
        probe="/v1/forms/contact/destinations/primary",
    ),
    a(
        "form registered with a body swapped after signing",
        401,
        PROBLEM,
        method="PUT",
        path="/v1/forms/quiet",
        body=EVIL_FORM,
        signed={"body": GOOD_FORM},
        probe="/v1/forms/quiet",
    ),
    a(
        "redelivery with a body swapped after signing",
        401,
        PROBLEM,
        path="/v1/submissions/{delivered}/redeliveries",
        body=b'{"destination_id": "primary", "reason": "swapped"}',
        signed={"body": b"{}"},
        probe="/v1/submissions/{delivered}",
    ),
    a(
        "console link with a body swapped after signing",
        401,
        PROBLEM,
        path="/v1/console-links",
        body=b'{"scopes": ["admin"], "ttl": "12h"}',
        signed={"body": b'{"scopes": ["read"]}'},
    ),
    a(
        "console link naming another tenant",
        400,
        PROBLEM,
        path="/v1/console-links",
        body=b'{"tenant_id": "rival"}',
    ),
    a("console link for 13 hours", 400, PROBLEM, path="/v1/console-links", body=b'{"ttl": "13h"}'),
    a(
        "console link with its scopes as one string",
        400,
        PROBLEM,
        path="/v1/console-links",
        body=b'{"scopes": "read,admin"}',
    ),
    a(
        "redelivery with a body added after signing",
        401,
        PROBLEM,
        path="/v1/submissions/{delivered}/redeliveries",
        body=b"{}",
        signed={"body": b""},
    ),
    a("read with a body it did not sign", 401, PROBLEM, **READ_WITH_BODY, signed={"body": b""}),
    a(
        "read whose signed digest names a body it lacks",
        401,
        PROBLEM,
        **READ,
        path="/v1/submissions/{submission}",
        signed={"body": GOOD},
    ),
    # Headers that change what the server does are signed (FR2): swapped, added or dropped
    # after signing, the signature no longer verifies; repeated, they are refused.
    a(
        "Idempotency-Key swapped after signing",
        403,
        GATEWAY,
        path=QUIET,
        extra=((IDEMPOTENCY_KEY_HEADER, "attacker-chosen-1"),),
        signed={"idempotency_key": "client-chosen-1"},
    ),
    a(
        "Idempotency-Key added after signing",
        403,
        GATEWAY,
        path=QUIET,
        extra=((IDEMPOTENCY_KEY_HEADER, "attacker-chosen-2"),),
        signed={"idempotency_key": None},
    ),
    a(
        "Idempotency-Key dropped after signing",
        403,
        GATEWAY,
        path=QUIET,
        signed={"idempotency_key": "client-chosen-3"},
    ),
    a(
        "Idempotency-Key repeated",
        403,
        GATEWAY,
        path=QUIET,
        extra=((IDEMPOTENCY_KEY_HEADER, "repeated-1"), (IDEMPOTENCY_KEY_HEADER, "repeated-1")),
    ),
    a(
        "X-Correlation-Id swapped after signing",
        403,
        GATEWAY,
        path=QUIET,
        extra=((CORRELATION_ID_HEADER, "forged-correlation"),),
        signed={"correlation_id": "client-correlation"},
    ),
    a(
        "X-Correlation-Id added after signing",
        403,
        GATEWAY,
        path=QUIET,
        extra=((CORRELATION_ID_HEADER, "forged-correlation"),),
        signed={"correlation_id": None},
    ),
    a(
        "X-Correlation-Id repeated",
        403,
        GATEWAY,
        path=QUIET,
        extra=((CORRELATION_ID_HEADER, "corr-1"), (CORRELATION_ID_HEADER, "corr-2")),
    ),
    a(
        "Content-Type swapped after signing",
        403,
        GATEWAY,
        path=QUIET,
        content_type="application/vnd.other+json",
        signed={"content_type": "application/json"},
    ),
    a(
        "Content-Type dropped after signing",
        403,
        GATEWAY,
        path=QUIET,
        content_type=None,
        signed={"content_type": "application/json"},
    ),
    a(
        "Content-Type repeated",
        403,
        GATEWAY,
        path=QUIET,
        extra=((CONTENT_TYPE_HEADER, "application/json"),),
    ),
    # A query key given twice: API Gateway joins the values in arrival order, the canonical
    # query sorts them, so either order would carry one signature. Refused however signed.
    a(
        "query key repeated",
        403,
        GATEWAY,
        **READ,
        path=LISTING,
        query="status=received&since=2000-01-01T00:00:00Z&since=2099-01-01T00:00:00Z",
    ),
    a(
        "query key repeated in the other order",
        403,
        GATEWAY,
        **READ,
        path=LISTING,
        query="status=received&since=2099-01-01T00:00:00Z&since=2000-01-01T00:00:00Z",
    ),
    a(
        "query key repeated under a percent-encoding",
        403,
        GATEWAY,
        **READ,
        path=LISTING,
        query="status=received&%73tatus=failed",
    ),
]

# --- Odd input that once answered 500, and forged listing cursors --------------------------
# Numbers outside ASCII digits ('²'.isdigit() is true, int('²') raises), and cursors that are
# not one the API gave out for this query and this tenant. `{name}` in a query is one of
# Target.values: cursors the fixture obtained from real listings.
ODD = "status=received"
LISTED = "status=delivered&form_id=quiet"  # the query the attacked tenant's own cursor is of
# What cursors were before they were signed: base64 of DynamoDB's LastEvaluatedKey.
UNSIGNED_START_KEY = base64.urlsafe_b64encode(
    json.dumps(
        {
            "gsi1pk": {"S": "T#demo#STATUS#delivered"},
            "gsi1sk": {"S": "2026-01-01T00:00:00.000000Z#x"},
            "pk": {"S": "T#demo#S#x"},
            "sk": {"S": "STATUS"},
        }
    ).encode()
).decode()
WRONG_SHAPE = base64.urlsafe_b64encode(b'{"gsi1pk": {"S": "T#demo#STATUS#received"}}').decode()
LIST: dict[str, Any] = {**READ, "path": LISTING}

ATTACKS += [
    a("limit superscript two", 400, PROBLEM, **LIST, query=f"{ODD}&limit=%C2%B2"),
    a("limit in fullwidth digits", 400, PROBLEM, **LIST, query=f"{ODD}&limit=%EF%BC%95"),
    a("limit in Arabic-Indic digits", 400, PROBLEM, **LIST, query=f"{ODD}&limit=%D9%A5"),
    a("limit negative", 400, PROBLEM, **LIST, query=f"{ODD}&limit=-1"),
    a("limit with a plus sign", 400, PROBLEM, **LIST, query=f"{ODD}&limit=%2B5"),
    a("limit with a trailing space", 400, PROBLEM, **LIST, query=f"{ODD}&limit=5%20"),
    a("limit of 400 digits", 400, PROBLEM, **LIST, query=f"{ODD}&limit={'9' * 400}"),
    a("limit empty", 400, PROBLEM, **LIST, query=f"{ODD}&limit="),
    a("limit in exponent form", 400, PROBLEM, **LIST, query=f"{ODD}&limit=1e2"),
    a("limit in hex", 400, PROBLEM, **LIST, query=f"{ODD}&limit=0x10"),
    a(
        "since in superscript digits",
        400,
        PROBLEM,
        **LIST,
        query=f"{ODD}&since=%C2%B2%C2%B2%C2%B2%C2%B2",
    ),
    a("since with a NUL", 400, PROBLEM, **LIST, query=f"{ODD}&since=2026%00"),
    a("cursor of garbage", 400, PROBLEM, **LIST, query=f"{ODD}&cursor=garbage"),
    a("cursor of non-ASCII", 400, PROBLEM, **LIST, query=f"{ODD}&cursor=%C2%B2"),
    a("cursor over 4 KB", 400, PROBLEM, **LIST, query=f"{ODD}&cursor={'A' * 4100}"),
    a(
        "cursor of base64 of a wrong shape",
        400,
        PROBLEM,
        **LIST,
        query=f"{ODD}&cursor={WRONG_SHAPE}",
    ),
    a(
        "cursor of an unsigned start key",
        400,
        PROBLEM,
        **LIST,
        query=f"status=delivered&cursor={UNSIGNED_START_KEY}",
    ),
    a("cursor edited", 400, PROBLEM, **LIST, query=LISTED + "&cursor={edited_cursor}"),
    a("cursor with its signature cut", 400, PROBLEM, **LIST, query=LISTED + "&cursor={cut_cursor}"),
    a(
        "cursor of another status's query",
        400,
        PROBLEM,
        **LIST,
        query="status=failed&form_id=quiet&cursor={own_cursor}",
    ),
    a(
        "cursor of another form's query",
        400,
        PROBLEM,
        **LIST,
        query="status=delivered&form_id=contact&cursor={own_cursor}",
    ),
    a(
        "cursor of a query without since",
        400,
        PROBLEM,
        **LIST,
        query=LISTED + "&since=2000-01-01T00:00:00Z&cursor={own_cursor}",
    ),
    a(
        "cursor of a query without until",
        400,
        PROBLEM,
        **LIST,
        query=LISTED + "&until=2099-01-01T00:00:00Z&cursor={own_cursor}",
    ),
    a(
        "cursor of a query with a status",
        400,
        PROBLEM,
        **LIST,
        query="form_id=quiet&cursor={own_cursor}",
    ),
    a("until without its zone", 400, PROBLEM, **LIST, query="until=2026-01-01T00:00:00"),
    a("until a date alone", 400, PROBLEM, **LIST, query="form_id=quiet&until=2026-01-01"),
    a(
        "until before since",
        400,
        PROBLEM,
        **LIST,
        query="since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
    ),
    a(
        "another tenant's cursor",
        400,
        PROBLEM,
        **LIST,
        query="status=delivered&form_id=contact&cursor={other_tenant_cursor}",
    ),
]

# The tenant-wide export: the audit scope only, and its own parameters and cursors.
EXPORT: dict[str, Any] = {**READ, "path": "/v1/audit/events"}
SINCE = "since=2000-01-01T00:00:00Z"
ATTACKS += [
    a(
        "read-only key exports the audit events",
        403,
        GATEWAY,
        **EXPORT,
        query=SINCE,
        key="read_only",
    ),
    a(
        "submit-only key exports the audit events",
        403,
        GATEWAY,
        **EXPORT,
        query=SINCE,
        key="submit_only",
    ),
    a("export without since", 400, PROBLEM, **EXPORT),
    a("export since without a zone", 400, PROBLEM, **EXPORT, query="since=2000-01-01T00:00:00"),
    a(
        "export since in superscript digits",
        400,
        PROBLEM,
        **EXPORT,
        query="since=%C2%B2%C2%B2%C2%B2%C2%B2-01-01T00:00:00Z",
    ),
    a(
        "export until before since",
        400,
        PROBLEM,
        **EXPORT,
        query=f"{SINCE}&until=1999-01-01T00:00:00Z",
    ),
    a("export limit of 1001", 400, PROBLEM, **EXPORT, query=f"{SINCE}&limit=1001"),
    a("export limit superscript two", 400, PROBLEM, **EXPORT, query=f"{SINCE}&limit=%C2%B2"),
    a("export naming a tenant", 400, PROBLEM, **EXPORT, query=f"{SINCE}&tenant_id=rival"),
    a("export cursor of garbage", 400, PROBLEM, **EXPORT, query=f"{SINCE}&cursor=garbage"),
    a(
        "export cursor edited",
        400,
        PROBLEM,
        **EXPORT,
        query=SINCE + "&cursor={edited_export_cursor}",
    ),
    a(
        "export cursor of another window",
        400,
        PROBLEM,
        **EXPORT,
        query="since=2000-01-02T00:00:00Z&cursor={own_export_cursor}",
    ),
    a("export with a listing cursor", 400, PROBLEM, **EXPORT, query=SINCE + "&cursor={own_cursor}"),
    a(
        "listing with an export cursor",
        400,
        PROBLEM,
        **LIST,
        query=LISTED + "&cursor={own_export_cursor}",
    ),
    a(
        "another tenant's export cursor",
        400,
        PROBLEM,
        **EXPORT,
        query=SINCE + "&cursor={other_tenant_export_cursor}",
    ),
]

# Two versions of a form compared: read or admin scope, a query of two distinct versions.
COMPARE: dict[str, Any] = {**READ, "path": "/v1/forms/quiet/compatibility"}
ATTACKS += [
    a("compatibility without from", 400, PROBLEM, **COMPARE, query="to=1"),
    a("compatibility without to", 400, PROBLEM, **COMPARE, query="from=1"),
    a("compatibility of a version with itself", 400, PROBLEM, **COMPARE, query="from=1&to=1"),
    a("compatibility from in exponent form", 400, PROBLEM, **COMPARE, query="from=1e0&to=2"),
    a("compatibility from negative", 400, PROBLEM, **COMPARE, query="from=-1&to=1"),
    a("compatibility from with a leading zero", 400, PROBLEM, **COMPARE, query="from=01&to=2"),
    a(
        "compatibility from in superscript digits",
        400,
        PROBLEM,
        **COMPARE,
        query="from=%C2%B2&to=1",
    ),
    a("compatibility to of 400 digits", 400, PROBLEM, **COMPARE, query=f"from=1&to={'9' * 400}"),
    a("compatibility from empty", 400, PROBLEM, **COMPARE, query="from=&to=1"),
    a(
        "compatibility mode in lower case",
        400,
        PROBLEM,
        **COMPARE,
        query="from=1&to=2&mode=backward",
    ),
    a("compatibility mode empty", 400, PROBLEM, **COMPARE, query="from=1&to=2&mode="),
    a(
        "compatibility naming a tenant",
        400,
        PROBLEM,
        **COMPARE,
        query="from=1&to=2&tenant_id=rival",
    ),
    a("compatibility to a version there is not", 404, PROBLEM, **COMPARE, query="from=1&to=2"),
    a(
        "compatibility of a form id outside its pattern",
        404,
        PROBLEM,
        **READ,
        path="/v1/forms/Quiet/compatibility",
        query="from=1&to=2",
    ),
    a(
        "compatibility from repeated",
        403,
        GATEWAY,
        **COMPARE,
        query="from=1&to=2&from=3",
    ),
    a(
        "another tenant compares a form's versions",
        404,
        PROBLEM,
        **COMPARE,
        query="from=1&to=2",
        key="other_tenant",
        extra=(("X-Fr-Tenant", "demo"),),
    ),
    a(
        "submit-only key compares a form's versions",
        403,
        GATEWAY,
        **COMPARE,
        query="from=1&to=2",
        key="submit_only",
    ),
    a("audit-only key lists the forms", 403, GATEWAY, **READ, path="/v1/forms", key="audit_only"),
    a(
        "read-only key registers a form",
        403,
        GATEWAY,
        method="PUT",
        path="/v1/forms/quiet",
        body=EVIL_FORM,
        key="read_only",
        probe="/v1/forms/quiet",
    ),
]

# The tenant's record verified page by page: the audit scope only, its own parameters and
# cursors. A repeated parameter never reaches the route: the signature refuses it (403).
VERIFY: dict[str, Any] = {**READ, "path": "/v1/audit/verify"}
ATTACKS += [
    a("read-only key verifies the tenant", 403, GATEWAY, **VERIFY, key="read_only"),
    a("submit-only key verifies the tenant", 403, GATEWAY, **VERIFY, key="submit_only"),
    a("verify since without a zone", 400, PROBLEM, **VERIFY, query="since=2000-01-01T00:00:00"),
    a("verify since of words", 400, PROBLEM, **VERIFY, query="since=last%20week"),
    a(
        "verify since in superscript digits",
        400,
        PROBLEM,
        **VERIFY,
        query="since=%C2%B2%C2%B2%C2%B2%C2%B2-01-01T00:00:00Z",
    ),
    a("verify limit of 0", 400, PROBLEM, **VERIFY, query="limit=0"),
    a("verify limit of 501", 400, PROBLEM, **VERIFY, query="limit=501"),
    a("verify limit superscript two", 400, PROBLEM, **VERIFY, query="limit=%C2%B2"),
    a("verify naming a tenant", 400, PROBLEM, **VERIFY, query="tenant_id=rival"),
    a("verify with an until", 400, PROBLEM, **VERIFY, query="until=2099-01-01T00:00:00Z"),
    a("verify with an empty cursor", 400, PROBLEM, **VERIFY, query="cursor="),
    a("verify cursor of garbage", 400, PROBLEM, **VERIFY, query="cursor=garbage"),
    a("verify cursor edited", 400, PROBLEM, **VERIFY, query="cursor={edited_verify_cursor}"),
    a(
        "verify cursor of another since",
        400,
        PROBLEM,
        **VERIFY,
        query="since=2000-01-02T00:00:00Z&cursor={own_verify_cursor}",
    ),
    a("verify with an export cursor", 400, PROBLEM, **VERIFY, query="cursor={own_export_cursor}"),
    a(
        "export with a verify cursor",
        400,
        PROBLEM,
        **EXPORT,
        query=SINCE + "&cursor={own_verify_cursor}",
    ),
    a(
        "another tenant's verify cursor",
        400,
        PROBLEM,
        **VERIFY,
        query="cursor={other_tenant_verify_cursor}",
    ),
    a(
        "verify parameter repeated",
        403,
        GATEWAY,
        **VERIFY,
        query="limit=1&limit=500",
    ),
]

# One submission's record checked (verify) and proved (proof): read or audit scope.
ATTACKS += (
    [
        a(
            f"submit-only key {check}s a submission",
            403,
            GATEWAY,
            **READ,
            path=f"/v1/submissions/{{submission}}/{check}",
            key="submit_only",
        )
        for check in ("verify", "proof")
    ]
    + [
        a(
            f"another tenant {check}s a submission",
            404,
            PROBLEM,
            **READ,
            path=f"/v1/submissions/{{submission}}/{check}",
            key="other_tenant",
            extra=(("X-Fr-Tenant", "demo"),),
        )
        for check in ("verify", "proof")
    ]
    + [
        a(
            "verify of an id outside its pattern",
            404,
            PROBLEM,
            **READ,
            path="/v1/submissions/not-a-submission/verify",
        ),
        a(
            "verify of the tenant's ledger",
            404,
            PROBLEM,
            **READ,
            path="/v1/submissions/_ledger/verify",
        ),
        a(
            "proof of an unknown submission",
            404,
            PROBLEM,
            **READ,
            path="/v1/submissions/sub_0123456789abcdef0123456789abcdef/proof",
        ),
    ]
)

# A form's destinations with their health (read or admin), and enabling one again (admin).
DESTINATIONS = "/v1/forms/contact/destinations"
ENABLE = DESTINATIONS + "/primary/enable"
ENABLE_PROBE = DESTINATIONS + "/primary"
ATTACKS += [
    a("submit key lists destinations", 403, GATEWAY, **READ, path=DESTINATIONS, key="submit_only"),
    a("destinations of an unknown form", 404, PROBLEM, **READ, path="/v1/forms/nope/destinations"),
    a(
        "destinations of a form id outside its pattern",
        404,
        PROBLEM,
        **READ,
        path="/v1/forms/a%23b/destinations",
    ),
    a(
        "destinations listed with a query",
        400,
        PROBLEM,
        **READ,
        path=DESTINATIONS,
        query="tenant_id=acme",
    ),
    a(
        "read key enables a destination",
        403,
        GATEWAY,
        path=ENABLE,
        body=b"",
        content_type=None,
        key="read_only",
        probe=ENABLE_PROBE,
    ),
    a(
        "enabling an unknown destination",
        404,
        PROBLEM,
        path=DESTINATIONS + "/nope/enable",
        body=b"",
        content_type=None,
    ),
    a(
        "enable with a body that asks for something",
        422,
        PROBLEM,
        path=ENABLE,
        body=b'{"enabled": false}',
        probe=ENABLE_PROBE,
    ),
    a(
        "enable with a body that is not JSON",
        415,
        PROBLEM,
        path=ENABLE,
        body=b"enabled",
        content_type="text/plain",
        probe=ENABLE_PROBE,
    ),
    a(
        "enable with too large a body",
        413,
        PROBLEM,
        path=ENABLE,
        body=b"{" + b" " * 2048 + b"}",
        probe=ENABLE_PROBE,
    ),
    a(
        "enable with a body swapped after signing",
        401,
        PROBLEM,
        path=ENABLE,
        body=b'{"url": "https://evil.example.com/"}',
        signed={"body": b"{}"},
        probe=ENABLE_PROBE,
    ),
]


@dataclass
class Target:
    """The attacked stack, its keys by role, and submissions of the attacked tenant to aim at."""

    stack: RunningStack
    keys: dict[str, tuple[str, str]]
    submission_id: str  # on the quiet form: no deliveries
    delivered_id: str  # on the contact form, delivered once and settled
    # What `{name}` in a row's path or query stands for besides those two: real listing
    # cursors the fixture obtained, and forgeries made from them.
    values: dict[str, str] = field(default_factory=dict)

    def events(self) -> int:
        """Every item of the event table but the tenants' ledgers."""
        answer = self.stack.dynamodb().scan(
            TableName=self.stack.table("EventsTable"),
            Select="COUNT",
            ConsistentRead=True,
            # Not the ledgers: the scheduled anchor run appends to them on its own time.
            FilterExpression="submission_id <> :ledger",
            ExpressionAttributeValues={":ledger": {"S": LEDGER_STREAM}},
        )
        return int(answer["Count"])

    def path(self, template: str) -> str:
        """A row's path with the submissions it aims at filled in."""
        return template.format(
            submission=self.submission_id, delivered=self.delivered_id, **self.values
        )

    def query(self, template: str) -> str:
        """A row's query with the cursors it sends filled in."""
        return template.format(**self.values)

    def body(self, template: bytes) -> bytes:
        """A row's body with the local receiver's URL filled in."""
        return template.replace(b"{sink}", self.stack.sink_url.rstrip("/").encode())

    def probe(self, attack: Attack) -> tuple[int, Any] | None:
        """The answer to the row's probe GET (what the attack must not change)."""
        if attack.probe is None:
            return None
        answer = self.stack.client().request("GET", self.path(attack.probe))
        return answer.status_code, answer.json()

    def first(self, attack: Attack) -> list[tuple[str, str | bytes]] | None:
        """Send what must pass before the attack; for a replay, the headers to send again."""
        if attack.first is None:
            return None
        body = b"" if attack.method == "GET" else GOOD
        original = replace(attack, body=body, signed={}, first=None)
        headers = self.headers(original)
        answer = self.send(original, headers=headers)
        assert answer.is_success, answer.text
        return headers if attack.first == "same" else None

    def headers(self, attack: Attack) -> list[tuple[str, str | bytes]]:
        """The request's headers: signed as the attack says, then dropped, replaced, added."""
        key_id, secret = self.keys[attack.key]
        how = dict(attack.signed)
        bound = {
            argument: how[argument] if argument in how else _as_sent(attack, header)
            for argument, header in (
                ("content_type", CONTENT_TYPE_HEADER),
                ("idempotency_key", IDEMPOTENCY_KEY_HEADER),
                ("correlation_id", CORRELATION_ID_HEADER),
            )
        }
        signed = sign_request(
            key_id=key_id,
            secret=how.get("secret", secret),
            method=how.get("method", attack.method),
            path=self.path(how.get("path", attack.path)),
            raw_query=self.query(how.get("query", attack.query)),
            body=self.body(how.get("body", attack.body)),
            timestamp=_timestamp(how.get("timestamp")),
            **bound,
        )
        pairs: list[tuple[str, str | bytes]] = [
            (name, attack.replace.get(name, value))
            for name, value in signed.items()
            if name not in attack.drop
        ]
        if attack.content_type is not None:
            pairs.append((CONTENT_TYPE_HEADER, attack.content_type))
        pairs.extend(attack.extra)
        return pairs

    def send(
        self, attack: Attack, headers: list[tuple[str, str | bytes]] | None = None
    ) -> httpx.Response:
        """Send the attack's request (with its own headers unless given)."""
        path, query = self.path(attack.path), self.query(attack.query)
        raw_path = path + (f"?{query}" if query else "")
        url = httpx.URL(self.stack.endpoint).copy_with(raw_path=raw_path.encode())
        return httpx.request(
            attack.method,
            url,
            content=self.body(attack.body),
            headers=self.headers(attack) if headers is None else headers,
            timeout=30,
        )


def _as_sent(attack: Attack, header: str) -> str | None:
    """A header's value as the server sees it: repeats joined with a comma, as API Gateway does."""
    sent = [(CONTENT_TYPE_HEADER, attack.content_type), *attack.extra]
    values = [
        value if isinstance(value, str) else value.decode("latin-1")
        for name, value in sent
        if name.lower() == header.lower() and value is not None
    ]
    return ",".join(values) if values else None


def _timestamp(how: Any) -> int | None:
    now = int(time.time())
    if how is None:
        return None
    if how == "ms":
        return now * 1000
    if how == "zero":
        return 0
    return now + int(how)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A stack of its own, with keys of every kind and one submission to aim at."""
    state: Path = tmp_path_factory.mktemp("hostile-state")
    with running_stack(state) as stack:
        services = stack.services()
        # Only the "throttled" tenant is meant to meet its limit: however fast this machine
        # sends, the attacked tenant stays under its own (set before any request is cached).
        services.tenants.set_limits("demo", 10_000, 10_000)
        register(
            services.forms,
            "demo",
            "quiet",
            {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}},
        )
        keys = {"demo": (stack.demo["key_id"], stack.demo["secret"])}
        for role, scope in (
            ("read_only", scopes.READ),
            ("submit_only", scopes.SUBMIT),
            ("audit_only", scopes.AUDIT),
        ):
            key, secret = services.keys.create("demo", frozenset({scope}))
            keys[role] = (key.key_id, secret)
        revoked, secret = services.keys.create("demo", frozenset(scopes.ALL_SCOPES))
        services.keys.revoke("demo", revoked.key_id)
        keys["revoked"] = (revoked.key_id, secret)
        services.tenants.create("throttled", "throttled", rate_per_second=0.001, burst=1)
        throttled, secret = services.keys.create("throttled", frozenset({scopes.READ}))
        keys["throttled"] = (throttled.key_id, secret)
        other = stack.seed_second_tenant()
        keys["other_tenant"] = (other["key_id"], other["secret"])
        accepted = stack.client().submit("quiet", GOOD)
        assert accepted.status_code == 202, accepted.text
        delivered = stack.client().submit("contact", GOOD).json()["submission_id"]
        stack.wait_for(
            lambda: stack.client().status(delivered).json().get("status") == "delivered",
            what="the contact submission to be delivered",
            describe=lambda: stack.client().status(delivered).json(),
        )
        cursors = _cursors(stack, stack.client(other["key_id"], other["secret"]))
        yield Target(stack, keys, accepted.json()["submission_id"], delivered, cursors)


def _cursors(stack: RunningStack, other: FormrelayClient) -> dict[str, str]:
    """Real cursors of the attacked tenant's listing and of the other tenant's, and forgeries
    made from them."""
    assert stack.client().submit("quiet", GOOD).status_code == 202
    for _ in range(2):
        assert other.submit("contact", {"topic": "t"}).status_code == 202
    own = _next_cursor(stack, stack.client(), {"status": "delivered", "form_id": "quiet"})
    theirs = _next_cursor(stack, other, {"status": "delivered", "form_id": "contact"})
    own_export = _next_export_cursor(stack.client())
    own_verify = _next_verify_cursor(stack.client())
    return {
        "own_cursor": own,
        "edited_cursor": _edited(own),
        "cut_cursor": own[:-1],
        "other_tenant_cursor": theirs,
        "own_export_cursor": own_export,
        "edited_export_cursor": _edited(own_export),
        "other_tenant_export_cursor": _next_export_cursor(other),
        "own_verify_cursor": own_verify,
        "edited_verify_cursor": _edited(own_verify),
        "other_tenant_verify_cursor": _next_verify_cursor(other),
    }


def _edited(cursor: str) -> str:
    """The cursor with one character of its payload changed (its signature left as it was)."""
    payload, signature = cursor.split(".")
    flipped = "B" if payload[5] != "B" else "C"
    return f"{payload[:5]}{flipped}{payload[6:]}.{signature}"


def _next_export_cursor(client: FormrelayClient) -> str:
    """The cursor of the second page of a tenant's export, one event a page."""
    answer = client.audit_events("2000-01-01T00:00:00Z", limit=1)
    assert answer.status_code == 200, answer.text
    return answer.headers["x-fr-next-cursor"]


def _next_verify_cursor(client: FormrelayClient) -> str:
    """The cursor of the second page of a tenant's verification, one stream a page."""
    answer = client.audit_verify(limit=1)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["next_cursor"])


def _next_cursor(stack: RunningStack, client: FormrelayClient, query: dict[str, str]) -> str:
    """The cursor of a listing's first page of one (once the status views have caught up)."""

    def cursor() -> str | None:
        answer = client.request("GET", LISTING, query={**query, "limit": "1"})
        assert answer.status_code == 200, answer.text
        found: str | None = answer.json()["next_cursor"]
        return found

    return str(stack.wait_for(cursor, what=f"a second page of {query}"))


def test_the_tables_hold_distinct_attacks_as_many_as_the_readme_says() -> None:
    names = [attack.name for attack in ATTACKS] + [raw.name for raw in RAW_REQUESTS]
    assert len(set(names)) == len(names)
    assert len(names) >= 60
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    claimed = re.search(r"sends (\d+) hostile requests", readme)
    assert claimed is not None and int(claimed.group(1)) == len(names)


BODY_METHODS = ("POST", "PUT", "PATCH", "ANY")


def template_routes() -> list[tuple[str, str]]:
    """(method, path) of every HTTP API route infra/template.yaml declares."""
    routes = []
    for resource in load_template()["Resources"].values():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                properties = event["Properties"]
                routes.append((str(properties.get("Method", "ANY")).upper(), properties["Path"]))
    return routes


def route_of(attack: Attack) -> str | None:
    """The template route an attack's request reaches, as a route key."""
    path = unquote(attack.path.format(submission="s1", delivered="s2"))
    for method, template in template_routes():
        if method in (attack.method, "ANY") and path_pattern(template).fullmatch(path):
            return f"{method} {template}"
    return None


def swaps_the_body(attack: Attack) -> bool:
    """A row that sends another body than the one signed, and must get the 401."""
    swapped = "body" in attack.signed and attack.signed["body"] != attack.body
    return swapped and attack.expect == 401 and attack.answered_by == PROBLEM


def test_every_body_carrying_route_has_a_swapped_body_row() -> None:
    # Given every route of the template that takes a body
    body_routes = {f"{m} {p}" for m, p in template_routes() if m in BODY_METHODS}
    assert body_routes  # the template was read
    # When the table's swapped-body rows are matched to the routes they reach
    covered = {route_of(attack) for attack in ATTACKS if swaps_the_body(attack)}
    # Then each such route has one: a route added later must get its row too
    missing = sorted(body_routes - covered)
    assert not missing, f"add a row to ATTACKS that swaps the body after signing for: {missing}"


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
def test_a_hostile_request_gets_its_4xx_and_writes_no_event(target: Target, attack: Attack) -> None:
    replayed = target.first(attack)
    before = target.events()
    probed = target.probe(attack)

    response = target.send(attack, replayed)

    assert response.status_code == attack.expect, response.text
    if attack.answered_by == PROBLEM:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == attack.expect
        assert {"type", "title", "detail"} <= problem.keys()
    else:
        assert response.headers["content-type"].startswith("application/json")
        assert set(response.json()) == {"message"}
        if attack.expect == 401:
            assert response.json() == UNAUTHORIZED
        if attack.expect == 403:
            assert response.json() == FORBIDDEN
    assert "Traceback" not in response.text
    assert "server" not in response.headers  # API Gateway names no server software
    assert target.events() == before
    assert target.probe(attack) == probed


# Requests no HTTP client library sends, written to the socket as they are: the front
# answers each as API Gateway does, a {"message"} JSON 4xx, never an HTML page or a
# dropped connection, and names no server software.


@dataclass(frozen=True)
class RawRequest:
    """A request written byte for byte, and the answer it must get."""

    name: str
    expect: int
    message: str
    request_line: bytes = b"POST /v1/forms/quiet/submissions HTTP/1.1"
    headers: tuple[bytes, ...] = ()
    body: bytes = GOOD
    signed: bool = True  # carries a valid signature for its method, path and body


RAW_REQUESTS = [
    # No route has a lowercase method (methods are case-sensitive): API Gateway's route miss.
    RawRequest(
        "lowercase method",
        404,
        "Not Found",
        request_line=b"post /v1/forms/quiet/submissions HTTP/1.1",
        headers=(b"Content-Length: %d" % len(GOOD),),
    ),
    RawRequest(
        "lowercase read",
        404,
        "Not Found",
        request_line=b"get /v1/submissions?status=received HTTP/1.1",
        headers=(b"Content-Length: 0",),
        body=b"",
    ),
    RawRequest("Content-Length not a number", 400, "Bad Request", headers=(b"Content-Length: ab",)),
    RawRequest("Content-Length negative", 400, "Bad Request", headers=(b"Content-Length: -1",)),
    RawRequest("Content-Length in hex", 400, "Bad Request", headers=(b"Content-Length: 0x2",)),
    RawRequest("Content-Length with a sign", 400, "Bad Request", headers=(b"Content-Length: +2",)),
    RawRequest(
        "Content-Length as a superscript digit",
        400,
        "Bad Request",
        headers=(b"Content-Length: \xb2",),  # '²'.isdigit() is true, int('²') raises
    ),
    RawRequest(
        "Content-Length repeated",
        400,
        "Bad Request",
        headers=(b"Content-Length: %d" % len(GOOD),) * 2,
    ),
    RawRequest(
        "Content-Length as a list",
        400,
        "Bad Request",
        headers=(b"Content-Length: %d, %d" % (len(GOOD), len(GOOD)),),
    ),
    RawRequest(
        "chunk size not hex",
        400,
        "Bad Request",
        headers=(b"Transfer-Encoding: chunked",),
        body=b"zz\r\n" + GOOD + b"\r\n0\r\n\r\n",
    ),
    RawRequest(
        "request line without a version",
        400,
        "Bad Request",
        request_line=b"POST /v1/forms/quiet/submissions HTTP/x",
        headers=(b"Content-Length: %d" % len(GOOD),),
        signed=False,
    ),
]


def send_raw(target: Target, raw: RawRequest) -> tuple[int, dict[str, str], bytes]:
    """Write the request to a socket; read back status, headers and body."""
    endpoint = urlsplit(target.stack.endpoint)
    method, target_path, _ = raw.request_line.decode().split(" ")
    path, _, query = target_path.partition("?")
    lines = [raw.request_line, b"Host: " + endpoint.netloc.encode()]
    if raw.signed:
        key_id, secret = target.keys["demo"]
        signature = sign_request(
            key_id=key_id,
            secret=secret,
            method=method,
            path=path,
            raw_query=query,
            body=GOOD if raw.body else b"",  # the body inside the framing
            content_type="application/json",
        )
        lines += [f"{name}: {value}".encode() for name, value in signature.items()]
        lines.append(b"Content-Type: application/json")
    lines += list(raw.headers)
    with socket.create_connection((endpoint.hostname, endpoint.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + raw.body)
        response = HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


@pytest.mark.parametrize("raw", RAW_REQUESTS, ids=[raw.name for raw in RAW_REQUESTS])
def test_an_odd_request_gets_api_gateways_json_4xx(target: Target, raw: RawRequest) -> None:
    before = target.events()

    status, headers, body = send_raw(target, raw)

    assert status == raw.expect, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"message": raw.message}
    assert "server" not in headers
    assert target.events() == before


def test_the_same_raw_request_well_framed_is_accepted(target: Target) -> None:
    # The raw rows differ from this control only in what they break: signed the same way,
    # the well-formed request passes (so the rows above are refused for their oddity).
    control = RawRequest("control", 202, "", headers=(b"Content-Length: %d" % len(GOOD),))
    before = target.events()

    status, headers, _ = send_raw(target, control)

    assert status == 202
    assert "server" not in headers
    assert target.events() == before + 1


def test_a_real_cursor_turns_the_page_of_its_own_query(target: Target) -> None:
    answer = target.send(
        a("next page", 200, PROBLEM, **LIST, query=LISTED + "&limit=1&cursor={own_cursor}")
    )

    assert answer.status_code == 200, answer.text
    assert all(item["form_id"] == "quiet" for item in answer.json()["submissions"])


def test_a_schema_violation_names_each_error_by_pointer(target: Target) -> None:
    body = json.dumps({"email": "not-an-email", "message": "x" * 5001}).encode()

    response = target.send(a("schema", 422, PROBLEM, body=body))

    assert response.status_code == 422
    errors = response.json()["errors"]
    # email is malformed, message too long, name missing (reported at its own pointer)
    assert [error["pointer"] for error in errors] == ["/email", "/message", "/name"]
    assert all(error["message"] for error in errors)


def test_concurrent_repeats_of_an_idempotency_key_write_one_event(target: Target) -> None:
    # The submission's only write is one conditional put, so there is no window in which a
    # concurrent repeat could write again: each repeat gets the first answer (or 409 with
    # another body).
    same = a("same", 202, PROBLEM, path=QUIET, extra=(("Idempotency-Key", "concurrent-1"),))
    other = replace(same, body=json.dumps({"email": "other@example.com"}).encode())
    before = target.events()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(target.send, [same] * 6 + [other] * 2))

    assert target.events() == before + 1
    same_won = answers[0].status_code == 202
    expected = [202] * 6 + [409] * 2 if same_won else [202] * 2 + [409] * 6
    assert sorted(answer.status_code for answer in answers) == expected
    accepted = {answer.json()["submission_id"] for answer in answers if answer.status_code == 202}
    assert accepted == {"concurrent-1"}


# Fuzzing: what a header or body may be, generated; the answer is never a 5xx.

# What an HTTP client can send at all: no leading or trailing whitespace, no controls.
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80
).map(str.strip)
HEADER_BYTES = st.binary(max_size=40).map(
    lambda raw: bytes(b for b in raw if 0x21 <= b <= 0xFF and b != 0x7F)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(
        st.sampled_from(SIGNED_HEADERS),
        st.one_of(st.none(), HEADER_TEXT, HEADER_BYTES),
        max_size=5,
    ),
    repeat=st.lists(st.tuples(st.sampled_from(SIGNED_HEADERS), HEADER_TEXT), max_size=2),
)
def test_fuzzed_signature_headers_never_get_a_5xx(
    target: Target, changes: dict[str, str | bytes | None], repeat: list[tuple[str, str]]
) -> None:
    drop = tuple(name for name, value in changes.items() if value is None)
    replace = {name: value for name, value in changes.items() if isinstance(value, str)}
    raw = tuple((name, value) for name, value in changes.items() if isinstance(value, bytes))
    attack = a(
        "fuzz",
        0,
        GATEWAY,
        path=QUIET,
        drop=drop + tuple(n for n, _ in raw),
        replace=replace,
        extra=raw + tuple(repeat),
    )
    before = target.events()

    response = target.send(attack)

    assert response.status_code < 500, response.text
    if response.status_code != 202:
        assert target.events() == before


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Arrays and objects of inner values (a named function: hypothesis reads a lambda's
    source to check it recurses, and misreads one that spans lines)."""
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    _json_containers,
    max_leaves=20,
)
BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.sampled_from(["email", "name", "x"]), JSON_VALUES, max_size=3).map(
        lambda value: json.dumps(value).encode()
    ),
    st.text(max_size=100).map(lambda text: text.encode("utf-8", "surrogatepass")),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/vnd.x+json",
        "text/json",
        "application/json; charset=utf-16",
        "",
    ]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_fuzzed_bodies_signed_correctly_never_get_a_5xx(
    target: Target, body: bytes, content_type: str
) -> None:
    attack = a("fuzz", 0, PROBLEM, path=QUIET, body=body, content_type=content_type or None)
    before = target.events()

    response = target.send(attack)

    assert response.status_code in (202, 400, 415, 422), response.text
    if response.status_code == 202:
        assert target.events() == before + 1
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert target.events() == before
