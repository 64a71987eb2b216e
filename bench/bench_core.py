"""Figures for the hot paths of intake: signing checks, strict JSON, schema validation,
appends, rate-limit takes.

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

from formrelay.auth.rate_limits import RateLimiter
from formrelay.auth.signing import parse_signed_headers, sign_request, verify_signature
from formrelay.auth.tenants import RateLimit
from formrelay.bootstrap import CONTACT_FORM_SCHEMA
from formrelay.domain.events import SUBMISSION_RECEIVED, NewEvent, StreamId
from formrelay.domain.ids import new_id
from formrelay.domain.strict_json import parse_body
from formrelay.local.provision import provision
from formrelay.local.template import load_template
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
    signature = sign_request(
        key_id="bench.0123456789abcdef",
        secret="s" * 40,
        method="POST",
        path="/p",
        body=body,
        content_type="application/json",
        idempotency_key="bench-1",
    )
    headers = {**signature, "Content-Type": "application/json", "Idempotency-Key": "bench-1"}
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
    large = json.dumps({"message": "x" * 200_000, "tags": [[1, 2], {"a": "[{"}] * 50}).encode()
    figures.append(measure("parse 200 KB body (strict)", 200, lambda _: parse_body(large)))
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        resources = provision(load_template(), "bench")
        client = boto3.client("dynamodb", region_name="us-east-1")
        events = resources["EventsTable"]["Ref"]
        figures.append(
            append_bench("append (DynamoDB, moto)", DynamoDBEventStore(events, client), 500)
        )
        limiter = RateLimiter(
            resources["ViewsTable"]["Ref"], client, default=RateLimit(100_000.0, 1_000_000)
        )
        figures.append(
            measure(
                "rate limit take (moto)",
                500,
                lambda n: limiter.take("bench", "bench.0123456789abcdef", now=now + n),
            )
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
