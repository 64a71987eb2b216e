"""Property-based contract tests generated from every event schema in the registry.

Laws:
- any data an event schema allows, the store's data check allows (the registry
  and the generated documents agree: no schema the validators cannot compile
  or disagree about);
- storing and reloading a sealed event never changes it, nor its hash
  (to_item/from_item round-trip; the chain still verifies);
- every projection accepts every event a schema allows, where it can stand in a stream
  (after the submission.received that opens it): the status view's fold applies it and
  answers a well-formed view, the dispatcher turns a received submission into one job
  per destination and ignores every other event cleanly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from formrelay.delivery.dispatch import dispatch
from formrelay.delivery.jobs import DeliveryJob
from formrelay.delivery.memory import InMemoryDeliveryQueue
from formrelay.domain.events import (
    AUDIT_ANCHORED,
    DELIVERY_ATTEMPTED,
    DELIVERY_DEAD_LETTERED,
    DELIVERY_FAILED,
    DELIVERY_REDELIVERY_REQUESTED,
    DESTINATION_DISABLED,
    SUBMISSION_RECEIVED,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from formrelay.domain.hashing import GENESIS_HASH, chain_hash, seal, verify_chain
from formrelay.registry.schemas import check_event_data, schemas_root
from formrelay.store.items import from_item, to_item
from formrelay.store.memory import InMemoryEventStore
from formrelay.views import status

SCHEMA_FILES = sorted((schemas_root() / "events").glob("*/*.json"))
PROFILE = settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Ids as the API accepts them (formrelay.domain.ids patterns), not arbitrary text.
tenants = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?\Z")
submissions = st.from_regex(r"\A[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?\Z")


def test_the_registry_has_event_schemas() -> None:
    assert len(SCHEMA_FILES) >= 3


def _case(path: Path) -> tuple[str, int, dict[str, Any]]:
    return path.parent.name, int(path.stem), json.loads(path.read_text(encoding="utf-8"))


CASES = [_case(p) for p in SCHEMA_FILES]
IDS = [f"{t}/v{v}" for t, v, _ in CASES]
# Events only the tenant's ledger stream holds: no submission projection ever reads them
# (tests/unit/test_stream_records.py shows the ledger's records are handed to none).
LEDGER_ONLY = frozenset({AUDIT_ANCHORED})
SUBMISSION_CASES = [case for case in CASES if case[0] not in LEDGER_ONLY]
SUBMISSION_IDS = [f"{t}/v{v}" for t, v, _ in SUBMISSION_CASES]


@pytest.mark.parametrize("event_type, version, schema", CASES, ids=IDS)
def test_generated_events_pass_their_check_and_survive_storage_unchanged(
    event_type: str, version: int, schema: dict[str, Any]
) -> None:
    @PROFILE
    @given(
        tenant=tenants,
        submission=submissions,
        batch=st.lists(from_schema(schema), min_size=1, max_size=2),
        causation=st.none() | st.uuids().map(str),
    )
    def law(
        tenant: str, submission: str, batch: list[dict[str, Any]], causation: str | None
    ) -> None:
        # Given data the schema allows: the store's data check allows it too
        # (one test for both laws: generating from these schemas is the slow part)
        for data in batch:
            check_event_data(event_type, version, data)  # raises EventSchemaError if not

        # and sealed events made of it
        stream = StreamId(tenant, submission)
        new = [
            NewEvent(
                type=event_type,
                schema_version=version,
                data=data,
                correlation_id="corr",
                causation_id=causation,
            )
            for data in batch
        ]
        sealed = seal(stream, new, after_version=0, prev_hash=GENESIS_HASH)

        # When each is stored as a DynamoDB item and read back
        reloaded = [from_item(to_item(event)) for event in sealed]

        # Then nothing changed, every hash recomputes the same, and the chain verifies
        assert reloaded == sealed
        for event in reloaded:
            assert chain_hash(event.prev_hash, event.body()) == event.hash
        verify_chain(reloaded)

    law()


# The projections: each event type is applied where it stands in a stream (after the
# submission.received that opens it), and the view says so. A new event type fails here
# until its expectation is written down.
VIEW_STATUSES = {status.RECEIVED, status.DELIVERING, status.DELIVERED, status.FAILED}
VIEW_STATUSES |= {status.DEAD_LETTERED}
DESTINATION_STATES = {status.PENDING, status.RETRYING, status.DELIVERING, status.DELIVERED}
DESTINATION_STATES |= {status.FAILED, status.DEAD_LETTERED}


def _attempt_applied(view: dict[str, Any], data: dict[str, Any]) -> bool:
    if data["outcome"] == "succeeded":
        return view["state"] == status.DELIVERED and view["last_error"] is None
    return view["state"] in (status.RETRYING, status.FAILED) and view["last_error"] is not None


APPLIED: dict[str, Any] = {
    DELIVERY_ATTEMPTED: lambda view, data: (
        view["attempts"] == data["attempt"]
        and view["last_status_code"] == data["status_code"]
        and _attempt_applied(view, data)
    ),
    DELIVERY_FAILED: lambda view, data: (
        view["state"] == status.FAILED and view["last_error"] == data["reason"]
    ),
    DELIVERY_DEAD_LETTERED: lambda view, data: view["state"] == status.DEAD_LETTERED,
    DELIVERY_REDELIVERY_REQUESTED: lambda view, data: (
        view["state"] == status.DELIVERING and view["round"] == 2
    ),
    DESTINATION_DISABLED: lambda view, data: view.get("destination_disabled") is True,
}

RECEIVED_SCHEMA = json.loads(
    (schemas_root() / "events" / SUBMISSION_RECEIVED / "1.json").read_text(encoding="utf-8")
)
# The submission.received that opens a stream of a later event: its payload is nothing a
# projection reads, so small ones do (arbitrary objects are the slow part of generating).
OPENING_SCHEMA = {
    **RECEIVED_SCHEMA,
    "properties": {
        **RECEIVED_SCHEMA["properties"],
        "payload": {"type": "object", "maxProperties": 2},
    },
}
PROJECTION_PROFILE = settings(PROFILE, max_examples=25)


def _check_well_formed(view: dict[str, Any], events: list[RecordedEvent]) -> None:
    """What the status projection stores and the query answers: whole, and JSON."""
    opening = events[0]
    assert view["submission_id"] == opening.stream.submission_id
    assert view["form_id"] == opening.data["form_id"]
    assert view["status"] in VIEW_STATUSES
    assert view["version"] == events[-1].version
    assert (view["received_at"], view["updated_at"]) == (
        opening.occurred_at,
        events[-1].occurred_at,
    )
    assert set(opening.data["destinations"]) <= set(view["destinations"])
    for destination in view["destinations"].values():
        assert destination["state"] in DESTINATION_STATES
        assert destination["attempts"] >= 0 and destination["round"] >= 1
    if not view["destinations"]:
        assert view["status"] == status.DELIVERED  # nothing to deliver is done
    json.dumps(view, sort_keys=True, allow_nan=False)  # StatusViews.put stores it so


def _store(tenant: str, submission: str, new: list[NewEvent]) -> list[RecordedEvent]:
    """Append to the in-memory store (which checks each event's data) and read back."""
    store = InMemoryEventStore()
    stream = StreamId(tenant, submission)
    store.append(stream, new, expected_version=0)
    return store.read(stream)


def _received(data: dict[str, Any]) -> NewEvent:
    return NewEvent(type=SUBMISSION_RECEIVED, data=data, correlation_id="corr")


@pytest.mark.parametrize("event_type, version, schema", SUBMISSION_CASES, ids=SUBMISSION_IDS)
def test_every_projection_accepts_every_event_the_schema_allows(
    event_type: str, version: int, schema: dict[str, Any]
) -> None:
    if event_type != SUBMISSION_RECEIVED:
        assert event_type in APPLIED, f"no projection expectation for {event_type}"

    @PROJECTION_PROFILE
    @given(
        tenant=tenants,
        submission=submissions,
        opening=st.none() if event_type == SUBMISSION_RECEIVED else from_schema(OPENING_SCHEMA),
        data=from_schema(schema),
        listed=st.booleans(),
    )
    def law(
        tenant: str,
        submission: str,
        opening: dict[str, Any] | None,
        data: dict[str, Any],
        listed: bool,
    ) -> None:
        # Given a stream: a received submission, then (unless it is one) the generated event
        # about one of its destinations (or one it did not list: added since, or a stray)
        if opening is None:
            new = [_received(data)]
        else:
            if listed and data["destination_id"] not in opening["destinations"]:
                opening = {
                    **opening,
                    "destinations": [*opening["destinations"], data["destination_id"]],
                }
            new = [
                _received(opening),
                NewEvent(type=event_type, schema_version=version, data=data, correlation_id="corr"),
            ]
        events = _store(tenant, submission, new)

        # When the status projection folds it, Then the view is whole and the event applied
        view = status.fold(events)
        _check_well_formed(view, events)
        if event_type != SUBMISSION_RECEIVED:
            destination = view["destinations"][data["destination_id"]]
            assert APPLIED[event_type](destination, data), (destination, data)

        # When the dispatcher sees the last event, Then a received submission gives one job
        # per destination and any other event none
        queue = InMemoryDeliveryQueue()
        count = dispatch(events[-1], queue)
        jobs = queue.take()
        assert count == len(jobs)
        if event_type == SUBMISSION_RECEIVED:
            assert sorted(j.destination_id for j in jobs) == sorted(data["destinations"])
            assert all(j == DeliveryJob.from_json(j.to_json()) for j in jobs)
            assert {(j.tenant_id, j.submission_id, j.form_id) for j in jobs} <= {
                (tenant, submission, data["form_id"])
            }
            assert len({j.delivery_id for j in jobs}) == len(jobs)
        else:
            assert jobs == []

    law()
