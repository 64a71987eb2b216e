"""The local runtime: HTTP front + authorizer, stream and SQS pollers, over real moto and HTTP."""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import httpx
import pytest

from formrelay.bootstrap import CONTACT_FORM_SCHEMA, seed_tenant
from formrelay.client import Credentials, FormrelayClient
from formrelay.domain.clock import SystemClock
from formrelay.local.dev import LocalStack
from formrelay.local.sink import Sink
from formrelay.settings import ConfigurationError

HANDLERS = '''
"""Throwaway handlers for the local runtime tests: they record what they get."""
import json
import os

from formrelay.composition import environment

CALLS = {
    "authorizer": [],
    "echo": [],
    "stream_all": [],
    "stream_filtered": [],
    "consume": [],
    "broken": [],
}
SEEN = {}
ENVIRONMENTS = {}


def _saw(name):
    """The environment this function's container gives it, and what os.environ holds."""
    ENVIRONMENTS[name] = (dict(environment()), os.environ.get("JOBS_QUEUE_URL"))


def authorizer(event, context):
    _saw("authorizer")
    CALLS["authorizer"].append(event)
    if event["headers"].get("x-test-mode") == "garbage":
        return "not a simple response"
    allowed = event["headers"].get("x-test-key") == "good"
    return {"isAuthorized": allowed, "context": {"tenant_id": "t1", "scopes": "submit"}}


def echo(event, context):
    CALLS["echo"].append(event)
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-fn": context.function_name},
        "cookies": ["a=1"],
        "body": json.dumps({"path": event.get("pathParameters")}),
    }


def boom(event, context):
    raise RuntimeError("boom")


def stream_all(event, context):
    failures = []
    for record in event["Records"]:
        image = record["dynamodb"]["NewImage"]
        sequence = record["dynamodb"]["SequenceNumber"]
        CALLS["stream_all"].append((image["sk"]["S"], sequence, record["eventName"]))
        fail_times = int(image.get("fail_times", {"N": "0"})["N"])
        SEEN[sequence] = SEEN.get(sequence, 0) + 1
        if SEEN[sequence] <= fail_times:
            failures.append({"itemIdentifier": sequence})
            break
    return {"batchItemFailures": failures}


def stream_filtered(event, context):
    for record in event["Records"]:
        CALLS["stream_filtered"].append(
            (record["eventName"], record["dynamodb"]["NewImage"]["sk"]["S"])
        )
    return {"batchItemFailures": []}


def broken(event, context):
    CALLS["broken"].append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
    raise RuntimeError("the projection is broken")


def shared_item(event, context):
    """Put (POST) or read (GET) one item of the shared table with the function's own client."""
    from formrelay.composition import services

    dynamodb = services().dynamodb
    table = environment()["SHARED_TABLE"]
    key = {"pk": {"S": event["pathParameters"]["key"]}, "sk": {"S": "item"}}
    item = None
    if event["requestContext"]["http"]["method"] == "POST":
        dynamodb.put_item(TableName=table, Item={**key, "value": {"S": event["body"]}})
    else:
        item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    body = {"item": item, "endpoint": dynamodb.meta.endpoint_url}
    return {"statusCode": 200, "body": json.dumps(body)}


def consume(event, context):
    _saw("consume")
    failures = []
    for record in event["Records"]:
        CALLS["consume"].append(record["body"])
        count = int(record["attributes"]["ApproximateReceiveCount"])
        if record["body"] == "fail-once" and count == 1:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
'''

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Environment:
      Variables:
        EVENTS_TABLE: !Ref EventsTable
Resources:
  EventsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  ParkedTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  SharedTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
  ParkedFailures:
    Type: AWS::SQS::Queue
  JobsDLQ:
    Type: AWS::SQS::Queue
  JobsQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy: {deadLetterTargetArn: !GetAtt JobsDLQ.Arn, maxReceiveCount: 5}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Signer
        Authorizers:
          Signer:
            FunctionArn: !GetAtt AuthFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [X-Test-Key, X-Test-Nonce]
              ReauthorizeEvery: 0
  AuthFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frt_handlers.authorizer
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frt_handlers.echo
      Events:
        Post:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: POST, Path: "/v1/things/{thing_id}"}
        Get:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: "/v1/things/{thing_id}/parts/{part}"}
  SharedItemFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frt_handlers.shared_item
      Environment:
        Variables:
          SHARED_TABLE: !Ref SharedTable
      Events:
        Put:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: POST, Path: "/v1/shared/{key}"}
        Get:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: "/v1/shared/{key}"}
  BoomFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frt_handlers.boom
      Events:
        Get:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /boom}
  StreamAllFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frt_handlers.stream_all
      Events:
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt EventsTable.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
            MaximumRetryAttempts: 3
  StreamFilteredFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frt_handlers.stream_filtered
      Events:
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt EventsTable.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 100
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: >-
                    {"eventName":["INSERT"],"dynamodb":{"NewImage":{"type":{"S":["wanted"]}}}}
  BrokenProjectionFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frt_handlers.broken
      Events:
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt ParkedTable.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
            MaximumRetryAttempts: 1
            BisectBatchOnFunctionError: true
            MaximumRecordAgeInSeconds: 21600
            DestinationConfig:
              OnFailure:
                Destination: !GetAtt ParkedFailures.Arn
  ConsumerFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frt_handlers.consume
      Environment:
        Variables:
          JOBS_QUEUE_URL: !Ref JobsQueue
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt JobsQueue.Arn
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
"""

AUTH_HEADERS = {"X-Test-Key": "good", "X-Test-Nonce": "n-1"}


@pytest.fixture(scope="module")
def handlers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """Given throwaway handler modules importable by the names in the template."""
    directory = tmp_path_factory.mktemp("handlers")
    (directory / "frt_handlers.py").write_text(textwrap.dedent(HANDLERS))
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(directory))
        yield importlib.import_module("frt_handlers")


@pytest.fixture(scope="module")
def stack(handlers: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Given a local stack running the fixture template."""
    template = tmp_path_factory.mktemp("infra") / "template.yaml"
    template.write_text(TEMPLATE)
    with LocalStack(template, stack_name="frt") as running:
        yield running


@pytest.fixture()
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    """An HTTP client on the local front."""
    with httpx.Client(base_url=stack.endpoint, timeout=10) as client:
        yield client


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll predicate until it holds or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def calls(handlers: ModuleType, name: str) -> list[Any]:
    """What a throwaway handler recorded."""
    recorded: list[Any] = handlers.CALLS[name]
    return recorded


# --- HTTP front + authorizer -------------------------------------------------


def test_missing_identity_header_is_401_without_calling_the_authorizer(
    http: httpx.Client, handlers: ModuleType
) -> None:
    before = len(calls(handlers, "authorizer"))
    response = http.post("/v1/things/a", headers={"X-Test-Key": "good"}, content=b"{}")
    empty = http.post("/v1/things/a", headers={**AUTH_HEADERS, "X-Test-Nonce": ""})
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert empty.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert len(calls(handlers, "authorizer")) == before


def test_authorizer_refusal_is_403(http: httpx.Client) -> None:
    response = http.post("/v1/things/a", headers={**AUTH_HEADERS, "X-Test-Key": "bad"})
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


def test_authorizer_garbage_is_500(http: httpx.Client) -> None:
    response = http.post("/v1/things/a", headers={**AUTH_HEADERS, "X-Test-Mode": "garbage"})
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


def test_authorizer_gets_a_v2_request_event_without_body(
    http: httpx.Client, handlers: ModuleType
) -> None:
    http.post("/v1/things/a?x=1&x=2", headers=AUTH_HEADERS, content=b'{"secret":"body"}')
    event = calls(handlers, "authorizer")[-1]
    assert event["version"] == "2.0" and event["type"] == "REQUEST"
    assert event["identitySource"] == ["good", "n-1"]
    assert event["routeKey"] == "POST /v1/things/{thing_id}"
    assert event["rawPath"] == "/v1/things/a" and event["rawQueryString"] == "x=1&x=2"
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["pathParameters"] == {"thing_id": "a"}
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["routeArn"].endswith("/$default/POST/v1/things/a")
    assert "body" not in event


def test_authorized_request_reaches_the_route_with_context_and_path_params(
    http: httpx.Client, handlers: ModuleType
) -> None:
    response = http.get("/v1/things/t%201/parts/p2", headers={**AUTH_HEADERS, "Cookie": "c=1"})
    event = calls(handlers, "echo")[-1]
    assert response.status_code == 201
    assert response.json() == {"path": {"thing_id": "t 1", "part": "p2"}}
    assert response.headers["x-fn"] == "frt-EchoFunction"
    assert response.headers["set-cookie"] == "a=1"
    assert event["requestContext"]["authorizer"] == {
        "lambda": {"tenant_id": "t1", "scopes": "submit"}
    }
    assert event["routeKey"] == "GET /v1/things/{thing_id}/parts/{part}"
    assert event["cookies"] == ["c=1"]
    assert event["headers"]["x-test-key"] == "good"


def test_text_body_is_passed_as_text(http: httpx.Client, handlers: ModuleType) -> None:
    headers = {**AUTH_HEADERS, "Content-Type": "application/json"}
    http.post("/v1/things/a", headers=headers, content='{"é": 1}'.encode())
    event = calls(handlers, "echo")[-1]
    assert (event["body"], event["isBase64Encoded"]) == ('{"é": 1}', False)


def test_binary_body_is_base64(http: httpx.Client, handlers: ModuleType) -> None:
    payload = bytes(range(256))
    headers = {**AUTH_HEADERS, "Content-Type": "application/octet-stream"}
    http.post("/v1/things/a", headers=headers, content=payload)
    event = calls(handlers, "echo")[-1]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_unknown_route_and_wrong_method_are_404(http: httpx.Client) -> None:
    unknown = http.get("/nowhere", headers=AUTH_HEADERS)
    wrong_method = http.delete("/v1/things/a", headers=AUTH_HEADERS)
    assert (unknown.status_code, unknown.json()) == (404, {"message": "Not Found"})
    assert wrong_method.status_code == 404


def test_function_exception_is_500(http: httpx.Client) -> None:
    response = http.get("/boom", headers=AUTH_HEADERS)
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


def test_body_over_10_mb_is_413(http: httpx.Client) -> None:
    response = http.post("/v1/things/a", headers=AUTH_HEADERS, content=b"x" * (10 * 2**20 + 1))
    assert (response.status_code, response.json()) == (413, {"message": "Request Entity Too Large"})


# --- DynamoDB stream pollers -------------------------------------------------


def put(sk: str, kind: str, **extra: dict[str, str]) -> None:
    """Write one item to the fixture events table."""
    item = {"pk": {"S": "P"}, "sk": {"S": sk}, "type": {"S": kind}, **extra}
    boto3.client("dynamodb").put_item(TableName="frt-EventsTable", Item=item)


def test_stream_records_arrive_in_order_filtered_and_retried(
    stack: LocalStack, handlers: ModuleType
) -> None:
    put("01", "other")
    put("02", "wanted")
    put("03", "other", fail_times={"N": "2"})
    put("04", "wanted")
    boto3.client("dynamodb").update_item(
        TableName="frt-EventsTable",
        Key={"pk": {"S": "P"}, "sk": {"S": "02"}},
        UpdateExpression="SET touched = :t",
        ExpressionAttributeValues={":t": {"S": "yes"}},
    )
    put("05", "other", fail_times={"N": "100"})  # exhausts MaximumRetryAttempts: 3
    seen = calls(handlers, "stream_all")
    wait_until(lambda: [sk for sk, _, _ in seen].count("05") == 4)
    put("06", "other")  # after the give-up, so not discarded with the rest of 05's batch
    wait_until(lambda: any(sk == "06" for sk, _, _ in seen))
    inserts = list(dict.fromkeys(sk for sk, _, name in seen if name == "INSERT"))
    assert inserts == ["01", "02", "03", "04", "05", "06"]
    assert [sk for sk, _, _ in seen].count("01") == 1  # before the failure: never redelivered
    assert [sk for sk, _, _ in seen].count("03") == 3  # failed twice, then succeeded
    assert [sk for sk, _, _ in seen].count("05") == 4  # first try + 3 retries, then given up
    assert [name for sk, _, name in seen if sk == "02"][-1] == "MODIFY"

    filtered = calls(handlers, "stream_filtered")
    wait_until(lambda: len(filtered) >= 2)
    time.sleep(0.3)
    assert filtered == [("INSERT", "02"), ("INSERT", "04")]


def test_a_batch_the_function_keeps_failing_on_is_bisected_and_parked_on_its_failure_queue(
    stack: LocalStack, handlers: ModuleType
) -> None:
    # One request, so the poller finds the three records together in one batch.
    boto3.client("dynamodb").batch_write_item(
        RequestItems={
            "frt-ParkedTable": [
                {"PutRequest": {"Item": {"pk": {"S": "P"}, "sk": {"S": sk}}}}
                for sk in ("a", "b", "c")
            ]
        }
    )
    sqs = boto3.client("sqs")
    queue_url = stack.resources["ParkedFailures"]["Ref"]
    parked: list[dict[str, Any]] = []

    def three_parked() -> bool:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        parked.extend(json.loads(m["Body"]) for m in messages)
        return len(parked) >= 3

    wait_until(three_parked, timeout=30)
    invocations = calls(handlers, "broken")
    sequences = list(dict.fromkeys(seq for batch in invocations for seq in batch))
    assert len(sequences) == 3
    # The whole batch first (all three unless the poller read between two of the
    # writes), then halves of it, down to single records.
    assert invocations[0] == sequences[: len(invocations[0])]
    assert any(len(batch) > 1 for batch in invocations)
    assert [len(batch) for batch in invocations if len(batch) == 1]
    stream_arn = stack.resources["ParkedTable"]["StreamArn"]
    function_arn = "arn:aws:lambda:us-east-1:123456789012:function:frt-BrokenProjectionFunction"
    # Bisected down to the one record that fails, each record is given up on alone
    # after its retry, in stream order, and the stream reads on past it.
    infos = [record["DDBStreamBatchInfo"] for record in parked]
    assert [(i["startSequenceNumber"], i["endSequenceNumber"]) for i in infos] == [
        (seq, seq) for seq in sequences
    ]
    for record, info in zip(parked, infos, strict=True):
        assert info["batchSize"] == 1 and info["streamArn"] == stream_arn
        assert info["shardId"].startswith("shardId-")
        assert info["approximateArrivalOfFirstRecord"].endswith("Z")
        context = record["requestContext"]
        assert context["condition"] == "RetryAttemptsExhausted"
        assert context["functionArn"] == function_arn
        assert context["approximateInvokeCount"] == 2  # the try and MaximumRetryAttempts: 1
        assert record["responseContext"]["functionError"] == "Unhandled"
    for seq in sequences:  # once in the whole batch, then alone: first try and one retry
        assert [batch for batch in invocations if batch == [seq]] == [[seq], [seq]]


# --- SQS poller --------------------------------------------------------------


def test_sqs_poller_deletes_successes_and_redelivers_failures(
    stack: LocalStack, handlers: ModuleType
) -> None:
    sqs = boto3.client("sqs")
    queue_url = stack.resources["JobsQueue"]["Ref"]
    for body in ("ok-1", "fail-once", "ok-2"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    consumed = calls(handlers, "consume")
    wait_until(lambda: consumed.count("fail-once") == 2)
    assert sorted(set(consumed)) == ["fail-once", "ok-1", "ok-2"]
    assert consumed.count("ok-1") == consumed.count("ok-2") == 1

    def drained() -> bool:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return set(attributes.values()) == {"0"}

    wait_until(drained)


# --- the webhook sink --------------------------------------------------------


def test_sink_records_requests_and_lists_them() -> None:
    with Sink() as sink, httpx.Client(base_url=sink.url) as client:
        answer = client.post("/hooks/x", content=b'{"a":1}', headers={"webhook-id": "w1"})
        listed = client.get("/received").json()
    assert answer.json() == {"ok": True}
    assert [(r["method"], r["path"], r["body"]) for r in listed] == [
        ("POST", "/hooks/x", '{"a":1}')
    ]
    assert listed[0]["headers"]["webhook-id"] == "w1"
    assert json.loads(listed[0]["body"]) == {"a": 1}


def test_each_function_sees_only_its_own_environment(
    stack: LocalStack, handlers: ModuleType, http: httpx.Client
) -> None:
    http.post("/v1/things/a", headers=AUTH_HEADERS)
    boto3.client("sqs").send_message(QueueUrl=stack.resources["JobsQueue"]["Ref"], MessageBody="e")
    wait_until(lambda: "consume" in handlers.ENVIRONMENTS and "authorizer" in handlers.ENVIRONMENTS)

    queue_url = stack.resources["JobsQueue"]["Ref"]
    consumer, consumer_sees = handlers.ENVIRONMENTS["consume"]
    authorizer, authorizer_sees = handlers.ENVIRONMENTS["authorizer"]
    assert consumer == {"EVENTS_TABLE": "frt-EventsTable", "JOBS_QUEUE_URL": queue_url}
    assert authorizer == {"EVENTS_TABLE": "frt-EventsTable"}
    # Only what every function has alike is in the process's environment
    assert consumer_sees is None and authorizer_sees is None
    assert "JOBS_QUEUE_URL" not in os.environ
    assert os.environ["EVENTS_TABLE"] == "frt-EventsTable"
    # In this process the functions reach moto in-process, not through its endpoint.
    assert "AWS_ENDPOINT_URL" not in os.environ


# --- the emulated AWS in-process and over HTTP: one set of data ----------------


def test_a_function_write_in_process_is_read_through_the_endpoint_and_back(
    stack: LocalStack, http: httpx.Client
) -> None:
    """Given a function running in-process and a client of the emulator's HTTP endpoint
    (the AWS CLI's way in), each sees what the other writes, at once."""
    over_http = boto3.client("dynamodb", endpoint_url=stack.aws_endpoint)
    headers = {**AUTH_HEADERS, "Content-Type": "text/plain"}
    written = http.post("/v1/shared/from-function", headers=headers, content=b"in-process")
    assert written.status_code == 200
    # The function's own client did not go through the HTTP endpoint.
    assert written.json()["endpoint"] != stack.aws_endpoint
    seen = over_http.get_item(
        TableName="frt-SharedTable",
        Key={"pk": {"S": "from-function"}, "sk": {"S": "item"}},
        ConsistentRead=True,
    )
    assert seen["Item"]["value"] == {"S": "in-process"}

    over_http.put_item(
        TableName="frt-SharedTable",
        Item={"pk": {"S": "from-http"}, "sk": {"S": "item"}, "value": {"S": "over HTTP"}},
    )
    read = http.get("/v1/shared/from-http", headers=AUTH_HEADERS).json()
    assert read["item"]["value"] == {"S": "over HTTP"}


# --- the real template: each function its own environment and services -------------


class Clock(SystemClock):
    """The system's clock, moved ahead by the test: the functions' caches see it, not slept."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return super().now() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Pipeline:
    """The real template's stack, a receiver, a seeded tenant and its signed client."""

    stack: LocalStack
    sink: Sink
    clock: Clock
    client: FormrelayClient

    def put_destination(self, token: str) -> None:
        """The admin function saves the destination with a bearer token (a secret)."""
        body = {"url": self.sink.url + "/hooks/acme", "auth": {"type": "bearer", "token": token}}
        answer = self.client.put_destination("contact", "primary", body)
        assert answer.status_code in (200, 201), answer.text

    def deliver_one(self) -> str:
        """Submit, wait until delivered; the Authorization the receiver got."""
        before = len(self.sink.received())
        answer = self.client.submit("contact", {"email": "ada@example.com", "name": "Ada"})
        assert answer.status_code == 202, answer.text
        submission_id = answer.json()["submission_id"]
        wait_until(
            lambda: self.client.status(submission_id).json().get("status") == "delivered", 30
        )
        got = self.sink.received()[before:]
        assert len(got) == 1
        return str({k.lower(): v for k, v in got[0]["headers"].items()}["authorization"])


@contextlib.contextmanager
def pipeline(secret_cache_seconds: int | None) -> Iterator[Pipeline]:
    """Given the real template's stack (secret cache as given) and the acme tenant."""
    clock = Clock()
    with Sink() as sink:
        address = sink.url.removeprefix("http://")
        with LocalStack(
            allow_destinations=[address], secret_cache_seconds=secret_cache_seconds, clock=clock
        ) as stack:
            seeded = seed_tenant(
                stack.operator_services(),
                tenant_id="acme",
                form_id="contact",
                schema=CONTACT_FORM_SCHEMA,
                destination_url=sink.url + "/hooks/acme",
            )
            credentials = Credentials(stack.endpoint, seeded.key_id, seeded.secret)
            yield Pipeline(stack, sink, clock, FormrelayClient(credentials))


def test_a_secret_the_admin_writes_reaches_the_connector_when_its_own_cache_expires() -> None:
    with pipeline(secret_cache_seconds=None) as running:  # the template's 30 s
        # Given a destination whose token the connector has read (and cached)
        running.put_destination("token-1")
        assert running.deliver_one() == "Bearer token-1"
        # When the admin function saves a new token
        running.put_destination("token-2")
        # Then the connector's container keeps its cached copy, as on AWS
        assert running.deliver_one() == "Bearer token-1"
        # Until its own cache expires
        running.clock.advance(31)
        assert running.deliver_one() == "Bearer token-2"

        # And the authorizer's container never had the delivery queue
        authorizers = running.stack.runtime("AuthorizerFunction").containers()
        dispatchers = running.stack.runtime("DispatcherFunction").containers()
        assert authorizers and dispatchers
        for container in authorizers:
            assert "DELIVERY_QUEUE_URL" not in container.environment
            assert "DELIVERY_RETRY_STATE_MACHINE_ARN" not in container.environment
            with pytest.raises(ConfigurationError, match="DELIVERY_QUEUE_URL"):
                getattr(container.services, "delivery_queue")  # noqa: B009
        queue_url = running.stack.resources["DeliveryQueue"]["Ref"]
        assert dispatchers[0].services.delivery_queue.queue_url == queue_url
        assert "DELIVERY_QUEUE_URL" not in os.environ
        # And no two functions share services
        connector = running.stack.runtime("ConnectorFunction").containers()[0]
        admin = running.stack.runtime("AdminFunction").containers()[0]
        assert connector.services.destination_secrets is not admin.services.destination_secrets


def test_with_the_secret_cache_off_the_connector_sees_a_new_secret_at_once() -> None:
    with pipeline(secret_cache_seconds=0) as running:
        running.put_destination("token-1")
        assert running.deliver_one() == "Bearer token-1"
        running.put_destination("token-2")
        assert running.deliver_one() == "Bearer token-2"
