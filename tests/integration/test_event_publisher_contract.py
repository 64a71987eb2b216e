"""The event publisher contract: the EventBridge adapter (on moto, read back through a
rule with an SQS target, as a consumer would) and the in-memory fake pass one suite."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from formrelay.domain.errors import EventSchemaError
from formrelay.domain.events import RecordedEvent
from formrelay.publishing.eventbridge import EventBridgePublisher
from formrelay.publishing.memory import InMemoryEventPublisher
from formrelay.publishing.port import EventPublisher
from formrelay.registry.schemas import check_event_data
from tests.support.publishing import history, ledger_event

BUS = "formrelay-events"


class EventPublisherContract:
    """What every publisher does; subclasses build one and read its bus back."""

    def make_publisher(self) -> EventPublisher:
        raise NotImplementedError

    def make_refusing_publisher(self) -> EventPublisher:
        """A publisher whose bus refuses every entry."""
        raise NotImplementedError

    def received(self) -> list[dict[str, Any]]:
        """Every entry that reached the bus so far: source, detail-type, detail."""
        raise NotImplementedError

    def test_each_event_arrives_as_its_envelope_under_its_type(self) -> None:
        events = [*history(attempts=2), ledger_event()]

        refused = self.make_publisher().publish(events)

        assert refused == []
        arrived = {entry["detail"]["event_id"]: entry for entry in self.received()}
        assert set(arrived) == {event.event_id for event in events}
        for event in events:
            entry = arrived[event.event_id]
            assert (entry["source"], entry["detail-type"]) == ("formrelay", event.type)
            assert entry["detail"] == event.to_dict()
            assert RecordedEvent.from_dict(entry["detail"]) == event
            check_event_data(event.type, event.schema_version, entry["detail"]["data"])

    def test_more_events_than_one_call_takes_all_arrive(self) -> None:
        events = history(attempts=24)

        assert self.make_publisher().publish(events) == []

        assert sorted(e["detail"]["version"] for e in self.received()) == list(range(1, 26))

    def test_an_event_failing_its_schema_stops_the_batch_before_anything_is_sent(self) -> None:
        good, bad = history(attempts=1)
        broken = dataclasses.replace(bad, data={**bad.data, "outcome": "maybe"})

        with pytest.raises(EventSchemaError):
            self.make_publisher().publish([good, broken])

        assert self.received() == []

    def test_a_bus_that_refuses_entries_has_them_all_reported(self) -> None:
        events = history(attempts=2)

        refused = self.make_refusing_publisher().publish(events)

        assert [refusal.event for refusal in refused] == events
        assert all(refusal.reason for refusal in refused)

    def test_an_event_too_large_for_one_entry_arrives_without_its_data(self) -> None:
        (received,) = history(attempts=0)
        payload = {"essay": "x" * 262_000}
        large = dataclasses.replace(received, data={**received.data, "payload": payload})

        assert self.make_publisher().publish([large]) == []

        (entry,) = self.received()
        assert entry["detail"]["data"] is None
        assert entry["detail"]["hash"] == large.hash


class TestInMemoryEventPublisher(EventPublisherContract):
    @pytest.fixture(autouse=True)
    def _bus(self) -> None:
        self.bus = InMemoryEventPublisher()

    def make_publisher(self) -> EventPublisher:
        return self.bus

    def make_refusing_publisher(self) -> EventPublisher:
        return _Refusing()

    def received(self) -> list[dict[str, Any]]:
        return self.bus.delivered


class _Refusing(InMemoryEventPublisher):
    """A fake bus that refuses whatever it is given."""

    def _put(self, entries: Any) -> list[str | None]:
        for entry in entries:
            self.refuse(entry.event.event_id)
        return super()._put(entries)


class TestEventBridgePublisher(EventPublisherContract):
    @pytest.fixture(autouse=True)
    def _bus(self) -> Iterator[None]:
        with mock_aws():
            self.events = boto3.client("events", region_name="us-east-1")
            self.sqs = boto3.client("sqs", region_name="us-east-1")
            self.events.create_event_bus(Name=BUS)
            self.queue = self.sqs.create_queue(QueueName="consumer")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            pattern = json.dumps({"source": ["formrelay"]})
            self.events.put_rule(Name="all", EventBusName=BUS, EventPattern=pattern)
            self.events.put_targets(
                Rule="all", EventBusName=BUS, Targets=[{"Id": "consumer", "Arn": arn}]
            )
            yield

    def make_publisher(self) -> EventPublisher:
        return EventBridgePublisher(BUS, self.events)

    def make_refusing_publisher(self) -> EventPublisher:
        return EventBridgePublisher("no-such-bus", self.events)

    def received(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
