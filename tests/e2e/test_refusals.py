"""Requests the API must refuse, the way DESIGN.md "Signing" says, writing no event."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from formrelay.auth.signing import SIGNATURE_HEADER, sign_request
from tests.e2e.conftest import RunningStack

PATH = "/v1/forms/contact/submissions"
GOOD = json.dumps({"email": "ada@example.com", "name": "Ada"}).encode()


def _send(
    stack: RunningStack,
    body: bytes = GOOD,
    *,
    signed_body: bytes | None = None,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
    secret: str | None = None,
    path: str = PATH,
) -> httpx.Response:
    signed = sign_request(
        key_id=stack.demo["key_id"],
        secret=secret or stack.demo["secret"],
        method="POST",
        path=path,
        body=body if signed_body is None else signed_body,
        timestamp=timestamp,
    )
    all_headers = {"content-type": "application/json", **signed, **(headers or {})}
    return httpx.post(stack.endpoint + path, content=body, headers=all_headers, timeout=30)


def _signed(stack: RunningStack, path: str = PATH) -> dict[str, str]:
    key_id, secret = stack.demo["key_id"], stack.demo["secret"]
    return sign_request(key_id=key_id, secret=secret, method="POST", path=path, body=GOOD)


def _gateway(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    document = response.json()
    assert {"type", "title", "status", "detail"} <= document.keys()
    assert document["status"] == response.status_code
    return dict(document)


@pytest.fixture
def no_new_events(stack: RunningStack) -> Any:
    """Assert the test writes no submission to the event table."""
    before = stack.received_submissions()
    yield
    assert stack.received_submissions() == before


def test_a_missing_signature_header_is_401_before_the_authorizer(
    stack: RunningStack, no_new_events: None
) -> None:
    signed = sign_request(
        key_id=stack.demo["key_id"],
        secret=stack.demo["secret"],
        method="POST",
        path=PATH,
        body=GOOD,
    )
    del signed[SIGNATURE_HEADER]
    response = httpx.post(stack.endpoint + PATH, content=GOOD, headers=signed, timeout=30)
    assert response.status_code == 401
    assert _gateway(response) == {"message": "Unauthorized"}


def test_a_wrong_signature_is_403(stack: RunningStack, no_new_events: None) -> None:
    response = _send(stack, secret="frsk_not-the-secret")
    assert response.status_code == 403
    assert _gateway(response) == {"message": "Forbidden"}


@pytest.mark.parametrize("skew", [-600, 600])
def test_a_timestamp_ten_minutes_off_is_403(
    stack: RunningStack, no_new_events: None, skew: int
) -> None:
    response = _send(stack, timestamp=int(time.time()) + skew)
    assert response.status_code == 403
    assert _gateway(response) == {"message": "Forbidden"}


def test_a_reused_nonce_is_403_and_writes_nothing_the_second_time(stack: RunningStack) -> None:
    signed = sign_request(
        key_id=stack.demo["key_id"],
        secret=stack.demo["secret"],
        method="POST",
        path=PATH,
        body=GOOD,
    )
    headers = {"content-type": "application/json", **signed}
    first = httpx.post(stack.endpoint + PATH, content=GOOD, headers=headers, timeout=30)
    assert first.status_code == 202
    before = stack.received_submissions()

    replay = httpx.post(stack.endpoint + PATH, content=GOOD, headers=headers, timeout=30)

    assert replay.status_code == 403
    assert _gateway(replay) == {"message": "Forbidden"}
    assert stack.received_submissions() == before


def test_a_signature_for_another_route_is_403(stack: RunningStack, no_new_events: None) -> None:
    signed = _signed(stack, path="/v1/forms/other/submissions")
    response = httpx.post(stack.endpoint + PATH, content=GOOD, headers=signed, timeout=30)
    assert response.status_code == 403


def test_a_body_that_does_not_match_its_signed_digest_is_401_problem(
    stack: RunningStack, no_new_events: None
) -> None:
    tampered = json.dumps({"email": "mallory@example.com", "name": "Mallory"}).encode()
    response = _send(stack, tampered, signed_body=GOOD)
    assert response.status_code == 401
    assert _problem(response)["title"] == "Unauthorized"


def test_a_body_failing_the_form_schema_is_422_with_one_entry_per_error(
    stack: RunningStack, no_new_events: None
) -> None:
    body = json.dumps({"email": "not-an-email", "message": "x" * 5001}).encode()
    response = _send(stack, body)
    assert response.status_code == 422
    problem = _problem(response)
    pointers = sorted(error["pointer"] for error in problem["errors"])
    # name is missing (reported at the object), email is malformed, message too long
    assert pointers == ["", "/email", "/message"]
    assert all(error["message"] for error in problem["errors"])


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"email": "a@b.co", "name": "A",}', b"\xff\xfe", b'{"name": "A", "name": "B"}'],
    ids=["truncated", "trailing-comma", "not-utf8", "duplicate-key"],
)
def test_malformed_json_is_400_problem(
    stack: RunningStack, no_new_events: None, body: bytes
) -> None:
    response = _send(stack, body)
    assert response.status_code == 400
    _problem(response)


def test_an_unknown_submission_is_404_problem(stack: RunningStack) -> None:
    response = stack.client().status("no-such-submission")
    assert response.status_code == 404
    _problem(response)
