"""Figures for the hot paths of intake: signing checks, schema validation, appends.

Prints a table and writes bench/results/core.json. Run: .venv/bin/python bench/bench_core.py
"""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import boto3
from moto import mock_aws

from formrelay.auth.signing import parse_signed_headers, sign_request, verify_signature
from formrelay.bootstrap import CONTACT_FORM_SCHEMA
from formrelay.domain.events import SUBMISSION_RECEIVED, NewEvent, StreamId
from formrelay.domain.ids import new_id
from formrelay.registry.schemas import CompiledSchema
from formrelay.store.dynamodb import DynamoDBEventStore
from formrelay.store.memory import InMemoryEventStore
from formrelay.store.port import EventStore

RESULTS = Path(__file__).parent / "results"
PAYLOAD = {"email": "ada@example.com", "name": "Ada", "message": "x" * 500}


def measure(name: str, runs: int, action: Callable[[int], object]) -> dict[str, float | str]:
    """Run action `runs` times; ops/s, mean microseconds and peak traced memory."""
    tracemalloc.start()
    started = time.perf_counter()
    for n in range(runs):
        action(n)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "name": name,
        "runs": runs,
        "ops_per_second": round(runs / elapsed, 1),
        "mean_us": round(elapsed / runs * 1e6, 1),
        "peak_kib": round(peak / 1024, 1),
    }


def received(n: int) -> NewEvent:
    """A submission.received event."""
    return NewEvent(
        type=SUBMISSION_RECEIVED,
        correlation_id=f"bench-{n}",
        data={
            "form_id": "contact",
            "form_schema_version": 1,
            "key_id": "bench.0123456789abcdef",
            "body_sha256": "0" * 64,
            "idempotency_key": None,
            "payload": PAYLOAD,
            "destinations": ["primary"],
        },
    )


def append_bench(name: str, store: EventStore, runs: int) -> dict[str, float | str]:
    """Appends of one event to fresh streams."""
    return measure(
        name, runs, lambda n: store.append(StreamId("bench", new_id()), [received(n)], 0)
    )


def main() -> None:
    """Run every figure and write them out."""
    body = json.dumps(PAYLOAD).encode()
    headers = sign_request(
        key_id="bench.0123456789abcdef", secret="s" * 40, method="POST", path="/p", body=body
    )
    now = time.time()
    schema = CompiledSchema(CONTACT_FORM_SCHEMA)
    figures = [
        measure(
            "verify signature",
            20_000,
            lambda _: verify_signature(
                parse_signed_headers(headers),
                method="POST",
                path="/p",
                raw_query="",
                secrets_to_try=["s" * 40],
                now=now,
            ),
        ),
        measure("validate contact form", 20_000, lambda _: schema.violations(PAYLOAD)),
        append_bench("append (in-memory store)", InMemoryEventStore(), 5_000),
    ]
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="events",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        figures.append(
            append_bench("append (DynamoDB, moto)", DynamoDBEventStore("events", client), 500)
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "core.json").write_text(json.dumps(figures, indent=2))
    for figure in figures:
        print(
            f"{figure['name']:<28} {figure['ops_per_second']:>10} ops/s "
            f"{figure['mean_us']:>9} us  peak {figure['peak_kib']} KiB"
        )


if __name__ == "__main__":
    main()
