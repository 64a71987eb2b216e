"""The status view as a pure fold of a submission's events."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    DELIVERY_DEAD_LETTERED,
    DELIVERY_FAILED,
    DELIVERY_REDELIVERY_REQUESTED,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from formrelay.domain.hashing import GENESIS_HASH, seal
from formrelay.views.status import fold
from tests.support.events import received

STREAM = StreamId("acme", "sub-1")


def attempt(
    destination: str,
    n: int,
    outcome: str,
    status: int | None,
    error: str | None = None,
    at: str = "2024-05-01T12:00:05.000000Z",
) -> NewEvent:
    return NewEvent(
        type=DELIVERY_ATTEMPTED,
        data={
            "destination_id": destination,
            "delivery_id": f"del-{destination}",
            "attempt": n,
            "started_at": at,
            "duration_ms": 10,
            "outcome": outcome,
            "status_code": status,
            "error_class": error,
        },
        correlation_id="c",
        occurred_at=at,
    )


def gave_up(destination: str, attempts: int) -> NewEvent:
    return NewEvent(
        type=DELIVERY_FAILED,
        data={
            "destination_id": destination,
            "delivery_id": f"del-{destination}",
            "attempts": attempts,
            "reason": "final_failure",
        },
        correlation_id="c",
    )


def history(*events: NewEvent) -> list[RecordedEvent]:
    return seal(STREAM, events, after_version=0, prev_hash=GENESIS_HASH)


def status(*events: NewEvent) -> dict[str, Any]:
    return fold(history(*events))


def test_a_new_submission_is_received_with_every_destination_pending() -> None:
    view = status(received(destinations=["crm", "slack"]))
    assert view["status"] == "received"
    assert view["submission_id"] == "sub-1"
    assert view["form_id"] == "contact"
    assert view["form_version"] == 1  # the schema version it was validated against
    assert view["version"] == 1
    assert view["received_at"] == view["updated_at"] == "2024-05-01T12:00:00.000000Z"
    assert {d: v["state"] for d, v in view["destinations"].items()} == {
        "crm": "pending",
        "slack": "pending",
    }


def test_one_destination_delivered_while_another_is_pending_is_delivering() -> None:
    view = status(received(destinations=["crm", "slack"]), attempt("crm", 1, "succeeded", 200))
    assert view["status"] == "delivering"
    assert view["destinations"]["crm"]["state"] == "delivered"
    assert view["destinations"]["slack"]["state"] == "pending"


def test_every_destination_delivered_is_delivered() -> None:
    view = status(
        received(destinations=["crm", "slack"]),
        attempt("crm", 1, "succeeded", 200),
        attempt("slack", 1, "succeeded", 204, at="2024-05-01T12:00:09.000000Z"),
    )
    assert view["status"] == "delivered"
    assert view["version"] == 3
    assert view["updated_at"] == "2024-05-01T12:00:09.000000Z"
    assert view["destinations"]["slack"]["delivered_at"] == "2024-05-01T12:00:09.000000Z"


def test_a_retryable_failure_is_delivering_then_success_delivers() -> None:
    # Given a first attempt that timed out
    events = [
        received(destinations=["crm"]),
        attempt("crm", 1, "retryable_failure", None, "Timeout"),
    ]
    view = status(*events)
    assert view["status"] == "delivering"
    assert view["destinations"]["crm"] == {
        "state": "retrying",
        "attempts": 1,
        "round": 1,
        "last_error": "Timeout",
        "last_status_code": None,
        "next_attempt_at": None,
    }

    # When the retry succeeds
    view = status(*events, attempt("crm", 2, "succeeded", 200))

    # Then it is delivered and the earlier error is cleared
    assert view["status"] == "delivered"
    assert view["destinations"]["crm"]["attempts"] == 2
    assert view["destinations"]["crm"]["last_error"] is None
    assert view["destinations"]["crm"]["last_status_code"] == 200


def test_an_http_failure_without_error_class_reports_the_status_code() -> None:
    view = status(received(destinations=["crm"]), attempt("crm", 1, "retryable_failure", 503))
    assert view["destinations"]["crm"]["last_error"] == "http_503"


def test_a_final_failure_fails_the_submission() -> None:
    view = status(received(destinations=["crm"]), attempt("crm", 1, "final_failure", 400))
    assert view["status"] == "failed"
    assert view["destinations"]["crm"]["state"] == "failed"


def test_retries_exhausted_fails_the_submission() -> None:
    view = status(
        received(destinations=["crm"]),
        attempt("crm", 1, "retryable_failure", 500),
        attempt("crm", 2, "retryable_failure", 500),
        gave_up("crm", 2),
    )
    assert view["status"] == "failed"
    assert view["destinations"]["crm"]["attempts"] == 2


def test_two_destinations_one_failed_is_failed() -> None:
    view = status(
        received(destinations=["crm", "slack"]),
        attempt("crm", 1, "succeeded", 200),
        attempt("slack", 1, "final_failure", 404),
    )
    assert view["status"] == "failed"


def test_one_failed_and_one_still_retrying_is_delivering() -> None:
    view = status(
        received(destinations=["crm", "slack"]),
        attempt("crm", 1, "final_failure", 410),
        attempt("slack", 1, "retryable_failure", 429),
    )
    assert view["status"] == "delivering"


def test_zero_destinations_is_delivered_at_once() -> None:
    view = status(received(destinations=[]))
    assert view["destinations"] == {}
    assert view["status"] == "delivered"


def test_a_late_failed_attempt_does_not_undo_a_delivery() -> None:
    # Attempts of one delivery may overlap (an SQS redelivery); success stands
    view = status(
        received(destinations=["crm"]),
        attempt("crm", 2, "succeeded", 200),
        attempt("crm", 1, "retryable_failure", 503),
    )
    assert view["status"] == "delivered"
    assert view["destinations"]["crm"]["attempts"] == 2


def dead_lettered(destination: str, attempts: int) -> NewEvent:
    return NewEvent(
        type=DELIVERY_DEAD_LETTERED,
        data={
            "destination_id": destination,
            "delivery_id": f"del-{destination}",
            "attempts": attempts,
            "last_error": "http_503",
        },
        correlation_id="c",
    )


def redelivery_requested(destination: str) -> NewEvent:
    return NewEvent(
        type=DELIVERY_REDELIVERY_REQUESTED,
        data={
            "destination_id": destination,
            "delivery_id": f"del-{destination}",
            "requested_by": "acme.0123456789abcdef",
        },
        correlation_id="c",
    )


@st.composite
def delivery_story(draw: st.DrawFn, destination: str) -> list[NewEvent]:
    """One delivery's events as the connector records them: rounds of attempts, each round
    ended (delivered, failed, dead-lettered) before a redelivery starts the next; the last
    round may still be running."""
    events: list[NewEvent] = []
    attempts = 0
    rounds = draw(st.integers(min_value=1, max_value=3))
    for round_ in range(rounds):
        if round_:
            events.append(redelivery_requested(destination))
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            attempts += 1
            events.append(attempt(destination, attempts, "retryable_failure", 503))
        endings = ["delivered", "failed", "dead_lettered"]
        ending = draw(st.sampled_from([*endings, "running"] if round_ == rounds - 1 else endings))
        if ending == "delivered":
            attempts += 1
            events.append(attempt(destination, attempts, "succeeded", 200))
        elif ending == "failed":
            attempts += 1
            events.append(attempt(destination, attempts, "final_failure", 400))
            events.append(gave_up(destination, attempts))
        elif ending == "dead_lettered":
            events.append(dead_lettered(destination, attempts))
    return events


@st.composite
def interleaved(draw: st.DrawFn, stories: list[list[NewEvent]]) -> list[NewEvent]:
    """The stories merged in some order, each story's own order kept (as in one stream)."""
    queues = [list(story) for story in stories if story]
    merged: list[NewEvent] = []
    while queues:
        pick = draw(st.integers(min_value=0, max_value=len(queues) - 1))
        merged.append(queues[pick].pop(0))
        queues = [q for q in queues if q]
    return merged


DESTINATIONS = ["crm", "slack", "sheet"]


def _stories() -> st.SearchStrategy[list[list[NewEvent]]]:
    return st.tuples(*(delivery_story(d) for d in DESTINATIONS)).map(list)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), stories=_stories())
def test_the_view_is_the_same_however_destinations_interleave(
    data: st.DataObject, stories: list[list[NewEvent]]
) -> None:
    # Given each delivery's own story, merged into the stream in two arbitrary orders
    first = data.draw(interleaved(stories))
    second = data.draw(interleaved(stories))

    # Then every destination's view and the submission's status are the same
    one, other = (
        status(received(destinations=DESTINATIONS), *first),
        status(received(destinations=DESTINATIONS), *second),
    )
    assert one["destinations"] == other["destinations"]
    assert one["status"] == other["status"]
    assert one["version"] == other["version"] == 1 + sum(len(s) for s in stories)


@st.composite
def stream_batches(draw: st.DrawFn, length: int) -> list[tuple[int, int]]:
    """What a stream consumer is handed, in order: (record's version, stream version when it
    is handled). Every record comes at least once; records come again (a batch retried after
    a partial failure, a duplicate), out of order, and are handled once the stream may
    have grown past them."""
    records = list(range(1, length + 1))
    extra = draw(st.lists(st.sampled_from(records), max_size=2 * length))
    handed = draw(st.permutations(records + extra))
    return [(v, draw(st.integers(min_value=v, max_value=length))) for v in handed]


@settings(max_examples=100, deadline=None)
@given(data=st.data(), stories=_stories())
def test_the_stored_view_is_the_whole_streams_fold_for_any_batches(
    data: st.DataObject, stories: list[list[NewEvent]]
) -> None:
    # Given a submission's stream
    stream = history(received(destinations=DESTINATIONS), *data.draw(interleaved(stories)))
    # And the stream's records handed to the projection redelivered, duplicated and reordered,
    # each handled by folding the stream as read then and storing newer-version-wins
    batches = data.draw(stream_batches(len(stream)))
    # The record of the last version is handled with the whole stream at least once
    batches.append((len(stream), len(stream)))
    stored: dict[str, Any] | None = None
    for _record, seen in batches:
        view = fold(stream[:seen])
        if stored is None or stored["version"] <= view["version"]:
            stored = view

    # Then what is stored is the fold of the whole stream
    assert stored == fold(stream)


def test_a_stream_must_start_with_submission_received() -> None:
    with pytest.raises(ValueError):
        fold(history(attempt("crm", 1, "succeeded", 200)))
