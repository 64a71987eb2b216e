"""infra/template.yaml as the local runtime reads it (no emulator, no handler imports)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from formrelay.local.filters import parse_filters, passes
from formrelay.local.functions import (
    FunctionSpec,
    merged_environment,
    read_functions,
    register_functions,
)
from formrelay.local.intrinsics import ResourceMap, parameter_refs
from formrelay.local.routes import read_routes
from formrelay.local.state_machines import read_definition
from formrelay.local.template import DEFAULT_TEMPLATE, load_template

ENV_NAMES = {
    "EVENTS_TABLE",
    "VIEWS_TABLE",
    "DELIVERY_QUEUE_URL",
    "TENANT_SECRET_PREFIX",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_LOG_LEVEL",
    "DELIVERY_RETRY_SCHEDULE_SECONDS",
    "DELIVERY_RETRY_STATE_MACHINE_ARN",
    "DELIVERY_ALLOWED_DESTINATIONS",
    "FORMRELAY_TIME_SCALE",
    "SECRET_CACHE_SECONDS",
}
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:formrelay-DeliveryRetry"
RETRY_FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:formrelay-retry-attempt"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """Given the real template."""
    return load_template(DEFAULT_TEMPLATE)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> ResourceMap:
    """Given provisioned-looking resources (as provision() would return them)."""
    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/formrelay-EventsTable/stream/x"
    mapped: ResourceMap = {
        **parameter_refs(template),
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
    mapped["DeliveryRetryStateMachine"] = {
        "Ref": STATE_MACHINE_ARN,
        "Arn": STATE_MACHINE_ARN,
        "Name": "formrelay-DeliveryRetry",
    }
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


def test_nine_functions_with_their_handlers(functions: dict[str, FunctionSpec]) -> None:
    assert {lid: spec.handler for lid, spec in functions.items()} == {
        "AuthorizerFunction": "handlers.authorizer.handler",
        "IngestFunction": "handlers.ingest.handler",
        "QueryFunction": "handlers.query.handler",
        "StatusViewFunction": "projections.status_view.handler",
        "DispatcherFunction": "projections.dispatcher.handler",
        "ConnectorFunction": "handlers.connector.handler",
        "RetryAttemptFunction": "handlers.retry_attempt.handler",
        "AdminFunction": "handlers.admin.handler",
        "RedeliveryFunction": "handlers.redelivery.handler",
    }
    assert functions["RetryAttemptFunction"].arn == RETRY_FUNCTION_ARN
    assert functions["RetryAttemptFunction"].timeout == 60


def test_events_of_each_function(functions: dict[str, FunctionSpec]) -> None:
    kinds = {lid: sorted(e.type for e in spec.events) for lid, spec in functions.items()}
    assert kinds == {
        "AuthorizerFunction": [],
        "IngestFunction": ["HttpApi"],
        "QueryFunction": ["HttpApi", "HttpApi", "HttpApi"],
        "StatusViewFunction": ["DynamoDB"],
        "DispatcherFunction": ["DynamoDB"],
        "ConnectorFunction": ["SQS"],
        "RetryAttemptFunction": [],
        "AdminFunction": ["HttpApi", "HttpApi", "HttpApi"],
        "RedeliveryFunction": ["HttpApi"],
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
    assert env["DELIVERY_RETRY_SCHEDULE_SECONDS"] == "5,300,1800,7200,18000,36000,36000"
    assert env["DELIVERY_RETRY_STATE_MACHINE_ARN"] == STATE_MACHINE_ARN
    assert env["DELIVERY_ALLOWED_DESTINATIONS"] == ""
    assert env["FORMRELAY_TIME_SCALE"] == "1"
    assert env["SECRET_CACHE_SECONDS"] == "30"
    assert all(spec.environment == env for spec in functions.values())


def test_routes_sit_behind_the_request_signer(
    template: dict[str, Any], resources: ResourceMap, functions: dict[str, FunctionSpec]
) -> None:
    routes = read_routes(template, resources, functions)
    assert sorted(r.route_key for r in routes.routes) == [
        "DELETE /v1/forms/{form_id}/destinations/{destination_id}",
        "GET /v1/forms/{form_id}/destinations/{destination_id}",
        "GET /v1/submissions",
        "GET /v1/submissions/{submission_id}",
        "GET /v1/submissions/{submission_id}/events",
        "POST /v1/forms/{form_id}/submissions",
        "POST /v1/submissions/{submission_id}/redeliveries",
        "PUT /v1/forms/{form_id}/destinations/{destination_id}",
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


def _policy_names(template: dict[str, Any], logical_id: str) -> list[str]:
    """The SAM policy template names (or 'Statement') of one resource."""
    policies = template["Resources"][logical_id]["Properties"]["Policies"]
    return [name for policy in policies for name in policy]


def test_retry_workflow_definition_names_the_attempt_function(
    template: dict[str, Any], resources: ResourceMap
) -> None:
    machine = template["Resources"]["DeliveryRetryStateMachine"]["Properties"]
    assert machine["Type"] == "STANDARD"
    definition = json.loads(read_definition(machine, DEFAULT_TEMPLATE.parent, resources))
    states = definition["States"]
    assert definition["StartAt"] == "WaitForNextAttempt"
    assert states["WaitForNextAttempt"]["TimestampPath"] == "$.next_attempt_at"
    attempt = states["Attempt"]
    assert attempt["Resource"] == "arn:aws:states:::lambda:invoke"
    assert attempt["Parameters"] == {"FunctionName": RETRY_FUNCTION_ARN, "Payload.$": "$"}
    assert attempt["OutputPath"] == "$.Payload"
    assert [
        (r["IntervalSeconds"], r["MaxAttempts"], r["BackoffRate"]) for r in attempt["Retry"]
    ] == [(2, 3, 2)]
    assert "States.TaskFailed" in attempt["Retry"][0]["ErrorEquals"]
    assert attempt["Catch"][0]["Next"] == "AttemptCrashed"
    assert states["AttemptCrashed"]["Type"] == "Fail"
    assert states["AnotherAttempt"]["Choices"][0]["Next"] == "WaitForNextAttempt"
    assert states[states["AnotherAttempt"]["Default"]]["Type"] == "Succeed"


def test_state_machine_does_not_ref_the_function_whose_environment_refs_it(
    template: dict[str, Any],
) -> None:
    """A Ref/GetAtt to RetryAttemptFunction would close a cycle through Globals."""
    machine = json.dumps(template["Resources"]["DeliveryRetryStateMachine"])
    assert '"Ref": "RetryAttemptFunction"' not in machine
    assert '["RetryAttemptFunction",' not in machine  # Fn::GetAtt
    assert "${RetryAttemptFunction" not in machine  # Fn::Sub
    name = template["Resources"]["RetryAttemptFunction"]["Properties"]["FunctionName"]
    assert name == {"Fn::Sub": "${AWS::StackName}-retry-attempt"}


def test_who_may_do_what(template: dict[str, Any]) -> None:
    assert "StepFunctionsExecutionPolicy" in _policy_names(template, "ConnectorFunction")
    assert "StepFunctionsExecutionPolicy" in _policy_names(template, "RedeliveryFunction")
    retry = _policy_names(template, "RetryAttemptFunction")
    assert "DynamoDBCrudPolicy" not in retry  # appends only: no deletes
    assert retry.count("DynamoDBWritePolicy") == 2
    assert _policy_names(template, "DeliveryRetryStateMachine") == ["LambdaInvokePolicy"]
    assert "DynamoDBCrudPolicy" in _policy_names(template, "AdminFunction")


def test_every_route_has_a_scope(
    template: dict[str, Any], resources: ResourceMap, functions: dict[str, FunctionSpec]
) -> None:
    from formrelay.auth.scopes import ROUTE_SCOPES

    routes = read_routes(template, resources, functions)
    assert sorted(r.route_key for r in routes.routes) == sorted(ROUTE_SCOPES)
