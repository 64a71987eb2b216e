"""A submission is validated against its form's current version, and records which.

Through the real forms, ingest and query handlers on the template's tables (moto):
register v1, submit, register a stricter v2, submit again; the status of each shows
the version it was validated against, and v1 stays readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from formrelay.composition import services
from formrelay.domain.events import StreamId
from formrelay.local.functions import load_handler
from tests.support.http_events import Context, http_event
from tests.support.template_aws import template_aws

TENANT = "acme"
V1: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string"}}}
V2: dict[str, Any] = {**V1, "required": ["email", "name"]}
HANDLERS = {
    "PUT /v1/forms/{form_id}": "handlers.forms.handler",
    "GET /v1/forms/{form_id}/versions/{version}": "handlers.forms.handler",
    "POST /v1/forms/{form_id}/submissions": "handlers.ingest.handler",
    "GET /v1/submissions/{submission_id}": "handlers.query.handler",
}


@pytest.fixture(scope="module")
def tables() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env, template_aws() as aws:
        for name, value in {
            "EVENTS_TABLE": aws.events_table,
            "VIEWS_TABLE": aws.views_table,
            "LISTING_CURSOR_KEY_SECRET": aws.resources["ListingCursorKey"]["Ref"],
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "RATE_LIMIT_BURST": "100000",
        }.items():
            env.setenv(name, value)
        services.cache_clear()
        yield
        services.cache_clear()


def send(route: str, path: str, body: Any = None) -> tuple[int, Any]:
    raw = b"" if body is None else json.dumps(body).encode()
    answer = load_handler(HANDLERS[route])(
        http_event(route, path, tenant_id=TENANT, body=raw), Context()
    )
    return answer["statusCode"], json.loads(answer["body"])


def submit(payload: dict[str, Any]) -> tuple[int, Any]:
    return send("POST /v1/forms/{form_id}/submissions", "/v1/forms/signup/submissions", payload)


def status(submission_id: str) -> dict[str, Any]:
    code, view = send("GET /v1/submissions/{submission_id}", f"/v1/submissions/{submission_id}")
    assert code == 200, view
    return dict(view)


def test_each_submission_is_validated_against_and_records_the_current_version(
    tables: None,
) -> None:
    # Given the form at v1, and a submission v1 accepts (no email)
    assert send("PUT /v1/forms/{form_id}", "/v1/forms/signup", {"schema": V1})[0] == 201
    code, first = submit({"name": "Ada"})
    assert code == 202, first

    # When v2 requires an email (NONE: a narrowing that no other mode allows as it is)
    registered = send(
        "PUT /v1/forms/{form_id}", "/v1/forms/signup", {"schema": V2, "compatibility": "NONE"}
    )
    assert registered == (200, {"form_id": "signup", "version": 2, "compatibility": "NONE"})

    # Then what v1 accepted is refused against v2, saying so
    code, refusal = submit({"name": "Ada"})
    assert code == 422
    assert refusal["detail"] == "1 error(s) against signup schema v2"
    assert refusal["errors"] == [{"pointer": "/email", "message": "'email' is a required property"}]

    # And a submission valid under v2 records v2, the first still v1
    code, second = submit({"name": "Ada", "email": "ada@example.com"})
    assert code == 202, second
    assert status(second["submission_id"])["form_version"] == 2
    assert status(first["submission_id"])["form_version"] == 1
    [received] = services().events.read(StreamId(TENANT, second["submission_id"]))
    assert received.data["form_schema_version"] == 2

    # And v1 stays readable as it was registered
    assert send("GET /v1/forms/{form_id}/versions/{version}", "/v1/forms/signup/versions/1") == (
        200,
        {"form_id": "signup", "version": 1, "schema": V1},
    )
