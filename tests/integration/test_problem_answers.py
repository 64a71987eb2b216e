"""Every refusal the API makes, answered exactly: status, content type and the whole document.

Given the tables and queues of infra/template.yaml on moto and a seeded tenant, each
request is sent through its real handler as an API Gateway v2 event that the authorizer
let through. The answers are pinned word for word: clients match on `type`, read
`detail` and walk `errors`, so none of them may change by accident.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from formrelay.composition import services
from formrelay.domain.events import SUBMISSION_RECEIVED, NewEvent, StreamId
from formrelay.local.functions import load_handler
from formrelay.registry.registration import register
from tests.support.http_events import Context, http_event
from tests.support.template_aws import template_aws

TENANT = "acme"
SUBMISSION_ID = "sub-pinned-1"
TYPE = "https://formrelay.dev/problems/"
CONTACT_SCHEMA = {
    "type": "object",
    "required": ["email", "name"],
    "properties": {"email": {"type": "string"}, "name": {"type": "string", "minLength": 1}},
}
# The contact form with a new required field and a longer minimum name: two reasons.
PHONE_REQUIRED = {
    **CONTACT_SCHEMA,
    "required": ["email", "name", "phone"],
    "properties": {
        "email": {"type": "string"},
        "name": {"type": "string", "minLength": 2},
    },
}

# The contact form whose name must be a host name: a format no validator here checks.
HOSTNAME_NAME = {
    **CONTACT_SCHEMA,
    "properties": {
        "email": {"type": "string"},
        "name": {"type": "string", "minLength": 1, "format": "hostname"},
    },
}


HANDLERS = {
    "POST /v1/forms/{form_id}/submissions": "handlers.ingest.handler",
    "GET /v1/submissions": "handlers.query.handler",
    "GET /v1/submissions/{submission_id}": "handlers.query.handler",
    "GET /v1/submissions/{submission_id}/events": "handlers.query.handler",
    "POST /v1/submissions/{submission_id}/redeliveries": "handlers.redelivery.handler",
    "PUT /v1/forms/{form_id}/destinations/{destination_id}": "handlers.admin.handler",
    "GET /v1/forms/{form_id}/destinations/{destination_id}": "handlers.admin.handler",
    "DELETE /v1/forms/{form_id}/destinations/{destination_id}": "handlers.admin.handler",
    "GET /v1/forms": "handlers.forms.handler",
    "PUT /v1/forms/{form_id}": "handlers.forms.handler",
    "GET /v1/forms/{form_id}": "handlers.forms.handler",
    "GET /v1/forms/{form_id}/versions/{version}": "handlers.forms.handler",
    "POST /v1/console-links": "handlers.console_links.handler",
}


def send(route: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """The handler's answer to one request."""
    answer: dict[str, Any] = load_handler(HANDLERS[route])(
        http_event(route, path, tenant_id=TENANT, **kwargs), Context()
    )
    return answer


@pytest.fixture(scope="module")
def stack() -> Iterator[None]:
    """Given moto with the template's resources, a tenant's contact form and one submission
    whose delivery to `primary` is still under way."""
    with pytest.MonkeyPatch.context() as env, template_aws() as aws:
        for name, value in {
            "EVENTS_TABLE": aws.events_table,
            "VIEWS_TABLE": aws.views_table,
            "DELIVERY_QUEUE_URL": aws.resources["DeliveryQueue"]["Ref"],
            "LISTING_CURSOR_KEY_SECRET": aws.resources["ListingCursorKey"]["Ref"],
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "DELIVERY_ALLOWED_DESTINATIONS": "127.0.0.1:9",
            "RATE_LIMIT_BURST": "100000",
        }.items():
            env.setenv(name, value)
        services.cache_clear()
        built = services()
        built.tenants.create(TENANT, TENANT)
        register(built.forms, TENANT, "contact", CONTACT_SCHEMA)
        saved = send(
            "PUT /v1/forms/{form_id}/destinations/{destination_id}",
            "/v1/forms/contact/destinations/primary",
            body=b'{"url": "http://127.0.0.1:9/hook"}',
        )
        assert saved["statusCode"] == 201, saved
        received = NewEvent(
            type=SUBMISSION_RECEIVED,
            correlation_id="c-1",
            data={
                "form_id": "contact",
                "form_schema_version": 1,
                "key_id": f"{TENANT}.0123456789abcdef",
                "body_sha256": "0" * 64,
                "idempotency_key": "used-once",
                "payload": {"email": "ada@example.com", "name": "Ada"},
                "destinations": ["primary"],
            },
        )
        built.events.append(StreamId(TENANT, SUBMISSION_ID), [received], expected_version=0)
        built.events.append(StreamId(TENANT, "used-once"), [received], expected_version=0)
        yield
        services.cache_clear()


def problem(status: int, slug: str, title: str, detail: str, **more: Any) -> dict[str, Any]:
    """The problem document a client gets."""
    return {"type": TYPE + slug, "title": title, "status": status, "detail": detail, **more}


def bad_request(detail: str, slug: str = "bad-request") -> dict[str, Any]:
    return problem(400, slug, "Bad request", detail)


def not_found(detail: str) -> dict[str, Any]:
    return problem(404, "not-found", "Not found", detail)


SUBMIT = "POST /v1/forms/{form_id}/submissions"
LISTING = "GET /v1/submissions"
STATUS = "GET /v1/submissions/{submission_id}"
HISTORY = "GET /v1/submissions/{submission_id}/events"
REDELIVER = "POST /v1/submissions/{submission_id}/redeliveries"
PUT = "PUT /v1/forms/{form_id}/destinations/{destination_id}"
GET = "GET /v1/forms/{form_id}/destinations/{destination_id}"
DELETE = "DELETE /v1/forms/{form_id}/destinations/{destination_id}"
PUT_FORM = "PUT /v1/forms/{form_id}"
GET_FORM = "GET /v1/forms/{form_id}"
GET_VERSION = "GET /v1/forms/{form_id}/versions/{version}"
FORM = "/v1/forms/contact"
MODES = (
    "['NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', "
    "'FULL_TRANSITIVE']"
)
CONTACT = "/v1/forms/contact/submissions"
GOOD = b'{"email": "ada@example.com", "name": "Ada"}'
ONE = f"/v1/submissions/{SUBMISSION_ID}"
PRIMARY = "/v1/forms/contact/destinations/primary"
FORM_ID_PATTERN = "^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$"
DESTINATION_ID_PATTERN = "^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$"
STATUSES = "received, delivering, delivered, failed, dead_lettered"
TIME_HINT = "an RFC 3339 time with its zone, such as 2026-01-31T00:00:00Z"

# What cursors were before they were signed: base64 of a (partial) LastEvaluatedKey.
UNSIGNED_START_KEY = base64.urlsafe_b64encode(
    json.dumps({"gsi1pk": {"S": f"T#{TENANT}#STATUS#received"}}).encode()
).decode()

CONSOLE_LINKS = "POST /v1/console-links"
LINK_SCOPES = "scopes must be a non-empty subset of ['admin', 'audit', 'read', 'submit']"

# (name, route, path, request, the document answered)
CASES: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
    # Console links
    (
        "console link with an unknown field",
        CONSOLE_LINKS,
        "/v1/console-links",
        {"body": b'{"ttl": "1h", "tenant_id": "umbrella"}'},
        bad_request(
            "unknown fields ['tenant_id']: the body may hold only scopes and ttl",
            "invalid-console-link",
        ),
    ),
    (
        "console link with an unknown scope",
        CONSOLE_LINKS,
        "/v1/console-links",
        {"body": b'{"scopes": ["read", "root"]}'},
        bad_request(LINK_SCOPES, "invalid-console-link"),
    ),
    (
        "console link living too long",
        CONSOLE_LINKS,
        "/v1/console-links",
        {"body": b'{"ttl": "13h"}'},
        bad_request("a console link lives between 60 s and 12 h", "invalid-console-link"),
    ),
    (
        "console link with a ttl that is no duration",
        CONSOLE_LINKS,
        "/v1/console-links",
        {"body": b'{"ttl": "abc"}'},
        bad_request("ttl: not a duration like 5m, 90s, 1h or 7d: 'abc'", "invalid-console-link"),
    ),
    # Submissions
    (
        "body unlike its signed digest",
        SUBMIT,
        CONTACT,
        {"body": GOOD, "headers": {"x-fr-content-sha256": "0" * 64}},
        problem(
            401, "digest-mismatch", "Unauthorized", "the body does not match its signed digest"
        ),
    ),
    (
        "form id outside its pattern",
        SUBMIT,
        "/v1/forms/Contact/submissions",
        {"body": GOOD},
        not_found("no such form"),
    ),
    (
        "form of no such id",
        SUBMIT,
        "/v1/forms/nope/submissions",
        {"body": GOOD},
        not_found("no such form"),
    ),
    (
        "duplicate keys",
        SUBMIT,
        CONTACT,
        {"body": b'{"name": "A", "name": "B"}'},
        bad_request("duplicate object key 'name'", "malformed-json"),
    ),
    (
        "array body",
        SUBMIT,
        CONTACT,
        {"body": b"[1]"},
        bad_request("the body must be a JSON object", "malformed-json"),
    ),
    (
        "Idempotency-Key outside its pattern",
        SUBMIT,
        CONTACT,
        {"body": GOOD, "headers": {"idempotency-key": "a b"}},
        bad_request(
            "Idempotency-Key must be 1-128 characters of letters, digits, '.', '_' or '-'",
            "invalid-idempotency-key",
        ),
    ),
    (
        "body against the form's schema",
        SUBMIT,
        CONTACT,
        {"body": b'{"email": 1, "name": ""}'},
        problem(
            422,
            "validation-failed",
            "Submission does not match the form's schema",
            "2 error(s) against contact schema v1",
            errors=[
                {"pointer": "/email", "message": "1 is not of type 'string'"},
                {"pointer": "/name", "message": "'' should be non-empty"},
            ],
        ),
    ),
    (
        "Idempotency-Key reused with another body",
        SUBMIT,
        CONTACT,
        {"body": GOOD, "headers": {"idempotency-key": "used-once"}},
        problem(
            409,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "this Idempotency-Key was used with a different request",
        ),
    ),
    (
        "submission body over 256 KB",
        SUBMIT,
        CONTACT,
        {"body": b'{"name": "' + b"a" * (256 * 1024) + b'"}'},
        problem(
            413,
            "body-too-large",
            "Request body too large",
            "the body is 262156 bytes; at most 262144 are accepted",
        ),
    ),
    (
        "submission as text/plain",
        SUBMIT,
        CONTACT,
        {"body": GOOD, "headers": {"content-type": "text/plain"}},
        problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "the body must be sent as application/json (charset utf-8, if given)",
        ),
    ),
    # Status and history
    (
        "status of no such submission",
        STATUS,
        "/v1/submissions/nope",
        {},
        not_found("no such submission"),
    ),
    (
        "status with an id outside its pattern",
        STATUS,
        "/v1/submissions/a%27b",
        {},
        not_found("no such submission"),
    ),
    (
        "history of no such submission",
        HISTORY,
        "/v1/submissions/nope/events",
        {},
        not_found("no such submission"),
    ),
    # The listing
    (
        "listing with an unknown parameter",
        LISTING,
        "/v1/submissions",
        {"query": "status=received&tenant_id=demo&x=1"},
        bad_request("unknown query parameters: tenant_id, x"),
    ),
    (
        "listing of an unknown status",
        LISTING,
        "/v1/submissions",
        {"query": "status=lost"},
        bad_request(f"status must be one of {STATUSES}"),
    ),
    (
        "listing of a form id outside its pattern",
        LISTING,
        "/v1/submissions",
        {"query": "status=received&form_id=A"},
        bad_request(f"form_id does not match {FORM_ID_PATTERN}"),
    ),
    (
        "listing with limit 0",
        LISTING,
        "/v1/submissions",
        {"query": "status=received&limit=0"},
        bad_request("limit must be 1 to 100"),
    ),
    (
        "listing with limit 101",
        LISTING,
        "/v1/submissions",
        {"query": "status=received&limit=101"},
        bad_request("limit must be 1 to 100"),
    ),
    (
        "listing with since not a time",
        LISTING,
        "/v1/submissions",
        {"query": "status=received&since=yesterday"},
        bad_request(f"since must be {TIME_HINT}"),
    ),
    (
        "listing with until a time without its zone",
        LISTING,
        "/v1/submissions",
        {"query": "until=2026-01-01T00:00:00"},
        bad_request(f"until must be {TIME_HINT}"),
    ),
    (
        "listing with until a date and no time",
        LISTING,
        "/v1/submissions",
        {"query": "form_id=contact&until=2026-01-01"},
        bad_request(f"until must be {TIME_HINT}"),
    ),
    (
        "listing with until not later than since",
        LISTING,
        "/v1/submissions",
        {"query": "since=2026-01-01T01:00:00Z&until=2026-01-01T02:00:00%2B01:00"},
        bad_request("until must be later than since"),
    ),
    (
        "listing with a cursor of garbage",
        LISTING,
        "/v1/submissions",
        {"query": "status=received&cursor=garbage"},
        bad_request("cursor is not one this API gave out"),
    ),
    # Odd input that once answered 500
    (
        "listing with limit superscript two",
        LISTING,
        "/v1/submissions",
        {"query": "status=received&limit=%C2%B2"},
        bad_request("limit must be 1 to 100"),
    ),
    (
        "listing with since in superscript digits",
        LISTING,
        "/v1/submissions",
        {"query": "status=received&since=%C2%B2%C2%B2%C2%B2%C2%B2-01-01"},
        bad_request(f"since must be {TIME_HINT}"),
    ),
    (
        "listing with an unsigned start key as cursor",
        LISTING,
        "/v1/submissions",
        {"query": "status=received&cursor=" + UNSIGNED_START_KEY},
        bad_request("cursor is not one this API gave out"),
    ),
    # Redelivery
    (
        "redelivery of no such submission",
        REDELIVER,
        "/v1/submissions/nope/redeliveries",
        {},
        not_found("no such submission"),
    ),
    (
        "redelivery to a destination the submission lacks",
        REDELIVER,
        ONE + "/redeliveries",
        {"body": b'{"destination_id": "other"}'},
        not_found("the submission has no delivery to that destination"),
    ),
    (
        "redelivery while delivering",
        REDELIVER,
        ONE + "/redeliveries",
        {},
        problem(
            409,
            "delivery-in-progress",
            "Delivery in progress",
            "still being delivered to: primary; redeliver once it has ended",
        ),
    ),
    (
        "redelivery options not JSON",
        REDELIVER,
        ONE + "/redeliveries",
        {"body": b"{"},
        bad_request(
            "body is not JSON: Expecting property name enclosed in double quotes at line 1",
            "malformed-json",
        ),
    ),
    (
        "redelivery with unknown options",
        REDELIVER,
        ONE + "/redeliveries",
        {"body": b'{"tenant_id": "acme"}'},
        bad_request('the body may hold only "destination_id" and "reason"'),
    ),
    (
        "redelivery options not strings",
        REDELIVER,
        ONE + "/redeliveries",
        {"body": b'{"reason": 5}'},
        bad_request('"destination_id" and "reason" are strings'),
    ),
    # Destinations
    (
        "destination of a form id outside its pattern",
        PUT,
        "/v1/forms/Contact/destinations/d",
        {"body": b'{"url": "http://127.0.0.1:9/"}'},
        not_found("no such form"),
    ),
    (
        "destination of no such form",
        PUT,
        "/v1/forms/nope/destinations/d",
        {"body": b'{"url": "http://127.0.0.1:9/"}'},
        not_found("no such form"),
    ),
    (
        "destination id outside its pattern",
        PUT,
        "/v1/forms/contact/destinations/Bad_Id",
        {"body": b'{"url": "http://127.0.0.1:9/"}'},
        bad_request(
            f"destination id does not match {DESTINATION_ID_PATTERN}", "invalid-destination-id"
        ),
    ),
    (
        "destination not JSON",
        PUT,
        PRIMARY,
        {"body": b'{"url": NaN}'},
        bad_request("NaN is not JSON", "malformed-json"),
    ),
    (
        "destination against its schema",
        PUT,
        PRIMARY,
        {"body": b'{"method": "GET"}'},
        problem(
            422,
            "validation-failed",
            "Destination is invalid",
            "2 error(s) in the destination",
            errors=[
                {"pointer": "/method", "message": "'GET' is not one of ['POST', 'PUT']"},
                {"pointer": "/url", "message": "'url' is a required property"},
            ],
        ),
    ),
    (
        "destination breaking the header rules and the SSRF guard",
        PUT,
        PRIMARY,
        {"body": b'{"url": "http://10.0.0.1/", "headers": {"Host": "x", "webhook-id": "y"}}'},
        problem(
            422,
            "validation-failed",
            "Destination is invalid",
            "3 error(s) in the destination",
            errors=[
                {"pointer": "/headers/Host", "message": "Host may not be set"},
                {"pointer": "/headers/webhook-id", "message": "webhook-id may not be set"},
                {
                    "pointer": "/url",
                    "message": "host 10.0.0.1 resolves to a non-public address",
                },
            ],
        ),
    ),
    (
        "destination over 64 KB",
        PUT,
        PRIMARY,
        {"body": b'{"url": "' + b"a" * (64 * 1024) + b'"}'},
        problem(
            413,
            "body-too-large",
            "Request body too large",
            "the body is 65547 bytes; at most 65536 are accepted",
        ),
    ),
    (
        "no such destination (GET)",
        GET,
        "/v1/forms/contact/destinations/none",
        {},
        not_found("no such destination"),
    ),
    (
        "destination id outside its pattern (GET)",
        GET,
        "/v1/forms/contact/destinations/A",
        {},
        not_found("no such destination"),
    ),
    (
        "no such form (GET)",
        GET,
        "/v1/forms/Nope/destinations/primary",
        {},
        not_found("no such form"),
    ),
    (
        "no such destination (DELETE)",
        DELETE,
        "/v1/forms/contact/destinations/none",
        {},
        not_found("no such destination"),
    ),
    # The form registry
    (
        "form registered under an id outside its pattern",
        PUT_FORM,
        "/v1/forms/Contact",
        {"body": b'{"schema": {"type": "object"}}'},
        bad_request(f"form id does not match {FORM_ID_PATTERN}", "invalid-form-id"),
    ),
    (
        "form registration not JSON",
        PUT_FORM,
        FORM,
        {"body": b'{"schema": {"type": "object"}'},
        bad_request("body is not JSON: Expecting ',' delimiter at line 1", "malformed-json"),
    ),
    (
        "form registration with unknown fields",
        PUT_FORM,
        FORM,
        {"body": b'{"schema": {"type": "object"}, "tenant_id": "globex", "version": 7}'},
        problem(
            422,
            "validation-failed",
            "Form registration is invalid",
            "1 error(s) in the form's registration",
            errors=[
                {
                    "pointer": "",
                    "message": "Additional properties are not allowed "
                    "('tenant_id', 'version' were unexpected)",
                }
            ],
        ),
    ),
    (
        "form registration without a schema, under an unknown mode",
        PUT_FORM,
        FORM,
        {"body": b'{"compatibility": "SIDEWAYS"}'},
        problem(
            422,
            "validation-failed",
            "Form registration is invalid",
            "2 error(s) in the form's registration",
            errors=[
                {"pointer": "/compatibility", "message": f"'SIDEWAYS' is not one of {MODES}"},
                {"pointer": "/schema", "message": "'schema' is a required property"},
            ],
        ),
    ),
    (
        "form schema not a draft-07 JSON Schema",
        PUT_FORM,
        FORM,
        {"body": b'{"schema": {"type": "object", "properties": {"email": {"minLength": -1}}}}'},
        problem(
            422,
            "invalid-schema",
            "Not a JSON Schema (draft-07)",
            "not a draft-07 JSON Schema at /properties/email/minLength: "
            "-1 is less than the minimum of 0",
        ),
    ),
    (
        "form schema not of an object",
        PUT_FORM,
        FORM,
        {"body": b'{"schema": {"type": "array"}}'},
        problem(
            422,
            "invalid-schema",
            "Not a JSON Schema (draft-07)",
            'a form\'s schema must describe a JSON object: "type": "object" at its top',
        ),
    ),
    (
        "form schema with a remote $ref",
        PUT_FORM,
        FORM,
        {"body": b'{"schema": {"type": "object", "$ref": "http://169.254.169.254/s"}}'},
        problem(
            422,
            "invalid-schema",
            "Not a JSON Schema (draft-07)",
            "$ref at /$ref must point inside the schema (start with #)",
        ),
    ),
    (
        "form registration over 128 KB",
        PUT_FORM,
        FORM,
        {"body": b'{"schema": {"type": "object", "title": "' + b"a" * (128 * 1024) + b'"}}'},
        problem(
            413,
            "body-too-large",
            "Request body too large",
            "the body is 131115 bytes; at most 131072 are accepted",
        ),
    ),
    (
        "form registration as text/plain",
        PUT_FORM,
        FORM,
        {"body": b'{"schema": {"type": "object"}}', "headers": {"content-type": "text/plain"}},
        problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "the body must be sent as application/json (charset utf-8, if given)",
        ),
    ),
    (
        "form schema incompatible with the current version",
        PUT_FORM,
        FORM,
        {"body": json.dumps({"schema": PHONE_REQUIRED}).encode()},
        problem(
            409,
            "incompatible-schema",
            "Incompatible schema",
            "the schema is not BACKWARD compatible with form contact: 2 incompatibilities",
            errors=[
                {
                    "pointer": "/required",
                    "reason": "property 'phone' is required now: objects without 'phone' "
                    "accepted before are refused now",
                    "witness": {"email": "", "name": "a"},
                },
                {
                    "pointer": "/properties/name/minLength",
                    "reason": "minLength raised from 1 to 2: shorter strings accepted before "
                    "are refused now",
                    "witness": {"email": "", "name": "a"},
                },
            ],
        ),
    ),
    (
        "form schema whose compatibility cannot be decided",
        PUT_FORM,
        FORM,
        {"body": json.dumps({"schema": HOSTNAME_NAME}).encode()},
        problem(
            409,
            "compatibility-undecided",
            "Compatibility cannot be decided",
            "whether the schema is BACKWARD compatible with form contact cannot be decided "
            '(1 construct), so it is not registered; with "compatibility": "NONE" it '
            "registers unchecked",
            errors=[
                {
                    "pointer": "/properties/name/format",
                    "reason": 'format "hostname" added: the reference validator does not check '
                    "the format 'hostname', so no string refused by both validators can be shown",
                }
            ],
        ),
    ),
    ("no such form (GET form)", GET_FORM, "/v1/forms/nope", {}, not_found("no such form")),
    (
        "form id outside its pattern (GET form)",
        GET_FORM,
        "/v1/forms/a%27b",
        {},
        not_found("no such form"),
    ),
    (
        "version of no such form",
        GET_VERSION,
        "/v1/forms/nope/versions/1",
        {},
        not_found("no such form"),
    ),
    *(
        (
            f"version {version!r} of a form",
            GET_VERSION,
            f"/v1/forms/contact/versions/{version}",
            {},
            not_found("no such version of this form"),
        )
        for version in ("0", "2", "01", "-1", "x", "1.0", "9999999")
    ),
]


@pytest.mark.parametrize(
    ("route", "path", "request_", "document"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_refusal_is_answered_exactly_as_before(
    stack: None, route: str, path: str, request_: dict[str, Any], document: dict[str, Any]
) -> None:
    answer = send(route, path, **request_)

    assert answer["statusCode"] == document["status"], answer
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(answer["body"]) == document


def test_an_unexpected_failure_answers_a_bare_500_without_a_trace(
    stack: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the query function pointed at an events table that does not exist
    services.cache_clear()
    monkeypatch.setenv("EVENTS_TABLE", "formrelay-NoSuchTable")
    try:
        answer = send(STATUS, ONE)
    finally:
        services.cache_clear()

    assert answer["statusCode"] == 500
    assert json.loads(answer["body"]) == problem(
        500, "internal-error", "Internal error", "the request could not be completed"
    )
    assert "Traceback" not in answer["body"] and "NoSuchTable" not in answer["body"]
