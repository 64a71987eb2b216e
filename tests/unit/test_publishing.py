"""Forwarding the Events table's stream to the bus: batches the bus takes, refused entries
tried again, and what is still refused handed back to the stream, never dropped."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from formrelay.publishing.forwarding import forward
from formrelay.publishing.memory import InMemoryEventPublisher
from formrelay.publishing.port import MAX_BYTES, MAX_ENTRIES, BusEntry, batches
from tests.support.publishing import history, ledger_event, stream_record


def no_pause(seconds: float) -> None:
    """Retries in tests do not wait."""


def test_every_event_of_the_batch_reaches_the_bus_as_its_envelope() -> None:
    events = history(attempts=2) + history(tenant_id="globex", attempts=1)
    bus = InMemoryEventPublisher()

    outcome = forward([stream_record(e, n) for n, e in enumerate(events)], bus, pause=no_pause)

    assert (outcome.published, outcome.failed) == (5, [])
    assert [entry["detail"] for entry in bus.delivered] == [e.to_dict() for e in events]
    assert {entry["source"] for entry in bus.delivered} == {"formrelay"}
    assert [entry["detail-type"] for entry in bus.delivered] == [e.type for e in events]


def test_puts_go_in_calls_of_at_most_ten_entries() -> None:
    events = history(attempts=24)  # 25 events
    bus = InMemoryEventPublisher()

    forward([stream_record(e, n) for n, e in enumerate(events)], bus, pause=no_pause)

    assert bus.calls == [10, 10, 5]


def test_a_refused_entry_is_tried_again_within_the_invocation() -> None:
    events = history(attempts=3)
    bus = InMemoryEventPublisher()
    bus.refuse(events[2].event_id, times=2)

    outcome = forward([stream_record(e, n) for n, e in enumerate(events)], bus, pause=no_pause)

    assert (outcome.published, outcome.failed) == (4, [])
    assert sorted(entry["detail"]["version"] for entry in bus.delivered) == [1, 2, 3, 4]


def test_an_entry_still_refused_is_handed_back_to_the_stream_by_its_record() -> None:
    events = history(attempts=3)
    bus = InMemoryEventPublisher()
    bus.refuse(events[1].event_id, times=3)

    outcome = forward(
        [stream_record(e, 10 + n) for n, e in enumerate(events)], bus, attempts=3, pause=no_pause
    )

    assert outcome.failed == ["11"]
    assert {entry["detail"]["event_id"] for entry in bus.delivered} == {
        e.event_id for e in events if e is not events[1]
    }
    # the stream hands the record over again: then it gets through
    again = forward([stream_record(events[1], 11)], bus, pause=no_pause)
    assert again.failed == [] and bus.delivered[-1]["detail"] == events[1].to_dict()


def test_an_event_that_fails_its_schema_is_not_sent_and_not_dropped() -> None:
    good, bad = history(attempts=1)
    broken = dataclasses.replace(bad, data={**bad.data, "attempt": "first"})
    bus = InMemoryEventPublisher()

    outcome = forward([stream_record(good, 1), stream_record(broken, 2)], bus, pause=no_pause)

    assert outcome.failed == ["2"]
    assert [entry["detail"]["event_id"] for entry in bus.delivered] == [good.event_id]


def test_the_ledger_events_are_published_and_modifications_are_not_events() -> None:
    anchored = ledger_event()
    (received,) = history(attempts=0)
    bus = InMemoryEventPublisher()
    records = [stream_record(anchored, 1), stream_record(received, 2, name="MODIFY")]

    outcome = forward(records, bus, pause=no_pause)

    assert (outcome.published, outcome.skipped, outcome.failed) == (1, 1, [])
    assert bus.delivered[0]["detail-type"] == "audit.anchored"
    assert bus.delivered[0]["detail"]["submission_id"] == "_ledger"


@given(st.lists(st.integers(min_value=1, max_value=60_000), max_size=60))
def test_batches_keep_order_and_the_bus_limits(sizes: list[int]) -> None:
    # an entry's size is its detail's, plus the source, detail type and time
    (event,) = history(attempts=0)
    entries = [BusEntry(event, "x" * size) for size in sizes]

    calls = list(batches(entries))

    assert [entry for call in calls for entry in call] == entries
    for call in calls:
        assert 1 <= len(call) <= MAX_ENTRIES
        assert sum(entry.size for entry in call) <= MAX_BYTES


def test_an_event_too_large_for_the_bus_goes_without_its_data_and_keeps_its_hash() -> None:
    (received,) = history(attempts=0)
    payload = {"essay": "x" * 262_000}  # within the intake's 256 KB, beyond one bus entry
    large = dataclasses.replace(received, data={**received.data, "payload": payload})
    bus = InMemoryEventPublisher()

    outcome = forward([stream_record(large, 1)], bus, pause=no_pause)

    assert outcome.failed == []
    detail = bus.delivered[0]["detail"]
    assert detail["data"] is None and detail["data_omitted"]["bytes"] > MAX_BYTES
    assert {k: v for k, v in detail.items() if k not in ("data", "data_omitted")} == {
        k: v for k, v in large.to_dict().items() if k != "data"
    }
