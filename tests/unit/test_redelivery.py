"""Redelivery, on fakes: a new round for deliveries that ended, queued like a first delivery."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from formrelay.delivery.destinations import delivery_id
from formrelay.delivery.jobs import DeliveryJob
from formrelay.delivery.memory import InMemoryDeliveryQueue
from formrelay.delivery.progress import progress
from formrelay.delivery.redelivery import RedeliveryRequest, request_redelivery
from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    DELIVERY_DEAD_LETTERED,
    DELIVERY_FAILED,
    DELIVERY_REDELIVERY_REQUESTED,
    SUBMISSION_RECEIVED,
    NewEvent,
    StreamId,
)
from formrelay.store.memory import InMemoryEventStore
from tests.support.refusals import refused

STREAM = StreamId("acme", "sub-1")


def _received() -> NewEvent:
    return NewEvent(
        type=SUBMISSION_RECEIVED,
        correlation_id="corr-0",
        data={
            "form_id": "contact",
            "form_schema_version": 1,
            "key_id": "acme.0123456789abcdef",
            "body_sha256": hashlib.sha256(b"{}").hexdigest(),
            "payload": {"name": "Ada"},
            "destinations": ["crm", "slack"],
        },
    )


def _ids(destination_id: str) -> dict[str, str]:
    return {
        "destination_id": destination_id,
        "delivery_id": delivery_id("acme", "sub-1", destination_id),
    }


def _ended(destination_id: str, how: str) -> NewEvent:
    data: dict[str, Any] = {**_ids(destination_id), "attempts": 1, "last_error": "http_503"}
    if how == DELIVERY_FAILED:
        data["reason"] = "final_failure"
    return NewEvent(type=how, correlation_id="corr-0", data=data)


def _retrying(destination_id: str) -> NewEvent:
    return NewEvent(
        type=DELIVERY_ATTEMPTED,
        correlation_id="corr-0",
        data={
            **_ids(destination_id),
            "attempt": 1,
            "started_at": "2026-01-01T00:00:00.000000Z",
            "duration_ms": 3,
            "outcome": "retryable_failure",
            "status_code": 503,
            "error_class": "http_503",
        },
    )


class Redelivery:
    """Fakes holding acme's submission sub-1 to crm and slack."""

    def __init__(self, *after: NewEvent) -> None:
        self.events = InMemoryEventStore()
        self.queue = InMemoryDeliveryQueue()
        self.events.append(STREAM, [_received(), *after], expected_version=0)

    def request(
        self, destination_id: str | None = None, tenant_id: str = "acme", submission: str = "sub-1"
    ) -> list[DeliveryJob]:
        request = RedeliveryRequest(
            tenant_id=tenant_id,
            submission_id=submission,
            destination_id=destination_id,
            requested_by=f"{tenant_id}.0123456789abcdef",
            correlation_id="corr-9",
            reason="receiver fixed",
        )
        return request_redelivery(request, events=self.events, queue=self.queue)


@pytest.fixture
def both_ended() -> Redelivery:
    return Redelivery(_ended("crm", DELIVERY_DEAD_LETTERED), _ended("slack", DELIVERY_FAILED))


def test_every_ended_delivery_gets_a_new_round_and_a_job(both_ended: Redelivery) -> None:
    # When a redelivery of the whole submission is asked for
    jobs = both_ended.request()

    # Then each delivery starts round 2, on record with who asked and why
    history = both_ended.events.read(STREAM)
    asked = [e for e in history if e.type == DELIVERY_REDELIVERY_REQUESTED]
    assert [(e.data["destination_id"], e.data["requested_by"]) for e in asked] == [
        ("crm", "acme.0123456789abcdef"),
        ("slack", "acme.0123456789abcdef"),
    ]
    assert {e.data["reason"] for e in asked} == {"receiver fixed"}
    for destination_id in ("crm", "slack"):
        state = progress(history, delivery_id("acme", "sub-1", destination_id))
        assert (state.round, state.attempts_in_round, state.ended) == (2, 0, None)

    # And one job per delivery is queued, the same jobs a first delivery would get
    expected = [
        DeliveryJob.for_destination("acme", "sub-1", "contact", d, "corr-9")
        for d in ("crm", "slack")
    ]
    assert jobs == expected
    assert both_ended.queue.take() == expected


def test_one_destination_can_be_redelivered_alone(both_ended: Redelivery) -> None:
    [job] = both_ended.request("slack")
    assert job.destination_id == "slack"
    assert both_ended.queue.take() == [job]
    history = both_ended.events.read(STREAM)
    assert progress(history, delivery_id("acme", "sub-1", "crm")).round == 1
    assert progress(history, delivery_id("acme", "sub-1", "slack")).round == 2


def test_a_delivery_still_running_is_409_and_nothing_is_written_or_queued() -> None:
    # Given crm has ended but slack is still retrying
    redelivery = Redelivery(_ended("crm", DELIVERY_FAILED), _retrying("slack"))
    before = redelivery.events.read(STREAM)

    # When all are asked for, or slack alone
    with refused(409, "delivery-in-progress"):
        redelivery.request()
    with refused(409, "delivery-in-progress"):
        redelivery.request("slack")

    # Then nothing changed
    assert redelivery.events.read(STREAM) == before
    assert redelivery.queue.take() == []


def test_a_delivery_never_attempted_is_running_too() -> None:
    redelivery = Redelivery()
    with refused(409, "delivery-in-progress"):
        redelivery.request("crm")
    assert redelivery.queue.take() == []


def test_a_destination_the_submission_has_no_delivery_to_is_404(both_ended: Redelivery) -> None:
    before = both_ended.events.read(STREAM)
    for destination_id in ("webhook", "Not/An/Id"):
        with refused(404, "not-found"):
            both_ended.request(destination_id)
    assert both_ended.events.read(STREAM) == before
    assert both_ended.queue.take() == []


def test_an_unknown_submission_is_404(both_ended: Redelivery) -> None:
    for submission in ("sub-2", "../sub-1"):
        with refused(404, "not-found"):
            both_ended.request(submission=submission)
    assert both_ended.queue.take() == []


def test_another_tenant_sees_nothing_of_the_submission(both_ended: Redelivery) -> None:
    # Given acme's submission sub-1, ended
    before = both_ended.events.read(STREAM)

    # When globex asks to redeliver sub-1, all or one destination
    with refused(404, "not-found"):
        both_ended.request(tenant_id="globex")
    with refused(404, "not-found"):
        both_ended.request("crm", tenant_id="globex")

    # Then it is told there is no such submission, and acme's is untouched
    assert both_ended.events.read(STREAM) == before
    assert both_ended.queue.take() == []


def test_a_second_round_once_the_first_redelivery_ended(both_ended: Redelivery) -> None:
    both_ended.request("crm")
    both_ended.events.append(
        STREAM, [_ended("crm", DELIVERY_FAILED)], both_ended.events.version(STREAM)
    )
    both_ended.request("crm")
    state = progress(both_ended.events.read(STREAM), delivery_id("acme", "sub-1", "crm"))
    assert state.round == 3
