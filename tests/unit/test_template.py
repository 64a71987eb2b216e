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
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}
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
    "StatusViewFunction": {"EVENTS_TABLE", "VIEWS_TABLE"},
    "DispatcherFunction": {"DELIVERY_QUEUE_URL"},
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
}
# The services each function's handler (and the shared HTTP app) asks for.
HTTP = {"rate_limiter"}
ADAPTERS: dict[str, set[str]] = {
    "AuthorizerFunction": {"keys", "nonces"},
    "IngestFunction": HTTP | {"forms", "events"},
    "QueryFunction": HTTP | {"listing", "events"},
    "StatusViewFunction": {"events", "statuses"},
    "DispatcherFunction": {"delivery_queue"},
    "ConnectorFunction": {"connector", "retry_workflow"},
    "RetryAttemptFunction": {"connector"},
    "AdminFunction": HTTP | {"destination_admin"},
    "RedeliveryFunction": HTTP | {"events", "delivery_queue"},
    "FormsFunction": HTTP | {"forms"},
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
}
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
        "ListingCursorKey": {"Ref": CURSOR_KEY_ARN, "Id": CURSOR_KEY_ARN},
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
    env = template["Resources"]["IngestFunction"]["Properties"]["Environment"]["Variables"]
    assert env["EVENTS_TABLE"] == {"Ref": "EventsTable"}
    authorizer = template["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]
    assert authorizer["RequestSigner"]["FunctionArn"] == {
        "Fn::GetAtt": ["AuthorizerFunction", "Arn"]
    }


def test_ten_functions_with_their_handlers(functions: dict[str, FunctionSpec]) -> None:
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
        "FormsFunction": "handlers.forms.handler",
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
        "FormsFunction": ["HttpApi", "HttpApi", "HttpApi", "HttpApi"],
    }
    stream = functions["StatusViewFunction"].events[0].properties
    assert stream["Stream"].endswith("formrelay-EventsTable/stream/x")
    assert (stream["BatchSize"], stream["MaximumRetryAttempts"]) == (100, 10)
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    sqs = functions["ConnectorFunction"].events[0].properties
    assert sqs["Queue"].endswith(":formrelay-DeliveryQueue") and sqs["BatchSize"] == 10
    assert functions["ConnectorFunction"].timeout == 60
    assert functions["IngestFunction"].timeout == 30


def test_globals_hold_only_what_every_function_reads(
    template: dict[str, Any], functions: dict[str, FunctionSpec]
) -> None:
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(globals_env) == POWERTOOLS
    assert shared_environment(functions.values()) == {
        "POWERTOOLS_SERVICE_NAME": "formrelay",
        "POWERTOOLS_LOG_LEVEL": "INFO",
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
    # Only the connector starts retries, so only it names the state machine.
    naming = [
        lid for lid, s in functions.items() if "DELIVERY_RETRY_STATE_MACHINE_ARN" in s.environment
    ]
    assert naming == ["ConnectorFunction"]


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
    assert sorted(r.route_key for r in routes.routes) == [
        "DELETE /v1/forms/{form_id}/destinations/{destination_id}",
        "GET /v1/forms",
        "GET /v1/forms/{form_id}",
        "GET /v1/forms/{form_id}/destinations/{destination_id}",
        "GET /v1/forms/{form_id}/versions/{version}",
        "GET /v1/submissions",
        "GET /v1/submissions/{submission_id}",
        "GET /v1/submissions/{submission_id}/events",
        "POST /v1/forms/{form_id}/submissions",
        "POST /v1/submissions/{submission_id}/redeliveries",
        "PUT /v1/forms/{form_id}",
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


def test_every_route_has_a_scope(
    template: dict[str, Any], resources: ResourceMap, functions: dict[str, FunctionSpec]
) -> None:
    from formrelay.auth.scopes import ROUTE_SCOPES

    routes = read_routes(template, resources, functions)
    assert sorted(r.route_key for r in routes.routes) == sorted(ROUTE_SCOPES)


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
        "dynamodb:Query on ViewsTable/index/gsi1",
        "secretsmanager:GetSecretValue on ListingCursorKey",  # signs listing cursors
    },
    "StatusViewFunction": {"dynamodb:Query on EventsTable", "dynamodb:PutItem on ViewsTable"},
    "DispatcherFunction": {"sqs:SendMessage on DeliveryQueue"},
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


def test_no_function_may_scan_or_use_a_wildcard(template: dict[str, Any]) -> None:
    for logical_id in GRANTS:
        for statement in _statements(template, logical_id):
            assert statement["Effect"] == "Allow"
            assert not {"NotAction", "NotResource"} & set(statement), logical_id
            # The one condition a function statement carries narrows it to token buckets.
            assert statement.get("Condition", BUCKETS_ONLY) == BUCKETS_ONLY, logical_id
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

    authorizer = _secret_patterns(template, "AuthorizerFunction")
    assert _may_touch(authorizer, key_secret)
    assert not _may_touch(authorizer, destination_secret)
    for logical_id in ("AdminFunction", "ConnectorFunction", "RetryAttemptFunction"):
        patterns = _secret_patterns(template, logical_id)
        assert _may_touch(patterns, destination_secret), logical_id
        assert not _may_touch(patterns, key_secret), logical_id
    for logical_id in GRANTS.keys() - {
        "AuthorizerFunction",
        "AdminFunction",
        "ConnectorFunction",
        "RetryAttemptFunction",
    }:
        assert _secret_patterns(template, logical_id) == set(), logical_id


def test_only_the_query_function_may_read_the_cursor_key(template: dict[str, Any]) -> None:
    key = template["Resources"]["ListingCursorKey"]
    assert key["Type"] == "AWS::SecretsManager::Secret"
    generated = key["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] >= 32 and "SecretString" not in key["Properties"]
    readers = {
        logical_id
        for logical_id in GRANTS
        if any(grant.endswith(" on ListingCursorKey") for grant in _grants(template, logical_id))
    }
    assert readers == {"QueryFunction"}
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
    "DeliveryRetryStateMachineArn": {"Ref": "DeliveryRetryStateMachine"},
    "ListingCursorKeyArn": {"Ref": "ListingCursorKey"},
    "TenantScopedDataRoleArn": {"Fn::GetAtt": ["TenantScopedDataRole", "Arn"]},
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
