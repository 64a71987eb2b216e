"""What a submission costs on AWS: every AWS call the functions make, counted on the local
stack, priced at us-east-1 list prices (bench/prices.json).

The local stack (`formrelay dev`: moto, the HTTP front, the pollers, the functions
in-process) runs in this process. For each case (1, 3 and 10 destinations with a 1 KB
payload; 10 KB and 100 KB payloads with one destination) a fresh tenant takes one
submission to warm its containers and caches, then N more (--submissions; a third as
many at 10 destinations, each making ten deliveries) are measured, one after another,
every destination answering 200; the window closes once every delivery arrived and no
function ran for a while.

How each figure is had:
- AWS calls: a botocore hook on boto3's default session (which every function's client
  and every poller's comes from) counts each call by service and operation, and by who
  made it: the function whose container is serving (formrelay.composition.services()),
  or the poller whose thread it is. The bench seeds its tenants outside the measured
  window, and reads the emulator (item images, table descriptions, execution histories)
  through a boto3 session of its own: neither is counted. A call in the window from no
  function and no poller is shown as unattributed.
- Pollers: Lambda reads DynamoDB streams for free; an SQS event source mapping's
  ReceiveMessage and DeleteMessageBatch are billed as SQS requests. Receives that brought
  messages, and the deletes, are priced per submission; empty long polls are the
  mapping's idle cost (AWS's pollers long-poll around the clock whatever the traffic):
  counted and shown, not priced per submission.
- DynamoDB units: moto answers ConsumedCapacity with constants, so units are computed
  from the items each call really wrote or read (bench/capacity_units.py: the item
  before and after each write and the items each read evaluated, fetched from the
  emulator beside the call, uncounted).
- Lambda: invocations per function and each run's wall time (FunctionRuntime.listen),
  billed per 1 ms at the function's MemorySize in infra/template.yaml, arm64. In-process
  durations on moto are not AWS's: the emulator's latency is not DynamoDB's, this
  machine's shared cores are not a Graviton's, and there is no cold start in the
  measured window (containers are warm; Lambda's init phase is not included).
- API Gateway: one HTTP API request per submission (per 512 KB of it). The authorizer's
  invocations are Lambda's.
- EventBridge: PutEvents entries in 64 KB chunks. SQS: each request's payload in 64 KB
  chunks. Step Functions: state transitions of any execution a function started (read
  from its history). Secrets Manager: each call. S3: PUT/LIST and GET requests.
- Scheduled functions (anchor, reconciler, every 5 minutes per the template): run by
  the bench after each case. The anchor run's S3 requests (each tenant's anchor object:
  list, read the previous, write the new) are a cost per tenant and run, as is all of a
  reconciler run: spread over an assumed 1,000,000 submissions a month per tenant (8,640
  runs a month). The rest of the anchor run that takes in the case's streams (DynamoDB,
  Lambda) is divided by the case's submissions: an upper bound, as it holds the run's
  ledger append that a real 5-minute run shares among more streams, and its 60 s
  overlap re-reads the previous case's events too.
- Not priced: CloudWatch Logs and metrics (EMF lines are log ingestion), X-Ray traces
  (the template turns tracing on; sampled), data transfer, storage (DynamoDB, S3,
  streams), KMS.

Prints per case the calls per submission by service and operation, units per
submission, and dollars per million submissions by line item, then the issue's targets
with PASS/FAIL (a measurement: the exit status does not depend on them). Writes
bench/results/cost.json. Run:
    .venv/bin/python bench/cost.py [--submissions 20]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.table import Table as RichTable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # bench.capacity_units

from bench.capacity_units import (  # noqa: E402
    Item,
    Table,
    item_size,
    item_write_units,
    items_read_units,
    query_read_units,
)
from formrelay import composition  # noqa: E402
from formrelay.bootstrap import seed_tenant  # noqa: E402
from formrelay.client import Credentials, FormrelayClient  # noqa: E402
from formrelay.composition import Services  # noqa: E402
from formrelay.domain.destinations import Destination  # noqa: E402
from formrelay.local.dev import LocalStack, host_port  # noqa: E402
from formrelay.local.functions import FunctionSpec  # noqa: E402
from formrelay.local.pollers import scheduled_event  # noqa: E402
from formrelay.local.sink import Sink  # noqa: E402

RESULTS = Path(__file__).parent / "results"
PRICES = Path(__file__).parent / "prices.json"
CHUNK = 64 * 1024  # SQS and EventBridge bill per 64 KB of payload
API_CHUNK = 512 * 1024  # HTTP API requests are metered per 512 KB
QUIET_SECONDS = 1.0  # no function ran for this long: the pipeline is done
ANCHOR_AGE_SECONDS = 5.5  # the anchor run takes in events 5 s old or older
RUNS_PER_MONTH = 30 * 24 * 12  # rate(5 minutes)
ASSUMED_MONTHLY_SUBMISSIONS_PER_TENANT = 1_000_000
SCHEDULED = ("AnchorFunction", "ReconcilerFunction")

FORM_SCHEMA = {
    "type": "object",
    "required": ["email", "message"],
    "properties": {"email": {"type": "string"}, "message": {"type": "string"}},
}

TARGETS = {"usd_per_million": 7.0, "wru": 6, "rru": 5, "wru_per_destination": 2}


@dataclass(frozen=True)
class Case:
    """One measured case: destinations per form and the payload's size in bytes."""

    name: str
    destinations: int
    payload_bytes: int


CASES = (
    Case("1 destination, 1 KB", 1, 1024),
    Case("3 destinations, 1 KB", 3, 1024),
    Case("10 destinations, 1 KB", 10, 1024),
    Case("1 destination, 10 KB", 1, 10 * 1024),
    Case("1 destination, 100 KB", 1, 100 * 1024),
)


def submissions_for(case: Case, submissions: int) -> int:
    """Submissions measured for a case: `submissions`, a third as many at 10 destinations
    (each makes ten deliveries, one after another on the one connector poller here)."""
    return max(5, submissions // max(1, case.destinations // 3))


def payload(number: int, size: int) -> bytes:
    """A submission body of exactly `size` bytes of JSON."""
    head = {"email": f"u{number}@example.com", "message": ""}
    filler = size - len(json.dumps(head, separators=(",", ":")).encode())
    head["message"] = "x" * max(0, filler)
    return json.dumps(head, separators=(",", ":")).encode()


@dataclass
class Usage:
    """What one stretch of running consumed, by who consumed it."""

    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # who, service, op
    wru: Counter[tuple[str, str]] = field(default_factory=Counter)  # by table, operation
    rru: Counter[tuple[str, str]] = field(default_factory=Counter)
    sqs_requests: float = 0.0  # billed (64 KB chunks), functions and non-empty polls
    sqs_idle_receives: int = 0
    eventbridge_events: int = 0
    secretsmanager_calls: int = 0
    s3_put_requests: int = 0
    s3_get_requests: int = 0
    executions: list[str] = field(default_factory=list)
    invocations: Counter[str] = field(default_factory=Counter)
    durations_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # Calls in the window from no function's container and no poller's thread (a thread a
    # function started, say): shown, so a count the hook missed does not pass unseen.
    unattributed: Counter[tuple[str, str]] = field(default_factory=Counter)


def _json_size(value: Any) -> int:
    return len(json.dumps(value, default=str).encode())


class Meter:
    """Counts AWS calls on boto3's default session and the functions' runs, while on."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.usage = Usage()
        self._on = False
        self._only: str | None = None
        self._lock = threading.Lock()
        self._owners: dict[int, str] = {}
        session = boto3.session.Session()
        self._shadow = session.client("dynamodb", endpoint_url=stack.aws_endpoint)
        self._sfn = session.client("stepfunctions", endpoint_url=stack.aws_endpoint)
        self._tables: dict[str, Table] = {}

    # -- switching on and off -------------------------------------------------------------
    @contextmanager
    def measuring(self, only: str | None = None) -> Iterator[Usage]:
        """Count into a fresh Usage within the block (only: what that function does)."""
        with self._lock:
            self.usage, self._on, self._only = Usage(), True, only
        try:
            yield self.usage
        finally:
            with self._lock:
                self._on = False

    def listen(self) -> None:
        """Time every run of every function (call after the stack started)."""
        for logical_id in self.stack.functions:
            self.stack.runtime(logical_id).listen(self._ran)

    def _ran(self, spec: FunctionSpec, seconds: float) -> None:
        if self._on and self._only in (None, spec.logical_id):
            with self._lock:
                self.usage.invocations[spec.logical_id] += 1
                self.usage.durations_ms[spec.logical_id].append(seconds * 1000)

    # -- who is calling ----------------------------------------------------------------
    def _caller(self) -> str | None:
        """The function whose container is serving, the poller whose thread this is, or None."""
        services = composition.services()
        owner = self._owners.get(id(services))
        if owner is None:
            for logical_id in self.stack.functions:
                for container in self.stack.runtime(logical_id).containers():
                    self._owners[id(container.services)] = logical_id
            owner = self._owners.get(id(services))
        if owner is not None:
            return owner
        thread = threading.current_thread().name
        return thread if thread.startswith("poller-") else None

    # -- the hooks -----------------------------------------------------------------------
    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if not self._on:
            return
        who = self._caller()
        if who is None and self._only is None:
            with self._lock:
                self.usage.unattributed[(model.service_model.service_name, model.name)] += 1
        if who is None or self._only not in (None, who):
            return
        service = model.service_model.service_name
        note: dict[str, Any] = {"who": who, "params": params}
        if service == "dynamodb":
            try:
                note["before"] = self._images_before(model.name, params)
            except Exception:  # a bench hook must never break the function it watches
                logging.getLogger(__name__).exception("cost meter: %s", model.name)
        context["costbench"] = note

    def _after(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        note = context.get("costbench")
        if note is None or not self._on:
            return
        service, operation = model.service_model.service_name, model.name
        failed = http_response.status_code >= 300
        try:
            self._count(note["who"], service, operation, note, parsed, failed)
        except Exception:  # a bench hook must never break the function it watches
            logging.getLogger(__name__).exception("cost meter: %s %s", service, operation)

    def _count(
        self,
        who: str,
        service: str,
        operation: str,
        note: dict[str, Any],
        parsed: dict[str, Any],
        failed: bool,
    ) -> None:
        params = note["params"]
        usage = self.usage
        with self._lock:
            usage.calls[(who, service, operation)] += 1
        if service == "dynamodb":
            self._dynamodb(operation, params, parsed, failed, note.get("before", {}))
        elif service == "sqs":
            self._sqs(who, operation, params, parsed)
        elif service == "eventbridge" or service == "events":
            entries = params.get("Entries", [])
            with self._lock:
                usage.eventbridge_events += sum(
                    max(1, math.ceil(_json_size(entry) / CHUNK)) for entry in entries
                )
        elif service == "secretsmanager":
            with self._lock:
                usage.secretsmanager_calls += 1
        elif service == "s3":
            put_class = operation.startswith(("Put", "Copy", "Post", "List", "Create", "Complete"))
            with self._lock:
                if put_class:
                    usage.s3_put_requests += 1
                else:
                    usage.s3_get_requests += 1
        elif service in ("stepfunctions", "sfn") and operation == "StartExecution" and not failed:
            with self._lock:
                usage.executions.append(parsed["executionArn"])

    def _sqs(
        self, who: str, operation: str, params: dict[str, Any], parsed: dict[str, Any]
    ) -> None:
        usage = self.usage
        if operation == "ReceiveMessage":
            messages = parsed.get("Messages", [])
            with self._lock:
                if not messages:
                    usage.sqs_idle_receives += 1
                else:
                    usage.sqs_requests += max(1, math.ceil(_json_size(messages) / CHUNK))
            return
        if operation == "SendMessageBatch":
            size = sum(_json_size(entry) for entry in params.get("Entries", []))
        elif operation == "SendMessage":
            size = _json_size(params)
        else:
            size = 0
        with self._lock:
            usage.sqs_requests += max(1, math.ceil(size / CHUNK))

    # -- DynamoDB ------------------------------------------------------------------------
    def _table(self, name: str) -> Table:
        if name not in self._tables:
            described = self._shadow.describe_table(TableName=name)["Table"]
            self._tables[name] = Table.from_description(described)
        return self._tables[name]

    def _fetch(self, table_name: str, key: Item) -> Item | None:
        """The item as it is now, uncounted."""
        answer = self._shadow.get_item(TableName=table_name, Key=dict(key), ConsistentRead=True)
        item: Item | None = answer.get("Item")
        return item

    def _key(self, table_name: str, item: Item) -> dict[str, Any]:
        return {name: item[name] for name in self._table(table_name).keys}

    def _writes(self, operation: str, params: dict[str, Any]) -> list[tuple[str, str, Item]]:
        """(kind, table, key) of every item a write operation touches."""
        if operation == "PutItem":
            table = params["TableName"]
            return [("put", table, self._key(table, params["Item"]))]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(operation, params["TableName"], params["Key"])]
        if operation == "BatchWriteItem":
            found = []
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        found.append(
                            ("put", table, self._key(table, request["PutRequest"]["Item"]))
                        )
                    else:
                        found.append(("DeleteItem", table, request["DeleteRequest"]["Key"]))
            return found
        if operation == "TransactWriteItems":
            found = []
            for action in params["TransactItems"]:
                ((kind, body),) = action.items()
                key = body["Key"] if "Key" in body else self._key(body["TableName"], body["Item"])
                found.append((kind, body["TableName"], key))
            return found
        return []

    def _images_before(self, operation: str, params: dict[str, Any]) -> dict[int, Item | None]:
        return {
            index: self._fetch(table, key)
            for index, (_, table, key) in enumerate(self._writes(operation, params))
        }

    def _dynamodb(
        self,
        operation: str,
        params: dict[str, Any],
        parsed: dict[str, Any],
        failed: bool,
        before: dict[int, Item | None],
    ) -> None:
        code = parsed.get("Error", {}).get("Code", "") if failed else ""
        condition_failed = code in (
            "ConditionalCheckFailedException",
            "TransactionCanceledException",
        )
        if failed and not condition_failed:
            return  # throttled or invalid: not billed
        transactional = operation.startswith("Transact")
        for index, (kind, table_name, key) in enumerate(self._writes(operation, params)):
            table = self._table(table_name)
            after = None if kind in ("DeleteItem", "Delete") else self._fetch(table_name, key)
            old = before.get(index)
            if kind == "ConditionCheck":
                units = item_write_units(table, old, old, condition_failed=True, transactional=True)
            else:
                units = item_write_units(
                    table,
                    old,
                    after,
                    condition_failed=condition_failed,
                    transactional=transactional,
                )
            with self._lock:
                self.usage.wru[(table_name, operation)] += units
        reads = self._read_units(operation, params, parsed)
        for table_name, units in reads.items():
            with self._lock:
                self.usage.rru[(table_name, operation)] += units

    def _read_units(
        self, operation: str, params: dict[str, Any], parsed: dict[str, Any]
    ) -> dict[str, float]:
        if operation == "GetItem":
            table = params["TableName"]
            item = parsed.get("Item")
            if item is not None and "ProjectionExpression" in params:
                item = self._fetch(table, params["Key"])
            size = item_size(item) if item else 0
            return {table: items_read_units([size], consistent=bool(params.get("ConsistentRead")))}
        if operation in ("Query", "Scan"):
            table = params["TableName"]
            return {
                table: query_read_units(
                    self._evaluated(operation, params, parsed), consistent=self._consistent(params)
                )
            }
        if operation == "BatchGetItem":
            units: dict[str, float] = {}
            for table, request in params["RequestItems"].items():
                sizes = []
                for key in request["Keys"]:
                    item = self._fetch(table, key)
                    sizes.append(item_size(item) if item else 0)
                consistent = bool(request.get("ConsistentRead"))
                units[table] = items_read_units(sizes, consistent=consistent)
            return units
        if operation == "TransactGetItems":
            units = defaultdict(float)
            for action in params["TransactItems"]:
                body = action["Get"]
                item = self._fetch(body["TableName"], body["Key"])
                size = item_size(item) if item else 0
                units[body["TableName"]] += items_read_units(
                    [size], consistent=True, transactional=True
                )
            return dict(units)
        return {}

    @staticmethod
    def _consistent(params: Mapping[str, Any]) -> bool:
        return bool(params.get("ConsistentRead")) and "IndexName" not in params

    def _evaluated(
        self, operation: str, params: dict[str, Any], parsed: dict[str, Any]
    ) -> list[int]:
        """Sizes of the items a Query or Scan evaluated (whole items, or index entries)."""
        items = parsed.get("Items", [])
        reduced = any(
            name in params for name in ("ProjectionExpression", "FilterExpression", "Select")
        )
        if reduced:
            items = self._rerun(operation, params)
        table = self._table(params["TableName"])
        if "IndexName" in params:
            index = table.index(params["IndexName"])
            entries = [table.entry(index, item) for item in items]
            return [item_size(entry) for entry in entries if entry is not None]
        return [item_size(item) for item in items]

    def _rerun(self, operation: str, params: dict[str, Any]) -> list[Item]:
        """The same Query or Scan without projection or filter: the items it evaluated."""
        kept = {
            name: value
            for name, value in params.items()
            if name
            in (
                "TableName",
                "IndexName",
                "KeyConditionExpression",
                "ExclusiveStartKey",
                "Limit",
                "ScanIndexForward",
                "ConsistentRead",
            )
        }
        condition = kept.get("KeyConditionExpression", "")
        names = {
            k: v for k, v in params.get("ExpressionAttributeNames", {}).items() if k in condition
        }
        values = {
            k: v for k, v in params.get("ExpressionAttributeValues", {}).items() if k in condition
        }
        if names:
            kept["ExpressionAttributeNames"] = names
        if values:
            kept["ExpressionAttributeValues"] = values
        call = self._shadow.query if operation == "Query" else self._shadow.scan
        items: list[Item] = call(**kept).get("Items", [])
        return items

    def transitions(self, executions: list[str]) -> int:
        """State transitions of these executions, from their histories."""
        total = 0
        for arn in executions:
            history = self._sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            total += sum(1 for event in history if event["type"].endswith("StateEntered"))
        return total


# -- the run -------------------------------------------------------------------------------


class Bench:
    """The local stack, its sink and the meter, for every case in turn."""

    def __init__(self, stack: LocalStack, sink: Sink, meter: Meter) -> None:
        self.stack, self.sink, self.meter = stack, sink, meter
        self.operator: Services = stack.operator_services()
        self.tenants: list[str] = []

    def _seed(self, number: int, case: Case) -> tuple[str, FormrelayClient]:
        tenant = f"cost{number}"
        seeded = seed_tenant(
            self.operator,
            tenant_id=tenant,
            form_id="survey",
            schema=FORM_SCHEMA,
            destination_url=f"{self.sink.url}/{tenant}/d0",
            destination_id="d0",
        )
        for extra in range(1, case.destinations):
            destination_id = f"d{extra}"
            self.operator.destinations.put(
                Destination(
                    tenant, "survey", destination_id, f"{self.sink.url}/{tenant}/{destination_id}"
                )
            )
            self.operator.destination_secrets.put(
                tenant, "survey", destination_id, auth_credentials=None
            )
        self.operator.tenants.set_limits(tenant, 10_000, 10_000)
        self.tenants.append(tenant)
        client = FormrelayClient(Credentials(self.stack.endpoint, seeded.key_id, seeded.secret))
        return tenant, client

    def _delivered(self, tenant: str) -> int:
        return sum(1 for r in self.sink.received() if r["path"].startswith(f"/{tenant}/"))

    def _settle(self, tenant: str, expected: int, timeout: float = 120) -> float:
        """Wait for every delivery, then for the pipeline to go quiet; when it last ran."""
        deadline = time.monotonic() + timeout
        while self._delivered(tenant) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{tenant}: {self._delivered(tenant)} of {expected} delivered")
            time.sleep(0.05)
        last, seen = time.monotonic(), -1
        while time.monotonic() - last < QUIET_SECONDS:
            ran = sum(self.meter.usage.invocations.values()) + self._delivered(tenant)
            if ran != seen:
                seen, last = ran, time.monotonic()
            time.sleep(0.1)
        return last

    def _scheduled(self, logical_id: str) -> Usage:
        runtime = self.stack.runtime(logical_id)
        with self.meter.measuring(only=logical_id) as usage:
            runtime.invoke(scheduled_event(runtime.spec.name))
        return usage

    def run_case(self, number: int, case: Case, submissions: int) -> dict[str, Any]:
        tenant, client = self._seed(number, case)
        # The warm-up: containers started, secrets and forms cached, as on a warm path.
        with self.meter.measuring():
            answer = client.submit("survey", payload(0, case.payload_bytes))
            assert answer.status_code == 202, answer.text
            self._settle(tenant, case.destinations)
        bodies = [payload(n, case.payload_bytes) for n in range(1, submissions + 1)]
        with self.meter.measuring() as usage:
            started = time.perf_counter()
            for body in bodies:
                answer = client.submit("survey", body)
                assert answer.status_code == 202, answer.text
            last = self._settle(tenant, case.destinations * (submissions + 1))
            seconds = time.perf_counter() - started
        time.sleep(max(0.0, ANCHOR_AGE_SECONDS - (time.monotonic() - last)))
        anchored = self._scheduled("AnchorFunction")
        idle_reconcile = self._scheduled("ReconcilerFunction")
        return {
            "case": case,
            "submissions": submissions,
            "seconds": seconds,
            "usage": usage,
            "transitions": self.meter.transitions(usage.executions),
            "anchor": anchored,
            "idle_reconcile": idle_reconcile,
            "tenants": len(self.tenants),
            "api_requests": sum(max(1, math.ceil(len(b) / API_CHUNK)) for b in bodies),
        }


# -- pricing -------------------------------------------------------------------------------


def load_prices(path: Path = PRICES) -> dict[str, float]:
    """Dollars per one unit of each priced thing."""
    document = json.loads(path.read_text())
    return {name: entry["usd"] / entry["per"] for name, entry in document["prices"].items()}


def lambda_cost(
    usage: Usage, memory_mb: Mapping[str, int], prices: Mapping[str, float]
) -> tuple[float, float]:
    """(requests, duration) dollars: each run billed per 1 ms at its function's memory."""
    requests = sum(usage.invocations.values()) * prices["lambda_request"]
    gb_seconds = sum(
        math.ceil(ms) / 1000 * memory_mb[function] / 1024
        for function, runs in usage.durations_ms.items()
        for ms in runs
    )
    return requests, gb_seconds * prices["lambda_arm64_gb_second"]


def line_items(
    usage: Usage,
    memory_mb: Mapping[str, int],
    prices: Mapping[str, float],
    *,
    api_requests: int = 0,
    transitions: int = 0,
) -> dict[str, float]:
    """Dollars by line item for everything in usage."""
    requests, duration = lambda_cost(usage, memory_mb, prices)
    return {
        "API Gateway HTTP API requests": api_requests * prices["apigateway_http_request"],
        "Lambda requests": requests,
        "Lambda duration (arm64 GB-s)": duration,
        "DynamoDB write request units": sum(usage.wru.values())
        * prices["dynamodb_write_request_unit"],
        "DynamoDB read request units": sum(usage.rru.values())
        * prices["dynamodb_read_request_unit"],
        "SQS requests": usage.sqs_requests * prices["sqs_request"],
        "EventBridge events": usage.eventbridge_events * prices["eventbridge_event"],
        "Step Functions transitions": transitions * prices["stepfunctions_standard_transition"],
        "Secrets Manager calls": usage.secretsmanager_calls * prices["secretsmanager_api_call"],
        "S3 requests": usage.s3_put_requests * prices["s3_put_request"]
        + usage.s3_get_requests * prices["s3_get_request"],
    }


def per_million(dollars: Mapping[str, float], submissions: float) -> dict[str, float]:
    return {name: value / submissions * 1_000_000 for name, value in dollars.items()}


def summarise(
    result: dict[str, Any], memory_mb: Mapping[str, int], prices: Mapping[str, float]
) -> dict[str, Any]:
    """The case's figures per submission and its dollars per million."""
    n = result["submissions"]
    usage: Usage = result["usage"]
    pipeline = per_million(
        line_items(
            usage,
            memory_mb,
            prices,
            api_requests=result["api_requests"],
            transitions=result["transitions"],
        ),
        n,
    )
    anchor_run = line_items(result["anchor"], memory_mb, prices)
    reconcile_run = line_items(result["idle_reconcile"], memory_mb, prices)
    tenants = result["tenants"]
    fixed_share = RUNS_PER_MONTH / ASSUMED_MONTHLY_SUBMISSIONS_PER_TENANT / tenants
    scheduled = {
        name: (0 if name == "S3 requests" else anchor_run[name] / n * 1_000_000)
        + ((anchor_run[name] if name == "S3 requests" else 0) + reconcile_run[name])
        * fixed_share
        * 1_000_000
        for name in anchor_run
    }
    calls = Counter[tuple[str, str]]()
    pollers = Counter[tuple[str, str]]()
    for (who, service, operation), count in usage.calls.items():
        (pollers if who.startswith("poller-") else calls)[(service, operation)] += count
    durations = {
        function: {
            "invocations_per_submission": usage.invocations[function] / n,
            "median_ms": sorted(runs)[len(runs) // 2],
            "memory_mb": memory_mb[function],
        }
        for function, runs in usage.durations_ms.items()
    }
    total = sum(pipeline.values()) + sum(scheduled.values())
    return {
        "case": result["case"].name,
        "destinations": result["case"].destinations,
        "payload_bytes": result["case"].payload_bytes,
        "submissions": n,
        "seconds": round(result["seconds"], 2),
        "calls_per_submission": {f"{s} {o}": c / n for (s, o), c in sorted(calls.items())},
        "poller_calls_per_submission": {f"{s} {o}": c / n for (s, o), c in sorted(pollers.items())},
        "unattributed_calls": {f"{s} {o}": c for (s, o), c in sorted(usage.unattributed.items())},
        "sqs_idle_receives_per_second": usage.sqs_idle_receives / max(result["seconds"], 1e-9),
        "wru_per_submission": sum(usage.wru.values()) / n,
        "rru_per_submission": sum(usage.rru.values()) / n,
        "wru_by_table": _by_table(usage.wru, n),
        "rru_by_table": _by_table(usage.rru, n),
        "wru_by_table_operation": {f"{t} {o}": u / n for (t, o), u in sorted(usage.wru.items())},
        "rru_by_table_operation": {f"{t} {o}": u / n for (t, o), u in sorted(usage.rru.items())},
        "secretsmanager_calls_per_submission": usage.secretsmanager_calls / n,
        "secretsmanager_callers": {
            f"{who} {operation}": count
            for (who, service, operation), count in sorted(usage.calls.items())
            if service == "secretsmanager"
        },
        "stepfunctions_transitions_per_submission": result["transitions"] / n,
        "lambda": durations,
        "usd_per_million": {name: round(value, 4) for name, value in pipeline.items()},
        "usd_per_million_scheduled": {name: round(value, 4) for name, value in scheduled.items()},
        "usd_per_million_total": round(total, 4),
        "reconciler_run": {
            "calls": {
                f"{s} {o}": c for (_, s, o), c in sorted(result["idle_reconcile"].calls.items())
            },
            "wru": sum(result["idle_reconcile"].wru.values()),
            "rru": sum(result["idle_reconcile"].rru.values()),
            "tenants": result["tenants"],
        },
        "anchor_run": {
            "calls": {f"{s} {o}": c for (_, s, o), c in sorted(result["anchor"].calls.items())},
            "wru": sum(result["anchor"].wru.values()),
            "rru": sum(result["anchor"].rru.values()),
        },
    }


def _by_table(units: Mapping[tuple[str, str], float], n: int) -> dict[str, float]:
    tables: dict[str, float] = defaultdict(float)
    for (table, _), value in units.items():
        tables[table] += value / n
    return dict(tables)


def targets(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets beside the measured figures."""
    by = {s["case"]: s for s in summaries}
    one, three, ten = by[CASES[0].name], by[CASES[1].name], by[CASES[2].name]

    def further(key: str) -> float:
        return max((three[key] - one[key]) / 2, (ten[key] - one[key]) / 9)

    found = [
        (
            "dollars per million (1 destination, 1 KB)",
            one["usd_per_million_total"],
            "< 7",
            one["usd_per_million_total"] < 7,
        ),
        (
            "WRU per submission (1 destination, 1 KB)",
            one["wru_per_submission"],
            "<= 6",
            one["wru_per_submission"] <= 6,
        ),
        (
            "RRU per submission (1 destination, 1 KB)",
            one["rru_per_submission"],
            "<= 5",
            one["rru_per_submission"] <= 5,
        ),
        (
            "WRU per further destination",
            further("wru_per_submission"),
            "<= 2",
            further("wru_per_submission") <= 2,
        ),
        (
            "RRU per further destination",
            further("rru_per_submission"),
            "<= 2",
            further("rru_per_submission") <= 2,
        ),
        (
            "Secrets Manager calls per submission, warm (all cases)",
            max(s["secretsmanager_calls_per_submission"] for s in summaries),
            "0",
            all(s["secretsmanager_calls_per_submission"] == 0 for s in summaries),
        ),
        (
            "Step Functions transitions per submission, happy path (all cases)",
            max(s["stepfunctions_transitions_per_submission"] for s in summaries),
            "0",
            all(s["stepfunctions_transitions_per_submission"] == 0 for s in summaries),
        ),
    ]
    return [
        {"target": name, "measured": round(value, 3), "wanted": wanted, "pass": ok}
        for name, value, wanted, ok in found
    ]


# -- printing ------------------------------------------------------------------------------


def show(console: Console, summary: dict[str, Any]) -> None:
    calls = RichTable(
        title=f"{summary['case']}: AWS calls per submission ({summary['submissions']} submissions)"
    )
    calls.add_column("service operation")
    calls.add_column("by functions", justify="right")
    calls.add_column("by pollers", justify="right")
    names = sorted({*summary["calls_per_submission"], *summary["poller_calls_per_submission"]})
    for name in names:
        calls.add_row(
            name,
            f"{summary['calls_per_submission'].get(name, 0):.2f}",
            f"{summary['poller_calls_per_submission'].get(name, 0):.2f}",
        )
    console.print(calls)
    units = RichTable(title=f"{summary['case']}: DynamoDB units per submission (from item sizes)")
    units.add_column("table")
    units.add_column("WRU", justify="right")
    units.add_column("RRU", justify="right")
    for table in sorted({*summary["wru_by_table"], *summary["rru_by_table"]}):
        units.add_row(
            table,
            f"{summary['wru_by_table'].get(table, 0):.2f}",
            f"{summary['rru_by_table'].get(table, 0):.2f}",
        )
    units.add_row(
        "total", f"{summary['wru_per_submission']:.2f}", f"{summary['rru_per_submission']:.2f}"
    )
    console.print(units)
    functions = RichTable(
        title=f"{summary['case']}: Lambda (in-process on moto: not AWS's durations)"
    )
    for column in ("function", "invocations / submission", "median ms", "MemorySize MB"):
        functions.add_column(column, justify="left" if column == "function" else "right")
    for function, figures in sorted(summary["lambda"].items()):
        functions.add_row(
            function,
            f"{figures['invocations_per_submission']:.2f}",
            f"{figures['median_ms']:.1f}",
            str(figures["memory_mb"]),
        )
    console.print(functions)
    dollars = RichTable(
        title=f"{summary['case']}: dollars per million submissions (us-east-1 list prices)"
    )
    dollars.add_column("line item")
    dollars.add_column("pipeline", justify="right")
    dollars.add_column("scheduled runs", justify="right")
    dollars.add_column("total", justify="right")
    pipeline, scheduled = summary["usd_per_million"], summary["usd_per_million_scheduled"]
    for name, value in pipeline.items():
        both = value + scheduled[name]
        dollars.add_row(name, f"{value:.3f}", f"{scheduled[name]:.3f}", f"{both:.3f}")
    dollars.add_row(
        "total",
        f"{sum(pipeline.values()):.3f}",
        f"{sum(scheduled.values()):.3f}",
        f"{summary['usd_per_million_total']:.3f}",
    )
    console.print(dollars)


def show_targets(console: Console, found: list[dict[str, Any]]) -> None:
    table = RichTable(title="Issue 13 targets (happy path)")
    for column in ("target", "measured", "wanted", ""):
        table.add_column(column)
    for row in found:
        verdict = "[green]PASS[/green]" if row["pass"] else "[red]FAIL[/red]"
        table.add_row(row["target"], f"{row['measured']}", row["wanted"], verdict)
    console.print(table)


def show_secret_calls(console: Console, summaries: list[dict[str, Any]]) -> None:
    """Who called Secrets Manager in a measured window, if anyone did; any call not counted."""
    for summary in summaries:
        if summary["unattributed_calls"]:
            console.print(
                f"[yellow]'{summary['case']}': calls from no function or poller, not counted: "
                f"{summary['unattributed_calls']}[/yellow]"
            )
        if summary["secretsmanager_callers"]:
            console.print(
                f"Secrets Manager in '{summary['case']}' ({summary['seconds']} s window; "
                f"the functions cache secrets for SECRET_CACHE_SECONDS): "
                + ", ".join(
                    f"{who} x{count}" for who, count in summary["secretsmanager_callers"].items()
                )
            )


def measure(submissions: int, cases: tuple[Case, ...] = CASES) -> dict[str, Any]:
    """Start the stack in this process, run every case, price it."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    prices = load_prices()
    sink = Sink().start()
    stack = LocalStack(allow_destinations=[host_port(sink.url)])
    meter: Meter | None = None
    try:
        # The hooks must be on the default session before the stack builds any client.
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        probe = _Deferred()
        boto3.DEFAULT_SESSION.events.register("before-parameter-build", probe.before)
        boto3.DEFAULT_SESSION.events.register("after-call", probe.after)
        stack.start()
        meter = Meter(stack)
        probe.meter = meter
        meter.listen()
        bench = Bench(stack, sink, meter)
        memory = {logical_id: spec.memory_size for logical_id, spec in stack.functions.items()}
        started = time.perf_counter()
        results = [
            bench.run_case(number, case, submissions_for(case, submissions))
            for number, case in enumerate(cases)
        ]
        cases_seconds = time.perf_counter() - started
    finally:
        stack.stop()
        sink.stop()
    summaries = [summarise(result, memory, prices) for result in results]
    return {
        "name": "cost per submission (local stack, priced at us-east-1 list prices)",
        "prices": str(PRICES.relative_to(REPO)),
        "assumptions": {
            "anchor_and_reconciler_runs_per_month": RUNS_PER_MONTH,
            "submissions_per_tenant_per_month": ASSUMED_MONTHLY_SUBMISSIONS_PER_TENANT,
            "sqs_polling": "non-empty receives and deletes priced; empty long polls are idle cost",
            "stream_reads": "free (Lambda's DynamoDB stream reads are not billed)",
            "not_priced": "CloudWatch Logs/metrics, X-Ray, data transfer, storage, KMS",
            "durations": "in-process on moto, warm containers: not AWS's",
        },
        "cases_seconds": round(cases_seconds, 1),
        "cases": summaries,
        "targets": targets(summaries) if len(cases) == len(CASES) else [],
    }


class _Deferred:
    """The hooks, registered before the stack exists, handing over to the meter once it does."""

    meter: Meter | None = None

    def before(self, **kwargs: Any) -> None:
        if self.meter is not None:
            self.meter._before(**kwargs)

    def after(self, **kwargs: Any) -> None:
        if self.meter is not None:
            self.meter._after(**kwargs)


def main() -> None:
    """Run, print, write bench/results/cost.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20, help="measured per case")
    parser.add_argument("--out", type=Path, default=RESULTS / "cost.json")
    args = parser.parse_args()
    console = Console()
    started = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    log_path = args.out.with_suffix(".log")
    # The functions log (Powertools) and print metrics (EMF) to stdout: into a file, so
    # the figures are not lost among thousands of lines.
    with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        figures = measure(args.submissions)
    figures["run_seconds"] = round(time.perf_counter() - started, 1)
    for summary in figures["cases"]:
        show(console, summary)
    show_targets(console, figures["targets"])
    show_secret_calls(console, figures["cases"])
    console.print(
        "Durations are in-process on moto (not AWS's). Not priced: CloudWatch Logs and metrics, "
        "X-Ray, data transfer, storage. SQS: non-empty polls priced, idle long polls not; "
        "stream reads free. Scheduled runs: see bench/cost.py's docstring."
    )
    args.out.write_text(json.dumps(figures, indent=2))
    console.print(f"wrote {args.out} in {figures['run_seconds']} s; the functions' log: {log_path}")


if __name__ == "__main__":
    main()
