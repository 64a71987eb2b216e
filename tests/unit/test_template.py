"""infra/template.yaml as the local runtime reads it (no emulator needed)."""

from __future__ import annotations

from typing import Any

import pytest

from formrelay.local.filters import parse_filters, passes
from formrelay.local.functions import (
    FunctionSpec,
    merged_environment,
    read_functions,
    register_functions,
)
from formrelay.local.intrinsics import ResourceMap
from formrelay.local.routes import read_routes
from formrelay.local.template import DEFAULT_TEMPLATE, load_template

ENV_NAMES = {
    "EVENTS_TABLE",
    "VIEWS_TABLE",
    "DELIVERY_QUEUE_URL",
    "TENANT_SECRET_PREFIX",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_LOG_LEVEL",
    "DELIVERY_RETRY_SCHEDULE_SECONDS",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """Given the real template."""
    return load_template(DEFAULT_TEMPLATE)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> ResourceMap:
    """Given provisioned-looking resources (as provision() would return them)."""
    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/formrelay-EventsTable/stream/x"
    mapped: ResourceMap = {
        "EventsTable": {"Ref": "formrelay-EventsTable", "StreamArn": stream},
        "ViewsTable": {"Ref": "formrelay-ViewsTable"},
        "DeliveryQueue": {
            "Ref": "http://127.0.0.1:1/123456789012/formrelay-DeliveryQueue",
            "Arn": "arn:aws:sqs:us-east-1:123456789012:formrelay-DeliveryQueue",
            "QueueName": "formrelay-DeliveryQueue",
        },
        "DeliveryDLQ": {"Arn": "arn:aws:sqs:us-east-1:123456789012:formrelay-DeliveryDLQ"},
    }
    register_functions(template, mapped, "formrelay")
    return mapped


@pytest.fixture(scope="module")
def functions(template: dict[str, Any], resources: ResourceMap) -> dict[str, FunctionSpec]:
    """When the functions are read."""
    return read_functions(template, resources)


def test_short_tags_load_as_intrinsic_dicts(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["EVENTS_TABLE"] == {"Ref": "EventsTable"}
    authorizer = template["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]
    assert authorizer["RequestSigner"]["FunctionArn"] == {
        "Fn::GetAtt": ["AuthorizerFunction", "Arn"]
    }


def test_six_functions_with_their_handlers(functions: dict[str, FunctionSpec]) -> None:
    assert {lid: spec.handler for lid, spec in functions.items()} == {
        "AuthorizerFunction": "handlers.authorizer.handler",
        "IngestFunction": "handlers.ingest.handler",
        "QueryFunction": "handlers.query.handler",
        "StatusViewFunction": "projections.status_view.handler",
        "DispatcherFunction": "projections.dispatcher.handler",
        "ConnectorFunction": "handlers.connector.handler",
    }


def test_events_of_each_function(functions: dict[str, FunctionSpec]) -> None:
    kinds = {lid: sorted(e.type for e in spec.events) for lid, spec in functions.items()}
    assert kinds == {
        "AuthorizerFunction": [],
        "IngestFunction": ["HttpApi"],
        "QueryFunction": ["HttpApi", "HttpApi"],
        "StatusViewFunction": ["DynamoDB"],
        "DispatcherFunction": ["DynamoDB"],
        "ConnectorFunction": ["SQS"],
    }
    stream = functions["StatusViewFunction"].events[0].properties
    assert stream["Stream"].endswith("formrelay-EventsTable/stream/x")
    assert (stream["BatchSize"], stream["MaximumRetryAttempts"]) == (100, 10)
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    sqs = functions["ConnectorFunction"].events[0].properties
    assert sqs["Queue"].endswith(":formrelay-DeliveryQueue") and sqs["BatchSize"] == 10
    assert functions["ConnectorFunction"].timeout == 60
    assert functions["IngestFunction"].timeout == 30


def test_environment_has_the_shared_variables(functions: dict[str, FunctionSpec]) -> None:
    env = merged_environment(functions)
    assert set(env) == ENV_NAMES
    assert env["EVENTS_TABLE"] == "formrelay-EventsTable"
    assert env["VIEWS_TABLE"] == "formrelay-ViewsTable"
    assert env["DELIVERY_QUEUE_URL"].endswith("/formrelay-DeliveryQueue")
    assert env["TENANT_SECRET_PREFIX"] == "formrelay/tenants/"
    assert env["DELIVERY_RETRY_SCHEDULE_SECONDS"] == "5,30,120"
    assert all(spec.environment == env for spec in functions.values())


def test_routes_sit_behind_the_request_signer(
    template: dict[str, Any], resources: ResourceMap, functions: dict[str, FunctionSpec]
) -> None:
    routes = read_routes(template, resources, functions)
    assert sorted(r.route_key for r in routes.routes) == [
        "GET /v1/submissions/{submission_id}",
        "GET /v1/submissions/{submission_id}/events",
        "POST /v1/forms/{form_id}/submissions",
    ]
    for route in routes.routes:
        assert route.authorizer is not None
        assert route.authorizer.function.logical_id == "AuthorizerFunction"
        assert route.authorizer.identity_headers == (
            "X-Fr-Key-Id",
            "X-Fr-Timestamp",
            "X-Fr-Nonce",
            "X-Fr-Content-Sha256",
            "X-Fr-Signature",
        )
    found = routes.match("GET", "/v1/submissions/s-1/events")
    assert found is not None
    assert found[0].route_key.endswith("/events") and found[1] == {"submission_id": "s-1"}
    assert routes.match("DELETE", "/v1/submissions/s-1") is None


def _stream_record(event_name: str, event_type: str) -> dict[str, Any]:
    """A Lambda DynamoDB stream record with a NEW_IMAGE of one event type."""
    image = {"type": {"S": event_type}}
    return {"eventName": event_name, "dynamodb": {"NewImage": image}}


def test_dispatcher_filter_admits_only_inserted_submissions(
    functions: dict[str, FunctionSpec],
) -> None:
    patterns = parse_filters(functions["DispatcherFunction"].events[0].properties["FilterCriteria"])
    assert passes(patterns, _stream_record("INSERT", "submission.received"))
    assert not passes(patterns, _stream_record("MODIFY", "submission.received"))
    assert not passes(patterns, _stream_record("INSERT", "delivery.attempted"))
    assert not passes(patterns, {"eventName": "INSERT", "dynamodb": {}})
    status_view = functions["StatusViewFunction"].events[0].properties
    assert parse_filters(status_view.get("FilterCriteria")) == []
