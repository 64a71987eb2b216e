"""The status view as a pure fold of a submission's events."""

from __future__ import annotations

from typing import Any

import pytest

from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    DELIVERY_FAILED,
    SUBMISSION_RECEIVED,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from formrelay.domain.hashing import GENESIS_HASH, seal
from formrelay.views.status import fold

STREAM = StreamId("acme", "sub-1")


def received(destinations: list[str]) -> NewEvent:
    return NewEvent(
        type=SUBMISSION_RECEIVED,
        data={
            "form_id": "contact",
            "form_schema_version": 1,
            "key_id": "acme.0123456789abcdef",
            "body_sha256": "0" * 64,
            "payload": {"name": "Ada"},
            "destinations": destinations,
        },
        correlation_id="c",
        occurred_at="2024-05-01T12:00:00.000000Z",
    )


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
    view = status(received(["crm", "slack"]))
    assert view["status"] == "received"
    assert view["submission_id"] == "sub-1"
    assert view["form_id"] == "contact"
    assert view["version"] == 1
    assert view["received_at"] == view["updated_at"] == "2024-05-01T12:00:00.000000Z"
    assert {d: v["state"] for d, v in view["destinations"].items()} == {
        "crm": "pending",
        "slack": "pending",
    }


def test_one_destination_delivered_while_another_is_pending_is_delivering() -> None:
    view = status(received(["crm", "slack"]), attempt("crm", 1, "succeeded", 200))
    assert view["status"] == "delivering"
    assert view["destinations"]["crm"]["state"] == "delivered"
    assert view["destinations"]["slack"]["state"] == "pending"


def test_every_destination_delivered_is_delivered() -> None:
    view = status(
        received(["crm", "slack"]),
        attempt("crm", 1, "succeeded", 200),
        attempt("slack", 1, "succeeded", 204, at="2024-05-01T12:00:09.000000Z"),
    )
    assert view["status"] == "delivered"
    assert view["version"] == 3
    assert view["updated_at"] == "2024-05-01T12:00:09.000000Z"
    assert view["destinations"]["slack"]["delivered_at"] == "2024-05-01T12:00:09.000000Z"


def test_a_retryable_failure_is_delivering_then_success_delivers() -> None:
    # Given a first attempt that timed out
    events = [received(["crm"]), attempt("crm", 1, "retryable_failure", None, "Timeout")]
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
    view = status(received(["crm"]), attempt("crm", 1, "retryable_failure", 503))
    assert view["destinations"]["crm"]["last_error"] == "http_503"


def test_a_final_failure_fails_the_submission() -> None:
    view = status(received(["crm"]), attempt("crm", 1, "final_failure", 400))
    assert view["status"] == "failed"
    assert view["destinations"]["crm"]["state"] == "failed"


def test_retries_exhausted_fails_the_submission() -> None:
    view = status(
        received(["crm"]),
        attempt("crm", 1, "retryable_failure", 500),
        attempt("crm", 2, "retryable_failure", 500),
        gave_up("crm", 2),
    )
    assert view["status"] == "failed"
    assert view["destinations"]["crm"]["attempts"] == 2


def test_two_destinations_one_failed_is_failed() -> None:
    view = status(
        received(["crm", "slack"]),
        attempt("crm", 1, "succeeded", 200),
        attempt("slack", 1, "final_failure", 404),
    )
    assert view["status"] == "failed"


def test_one_failed_and_one_still_retrying_is_delivering() -> None:
    view = status(
        received(["crm", "slack"]),
        attempt("crm", 1, "final_failure", 410),
        attempt("slack", 1, "retryable_failure", 429),
    )
    assert view["status"] == "delivering"


def test_zero_destinations_is_delivered_at_once() -> None:
    view = status(received([]))
    assert view["destinations"] == {}
    assert view["status"] == "delivered"


def test_a_late_failed_attempt_does_not_undo_a_delivery() -> None:
    # Attempts of one delivery may overlap (an SQS redelivery); success stands
    view = status(
        received(["crm"]),
        attempt("crm", 2, "succeeded", 200),
        attempt("crm", 1, "retryable_failure", 503),
    )
    assert view["status"] == "delivered"
    assert view["destinations"]["crm"]["attempts"] == 2


def test_folding_is_deterministic() -> None:
    events = history(received(["crm"]), attempt("crm", 1, "succeeded", 200))
    assert fold(events) == fold(list(events))


def test_a_stream_must_start_with_submission_received() -> None:
    with pytest.raises(ValueError):
        fold(history(attempt("crm", 1, "succeeded", 200)))
