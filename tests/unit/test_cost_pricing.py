"""The cost bench's pricing (bench/cost.py): Lambda billed per 1 ms at each function's
memory, every line item from bench/prices.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cost import PRICES, Usage, lambda_cost, line_items, load_prices


def test_every_price_names_its_source_and_date() -> None:
    document = json.loads(Path(PRICES).read_text())
    assert document["region"] == "us-east-1"
    for entry in document["prices"].values():
        assert entry["source"].startswith("https://aws.amazon.com/")
        assert entry["as_of"]
        assert entry["usd"] > 0 and entry["per"] >= 1


def test_lambda_duration_is_billed_per_started_millisecond_at_the_functions_memory() -> None:
    prices = load_prices()
    usage = Usage()
    usage.invocations.update({"Small": 2, "Big": 1})
    usage.durations_ms["Small"] += [0.2, 1.0]  # 1 ms + 1 ms
    usage.durations_ms["Big"] += [1.1]  # 2 ms

    requests, duration = lambda_cost(usage, {"Small": 512, "Big": 2048}, prices)

    assert requests == pytest.approx(3 * 0.20 / 1_000_000)
    gb_seconds = 0.002 * 0.5 + 0.002 * 2
    assert duration == pytest.approx(gb_seconds * prices["lambda_arm64_gb_second"])


def test_line_items_price_each_counted_thing_once() -> None:
    prices = load_prices()
    usage = Usage(sqs_requests=2, eventbridge_events=3, secretsmanager_calls=1, s3_put_requests=1)
    usage.wru[("t", "PutItem")] = 4
    usage.rru[("t", "Query")] = 0.5

    dollars = line_items(usage, {}, prices, api_requests=1, transitions=2)

    assert dollars["DynamoDB write request units"] == pytest.approx(4 * 0.625e-6)
    assert dollars["DynamoDB read request units"] == pytest.approx(0.5 * 0.125e-6)
    assert dollars["SQS requests"] == pytest.approx(2 * 0.40e-6)
    assert dollars["EventBridge events"] == pytest.approx(3 * 1e-6)
    assert dollars["Step Functions transitions"] == pytest.approx(2 * 25e-6)
    assert dollars["Secrets Manager calls"] == pytest.approx(5e-6)
    assert dollars["S3 requests"] == pytest.approx(5e-6)
    assert dollars["API Gateway HTTP API requests"] == pytest.approx(1e-6)
