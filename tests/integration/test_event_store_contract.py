"""The event store contract: every back end of the port passes this one suite.

`EventStoreContract` holds the tests; each back end subclasses it and provides
`make_store` (and a way to tamper with stored history, which no public API
offers). The in-memory fake and the DynamoDB adapter (on moto) both run it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from formrelay.domain.errors import (
    ConcurrencyError,
    EventSchemaError,
    IntegrityError,
    StreamNotFoundError,
    UnknownEventTypeError,
)
from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    DELIVERY_FAILED,
    SUBMISSION_RECEIVED,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from formrelay.domain.hashing import GENESIS_HASH
from formrelay.local.template import load_template
from formrelay.store.dynamodb import DynamoDBEventStore
from formrelay.store.items import stream_key, version_key
from formrelay.store.memory import InMemoryEventStore
from formrelay.store.port import EventStore

TENANT = "acme"
STREAM = StreamId(TENANT, "sub-0001")


def received(**overrides: Any) -> NewEvent:
    """A valid submission.received event (schemas/events/submission.received/1.json)."""
    data: dict[str, Any] = {
        "form_id": "contact",
        "form_schema_version": 1,
        "key_id": "acme.0123456789abcdef",
        "body_sha256": hashlib.sha256(b"{}").hexdigest(),
        "payload": {"email": "ada@example.com", "name": "Ada", "score": 1.5},
        "destinations": ["crm", "slack"],
    }
    data.update(overrides)
    return NewEvent(type=SUBMISSION_RECEIVED, data=data, correlation_id="corr-1")


def attempted(attempt: int = 1, outcome: str = "succeeded", status: int = 200) -> NewEvent:
    """A valid delivery.attempted event."""
    return NewEvent(
        type=DELIVERY_ATTEMPTED,
        data={
            "destination_id": "crm",
            "delivery_id": "del-1",
            "attempt": attempt,
            "started_at": "2024-05-01T12:00:00.000000Z",
            "duration_ms": 42,
            "outcome": outcome,
            "status_code": status,
            "error_class": None,
        },
        correlation_id="corr-1",
        causation_id="cause-1",
    )


def failed() -> NewEvent:
    """A valid delivery.failed event."""
    return NewEvent(
        type=DELIVERY_FAILED,
        data={
            "destination_id": "crm",
            "delivery_id": "del-1",
            "attempts": 3,
            "reason": "final_failure",
        },
        correlation_id="corr-1",
    )


Tamper = Callable[[StreamId, int, dict[str, Any]], None]


class EventStoreContract:
    """The behaviour every EventStore back end must show."""

    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        raise NotImplementedError  # each back end provides its store

    @pytest.fixture
    def tamper(self, store: EventStore) -> Tamper:
        """Replace the data of one stored version behind the store's back."""
        raise NotImplementedError

    # -- append -------------------------------------------------------------

    def test_append_at_0_then_1_assigns_consecutive_versions(self, store: EventStore) -> None:
        # Given an empty stream
        # When one event is appended at version 0 and another at version 1
        first = store.append(STREAM, [received()], expected_version=0)
        second = store.append(STREAM, [attempted()], expected_version=1)

        # Then they are versions 1 and 2, chained from genesis, and read back in order
        assert [e.version for e in first + second] == [1, 2]
        assert first[0].prev_hash == GENESIS_HASH
        assert second[0].prev_hash == first[0].hash
        assert store.read(STREAM) == first + second
        assert store.version(STREAM) == 2

    def test_recorded_event_carries_the_new_events_fields(self, store: EventStore) -> None:
        event = attempted()
        store.append(STREAM, [received()], 0)
        [recorded] = store.append(STREAM, [event], 1)

        [_, stored] = store.read(STREAM)
        assert stored == recorded
        assert stored.stream == STREAM
        assert stored.event_id == event.event_id
        assert stored.type == DELIVERY_ATTEMPTED
        assert stored.causation_id == "cause-1"
        assert stored.correlation_id == "corr-1"
        assert stored.occurred_at == event.occurred_at
        assert stored.data == event.data

    def test_taken_version_raises_and_writes_nothing(self, store: EventStore) -> None:
        # Given a stream at version 1
        [head] = store.append(STREAM, [received()], expected_version=0)

        # When another writer, unaware of it, appends at version 0
        with pytest.raises(ConcurrencyError):
            store.append(STREAM, [attempted()], expected_version=0)

        # Then the stream is unchanged
        assert store.read(STREAM) == [head]

    def test_expected_version_ahead_of_the_stream_raises(self, store: EventStore) -> None:
        store.append(STREAM, [received()], expected_version=0)

        with pytest.raises(ConcurrencyError):
            store.append(STREAM, [attempted()], expected_version=5)

        assert store.version(STREAM) == 1

    def test_reappending_the_same_event_is_a_no_op(self, store: EventStore) -> None:
        # Given an appended event
        event = received()
        [recorded] = store.append(STREAM, [event], expected_version=0)

        # When the very same event (same event_id) is appended again, at a stale version
        again = store.append(STREAM, [event], expected_version=0)

        # Then the recorded event is returned and nothing new is written
        assert again == [recorded]
        assert store.read(STREAM) == [recorded]

    def test_reappending_an_old_event_after_later_appends_is_a_no_op(
        self, store: EventStore
    ) -> None:
        # Given a stream where the first event was followed by two more
        event = received()
        [recorded] = store.append(STREAM, [event], expected_version=0)
        store.append(STREAM, [attempted(1, "retryable_failure", 503)], expected_version=1)
        store.append(STREAM, [attempted(2)], expected_version=2)

        # When the first event is delivered again (e.g. a client retry)
        again = store.append(STREAM, [event], expected_version=0)

        # Then it is answered from history and the stream stays at version 3
        assert again == [recorded]
        assert store.version(STREAM) == 3

    def test_reappending_a_batch_returns_the_batch_as_recorded(self, store: EventStore) -> None:
        batch = [attempted(1, "final_failure", 400), failed()]
        store.append(STREAM, [received()], 0)
        recorded = store.append(STREAM, batch, expected_version=1)

        assert store.append(STREAM, batch, expected_version=1) == recorded
        assert store.version(STREAM) == 3

    def test_batch_partly_recorded_already_is_refused(self, store: EventStore) -> None:
        event = received()
        store.append(STREAM, [event], 0)

        with pytest.raises(ConcurrencyError):
            store.append(STREAM, [event, attempted()], expected_version=1)

        assert store.version(STREAM) == 1

    def test_appending_nothing_writes_nothing(self, store: EventStore) -> None:
        assert store.append(STREAM, [], expected_version=0) == []
        with pytest.raises(StreamNotFoundError):
            store.read(STREAM)

    def test_several_events_are_appended_together_with_consecutive_versions(
        self, store: EventStore
    ) -> None:
        # When three events are appended in one call
        recorded = store.append(
            STREAM, [received(), attempted(1, "final_failure", 400), failed()], 0
        )

        # Then they take versions 1..3, each chained to the one before
        assert [e.version for e in recorded] == [1, 2, 3]
        assert [e.prev_hash for e in recorded] == [GENESIS_HASH, recorded[0].hash, recorded[1].hash]
        assert store.read(STREAM) == recorded

    def test_a_batch_at_a_stale_version_writes_none_of_its_events(self, store: EventStore) -> None:
        # Given a stream at version 2
        head = store.append(STREAM, [received(), attempted(1, "retryable_failure", 503)], 0)

        # When two events are appended at the stale version 1
        with pytest.raises(ConcurrencyError):
            store.append(STREAM, [attempted(2, "final_failure", 400), failed()], 1)

        # Then neither is written
        assert store.read(STREAM) == head

    def test_a_version_taken_between_read_and_write_writes_none_of_the_batch(
        self, store: EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given a stream at version 1, and a rival that appends right after
        # our writer has read the stream head (a real race, made deterministic)
        store.append(STREAM, [received()], 0)
        rival = attempted(1, "retryable_failure", 503)
        real_load = store._load
        raced = False

        def load_then_rival_appends(stream: StreamId) -> list[RecordedEvent]:
            nonlocal raced
            events = real_load(stream)
            if not raced:
                raced = True
                store.append(STREAM, [rival], expected_version=1)
            return events

        monkeypatch.setattr(store, "_load", load_then_rival_appends)

        # When our writer appends two events at version 1
        with pytest.raises(ConcurrencyError):
            store.append(STREAM, [attempted(2, "final_failure", 400), failed()], 1)

        # Then only the rival's event follows the head: ours wrote nothing
        monkeypatch.undo()
        stored = store.read(STREAM)
        assert [e.event_id for e in stored[1:]] == [rival.event_id]

    def test_the_same_event_appended_by_a_racing_retry_is_returned(
        self, store: EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given a retry of the same event that lands between our read and write
        store.append(STREAM, [received()], 0)
        event = attempted()
        real_load = store._load
        calls = 0

        def load_then_retry_lands(stream: StreamId) -> list[RecordedEvent]:
            nonlocal calls
            calls += 1
            events = real_load(stream)
            if calls == 1:
                store.append(STREAM, [event], expected_version=1)
            return events

        monkeypatch.setattr(store, "_load", load_then_retry_lands)

        # When we append it too, then it is answered as already recorded
        [recorded] = store.append(STREAM, [event], 1)

        monkeypatch.undo()
        assert store.read(STREAM)[1:] == [recorded]

    def test_an_append_to_a_new_stream_or_after_a_head_just_read_reads_nothing(
        self, store: EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given a store whose reads are counted
        real_load = store._load
        loads: list[StreamId] = []

        def counted(stream: StreamId) -> list[RecordedEvent]:
            loads.append(stream)
            return real_load(stream)

        monkeypatch.setattr(store, "_load", counted)

        # When a new stream is started, and appended to after a read that the caller passes on
        store.append(STREAM, [received()], expected_version=0)
        history = store.read(STREAM)
        store.append(STREAM, [attempted()], expected_version=1, known=history)

        # Then only the caller's read read the stream, and the chain holds
        assert loads == [STREAM]
        monkeypatch.undo()
        stored = store.read(STREAM)
        assert [e.version for e in stored] == [1, 2]
        assert stored[1].prev_hash == stored[0].hash

    def test_an_append_after_a_stale_head_raises_and_writes_nothing(
        self, store: EventStore
    ) -> None:
        # Given a stream read at version 1, then appended to by a rival
        store.append(STREAM, [received()], 0)
        history = store.read(STREAM)
        rival = attempted(1, "retryable_failure", 503)
        store.append(STREAM, [rival], expected_version=1)

        # When our writer appends after the head it read
        with pytest.raises(ConcurrencyError):
            store.append(STREAM, [attempted(2, "final_failure", 400), failed()], 1, known=history)

        # Then only the rival's event follows the head
        assert [e.event_id for e in store.read(STREAM)[1:]] == [rival.event_id]

    def test_an_event_recorded_since_the_head_was_read_is_answered_as_recorded(
        self, store: EventStore
    ) -> None:
        # Given a stream read at version 1, and the same event recorded since by a retry
        store.append(STREAM, [received()], 0)
        history = store.read(STREAM)
        event = attempted()
        [first] = store.append(STREAM, [event], expected_version=1)

        # When it is appended after the head that was read, it is answered as recorded
        assert store.append(STREAM, [event], 1, known=history) == [first]
        assert store.version(STREAM) == 2

    # -- validation -----------------------------------------------------------

    def test_data_failing_its_schema_raises_and_writes_nothing(self, store: EventStore) -> None:
        bad = received(body_sha256="not-a-digest")
        with pytest.raises(EventSchemaError):
            store.append(STREAM, [bad], expected_version=0)
        with pytest.raises(StreamNotFoundError):
            store.read(STREAM)

    def test_one_invalid_event_in_a_batch_writes_none(self, store: EventStore) -> None:
        store.append(STREAM, [received()], 0)
        bad_attempt = dataclasses.replace(attempted(), data={**attempted().data, "attempt": 0})

        with pytest.raises(EventSchemaError):
            store.append(STREAM, [attempted(), bad_attempt], expected_version=1)

        assert store.version(STREAM) == 1

    def test_unknown_event_type_raises_and_writes_nothing(self, store: EventStore) -> None:
        event = NewEvent(type="submission.teleported", data={}, correlation_id="c")
        with pytest.raises(UnknownEventTypeError):
            store.append(STREAM, [event], expected_version=0)
        unknown_version = dataclasses.replace(received(), schema_version=99)
        with pytest.raises(UnknownEventTypeError):
            store.append(STREAM, [unknown_version], expected_version=0)
        assert store.version(STREAM) == 0

    # -- read -----------------------------------------------------------------

    def test_read_returns_events_in_version_order(self, store: EventStore) -> None:
        events = [received()] + [attempted(n, "retryable_failure", 503) for n in range(1, 12)]
        for version, event in enumerate(events):
            store.append(STREAM, [event], expected_version=version)

        stored = store.read(STREAM)

        # Twelve events: "V#...10" must sort after "V#...9", not after "V#...1"
        assert [e.version for e in stored] == list(range(1, 13))
        assert [e.event_id for e in stored] == [e.event_id for e in events]

    def test_reading_an_unknown_stream_raises(self, store: EventStore) -> None:
        with pytest.raises(StreamNotFoundError):
            store.read(StreamId(TENANT, "never-submitted"))
        assert store.version(StreamId(TENANT, "never-submitted")) == 0

    def test_tenants_with_the_same_submission_id_have_separate_streams(
        self, store: EventStore
    ) -> None:
        # Given two tenants that both chose submission id "order-1"
        mine, theirs = StreamId("acme", "order-1"), StreamId("globex", "order-1")
        store.append(mine, [received()], expected_version=0)

        # Then the other tenant sees no stream, and appends at its own version 0
        with pytest.raises(StreamNotFoundError):
            store.read(theirs)
        [their_first] = store.append(theirs, [received(form_id="survey")], expected_version=0)

        assert their_first.version == 1
        assert [e.stream for e in store.read(mine)] == [mine]
        assert [e.data["form_id"] for e in store.read(mine)] == ["contact"]
        assert [e.data["form_id"] for e in store.read(theirs)] == ["survey"]

    def test_mutating_appended_or_read_data_does_not_rewrite_history(
        self, store: EventStore
    ) -> None:
        # Given an appended event
        event = received()
        store.append(STREAM, [event], 0)

        # When the caller later mutates the data it appended, and the data it read
        event.data["payload"]["name"] = "Eve"
        store.read(STREAM)[0].data["destinations"].append("elsewhere")

        # Then the stored event is as appended, and still verifies
        [stored] = store.read(STREAM)
        assert stored.data["payload"]["name"] == "Ada"
        assert stored.data["destinations"] == ["crm", "slack"]

    def test_tampered_history_fails_verification_on_read(
        self, store: EventStore, tamper: Tamper
    ) -> None:
        # Given a stream of two events
        store.append(STREAM, [received(), attempted(1, "final_failure", 400)], 0)

        # When someone edits the first event's data in storage
        forged = {**received().data, "payload": {"email": "mallory@example.com", "name": "M"}}
        tamper(STREAM, 1, forged)

        # Then a verified read refuses the stream; an unverified read shows the edit
        with pytest.raises(IntegrityError):
            store.read(STREAM)
        assert store.read(STREAM, verify=False)[0].data == forged

    def test_appending_after_tampering_still_fails_verification(
        self, store: EventStore, tamper: Tamper
    ) -> None:
        store.append(STREAM, [received()], 0)
        tamper(STREAM, 1, {**received().data, "destinations": []})

        store.append(STREAM, [attempted()], 1)

        with pytest.raises(IntegrityError):
            store.read(STREAM)

    # -- the tenant index -----------------------------------------------------

    def _history(self, store: EventStore, tenant: str, streams: int) -> list[RecordedEvent]:
        """`streams` streams of two events each, their times interleaved across streams."""
        recorded: list[RecordedEvent] = []
        for n in range(streams):
            stream = StreamId(tenant, f"sub-{n:04d}")
            first = dataclasses.replace(received(), occurred_at=f"2026-03-01T10:{n:02d}:00.000000Z")
            later = dataclasses.replace(
                attempted(), occurred_at=f"2026-03-01T11:{streams - n:02d}:00.000000Z"
            )
            recorded += store.append(stream, [first], 0)
            recorded += store.append(stream, [later], 1)
        return sorted(recorded, key=lambda e: (e.occurred_at, e.stream.submission_id))

    def _walk(self, store: EventStore, tenant: str, **window: Any) -> list[RecordedEvent]:
        seen: list[RecordedEvent] = []
        position = None
        for _ in range(200):
            page = store.tenant_events(tenant, after=position, limit=3, **window)
            assert len(page.events) <= 3
            seen += page.events
            position = page.position
            if position is None:
                return seen
        raise AssertionError("the walk never ended")

    def test_a_tenants_events_come_page_by_page_in_time_order_each_once(
        self, store: EventStore
    ) -> None:
        # Given 13 streams of one tenant (over every shard) and a stream of another
        history = self._history(store, TENANT, 13)
        self._history(store, "other", 1)

        # When the tenant's events are walked three at a time
        seen = self._walk(store, TENANT)

        # Then every one of its events comes once, in time order, and no one else's
        assert seen == history

    def test_a_window_holds_the_events_from_since_up_to_until(self, store: EventStore) -> None:
        history = self._history(store, TENANT, 6)
        since, until = "2026-03-01T10:03:00.000000Z", "2026-03-01T11:04:00.000000Z"

        seen = self._walk(store, TENANT, since=since, until=until)

        assert seen == [e for e in history if since <= e.occurred_at < until]
        assert seen  # the window is not empty: the bounds were really applied

    def test_a_tenant_with_no_events_has_one_empty_last_page(self, store: EventStore) -> None:
        self._history(store, "other", 2)

        page = store.tenant_events(TENANT)

        assert page.events == [] and page.position is None


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        yield InMemoryEventStore()

    @pytest.fixture
    def tamper(self, store: EventStore) -> Tamper:
        assert isinstance(store, InMemoryEventStore)

        def edit(stream: StreamId, version: int, data: dict[str, Any]) -> None:
            events = store._streams[stream]
            events[version - 1] = dataclasses.replace(events[version - 1], data=data)

        return edit


TABLE = "events"


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """One emulated AWS per module (starting moto costs ~0.2 s); a table per test."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            env.setenv(name, value)
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        env.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            yield boto3.client("dynamodb", region_name="us-east-1")


class TestDynamoDBEventStore(EventStoreContract):
    @pytest.fixture
    def client(self, aws: Any) -> Iterator[Any]:
        aws.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            # The tenant index as the template declares it (keys only)
            GlobalSecondaryIndexes=load_template()["Resources"]["EventsTable"]["Properties"][
                "GlobalSecondaryIndexes"
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        yield aws
        aws.delete_table(TableName=TABLE)

    @pytest.fixture
    def store(self, client: Any) -> Iterator[EventStore]:
        yield DynamoDBEventStore(TABLE, client=client)

    @pytest.fixture
    def tamper(self, client: Any) -> Tamper:
        def edit(stream: StreamId, version: int, data: dict[str, Any]) -> None:
            client.update_item(
                TableName=TABLE,
                Key={"pk": {"S": stream_key(stream)}, "sk": {"S": version_key(version)}},
                UpdateExpression="SET #d = :d",
                ExpressionAttributeNames={"#d": "data"},
                ExpressionAttributeValues={":d": {"S": json.dumps(data)}},
            )

        return edit

    def test_a_second_store_on_the_same_table_sees_the_same_streams(self, client: Any) -> None:
        # Two Lambda containers are two store instances over one table
        writer, other = DynamoDBEventStore(TABLE, client), DynamoDBEventStore(TABLE, client)
        writer.append(STREAM, [received()], 0)

        with pytest.raises(ConcurrencyError):
            other.append(STREAM, [attempted(), failed()], expected_version=0)

        assert other.read(STREAM) == writer.read(STREAM)
        assert other.version(STREAM) == 1
