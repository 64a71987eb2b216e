"""One contract for parked stream batches, run on the memory fake and on moto (SQS and
DynamoDB Streams): a failure-queue message names a range of stream records; the port
reads back exactly the events of that range, deletes a message only when told, and
leaves a message that names no batch on its queue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any, Protocol

import boto3
import pytest

from formrelay.domain.events import RecordedEvent, StreamId
from formrelay.local.pollers import on_failure_record
from formrelay.reconciliation.memory import InMemoryParkedBatches
from formrelay.reconciliation.parked import (
    STATUS_VIEW,
    ParkedBatch,
    ParkedBatches,
    UnreadableParkedMessageError,
)
from formrelay.reconciliation.streams import SQSParkedBatches
from formrelay.store.dynamodb import DynamoDBEventStore
from formrelay.store.items import to_item
from formrelay.store.memory import InMemoryEventStore
from formrelay.store.port import EventStore
from tests.support.events import received
from tests.support.template_aws import template_aws


class Harness(Protocol):
    port: ParkedBatches
    events: EventStore
    stream_arn: str

    def records(self) -> list[dict[str, Any]]:
        """Every record on the stream so far, in order (sequence numbers as the port reads)."""
        ...

    def park(self, body: str) -> None:
        """Put a message on the failure queue."""
        ...

    def depth(self) -> int:
        """Messages on the queue, hidden ones included."""
        ...


class MemoryHarness:
    def __init__(self) -> None:
        self.port = InMemoryParkedBatches(STATUS_VIEW)
        self.stream_arn = self.port.stream_arn
        self.events: EventStore = _Recording(self.port)

    def records(self) -> list[dict[str, Any]]:
        return self.port.stream

    def park(self, body: str) -> None:
        self.port.park(body)

    def depth(self) -> int:
        return len(self.port.messages)


class _Recording(InMemoryEventStore):
    """An event store whose inserts go on the fake stream too, as the table's stream does."""

    def __init__(self, port: InMemoryParkedBatches) -> None:
        super().__init__()
        self._port = port

    def _insert(self, events: Any) -> None:
        super()._insert(events)
        for event in events:
            self._port.append_record(
                {
                    "eventName": "INSERT",
                    "dynamodb": {"NewImage": to_item(event), "ApproximateCreationDateTime": 0},
                }
            )


class MotoHarness:
    def __init__(self, aws: Any) -> None:
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.streams = boto3.client(
            "dynamodbstreams",
            region_name="us-east-1",
            endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com",
        )
        self.queue_url = aws.resources["StatusViewFailureQueue"]["Ref"]
        self.port = SQSParkedBatches(STATUS_VIEW, self.queue_url, self.sqs, self.streams)
        self.events = DynamoDBEventStore(aws.events_table, aws.dynamodb)
        self.stream_arn = aws.dynamodb.describe_table(TableName=aws.events_table)["Table"][
            "LatestStreamArn"
        ]

    def records(self) -> list[dict[str, Any]]:
        shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"][
            "Shards"
        ][0]
        iterator = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = self.streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
        for record in records:
            record["dynamodb"]["ApproximateCreationDateTime"] = 0
            record["shard"] = shard["ShardId"]
        return records

    def park(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def depth(self) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        answer = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)
        return sum(int(v) for v in answer["Attributes"].values())


@pytest.fixture(params=["memory", "moto"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "memory":
        yield MemoryHarness()
        return
    with template_aws() as aws:
        yield MotoHarness(aws)


def _submissions(harness: Harness, count: int) -> list[RecordedEvent]:
    found = []
    for n in range(count):
        stream = StreamId("acme", f"sub_{uuid.uuid4().hex}")
        harness.events.append(stream, [received(f"2026-12-01T10:00:0{n}.000000Z")], 0)
        found += harness.events.read(stream)
    return found


def _body(harness: Harness, records: list[dict[str, Any]]) -> str:
    return json.dumps(
        on_failure_record(
            records,
            shard_id=str(records[0].get("shard", "shard-1")),
            stream_arn=harness.stream_arn,
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
            condition="RetryAttemptsExhausted",
            invoke_count=11,
            function_error=True,
        )
    )


def _one(port: ParkedBatches) -> ParkedBatch:
    [batch] = port.take()
    assert isinstance(batch, ParkedBatch)
    return batch


def test_a_parked_batch_reads_back_exactly_its_records_events(harness: Harness) -> None:
    events = _submissions(harness, 4)
    records = harness.records()
    harness.park(_body(harness, records[1:3]))

    batch = _one(harness.port)

    assert batch.projection == STATUS_VIEW
    assert batch.first_sequence == records[1]["dynamodb"]["SequenceNumber"]
    read = harness.port.events(batch)
    assert read is not None
    assert [e.event_id for e in read] == [e.event_id for e in events[1:3]]


def test_a_message_is_deleted_only_when_done(harness: Harness) -> None:
    _submissions(harness, 1)
    harness.park(_body(harness, harness.records()))
    batch = _one(harness.port)
    assert harness.depth() == 1
    harness.port.done(batch)
    assert harness.depth() == 0


def test_a_message_that_names_no_batch_is_reported_and_stays(harness: Harness) -> None:
    harness.park('{"not": "an invocation record"}')
    [taken] = harness.port.take()
    assert isinstance(taken, UnreadableParkedMessageError)
    assert harness.depth() == 1


def test_records_the_stream_let_go_read_as_none(harness: Harness) -> None:
    _submissions(harness, 1)
    records = harness.records()
    gone = json.loads(_body(harness, records))
    # A shard the stream no longer has (trimmed away, or of a stream that was replaced)
    gone["DDBStreamBatchInfo"]["streamArn"] = harness.stream_arn.replace(
        "table/formrelay-EventsTable", "table/formrelay-DroppedTable"
    )
    if isinstance(harness.port, InMemoryParkedBatches):
        harness.port.trimmed = True
    harness.park(json.dumps(gone))
    assert harness.port.events(_one(harness.port)) is None


def test_an_empty_queue_gives_nothing(harness: Harness) -> None:
    assert harness.port.take() == []
