"""Every HTTP route of every function refuses a body that is not the one signed, first.

Given the tables provisioned from infra/template.yaml on moto, each route the
template declares is invoked through its real handler with an API Gateway v2
event that passed the authorizer (which verified the X-Fr-Content-Sha256 header
but never saw the body): when the body's SHA-256 is not that digest, the route
answers 401 problem+json before any route code or the rate limit runs, so
nothing is written, not even a rate-limit token.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from formrelay.auth.signing import body_sha256
from formrelay.local.functions import load_handler
from tests.support.http_events import Context
from tests.support.route_handlers import empty_bucket, http_routes, route_event, tables

__all__ = ["tables"]  # the fixture, shared with the rate limit's suite

SIGNED = b'{"url": "https://hooks.example.com/formrelay"}'
SWAPPED = b'{"url": "https://attacker.example.net/collect"}'


def every_item(dynamodb: Any) -> list[dict[str, Any]]:
    """Every item of both tables, in a stable order."""
    items = []
    for table in ("formrelay-EventsTable", "formrelay-ViewsTable"):
        items += dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def swapped(method: str, path: str, *, sent: bytes, signed: bytes) -> dict[str, Any]:
    """The route's event carrying `sent` under the digest of `signed`."""
    event = route_event(method, path, "acme", sent.decode())
    event["headers"]["x-fr-content-sha256"] = body_sha256(signed)
    return event


def assert_digest_mismatch(answer: dict[str, Any]) -> None:
    assert answer["statusCode"] == 401, answer
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    problem = json.loads(answer["body"])
    assert problem["type"].endswith("/digest-mismatch")
    assert problem["title"] == "Unauthorized"
    assert problem["detail"] == "the body does not match its signed digest"


@pytest.mark.parametrize(("handler", "method", "path"), http_routes())
def test_every_route_refuses_a_body_swapped_after_signing(
    tables: Any, handler: str, method: str, path: str
) -> None:
    before = every_item(tables)

    answer = load_handler(handler)(swapped(method, path, sent=SWAPPED, signed=SIGNED), Context())

    assert_digest_mismatch(answer)
    assert every_item(tables) == before  # no event, no destination, no rate-limit token


@pytest.mark.parametrize(("handler", "method", "path"), http_routes())
def test_every_route_binds_an_empty_body_too(
    tables: Any, handler: str, method: str, path: str
) -> None:
    # A GET's empty body is bound like any other: signed as "{}", sent empty, and the reverse.
    dropped = swapped(method, path, sent=b"", signed=b"{}")
    added = swapped(method, path, sent=b"{}", signed=b"")

    assert_digest_mismatch(load_handler(handler)(dropped, Context()))
    assert_digest_mismatch(load_handler(handler)(added, Context()))


def test_the_body_is_checked_before_the_rate_limit(tables: Any) -> None:
    # Given a tenant with no token left
    empty_bucket(tables, "acme")
    before = every_item(tables)
    event = swapped(
        "PUT", "/v1/forms/{form_id}/destinations/{destination_id}", sent=SWAPPED, signed=SIGNED
    )

    answer = load_handler("handlers.admin.handler")(event, Context())

    # Then the swapped body is what it is told (not 429), and the bucket is as it was
    assert_digest_mismatch(answer)
    assert every_item(tables) == before


def test_a_base64_body_is_bound_as_its_bytes(tables: Any) -> None:
    # API Gateway hands a non-text body base64-encoded: the digest is of the decoded bytes.
    raw = b"\xff\xfe not utf-8"
    event = route_event("GET", "/v1/submissions/{submission_id}", "acme")
    event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    event["headers"]["x-fr-content-sha256"] = body_sha256(raw)

    answer = load_handler("handlers.query.handler")(event, Context())

    assert answer["statusCode"] == 404  # past the body check: no such submission
    event["headers"]["x-fr-content-sha256"] = body_sha256(base64.b64encode(raw))
    assert_digest_mismatch(load_handler("handlers.query.handler")(event, Context()))
