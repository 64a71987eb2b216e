"""The publisher projection as Lambda runs it: a batch of stream records in, the events on
the bus, and the records whose events the bus refused reported for the stream to retry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from formrelay.composition import services
from tests.support.http_events import Context
from tests.support.publishing import history, stream_record


@pytest.fixture
def consumer(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """Given the bus with a consumer's queue behind a rule, named in the environment."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    with mock_aws():
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name="formrelay-FormrelayBus")
        queue = sqs.create_queue(QueueName="consumer")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        rule = {"Name": "all", "EventBusName": "formrelay-FormrelayBus"}
        events.put_rule(**rule, EventPattern=json.dumps({"source": ["formrelay"]}))
        events.put_targets(
            Rule="all", EventBusName=rule["EventBusName"], Targets=[{"Id": "q", "Arn": arn}]
        )
        monkeypatch.setenv("EVENT_BUS_NAME", "formrelay-FormrelayBus")
        services.cache_clear()
        yield sqs, queue
        services.cache_clear()


def _received(sqs: Any, queue: str) -> list[dict[str, Any]]:
    answer = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


def test_a_batch_reaches_the_bus_and_nothing_is_reported(consumer: tuple[Any, str]) -> None:
    from projections.publisher import handler

    events = history(attempts=2)
    batch = {"Records": [stream_record(e, 100 + n) for n, e in enumerate(events)]}

    answer = handler(batch, Context(function_name="formrelay-PublisherFunction"))

    assert answer == {"batchItemFailures": []}
    details = [entry["detail"] for entry in _received(*consumer)]
    assert sorted(details, key=lambda d: d["version"]) == [e.to_dict() for e in events]


def test_a_bus_that_refuses_has_every_record_reported(
    consumer: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from projections.publisher import handler

    monkeypatch.setenv("EVENT_BUS_NAME", "gone")  # a bus that is not there refuses every call
    services.cache_clear()
    events = history(attempts=1)
    batch = {"Records": [stream_record(e, 100 + n) for n, e in enumerate(events)]}

    answer = handler(batch, Context(function_name="formrelay-PublisherFunction"))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "100"}, {"itemIdentifier": "101"}]}
    assert _received(*consumer) == []
