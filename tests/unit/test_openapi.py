"""schemas/api/openapi.json describes the API that the routes serve, as valid OpenAPI 3.1."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from formrelay.audit import export, paged_verification
from formrelay.auth.scopes import PUBLIC_ROUTES, ROUTE_SCOPES
from formrelay.auth.signing import (
    CONTENT_SHA256_HEADER,
    KEY_ID_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)
from formrelay.domain import ids
from formrelay.local.functions import load_handler
from formrelay.registry import version_compatibility
from formrelay.registry.schemas import schemas_root
from formrelay.views import listing
from tests.support.http_events import Context

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """Given the API's description, as kept in the registry's source."""
    result: dict[str, Any] = json.loads((schemas_root() / "api" / "openapi.json").read_text())
    return result


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_it_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    errors = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_it_has_one_operation_per_route_and_no_other(document: dict[str, Any]) -> None:
    assert set(_operations(document)) == set(ROUTE_SCOPES) | PUBLIC_ROUTES


def test_each_signed_operation_lists_its_routes_scopes(document: dict[str, Any]) -> None:
    for route, operation in _operations(document).items():
        if route in PUBLIC_ROUTES:
            continue
        assert operation["x-formrelay-scopes"] == sorted(ROUTE_SCOPES[route]), route
        assert "security" not in operation, route  # the document's default: signed


def test_the_public_operations_need_no_signature(document: dict[str, Any]) -> None:
    for route in PUBLIC_ROUTES:
        operation = _operations(document)[route]
        assert operation["security"] == []
        assert "x-formrelay-scopes" not in operation


def test_signed_requests_carry_the_five_signing_headers_together(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    [requirement] = document["security"]  # one requirement: every scheme in it at once
    assert set(requirement) == set(schemes)
    assert {(s["type"], s["in"]) for s in schemes.values()} == {("apiKey", "header")}
    assert sorted(s["name"] for s in schemes.values()) == sorted(
        [KEY_ID_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, CONTENT_SHA256_HEADER, SIGNATURE_HEADER]
    )


@pytest.mark.parametrize(
    ("component", "file"), [("FormPut", "form_put"), ("DestinationPut", "destination_put")]
)
def test_request_bodies_are_the_schemas_the_api_checks(
    document: dict[str, Any], component: str, file: str
) -> None:
    # The same document, less the draft-07 header: in OpenAPI 3.1 a schema is 2020-12,
    # and these use nothing whose meaning differs between the two.
    checked = json.loads((schemas_root() / "api" / f"{file}.json").read_text())
    del checked["$schema"], checked["$id"]
    assert document["components"]["schemas"][component] == checked


def test_every_error_answer_is_a_problem_or_the_gateways_own(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail"]
    for answer in document["components"]["responses"].values():
        assert set(answer["content"]) <= {"application/problem+json", "application/json"}


def test_the_export_is_described_as_ndjson_with_its_cursor_header(document: dict[str, Any]) -> None:
    ok = _operations(document)["GET /v1/audit/events"]["responses"]["200"]
    assert set(ok["content"]) == {"application/x-ndjson"}
    assert set(ok["headers"]) == {"X-Fr-Next-Cursor"}


def test_the_handler_serves_the_document_without_a_caller(document: dict[str, Any]) -> None:
    # Given the request as API Gateway passes it when no authorizer ran: no context at all
    event = {
        "version": "2.0",
        "routeKey": "GET /v1/openapi.json",
        "rawPath": "/v1/openapi.json",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": "/v1/openapi.json", "sourceIp": "127.0.0.1"},
            "requestId": "r-1",
            "routeKey": "GET /v1/openapi.json",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    answer = load_handler("handlers.api_description.handler")(event, Context())
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"] == "application/json"
    assert json.loads(answer["body"]) == document


def test_parameters_are_checked_as_the_handlers_check_them(document: dict[str, Any]) -> None:
    parameters = document["components"]["parameters"]
    # Identifiers: the domain's own patterns
    assert parameters["FormId"]["schema"]["pattern"] == ids.FORM_ID.pattern
    assert parameters["ListFormId"]["schema"]["pattern"] == ids.FORM_ID.pattern
    assert parameters["DestinationId"]["schema"]["pattern"] == ids.DESTINATION_ID.pattern
    assert parameters["SubmissionId"]["schema"]["pattern"] == ids.SUBMISSION_ID.pattern
    assert parameters["IdempotencyKey"]["schema"]["pattern"] == ids.SUBMISSION_ID.pattern
    # The listing's and the export's filters and page sizes
    assert parameters["ListStatus"]["schema"]["enum"] == list(listing.STATUSES)
    assert parameters["ListLimit"]["schema"]["maximum"] == listing.MAX_LIMIT
    assert parameters["ExportLimit"]["schema"]["maximum"] == export.MAX_LIMIT
    assert parameters["ExportLimit"]["schema"]["default"] == export.DEFAULT_LIMIT
    assert parameters["ExportSince"]["required"] is True
    assert parameters["VerifyLimit"]["schema"]["maximum"] == paged_verification.MAX_LIMIT
    assert parameters["VerifyLimit"]["schema"]["default"] == paged_verification.DEFAULT_LIMIT
    verify = _operations(document)["GET /v1/audit/verify"]["parameters"]
    assert {parameters[p["$ref"].rsplit("/", 1)[-1]]["name"] for p in verify} == (
        paged_verification.PARAMETERS
    )
    names = {p["name"] for p in parameters.values() if p["in"] == "query"}
    assert names >= listing.PARAMETERS
    # Comparing two versions of a form: its query parameters and the modes there are
    compared = _operations(document)["GET /v1/forms/{form_id}/compatibility"]["parameters"]
    named = {parameters[p["$ref"].rsplit("/", 1)[-1]]["name"] for p in compared}
    assert named == {"form_id"} | version_compatibility.PARAMETERS
    assert parameters["CompatibilityMode"]["schema"]["enum"] == list(version_compatibility.MODES)
    assert parameters["CompatibilityFrom"]["schema"]["pattern"].strip("^$") == (
        version_compatibility.VERSION.pattern
    )
    # The export names its cursor header and content type as the handler sends them
    ok = _operations(document)["GET /v1/audit/events"]["responses"]["200"]
    assert set(ok["headers"]) == {export.NEXT_CURSOR_HEADER}
    assert set(ok["content"]) == {export.NDJSON_CONTENT_TYPE}
