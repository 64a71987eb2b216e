"""infra/template.yaml as the local runtime reads it (no emulator, no handler imports)."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pytest

from formrelay.composition import Services
from formrelay.local.filters import parse_filters, passes
from formrelay.local.functions import (
    FunctionSpec,
    read_functions,
    register_functions,
    shared_environment,
)
from formrelay.local.intrinsics import ResourceMap, parameter_refs
from formrelay.local.routes import read_routes
from formrelay.local.state_machines import read_definition
from formrelay.local.template import DEFAULT_TEMPLATE, load_template, resources_of_type
from formrelay.settings import ConfigurationError

# What each function reads from its environment, besides Globals' Powertools settings:
# its template entry declares exactly these (a variable added to a function, or to
# Globals, fails the test: give it on purpose). Each set follows the services its
# handler uses (ADAPTERS below) and the settings those are built from.
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"}
RATE_LIMITS = {"VIEWS_TABLE", "RATE_LIMIT_PER_SECOND", "RATE_LIMIT_BURST"}
DELIVERING = {
    "EVENTS_TABLE",
    "VIEWS_TABLE",
    "DESTINATION_SECRET_PREFIX",
    "SECRET_CACHE_SECONDS",
    "DELIVERY_ALLOWED_DESTINATIONS",
    "FORMRELAY_TIME_SCALE",
}
FUNCTION_VARIABLES: dict[str, set[str]] = {
    "AuthorizerFunction": {"VIEWS_TABLE", "TENANT_SECRET_PREFIX", "SECRET_CACHE_SECONDS"},
    "IngestFunction": RATE_LIMITS | {"EVENTS_TABLE"},
    "QueryFunction": RATE_LIMITS | {"EVENTS_TABLE", "LISTING_CURSOR_KEY_SECRET"},
    "AuditFunction": RATE_LIMITS | {"EVENTS_TABLE", "LISTING_CURSOR_KEY_SECRET", "ANCHORS_BUCKET"},
    "AnchorFunction": {"EVENTS_TABLE", "VIEWS_TABLE", "ANCHORS_BUCKET"},
    "StatusViewFunction": {"EVENTS_TABLE", "VIEWS_TABLE"},
    "DispatcherFunction": {"DELIVERY_QUEUE_URL"},
    "PublisherFunction": {"EVENT_BUS_NAME"},
    "ConnectorFunction": DELIVERING | {"DELIVERY_RETRY_STATE_MACHINE_ARN"},
    "RetryAttemptFunction": DELIVERING,
    "AdminFunction": RATE_LIMITS
    | {
        "DESTINATION_SECRET_PREFIX",
        "SECRET_CACHE_SECONDS",
        "DELIVERY_ALLOWED_DESTINATIONS",
        "DELIVERY_RETRY_SCHEDULE_SECONDS",
    },
    "RedeliveryFunction": RATE_LIMITS | {"EVENTS_TABLE", "DELIVERY_QUEUE_URL"},
    "FormsFunction": RATE_LIMITS,
    "ConsoleLinksFunction": RATE_LIMITS | {"TENANT_SECRET_PREFIX"},
    "ApiDescriptionFunction": set(),  # a static document: no table, no secret, no limit
    # It resumes overdue retries as the workflow's task does, so it delivers too.
    "ReconcilerFunction": DELIVERING
    | {
        "DELIVERY_QUEUE_URL",
        "DELIVERY_RETRY_STATE_MACHINE_ARN",
        "EVENT_BUS_NAME",
        "STATUS_VIEW_FAILURE_QUEUE_URL",
        "DISPATCHER_FAILURE_QUEUE_URL",
        "PUBLISHER_FAILURE_QUEUE_URL",
    },
}
# The services each function's handler (and the shared HTTP app) asks for.
HTTP = {"rate_limiter"}
ADAPTERS: dict[str, set[str]] = {
    "AuthorizerFunction": {"keys", "nonces"},
    "IngestFunction": HTTP | {"forms", "events"},
    "QueryFunction": HTTP | {"listing", "events"},
    "AuditFunction": HTTP
    | {"events", "cursors", "anchored_heads", "anchor_store", "tenant_verification"},
    "AnchorFunction": {"tenants", "anchoring"},
    "StatusViewFunction": {"events", "statuses", "destination_health"},
    "DispatcherFunction": {"delivery_queue"},
    "PublisherFunction": {"event_publisher"},
    "ConnectorFunction": {"connector", "retry_workflow"},
    "RetryAttemptFunction": {"connector"},
    "AdminFunction": HTTP | {"destination_admin"},
    "RedeliveryFunction": HTTP | {"events", "delivery_queue"},
    "FormsFunction": HTTP | {"forms"},
    "ConsoleLinksFunction": HTTP | {"keys"},
    "ApiDescriptionFunction": set(),
    "ReconcilerFunction": {"tenants", "reconciler", "retry_workflow"},
}
# Every service that needs a resource, and the resource's variable.
NEEDS_RESOURCE = {
    "events": "EVENTS_TABLE",
    "keys": "VIEWS_TABLE",
    "nonces": "VIEWS_TABLE",
    "statuses": "VIEWS_TABLE",
    "delivery_queue": "DELIVERY_QUEUE_URL",
    "leases": "VIEWS_TABLE",
    "listing": "LISTING_CURSOR_KEY_SECRET",
    "cursors": "LISTING_CURSOR_KEY_SECRET",
    "anchor_store": "ANCHORS_BUCKET",
    "anchored_heads": "VIEWS_TABLE",
    "event_publisher": "EVENT_BUS_NAME",
}
# The stream mappings' failure queues, one per projection.
FAILURE_QUEUES = ("StatusViewFailureQueue", "DispatcherFailureQueue", "PublisherFailureQueue")
# The secret that signs the query function's listing cursors.
CURSOR_KEY_ARN = (
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:formrelay-ListingCursorKey-AbC123"
)
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
        **{
            queue: {
                "Ref": f"http://127.0.0.1:1/123456789012/formrelay-{queue}",
                "Arn": f"arn:aws:sqs:us-east-1:123456789012:formrelay-{queue}",
            }
            for queue in FAILURE_QUEUES
        },
        "ListingCursorKey": {"Ref": CURSOR_KEY_ARN, "Id": CURSOR_KEY_ARN},
        "AnchorsBucket": {
            "Ref": "formrelay-anchorsbucket",
            "Arn": "arn:aws:s3:::formrelay-anchorsbucket",
        },
        "FormrelayBus": {
            "Ref": "formrelay-events",
            "Arn": "arn:aws:events:us-east-1:123456789012:event-bus/formrelay-events",
        },
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


def test_the_events_tenant_index_copies_keys_only(template: dict[str, Any]) -> None:
    # An index write is billed by the size of what it copies: a copy of every event whole
    # would double each submission's write units (a 100 KB payload: 100 more). Its
    # readers (export, anchoring, rebuild, the reconciler) fetch the events by key.
    [index] = template["Resources"]["EventsTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_short_tags_load_as_intrinsic_dicts(template: dict[str, Any]) -> None:
    env = template["Resources"]["IngestFunction"]["Properties"]["Environment"]["Variables"]
    assert env["EVENTS_TABLE"] == {"Ref": "EventsTable"}
    authorizer = template["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]
    assert authorizer["RequestSigner"]["FunctionArn"] == {
        "Fn::GetAtt": ["AuthorizerFunction", "Arn"]
    }


def test_sixteen_functions_with_their_handlers(functions: dict[str, FunctionSpec]) -> None:
    assert {lid: spec.handler for lid, spec in functions.items()} == {
        "AuthorizerFunction": "handlers.authorizer.handler",
        "IngestFunction": "handlers.ingest.handler",
        "QueryFunction": "handlers.query.handler",
        "AuditFunction": "handlers.audit.handler",
        "AnchorFunction": "handlers.anchor.handler",
        "StatusViewFunction": "projections.status_view.handler",
        "DispatcherFunction": "projections.dispatcher.handler",
        "PublisherFunction": "projections.publisher.handler",
        "ConnectorFunction": "handlers.connector.handler",
        "RetryAttemptFunction": "handlers.retry_attempt.handler",
        "AdminFunction": "handlers.admin.handler",
        "RedeliveryFunction": "handlers.redelivery.handler",
        "FormsFunction": "handlers.forms.handler",
        "ConsoleLinksFunction": "handlers.console_links.handler",
        "ApiDescriptionFunction": "handlers.api_description.handler",
        "ReconcilerFunction": "handlers.reconciler.handler",
    }
    assert functions["RetryAttemptFunction"].arn == RETRY_FUNCTION_ARN
    assert functions["RetryAttemptFunction"].timeout == 60


def test_events_of_each_function(functions: dict[str, FunctionSpec]) -> None:
    kinds = {lid: sorted(e.type for e in spec.events) for lid, spec in functions.items()}
    assert kinds == {
        "AuthorizerFunction": [],
        "IngestFunction": ["HttpApi"],
        "QueryFunction": ["HttpApi", "HttpApi", "HttpApi"],
        "AuditFunction": ["HttpApi", "HttpApi", "HttpApi", "HttpApi"],
        "AnchorFunction": ["Schedule"],
        "StatusViewFunction": ["DynamoDB"],
        "DispatcherFunction": ["DynamoDB"],
        "PublisherFunction": ["DynamoDB"],
        "ConnectorFunction": ["SQS"],
        "RetryAttemptFunction": [],
        "AdminFunction": ["HttpApi", "HttpApi", "HttpApi", "HttpApi", "HttpApi"],
        "RedeliveryFunction": ["HttpApi"],
        "FormsFunction": ["HttpApi", "HttpApi", "HttpApi", "HttpApi", "HttpApi"],
        "ConsoleLinksFunction": ["HttpApi"],
        "ApiDescriptionFunction": ["HttpApi", "HttpApi", "HttpApi"],  # + the console's two
        "ReconcilerFunction": ["Schedule"],
    }
    stream = functions["StatusViewFunction"].events[0].properties
    assert stream["Stream"].endswith("formrelay-EventsTable/stream/x")
    assert (stream["BatchSize"], stream["MaximumRetryAttempts"]) == (100, 10)
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    publisher = functions["PublisherFunction"].events[0].properties
    assert publisher["Stream"] == stream["Stream"]
    assert publisher["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # A batch the bus keeps refusing is bisected, then parked on its own failure queue
    assert (publisher["MaximumRetryAttempts"], publisher["BisectBatchOnFunctionError"]) == (
        10,
        True,
    )
    assert "FilterCriteria" not in publisher  # every event, the ledger's too
    sqs = functions["ConnectorFunction"].events[0].properties
    assert sqs["Queue"].endswith(":formrelay-DeliveryQueue") and sqs["BatchSize"] == 10
    assert functions["ConnectorFunction"].timeout == 60
    assert functions["IngestFunction"].timeout == 30
    schedule = functions["AnchorFunction"].events[0].properties
    assert schedule["Schedule"] == "rate(5 minutes)"


STREAM_SOURCES = ("DynamoDB", "Kinesis")
QUEUE_SOURCES = ("SQS",)


def _mappings(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(function, event, properties) of every stream and queue mapping of the template."""
    return [
        (lid, name, event.get("Properties", {}))
        for lid, function in resources_of_type(template, "AWS::Serverless::Function").items()
        for name, event in function["Properties"].get("Events", {}).items()
        if event["Type"] in STREAM_SOURCES + QUEUE_SOURCES
    ]


def test_every_stream_and_queue_mapping_has_a_failure_destination(
    template: dict[str, Any],
) -> None:
    """A batch its function keeps failing on lands somewhere an alarm watches, never
    dropped: a stream mapping's OnFailure queue, a queue's redrive to its DLQ."""
    mappings = _mappings(template)
    assert {(lid, kind) for lid, kind, _ in mappings} >= {
        ("StatusViewFunction", "EventsStream"),
        ("DispatcherFunction", "EventsStream"),
        ("ConnectorFunction", "DeliveryJobs"),
    }
    resources = template["Resources"]
    for lid, name, props in mappings:
        where = f"{lid}.{name}"
        assert props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], where
        if "Queue" in props:
            queue = props["Queue"]["Fn::GetAtt"][0]
            redrive = resources[queue]["Properties"].get("RedrivePolicy", {})
            dlq = redrive.get("deadLetterTargetArn", {}).get("Fn::GetAtt", [None])[0]
            assert resources.get(dlq, {}).get("Type") == "AWS::SQS::Queue", where
            continue
        target = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        assert target is not None, f"{where} drops what it gives up on"
        queue = target["Fn::GetAtt"][0]
        assert resources[queue]["Type"] == "AWS::SQS::Queue", where
        assert f"sqs:SendMessage on {queue}" in GRANTS[lid], where
        assert props["BisectBatchOnFunctionError"] is True, where
        assert 60 <= props["MaximumRecordAgeInSeconds"] <= 86400, where
        assert 0 <= props["MaximumRetryAttempts"] <= 10, where


def test_each_stream_mapping_parks_its_failures_on_a_queue_of_its_own(
    template: dict[str, Any],
) -> None:
    targets = [
        props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        for _, _, props in _mappings(template)
        if "Stream" in props
    ]
    assert sorted(targets) == sorted(FAILURE_QUEUES)


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The properties of every alarm on one metric, dimensions as {name: value}."""
    alarms = []
    for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values():
        props = dict(alarm["Properties"])
        if "Metrics" in props:
            continue  # metric math: see test_the_reconcilers_repairs_alarm_sums_every_kind
        props["Dimensions"] = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        alarms.append(props)
    return alarms


def _watched(template: dict[str, Any], namespace: str, metric: str) -> list[Any]:
    """What the alarms on one metric watch: the value of their one dimension."""
    watched = []
    for alarm in _alarms(template):
        if (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric):
            (value,) = alarm["Dimensions"].values()
            watched.append(value)
    return watched


def test_every_function_has_an_errors_and_a_throttles_alarm(template: dict[str, Any]) -> None:
    functions = sorted(resources_of_type(template, "AWS::Serverless::Function"))
    for metric in ("Errors", "Throttles"):
        watched = _watched(template, "AWS/Lambda", metric)
        assert sorted(watched, key=str) == [{"Ref": lid} for lid in functions], metric


def test_every_stream_mapping_has_an_iterator_age_alarm(template: dict[str, Any]) -> None:
    streamed = sorted({lid for lid, _, props in _mappings(template) if "Stream" in props})
    watched = _watched(template, "AWS/Lambda", "IteratorAge")
    assert sorted(watched, key=str) == [{"Ref": lid} for lid in streamed]


def test_every_failure_destination_has_a_depth_alarm(template: dict[str, Any]) -> None:
    """Whatever a mapping parks is seen: its dead-letter or failure queue alarms on
    the first message."""
    resources = template["Resources"]
    parked = set()
    for _, _, props in _mappings(template):
        if "Queue" in props:
            queue = resources[props["Queue"]["Fn::GetAtt"][0]]
            parked.add(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
        else:
            parked.add(props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0])
    watched = _watched(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert sorted(watched, key=str) == [
        {"Fn::GetAtt": [queue, "QueueName"]} for queue in sorted(parked)
    ]
    assert parked == {"DeliveryDLQ", *FAILURE_QUEUES}


def test_the_reconcilers_repairs_alarm_sums_every_kind(template: dict[str, Any]) -> None:
    from formrelay.reconciliation.report import KINDS

    alarm = template["Resources"]["ReconcilerRepairsAlarm"]["Properties"]
    stats = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert {s["Metric"]["Namespace"] for s in stats} == {"formrelay"}
    assert {s["Metric"]["MetricName"] for s in stats} == {"ReconcilerRepairs"}
    dimensions = [{d["Name"]: d["Value"] for d in s["Metric"]["Dimensions"]} for s in stats]
    # By kind (and Powertools' service), never by tenant: one series per kind, each summed.
    assert sorted(d["kind"] for d in dimensions) == sorted(KINDS)
    assert all(set(d) == {"service", "kind"} and d["service"] == "formrelay" for d in dimensions)
    [total] = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert total["Expression"] == "SUM(FILL(METRICS(), 0))"
    assert alarm["Threshold"] == {"Ref": "ReconcilerRepairsThreshold"}
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]


def test_the_reconciler_runs_every_five_minutes(template: dict[str, Any]) -> None:
    events = template["Resources"]["ReconcilerFunction"]["Properties"]["Events"]
    assert events == {
        "EveryFiveMinutes": {"Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)"}}
    }


def test_a_failed_retry_workflow_alarms(template: dict[str, Any]) -> None:
    machines = resources_of_type(template, "AWS::Serverless::StateMachine")
    watched = _watched(template, "AWS/States", "ExecutionsFailed")
    assert watched == [{"Ref": lid} for lid in machines]


def test_every_function_and_the_retry_workflow_are_traced(template: dict[str, Any]) -> None:
    # Tracing: Active also makes SAM grant each function's role AWSXrayWriteOnlyAccess.
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        tracing = template["Resources"][logical_id]["Properties"].get("Tracing", "Active")
        assert tracing == "Active", logical_id
    for logical_id in resources_of_type(template, "AWS::Serverless::StateMachine"):
        assert template["Resources"][logical_id]["Properties"]["Tracing"] == {"Enabled": True}


def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_clears(
    template: dict[str, Any],
) -> None:
    alarms = _alarms(template)
    # errors and throttles of 16 functions, 3 iterator ages, 4 queue depths, 1 workflow
    # (and the reconciler's repairs, on metric math, tested on its own)
    assert len(alarms) == 2 * 16 + 3 + 4 + 1
    for alarm in alarms:
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"  # no traffic is no trouble


def test_the_alarm_email_is_subscribed_only_when_given(template: dict[str, Any]) -> None:
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert template["Conditions"]["AlarmEmailGiven"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    (subscription,) = resources_of_type(template, "AWS::SNS::Subscription").values()
    assert subscription["Condition"] == "AlarmEmailGiven"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_globals_hold_only_what_every_function_reads(
    template: dict[str, Any], functions: dict[str, FunctionSpec]
) -> None:
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(globals_env) == POWERTOOLS
    assert shared_environment(functions.values()) == {
        "POWERTOOLS_SERVICE_NAME": "formrelay",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_METRICS_NAMESPACE": "formrelay",
    }


def test_each_function_declares_exactly_the_variables_its_code_reads(
    functions: dict[str, FunctionSpec],
) -> None:
    assert set(functions) == set(FUNCTION_VARIABLES)
    for logical_id, expected in FUNCTION_VARIABLES.items():
        assert set(functions[logical_id].environment) == expected | POWERTOOLS, logical_id


def test_the_authorizer_has_no_queue_and_no_state_machine(
    functions: dict[str, FunctionSpec],
) -> None:
    env = functions["AuthorizerFunction"].environment
    assert "DELIVERY_QUEUE_URL" not in env
    assert "DELIVERY_RETRY_STATE_MACHINE_ARN" not in env
    assert "DESTINATION_SECRET_PREFIX" not in env
    # Only the connector starts retries (and the reconciler, for a retry whose execution
    # was lost), so only they name the state machine.
    naming = [
        lid for lid, s in functions.items() if "DELIVERY_RETRY_STATE_MACHINE_ARN" in s.environment
    ]
    assert sorted(naming) == ["ConnectorFunction", "ReconcilerFunction"]


def test_each_functions_services_build_from_its_own_environment(
    functions: dict[str, FunctionSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every service a handler asks for builds from its function's environment alone; a
    service whose resource the function does not name is refused, not built half-way."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for logical_id, adapters in ADAPTERS.items():
        env = functions[logical_id].environment
        services = Services(environment=env)
        for adapter in adapters:
            getattr(services, adapter)  # builds (clients are made, nothing is called)
        if "retry_workflow" in adapters:
            assert services.retry_workflow.state_machine_arn == STATE_MACHINE_ARN
        for adapter, variable in NEEDS_RESOURCE.items():
            if variable not in env:
                with pytest.raises(ConfigurationError, match=variable):
                    getattr(Services(environment=env), adapter)


def test_the_template_values_of_the_functions_variables(
    functions: dict[str, FunctionSpec],
) -> None:
    connector = functions["ConnectorFunction"].environment
    assert connector["EVENTS_TABLE"] == "formrelay-EventsTable"
    assert connector["VIEWS_TABLE"] == "formrelay-ViewsTable"
    assert connector["DESTINATION_SECRET_PREFIX"] == "formrelay/destinations/"
    assert connector["DELIVERY_RETRY_STATE_MACHINE_ARN"] == STATE_MACHINE_ARN
    assert connector["DELIVERY_ALLOWED_DESTINATIONS"] == ""
    assert connector["FORMRELAY_TIME_SCALE"] == "1"
    assert connector["SECRET_CACHE_SECONDS"] == "30"
    assert (
        functions["DispatcherFunction"]
        .environment["DELIVERY_QUEUE_URL"]
        .endswith("/formrelay-DeliveryQueue")
    )
    query = functions["QueryFunction"].environment
    assert query["LISTING_CURSOR_KEY_SECRET"] == CURSOR_KEY_ARN
    admin = functions["AdminFunction"].environment
    assert admin["DELIVERY_RETRY_SCHEDULE_SECONDS"] == "5,300,1800,7200,18000,36000,36000"
    assert (admin["RATE_LIMIT_PER_SECOND"], admin["RATE_LIMIT_BURST"]) == ("50", "100")
    assert functions["AuthorizerFunction"].environment["TENANT_SECRET_PREFIX"] == (
        "formrelay/tenants/"
    )
    # A variable two functions declare has one value: the template says it once per meaning.
    values: dict[str, set[str]] = {}
    for spec in functions.values():
        for name, value in spec.environment.items():
            values.setdefault(name, set()).add(value)
    assert {name: v for name, v in values.items() if len(v) > 1} == {}


def test_routes_sit_behind_the_request_signer(
    template: dict[str, Any], resources: ResourceMap, functions: dict[str, FunctionSpec]
) -> None:
    routes = read_routes(template, resources, functions)
    public = {"GET /v1/openapi.json", "GET /console", "GET /console/{file}"}
    signed = [r for r in routes.routes if r.route_key not in public]
    assert sorted(r.route_key for r in signed) == [
        "DELETE /v1/forms/{form_id}/destinations/{destination_id}",
        "GET /v1/audit/events",
        "GET /v1/audit/verify",
        "GET /v1/forms",
        "GET /v1/forms/{form_id}",
        "GET /v1/forms/{form_id}/compatibility",
        "GET /v1/forms/{form_id}/destinations",
        "GET /v1/forms/{form_id}/destinations/{destination_id}",
        "GET /v1/forms/{form_id}/versions/{version}",
        "GET /v1/submissions",
        "GET /v1/submissions/{submission_id}",
        "GET /v1/submissions/{submission_id}/events",
        "GET /v1/submissions/{submission_id}/proof",
        "GET /v1/submissions/{submission_id}/verify",
        "POST /v1/console-links",
        "POST /v1/forms/{form_id}/destinations/{destination_id}/enable",
        "POST /v1/forms/{form_id}/submissions",
        "POST /v1/submissions/{submission_id}/redeliveries",
        "PUT /v1/forms/{form_id}",
        "PUT /v1/forms/{form_id}/destinations/{destination_id}",
    ]
    for route in signed:
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
    # A path with a trailing slash goes to the route without it, as HTTP API routes it
    found = routes.match("GET", "/v1/submissions/s-1/")
    assert found is not None
    assert found[0].route_key == "GET /v1/submissions/{submission_id}"
    assert found[1] == {"submission_id": "s-1"}
    page = routes.match("GET", "/console/")
    assert page is not None and page[0].route_key == "GET /console"


def test_no_route_path_ends_in_a_slash(template: dict[str, Any]) -> None:
    # HTTP API refuses to create a route whose path ends in "/" (the deploy fails), and
    # routes a request with a trailing slash to the route without it
    for resource in template["Resources"].values():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                path = event["Properties"]["Path"]
                assert path == "/" or not path.endswith("/"), path


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
    # An attempt that keeps crashing is given up on record by the same function; only if
    # that fails too does the execution fail.
    assert attempt["Catch"][0]["Next"] == "GiveUp"
    give_up = states["GiveUp"]
    assert give_up["Parameters"] == {"FunctionName": RETRY_FUNCTION_ARN, "Payload.$": "$"}
    assert attempt["Catch"][0]["ResultPath"] == "$.crashed"
    assert states[give_up["Next"]]["Type"] == "Succeed"
    assert give_up["Catch"][0]["Next"] == "AttemptCrashed"
    assert states["AttemptCrashed"]["Type"] == "Fail"
    assert states["AnotherAttempt"]["Choices"][0]["Next"] == "WaitForNextAttempt"
    assert states[states["AnotherAttempt"]["Default"]]["Type"] == "Succeed"


def test_state_machine_names_its_attempt_function_by_its_fixed_name(
    template: dict[str, Any],
) -> None:
    """The definition and the invoke grant name the function by name, not by Ref."""
    machine = json.dumps(template["Resources"]["DeliveryRetryStateMachine"])
    assert '"Ref": "RetryAttemptFunction"' not in machine
    assert '["RetryAttemptFunction",' not in machine  # Fn::GetAtt
    assert "${RetryAttemptFunction" not in machine  # Fn::Sub
    name = template["Resources"]["RetryAttemptFunction"]["Properties"]["FunctionName"]
    assert name == {"Fn::Sub": "${AWS::StackName}-retry-attempt"}


def test_every_route_has_a_scope_or_is_public_and_only_public_ones_skip_the_signer(
    template: dict[str, Any], resources: ResourceMap, functions: dict[str, FunctionSpec]
) -> None:
    from formrelay.auth.scopes import PUBLIC_ROUTES, ROUTE_SCOPES, scopes_for_route

    routes = read_routes(template, resources, functions)
    assert sorted(r.route_key for r in routes.routes) == sorted(set(ROUTE_SCOPES) | PUBLIC_ROUTES)
    assert not PUBLIC_ROUTES & set(ROUTE_SCOPES)
    for route in routes.routes:
        public = route.route_key in PUBLIC_ROUTES
        # A public route runs no authorizer (Auth: Authorizer: NONE on its event); every
        # other route runs the request signer, and the signer grants a public route nothing.
        assert (route.authorizer is None) == public, route.route_key
        if public:
            assert scopes_for_route(route.route_key) == frozenset()
            # Its function reads no table and no secret: it cannot leak a tenant's data.
            assert route.function.logical_id == "ApiDescriptionFunction"
            assert set(route.function.environment) == POWERTOOLS


# --- who may do what -------------------------------------------------------------------
#
# Every grant of every function, as "<action> on <resource>", where a resource is a
# logical id (its ARN), `ViewsTable/index/gsi1`, or `secret:<name pattern>`. A grant
# added to the template without being added here fails the test: widen on purpose.
# Reading the Events stream (StatusView, Dispatcher) and receiving from the delivery
# queue (Connector) are granted by SAM with those event sources, not listed here.

# The per-tenant token bucket every HTTP function consults (a conditional put).
# Limits read from tenant and key items; tokens taken by one conditional UpdateItem.
RATE_LIMIT = {"dynamodb:GetItem on ViewsTable", "dynamodb:UpdateItem on ViewsTable"}
APPEND = {"dynamodb:Query on EventsTable", "dynamodb:PutItem on EventsTable"}
DELIVER = APPEND | {
    "dynamodb:GetItem on ViewsTable",  # the destination
    "dynamodb:PutItem on ViewsTable",  # take the delivery lease
    "dynamodb:DeleteItem on ViewsTable",  # give it back
    "dynamodb:UpdateItem on ViewsTable",  # disable a destination that answered 410
    "secretsmanager:GetSecretValue on secret:formrelay/destinations/*",
}
GRANTS: dict[str, set[str]] = {
    "AuthorizerFunction": {
        "dynamodb:GetItem on ViewsTable",  # key metadata
        "dynamodb:PutItem on ViewsTable",  # nonce claim
        "secretsmanager:GetSecretValue on secret:formrelay/tenants/*",
    },
    "IngestFunction": APPEND | RATE_LIMIT | {"dynamodb:Query on ViewsTable"},  # the form
    "QueryFunction": RATE_LIMIT
    | {
        "dynamodb:Query on EventsTable",
        # The listing indexes, and the status items the keys-only ones name
        *(f"dynamodb:Query on ViewsTable/index/gsi{n}" for n in (1, 2, 3, 4)),
        "dynamodb:BatchGetItem on ViewsTable",
        "secretsmanager:GetSecretValue on ListingCursorKey",  # signs listing cursors
    },
    "AuditFunction": RATE_LIMIT
    | {
        "dynamodb:Query on EventsTable/index/gsi1",  # the tenant's events in time order
        "dynamodb:BatchGetItem on EventsTable",  # the events the keys-only index names
        "secretsmanager:GetSecretValue on ListingCursorKey",  # signs export cursors
        "dynamodb:Query on EventsTable",  # one stream, to verify it
        "dynamodb:GetItem on ViewsTable",  # its anchored head (status items only)
        "s3:GetObjectVersion on AnchorsBucket/anchors/*",  # an anchor as first written
        "s3:ListBucketVersions on AnchorsBucket",  # its versions: the oldest is the anchor
    },
    "AnchorFunction": APPEND
    | {
        "dynamodb:Query on EventsTable/index/gsi1",  # the changed streams' heads
        "dynamodb:BatchGetItem on EventsTable",  # the events the keys-only index names
        "dynamodb:Query on ViewsTable",  # the directory of tenants
        "dynamodb:PutItem on ViewsTable",  # anchored heads (status items only)
        "s3:PutObject on AnchorsBucket/anchors/*",
        "s3:GetObjectVersion on AnchorsBucket/anchors/*",
        "s3:ListBucketVersions on AnchorsBucket",
    },
    "StatusViewFunction": {
        "dynamodb:Query on EventsTable",
        "dynamodb:PutItem on ViewsTable",  # status items; destinations' health
        "dynamodb:GetItem on ViewsTable",  # a destination's health, to merge into (only)
        "sqs:SendMessage on StatusViewFailureQueue",  # Lambda parks a failed batch
    },
    "DispatcherFunction": {
        "sqs:SendMessage on DeliveryQueue",
        "sqs:SendMessage on DispatcherFailureQueue",  # Lambda parks a failed batch
    },
    "PublisherFunction": {
        "events:PutEvents on FormrelayBus",  # that bus only
        "sqs:SendMessage on PublisherFailureQueue",  # Lambda parks a failed batch
    },
    "ConnectorFunction": DELIVER | {"states:StartExecution on DeliveryRetryStateMachine"},
    "RetryAttemptFunction": DELIVER,
    "AdminFunction": RATE_LIMIT
    | {
        "dynamodb:Query on ViewsTable",  # the form
        "dynamodb:GetItem on ViewsTable",
        "dynamodb:PutItem on ViewsTable",
        "dynamodb:DeleteItem on ViewsTable",
        "secretsmanager:GetSecretValue on secret:formrelay/destinations/*",
        "secretsmanager:PutSecretValue on secret:formrelay/destinations/*",
        "secretsmanager:UpdateSecretVersionStage on secret:formrelay/destinations/*",
        "secretsmanager:CreateSecret on secret:formrelay/destinations/*",
    },
    "RedeliveryFunction": APPEND | RATE_LIMIT | {"sqs:SendMessage on DeliveryQueue"},
    "FormsFunction": RATE_LIMIT
    | {
        "dynamodb:Query on ViewsTable",  # a form's head and history; the tenant's forms
        "dynamodb:GetItem on ViewsTable",  # one version
        "dynamodb:PutItem on ViewsTable",  # a version, its head and entry (one transaction)
    },
    "ApiDescriptionFunction": set(),  # the document ships with the code: nothing to read
    # A console link is a new key: its item, and its secret in the tenant's key document.
    "ConsoleLinksFunction": RATE_LIMIT
    | {
        "dynamodb:PutItem on ViewsTable",
        *(
            f"secretsmanager:{action} on secret:formrelay/tenants/*"
            for action in (
                "GetSecretValue",
                "PutSecretValue",
                "UpdateSecretVersionStage",
                "CreateSecret",
            )
        ),
    },
    "ReconcilerFunction": DELIVER
    | {
        "states:StartExecution on DeliveryRetryStateMachine",  # a further wait of a resumed retry
        "dynamodb:Query on EventsTable/index/gsi1",  # events since the tenant's checkpoint
        "dynamodb:BatchGetItem on EventsTable",  # the events the keys-only index names
        "dynamodb:GetShardIterator on EventsTable.StreamArn",  # parked batches, read back
        "dynamodb:GetRecords on EventsTable.StreamArn",
        "dynamodb:Query on ViewsTable",  # the directory of tenants
        "dynamodb:BatchGetItem on ViewsTable",  # views' versions
        "dynamodb:Query on ViewsTable/index/gsi1",  # stalled submissions by status and time
        "sqs:SendMessage on DeliveryQueue",  # jobs never dispatched
        *(
            f"sqs:{action} on {queue}"
            for action in ("ReceiveMessage", "DeleteMessage")
            for queue in FAILURE_QUEUES
        ),
        "events:PutEvents on FormrelayBus",  # parked events, published again
    },
}

_ARN_HEAD = re.compile(r"^arn:\$\{AWS::Partition\}:[a-z-]+:\$\{AWS::Region\}:\$\{AWS::AccountId\}:")


def _label(resource: Any) -> str:
    """A policy resource as GRANTS names it."""
    if isinstance(resource, str):
        return resource
    if "Ref" in resource:
        return str(resource["Ref"])
    if "Fn::GetAtt" in resource:
        logical_id, attribute = resource["Fn::GetAtt"]
        return str(logical_id) if attribute == "Arn" else f"{logical_id}.{attribute}"
    if "Fn::Sub" in resource:
        text = _ARN_HEAD.sub("", resource["Fn::Sub"])
        return re.sub(r"\$\{(\w+)\.Arn\}", r"\1", text)
    raise AssertionError(f"a resource the tests cannot name: {resource!r}")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    """A function's policy statements; SAM policy templates are refused (they grant Scan...)."""
    policies = template["Resources"][logical_id]["Properties"]["Policies"]
    for policy in policies:
        assert set(policy) <= {"Version", "Statement"}, f"{logical_id}: {sorted(policy)}"
    return [statement for policy in policies for statement in policy["Statement"]]


def _grants(template: dict[str, Any], logical_id: str) -> set[str]:
    grants = set()
    for statement in _statements(template, logical_id):
        for action in _listed(statement["Action"]):
            for resource in _listed(statement["Resource"]):
                grants.add(f"{action} on {_label(resource)}")
    return grants


def _secret_patterns(template: dict[str, Any], logical_id: str) -> set[str]:
    """The secret names a function may touch at all, as name patterns."""
    return {
        label.removeprefix("secret:")
        for grant in _grants(template, logical_id)
        for label in [grant.split(" on ", 1)[1]]
        if label.startswith("secret:")
    }


def _may_touch(patterns: set[str], secret_name: str) -> bool:
    # A secret's ARN ends in its name and a random 6-character suffix.
    return any(fnmatchcase(f"{secret_name}-AbC123", pattern) for pattern in patterns)


def test_each_function_is_granted_exactly_what_its_code_calls(template: dict[str, Any]) -> None:
    functions = resources_of_type(template, "AWS::Serverless::Function")
    assert set(functions) == set(GRANTS)
    for logical_id, expected in GRANTS.items():
        assert _grants(template, logical_id) == expected, logical_id


BUCKETS_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["T#*#BUCKET"]}}
STATUS_ITEMS_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["T#*#S#*"]}}
TENANT_DIRECTORY_ONLY = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["TENANTS"]}}
HEALTH_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["T#*#HEALTH#*"]}}
NARROWED = (BUCKETS_ONLY, STATUS_ITEMS_ONLY, TENANT_DIRECTORY_ONLY, HEALTH_ONLY)
# What a statement narrowed to status items may do: the listing's reads by key, the
# verification's read of an anchored head, the anchor run's write of one.
STATUS_ITEM_ACTIONS = (["dynamodb:BatchGetItem"], ["dynamodb:GetItem"], ["dynamodb:PutItem"])


def test_no_function_may_scan_or_use_a_wildcard(template: dict[str, Any]) -> None:
    for logical_id in GRANTS:
        for statement in _statements(template, logical_id):
            assert statement["Effect"] == "Allow"
            assert not {"NotAction", "NotResource"} & set(statement), logical_id
            # The conditions a function statement carries narrow it to token buckets, or to
            # status items (the listing's reads by key).
            assert statement.get("Condition", BUCKETS_ONLY) in NARROWED, logical_id
            if statement.get("Condition") == STATUS_ITEMS_ONLY:
                assert _listed(statement["Action"]) in STATUS_ITEM_ACTIONS, logical_id
            if statement.get("Condition") == TENANT_DIRECTORY_ONLY:
                assert _listed(statement["Action"]) == ["dynamodb:Query"], logical_id
            if statement.get("Condition") == HEALTH_ONLY:  # destinations' health records
                assert logical_id == "StatusViewFunction"
                assert _listed(statement["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem"]
            if statement.get("Sid") == "RateLimitBuckets":
                # Only the bucket write is narrowed to buckets: the limits themselves are
                # read from tenant and key items, which the condition would refuse.
                assert statement["Condition"] == BUCKETS_ONLY, logical_id
                assert _listed(statement["Action"]) == ["dynamodb:UpdateItem"], logical_id
            for action in _listed(statement["Action"]):
                assert "*" not in action and action != "dynamodb:Scan", (logical_id, action)
            for resource in _listed(statement["Resource"]):
                label = _label(resource)
                assert label != "*" and not label.endswith(":*"), (logical_id, label)


def test_key_secrets_and_destination_secrets_are_granted_apart(
    template: dict[str, Any], functions: dict[str, FunctionSpec]
) -> None:
    keys = functions["AuthorizerFunction"].environment["TENANT_SECRET_PREFIX"]
    credentials = functions["ConnectorFunction"].environment["DESTINATION_SECRET_PREFIX"]
    assert not keys.startswith(credentials) and not credentials.startswith(keys)
    key_secret, destination_secret = f"{keys}acme", f"{credentials}acme"

    # The authorizer reads key secrets; the console links function adds one (a new key).
    for logical_id in ("AuthorizerFunction", "ConsoleLinksFunction"):
        keying = _secret_patterns(template, logical_id)
        assert _may_touch(keying, key_secret), logical_id
        assert not _may_touch(keying, destination_secret), logical_id
    delivering = (
        "AdminFunction",
        "ConnectorFunction",
        "RetryAttemptFunction",
        "ReconcilerFunction",
    )
    for logical_id in delivering:
        patterns = _secret_patterns(template, logical_id)
        assert _may_touch(patterns, destination_secret), logical_id
        assert not _may_touch(patterns, key_secret), logical_id
    for logical_id in GRANTS.keys() - {"AuthorizerFunction", "ConsoleLinksFunction", *delivering}:
        assert _secret_patterns(template, logical_id) == set(), logical_id


def test_only_the_query_and_audit_functions_read_the_cursor_key(template: dict[str, Any]) -> None:
    key = template["Resources"]["ListingCursorKey"]
    assert key["Type"] == "AWS::SecretsManager::Secret"
    generated = key["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] >= 32 and "SecretString" not in key["Properties"]
    readers = {
        logical_id
        for logical_id in GRANTS
        if any(grant.endswith(" on ListingCursorKey") for grant in _grants(template, logical_id))
    }
    assert readers == {"QueryFunction", "AuditFunction"}
    assert json.dumps(template["Globals"]).count("ListingCursorKey") == 0


def test_the_retry_workflow_may_invoke_only_its_attempt_function(
    template: dict[str, Any],
) -> None:
    policies = template["Resources"]["DeliveryRetryStateMachine"]["Properties"]["Policies"]
    assert policies == [
        {"LambdaInvokePolicy": {"FunctionName": {"Fn::Sub": "${AWS::StackName}-retry-attempt"}}}
    ]


# --- the tenant-scoped role ---------------------------------------------------------------

LEADING_KEYS = ["T#${aws:PrincipalTag/tenant_id}", "T#${aws:PrincipalTag/tenant_id}#*"]


def _tenant_role(template: dict[str, Any]) -> dict[str, Any]:
    role = template["Resources"]["TenantScopedDataRole"]
    assert role["Type"] == "AWS::IAM::Role"
    properties: dict[str, Any] = role["Properties"]
    return properties


def test_every_dynamodb_statement_of_the_tenant_role_is_held_to_leading_keys(
    template: dict[str, Any],
) -> None:
    statements = [
        statement
        for policy in _tenant_role(template)["Policies"]
        # Policy variables such as ${aws:PrincipalTag/...} need this version.
        if policy["PolicyDocument"]["Version"] == "2012-10-17"
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    dynamodb = [
        s for s in statements if any(a.startswith("dynamodb:") for a in _listed(s["Action"]))
    ]
    assert dynamodb and len(dynamodb) == len(statements)
    for statement in dynamodb:
        condition = statement["Condition"]
        assert condition["ForAllValues:StringLike"] == {"dynamodb:LeadingKeys": LEADING_KEYS}
        # ForAllValues over an empty set is true: a request without leading keys is refused.
        assert condition["Null"] == {
            "dynamodb:LeadingKeys": "false",
            "aws:PrincipalTag/tenant_id": "false",
        }
        assert set(_listed(statement["Action"])) <= {"dynamodb:GetItem", "dynamodb:Query"}
        assert {_label(r) for r in statement["Resource"]} == {
            "EventsTable",
            "ViewsTable",
            "ViewsTable/index/gsi1",
        }


def test_the_leading_key_patterns_cover_one_tenants_keys_and_no_one_elses() -> None:
    from formrelay.domain.events import StreamId
    from formrelay.store.items import stream_key
    from formrelay.tables import keys as vk

    def keys_of(tenant: str) -> list[str]:
        return [
            stream_key(StreamId(tenant, "s-1")),
            vk.tenant_pk(tenant),
            vk.nonce_pk(tenant, f"{tenant}.k", "n"),
            vk.status_pk(tenant, "s-1"),
            vk.listing_pk(tenant, "received"),
            vk.tenant_listing_pk(tenant),
            vk.form_listing_pk(tenant, "contact"),
            vk.form_status_listing_pk(tenant, "contact", "received"),
            vk.lease_pk(tenant, "msg_1"),
        ]

    patterns = [key.replace("${aws:PrincipalTag/tenant_id}", "acme") for key in LEADING_KEYS]
    for key in keys_of("acme"):
        assert any(fnmatchcase(key, p) for p in patterns), key
    for other in ("acme-2", "acm", "ac", "xacme"):
        for key in keys_of(other):
            assert not any(fnmatchcase(key, p) for p in patterns), key


def test_the_tenant_role_is_assumed_with_a_tenant_session_tag(template: dict[str, Any]) -> None:
    trust = _tenant_role(template)["AssumeRolePolicyDocument"]
    assert trust["Version"] == "2012-10-17"
    by_action = {s["Action"]: s for s in trust["Statement"]}
    assert set(by_action) == {"sts:AssumeRole", "sts:TagSession"}
    tagging = by_action["sts:TagSession"]["Condition"]
    assert tagging["StringLike"] == {"aws:RequestTag/tenant_id": "?*"}
    # No wildcard or separator in the tag: it is spliced into the LeadingKeys patterns.
    assert tagging["StringNotLike"] == {"aws:RequestTag/tenant_id": ["*${*}*", "*${?}*", "*#*"]}
    assert tagging["ForAllValues:StringEquals"] == {"aws:TagKeys": ["tenant_id"]}
    assert "TenantScopedDataRole" not in json.dumps(
        {lid: template["Resources"][lid] for lid in GRANTS}
    )  # no function assumes it today


# What a deployed stack tells its operators and clients (`formrelay ... --stack NAME`,
# `aws cloudformation describe-stacks`), and the resource each output names.
STACK_OUTPUTS: dict[str, Any] = {
    "ApiEndpoint": {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
    "EventsTableName": {"Ref": "EventsTable"},
    "ViewsTableName": {"Ref": "ViewsTable"},
    "DeliveryQueueUrl": {"Ref": "DeliveryQueue"},
    "DeliveryDeadLetterQueueUrl": {"Ref": "DeliveryDLQ"},
    "DeliveryDeadLetterQueueArn": {"Fn::GetAtt": ["DeliveryDLQ", "Arn"]},
    "StatusViewFailureQueueUrl": {"Ref": "StatusViewFailureQueue"},
    "StatusViewFailureQueueArn": {"Fn::GetAtt": ["StatusViewFailureQueue", "Arn"]},
    "DispatcherFailureQueueUrl": {"Ref": "DispatcherFailureQueue"},
    "DispatcherFailureQueueArn": {"Fn::GetAtt": ["DispatcherFailureQueue", "Arn"]},
    "PublisherFailureQueueUrl": {"Ref": "PublisherFailureQueue"},
    "PublisherFailureQueueArn": {"Fn::GetAtt": ["PublisherFailureQueue", "Arn"]},
    "DeliveryRetryStateMachineArn": {"Ref": "DeliveryRetryStateMachine"},
    "ListingCursorKeyArn": {"Ref": "ListingCursorKey"},
    "AnchorsBucketName": {"Ref": "AnchorsBucket"},
    "EventBusName": {"Ref": "FormrelayBus"},
    "TenantScopedDataRoleArn": {"Fn::GetAtt": ["TenantScopedDataRole", "Arn"]},
    "AlarmTopicArn": {"Ref": "AlarmTopic"},
    "TenantSecretPrefix": "formrelay/tenants/",
    "DestinationSecretPrefix": "formrelay/destinations/",
}
# Resources an operator or client reaches by name: each has an output.
NAMED_BY_OUTPUTS = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::Serverless::StateMachine",
    "AWS::Serverless::HttpApi",
    "AWS::Events::EventBus",
    "AWS::SecretsManager::Secret",
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
)


def test_the_stack_outputs_name_what_operators_and_clients_need(
    template: dict[str, Any],
) -> None:
    outputs = {name: spec["Value"] for name, spec in template["Outputs"].items()}

    assert outputs == STACK_OUTPUTS
    for name, spec in template["Outputs"].items():
        assert spec.get("Description"), name


def test_every_table_queue_state_machine_api_bus_and_secret_has_an_output(
    template: dict[str, Any],
) -> None:
    named = json.dumps(template["Outputs"])
    for type_name in NAMED_BY_OUTPUTS:
        for logical_id in resources_of_type(template, type_name):
            assert f'"{logical_id}"' in named or "${" + logical_id + "}" in named, logical_id


def test_the_secret_prefix_outputs_are_what_the_functions_use_and_are_granted(
    template: dict[str, Any], functions: dict[str, FunctionSpec]
) -> None:
    keys = STACK_OUTPUTS["TenantSecretPrefix"]
    credentials = STACK_OUTPUTS["DestinationSecretPrefix"]

    assert functions["AuthorizerFunction"].environment["TENANT_SECRET_PREFIX"] == keys
    assert _may_touch(_secret_patterns(template, "AuthorizerFunction"), f"{keys}acme")
    for logical_id in ("AdminFunction", "ConnectorFunction", "RetryAttemptFunction"):
        environment = functions[logical_id].environment
        assert environment["DESTINATION_SECRET_PREFIX"] == credentials, logical_id
        assert _may_touch(_secret_patterns(template, logical_id), f"{credentials}acme")


def test_the_outputs_the_cli_reads_with_stack_name_the_api_the_views_table_and_key_secrets(
    template: dict[str, Any],
) -> None:
    from formrelay.cli import stack as cli_stack

    outputs = {name: spec["Value"] for name, spec in template["Outputs"].items()}

    assert outputs[cli_stack.API_ENDPOINT]["Fn::Sub"].startswith("https://${HttpApi}.")
    assert outputs[cli_stack.VIEWS_TABLE] == {"Ref": "ViewsTable"}
    assert outputs[cli_stack.TENANT_SECRET_PREFIX] == "formrelay/tenants/"


def test_every_function_is_built_by_make_with_the_library_layer(template: dict[str, Any]) -> None:
    # sam runs infra/Makefile's build-<LogicalId> for each; a function without it would
    # be built by sam's python builder from the whole repository (tests/packaging checks
    # what the build holds)
    globals_fn = template["Globals"]["Function"]
    assert globals_fn["Layers"] == [{"Ref": "FormrelayLayer"}]
    layer = template["Resources"]["FormrelayLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["CompatibleRuntimes"] == [globals_fn["Runtime"]]
    assert layer["Properties"]["CompatibleArchitectures"] == globals_fn["Architectures"]
    for logical_id, res in resources_of_type(template, "AWS::Serverless::Function").items():
        assert res.get("Metadata", {}).get("BuildMethod") == "makefile", logical_id
        assert "CodeUri" not in res["Properties"] and "Layers" not in res["Properties"], logical_id
