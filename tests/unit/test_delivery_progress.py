"""Where a delivery stands is read from its stream: rounds, attempts, endings."""

from __future__ import annotations

from typing import Any

from formrelay.delivery.outcomes import parse_retry_after
from formrelay.delivery.progress import progress
from formrelay.domain.events import NewEvent, StreamId
from formrelay.domain.hashing import GENESIS_HASH, seal

STREAM = StreamId("acme", "s1")


def _events(*specs: tuple[str, dict[str, Any]]) -> list[Any]:
    new = [
        NewEvent(type=t, data={"delivery_id": "d1", **data}, correlation_id="c")
        for t, data in specs
    ]
    return seal(STREAM, new, 0, GENESIS_HASH)


def attempt(outcome: str) -> tuple[str, dict[str, Any]]:
    return ("delivery.attempted", {"outcome": outcome})


def test_attempts_count_until_an_ending() -> None:
    state = progress(_events(attempt("retryable_failure"), attempt("succeeded")), "d1")
    assert (state.attempts_total, state.attempts_in_round, state.ended) == (2, 2, "delivered")


def test_a_redelivery_starts_a_new_round() -> None:
    history = _events(
        attempt("retryable_failure"),
        ("delivery.dead_lettered", {}),
        ("delivery.redelivery_requested", {}),
        attempt("retryable_failure"),
    )
    state = progress(history, "d1")
    assert (state.round, state.attempts_total, state.attempts_in_round) == (2, 2, 1)
    assert state.ended is None and state.in_flight


def test_other_deliveries_do_not_count() -> None:
    assert progress(_events(attempt("succeeded")), "other").attempts_total == 0


def test_retry_after_takes_seconds_or_a_date_and_is_bounded() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60
    assert parse_retry_after("999999999") == 6 * 3600
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
