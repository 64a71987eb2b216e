"""The per-stream hash chain: seal, then verify; every kind of alteration is detected."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from formrelay.domain.canonical import canonical_json
from formrelay.domain.errors import IntegrityError
from formrelay.domain.events import NewEvent, RecordedEvent, StreamId
from formrelay.domain.hashing import GENESIS_HASH, chain_hash, seal, verify_chain

STREAM = StreamId("acme", "sub-1")


def new(n: int) -> NewEvent:
    return NewEvent(type="delivery.failed", data={"n": n, "x": [n, "y"]}, correlation_id="c")


def sealed(count: int = 3) -> list[RecordedEvent]:
    return seal(STREAM, [new(n) for n in range(count)], after_version=0, prev_hash=GENESIS_HASH)


def test_sealed_events_are_versioned_chained_and_verify() -> None:
    events = sealed()
    assert [e.version for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    verify_chain(events)  # does not raise


def test_hash_is_sha256_of_prev_hash_then_canonical_body() -> None:
    # The definition in DESIGN.md, recomputed by hand
    [event] = sealed(1)
    expected = hashlib.sha256(GENESIS_HASH.encode() + canonical_json(event.body())).hexdigest()
    assert event.hash == expected == chain_hash(GENESIS_HASH, event.body())
    assert "hash" not in event.body()
    assert event.to_dict()["hash"] == event.hash


def test_sealing_after_a_head_continues_its_chain() -> None:
    head = sealed(2)
    more = seal(STREAM, [new(9)], after_version=2, prev_hash=head[-1].hash)
    assert more[0].version == 3
    verify_chain(head + more)


def test_an_empty_chain_verifies() -> None:
    verify_chain([])


def test_altered_data_is_detected() -> None:
    events = sealed()
    events[1] = dataclasses.replace(events[1], data={"n": 1, "x": [1, "z"]})
    with pytest.raises(IntegrityError, match="version 2 was altered"):
        verify_chain(events)


@pytest.mark.parametrize(
    "field, value",
    [
        ("occurred_at", "2000-01-01T00:00:00.000000Z"),
        ("type", "delivery.attempted"),
        ("correlation_id", "other"),
        ("causation_id", "forged"),
        ("event_id", "0190a6e0-0000-7000-8000-000000000000"),
        ("stream", StreamId("globex", "sub-1")),
    ],
)
def test_any_altered_envelope_field_is_detected(field: str, value: Any) -> None:
    events = sealed()
    events[2] = dataclasses.replace(events[2], **{field: value})
    with pytest.raises(IntegrityError):
        verify_chain(events)


def test_a_rehashed_alteration_breaks_the_link_to_the_next_event() -> None:
    # An attacker who edits event 1 and recomputes its own hash still breaks event 2
    events = sealed()
    forged = dataclasses.replace(events[0], data={"n": 99, "x": []})
    events[0] = dataclasses.replace(forged, hash=chain_hash(GENESIS_HASH, forged.body()))
    with pytest.raises(IntegrityError, match="version 2 does not link"):
        verify_chain(events)


def test_a_dropped_event_is_detected() -> None:
    events = sealed()
    del events[1]
    with pytest.raises(IntegrityError, match="version 3 where 2 was expected"):
        verify_chain(events)


def test_a_dropped_first_event_is_detected() -> None:
    with pytest.raises(IntegrityError):
        verify_chain(sealed()[1:])


def test_reordered_events_are_detected() -> None:
    events = sealed()
    events[0], events[1] = events[1], events[0]
    with pytest.raises(IntegrityError):
        verify_chain(events)


def test_renumbered_reordering_is_still_detected() -> None:
    # Swap two events and fix up their version numbers: the hashes no longer link
    a, b, c = sealed()
    swapped = [a, dataclasses.replace(c, version=2), dataclasses.replace(b, version=3)]
    with pytest.raises(IntegrityError):
        verify_chain(swapped)
