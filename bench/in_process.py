"""The template's functions in one process on in-process moto, invoked the way the local
stack invokes them, but with no HTTP front and no polling threads: the bench calls each
function itself, so every figure is one function's invocation and nothing else.

What the warm-path and scale benches share (bench/warm_path.py, bench/scale.py):

- moto (`mock_aws`) provisioned from infra/template.yaml by the local runtime's own
  provisioning; each function a `FunctionRuntime` with the environment its template entry
  gives it, so its services are those `formrelay.composition` builds for that environment
  (its own clients, secret caches and rate-limit caches, warm after the first call);
- a submission goes in as API Gateway HTTP API v2 events built by the local front's code
  (`formrelay.local.apigw`): the authorizer's event, then, with its context, ingest's;
- the Events table's stream is read through the DynamoDB Streams API, each record handed
  to every stream function whose FilterCriteria it passes, one record per invocation;
  the delivery queue's messages go to the connector one per invocation, and are deleted
  after, as the SQS poller does; deliveries go to a real local HTTP receiver
  (`formrelay.local.sink`, answering 200).

The functions log at the template's level; their log lines and metrics go to /dev/null
(the bench redirects stdout while it runs them), so formatting them is in the figures,
as on Lambda, and the terminal stays readable.
"""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.dynamodb.models.table import Table

from formrelay.auth.signing import sign_request
from formrelay.composition import Services
from formrelay.delivery.jobs import DeliveryJob
from formrelay.domain.destinations import Destination
from formrelay.local import dynamodb_atomicity, secretsmanager_atomicity
from formrelay.local.apigw import HttpRequest, authorizer_event, proxy_event, simple_authorization
from formrelay.local.dev import ALLOWED_DESTINATIONS_VARIABLE, host_port
from formrelay.local.emulator import forget_shard_iterator
from formrelay.local.filters import parse_filters, passes
from formrelay.local.functions import (
    FunctionRuntime,
    read_functions,
    register_functions,
    shared_environment,
)
from formrelay.local.lambda_events import sqs_record, stream_record
from formrelay.local.provision import provision
from formrelay.local.routes import read_routes
from formrelay.local.state_machines import provision_state_machines
from formrelay.local.template import DEFAULT_TEMPLATE, load_template
from formrelay.registry.registration import register
from formrelay.settings import Settings
from formrelay.telemetry.tracing import TRACE_DISABLED_VARIABLE

STACK = "bench"
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
STREAMS_ENDPOINT = "https://streams.dynamodb.us-east-1.amazonaws.com"
SUBMIT_ROUTE_PATH = "/v1/forms/{form_id}/submissions"
# The stream functions, in the order a record is handed to them.
STREAM_FUNCTIONS = ("StatusViewFunction", "PublisherFunction", "DispatcherFunction")
BENCH_FORM_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["email", "name"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string", "minLength": 1},
        "message": {"type": "string"},
    },
}


def local_credentials() -> None:
    """Local credentials in the process's environment, and no endpoint or profile."""
    os.environ.update(LOCAL_CREDENTIALS)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "FORMRELAY_STACK"):
        os.environ.pop(name, None)


def payload_of(size: int, n: int) -> bytes:
    """A JSON body of exactly `size` bytes that the bench form accepts."""
    head = {"email": f"u{n}@example.com", "name": f"User {n}", "message": ""}
    empty = len(json.dumps(head, separators=(",", ":")).encode())
    head["message"] = "x" * max(0, size - empty)
    return json.dumps(head, separators=(",", ":")).encode()


@dataclass
class Invocation:
    """One function invocation the bench made: which, on what, how long (seconds)."""

    function: str
    kind: str  # the event type a stream record carried, or "request" / "delivery"
    seconds: float
    peak_bytes: int | None = None  # traced peak of the invocation, in a memory run


@dataclass
class Passage:
    """Everything one submission caused, invocation by invocation."""

    submission_id: str
    invocations: list[Invocation] = field(default_factory=list)

    def of(self, function: str, kind: str | None = None) -> list[float]:
        """The durations of one function's invocations (of one kind, if given)."""
        return [
            i.seconds
            for i in self.invocations
            if i.function == function and (kind is None or i.kind == kind)
        ]


class Pipeline:
    """The template's functions, called by hand on in-process moto (see the module)."""

    def __init__(
        self, sink_url: str, functions: tuple[str, ...] | None = None, *, memory: bool = False
    ) -> None:
        """memory: trace each invocation's peak allocation (tracemalloc must be started);
        a memory run's times are not figures: tracing slows everything several times."""
        self.memory = memory
        template = load_template(DEFAULT_TEMPLATE)
        resources = provision(template, STACK)
        register_functions(template, resources, STACK)
        provision_state_machines(template, resources, STACK, DEFAULT_TEMPLATE.parent)
        specs = read_functions(template, resources, STACK)
        allowed = host_port(sink_url)
        for logical_id, spec in specs.items():
            if ALLOWED_DESTINATIONS_VARIABLE in spec.environment:
                environment = {**spec.environment, ALLOWED_DESTINATIONS_VARIABLE: allowed}
                specs[logical_id] = spec.with_environment(environment)
        os.environ.update(shared_environment(specs.values()))
        os.environ[TRACE_DISABLED_VARIABLE] = "true"  # no X-Ray daemon here, as locally
        self.resources = resources
        self.sink_url = sink_url.rstrip("/")
        self.routes = read_routes(template, resources, specs)
        wanted = functions or (
            "AuthorizerFunction",
            "IngestFunction",
            *STREAM_FUNCTIONS,
            "ConnectorFunction",
        )
        self.runtimes = {name: FunctionRuntime(specs[name], max_containers=1) for name in wanted}
        self.filters = {
            name: parse_filters(_stream_source(specs[name].events).get("FilterCriteria"))
            for name in STREAM_FUNCTIONS
            if name in self.runtimes
        }
        self.stream_arn = resources["EventsTable"]["StreamArn"]
        self.queue_url = resources["DeliveryQueue"]["Ref"]
        self.queue_arn = resources["DeliveryQueue"]["Arn"]
        # The endpoint named: botocore's default one for this service is not routed by
        # moto's in-process mock (404 "Not yet implemented"); its own name for it is.
        self.streams = boto3.client("dynamodbstreams", endpoint_url=STREAMS_ENDPOINT)
        self.sqs = boto3.client("sqs")
        self.dynamodb = boto3.client("dynamodb")
        self.operator = Services(
            Settings(
                events_table=resources["EventsTable"]["Ref"],
                views_table=resources["ViewsTable"]["Ref"],
            ),
            dynamodb=self.dynamodb,
            secretsmanager=boto3.client("secretsmanager"),
        )
        self._iterator = self._latest_iterator()

    def _latest_iterator(self) -> str:
        shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"][
            "Shards"
        ][0]["ShardId"]
        return str(
            self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard, ShardIteratorType="LATEST"
            )["ShardIterator"]
        )

    def skip_stream(self) -> None:
        """Read on from the stream's end: what was written so far is not handed to anyone."""
        forget_shard_iterator(self._iterator)
        self._iterator = self._latest_iterator()

    # --- the tenant ------------------------------------------------------------------

    def form(self, tenant_id: str, form_id: str, destinations: int) -> None:
        """A form of the bench schema with `destinations` destinations, all to the sink."""
        register(self.operator.forms, tenant_id, form_id, BENCH_FORM_SCHEMA)
        for n in range(destinations):
            destination_id = f"d{n + 1}"
            self.operator.destinations.put(
                Destination(
                    tenant_id=tenant_id,
                    form_id=form_id,
                    destination_id=destination_id,
                    url=f"{self.sink_url}/hooks/{form_id}/{destination_id}",
                )
            )
            self.operator.destination_secrets.put(
                tenant_id, form_id, destination_id, auth_credentials=None
            )

    # --- one submission through the pipeline ----------------------------------------------

    def submit(
        self, tenant_id: str, key_id: str, secret: str, form_id: str, body: bytes
    ) -> Passage:
        """One signed POST through the authorizer and ingest, then everything it causes."""
        request, route, params = self._request(key_id, secret, form_id, body)
        passage = Passage("")
        allowed, context = simple_authorization(
            self._timed(
                passage,
                "AuthorizerFunction",
                "request",
                lambda: self.runtimes["AuthorizerFunction"].invoke(
                    authorizer_event(request, route, params)
                ),
            )
        )
        if not allowed or context.get("tenant_id") != tenant_id:
            raise RuntimeError(f"the authorizer refused the bench's request: {context}")
        event = proxy_event(request, route, params, context)
        answer = self._timed(
            passage,
            "IngestFunction",
            "request",
            lambda: self.runtimes["IngestFunction"].invoke(event),
        )
        if answer.get("statusCode") != 202:
            raise RuntimeError(f"ingest answered {answer.get('statusCode')}: {answer.get('body')}")
        passage.submission_id = json.loads(answer["body"])["submission_id"]
        self.drain(passage)
        return passage

    def _request(
        self, key_id: str, secret: str, form_id: str, body: bytes
    ) -> tuple[HttpRequest, Any, dict[str, str]]:
        """The signed request as the local front reads it off the socket, and its route."""
        path = SUBMIT_ROUTE_PATH.replace("{form_id}", form_id)
        signed = sign_request(
            key_id=key_id,
            secret=secret,
            method="POST",
            path=path,
            body=body,
            content_type="application/json",
        )
        headers = [("Content-Type", "application/json"), *signed.items()]
        headers.append(("Content-Length", str(len(body))))
        request = HttpRequest("POST", path, "", headers, body)
        found = self.routes.match("POST", path)
        if found is None:
            raise RuntimeError(f"no route for POST {path}")
        route, params = found
        return request, route, params

    def drain(self, passage: Passage) -> None:
        """Hand every new stream record and queued delivery job on until none is left."""
        while True:
            records = self._read_stream()
            for record in records:
                self._project(passage, record)
            jobs = self._receive_jobs()
            for message in jobs:
                self._deliver(passage, message)
            if not records and not jobs:
                return

    def _read_stream(self) -> list[dict[str, Any]]:
        answer = self.streams.get_records(ShardIterator=self._iterator, Limit=1000)
        forget_shard_iterator(self._iterator)
        self._iterator = answer["NextShardIterator"]
        return [stream_record(r, self.stream_arn) for r in answer.get("Records", [])]

    def _project(self, passage: Passage, record: dict[str, Any]) -> None:
        kind = record["dynamodb"].get("NewImage", {}).get("type", {}).get("S", "?")
        for name, patterns in self.filters.items():
            if not passes(patterns, record):
                continue
            result = self._timed(
                passage, name, kind, lambda n=name: self.runtimes[n].invoke({"Records": [record]})
            )
            if isinstance(result, dict) and result.get("batchItemFailures"):
                raise RuntimeError(f"{name} failed on a {kind} record: {result}")

    def _receive_jobs(self) -> list[dict[str, Any]]:
        if "ConnectorFunction" not in self.runtimes:
            return []
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        )
        return list(answer.get("Messages", []))

    def _deliver(self, passage: Passage, message: dict[str, Any]) -> None:
        event = {"Records": [sqs_record(message, self.queue_arn)]}
        result = self._timed(
            passage,
            "ConnectorFunction",
            "delivery",
            lambda: self.runtimes["ConnectorFunction"].invoke(event),
        )
        if result.get("batchItemFailures"):
            job = DeliveryJob.from_json(message["Body"])
            raise RuntimeError(f"the connector failed on {job.destination_id}: {result}")
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _timed(self, passage: Passage, function: str, kind: str, call: Callable[[], Any]) -> Any:
        if self.memory:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - base if self.memory else None
        passage.invocations.append(Invocation(function, kind, seconds, peak))
        return result


def _stream_source(events: list[Any]) -> dict[str, Any]:
    """The properties of a function's DynamoDB event source."""
    for event in events:
        if event.type == "DynamoDB":
            return dict(event.properties)
    raise ValueError("the function has no DynamoDB event source")


@contextmanager
def quiet_functions() -> Iterator[None]:
    """The functions' log lines and metrics (stdout) into /dev/null while the block runs."""
    with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
        yield


def install_atomicity() -> None:
    """moto's DynamoDB and Secrets Manager writes made atomic, as `formrelay dev` makes them;
    and its Query of a table's own key reading one partition (`query_by_partition`)."""
    dynamodb_atomicity.install()
    secretsmanager_atomicity.install()
    query_by_partition()


def query_by_partition() -> None:
    """moto's Query on a table's own key reads one partition, as DynamoDB's does.

    moto 5.2 answers such a Query by sorting every item of the table and keeping those of
    the partition (moto.dynamodb.models.table.Table.query over all_items()), so each one
    costs time in proportion to the whole table: a bench's later submissions would be
    slower only because earlier ones are stored (at 20,000 stored, seconds per Query).
    Here the same code runs over the partition's items alone: the same items in the same
    order, the same Count and ScannedCount, in the partition's time. Index queries are
    left as moto has them (they read every item; the scale bench keeps those few).
    """
    if getattr(Table.query, "by_partition", False):
        return
    original = Table.query

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key)  # .get: the defaultdict grows no empty key
        if partition is None:
            items = []
        elif self.range_key_attr:
            items = sorted(partition.values(), key=lambda item: item.range_key)
        else:
            items = [partition]
        self.all_items = lambda: items  # type: ignore[method-assign]
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    query.by_partition = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
