"""Events as the pipeline records them, for tests that build histories by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    DESTINATION_DISABLED,
    SUBMISSION_RECEIVED,
    NewEvent,
    RecordedEvent,
    StreamId,
)


def received_data() -> dict[str, Any]:
    """The data of a valid submission.received event."""
    return {
        "form_id": "contact",
        "form_schema_version": 1,
        "key_id": "demo.0123456789abcdef",
        "body_sha256": "0" * 64,
        "payload": {},
        "destinations": ["crm"],
    }


def received(
    occurred_at: str = "2024-05-01T12:00:00.000000Z", destinations: Sequence[str] = ("crm",)
) -> NewEvent:
    """A submission.received event for these destinations that occurred at occurred_at
    (RFC 3339)."""
    data = {**received_data(), "destinations": list(destinations)}
    return NewEvent(SUBMISSION_RECEIVED, data, "c", occurred_at=occurred_at)


def redelivery_requested(occurred_at: str) -> NewEvent:
    """A delivery.redelivery_requested event that occurred at occurred_at."""
    data = {"destination_id": "crm", "delivery_id": "d-1", "requested_by": "demo.key"}
    return NewEvent("delivery.redelivery_requested", data, "c", occurred_at=occurred_at)


def attempt(
    n: int,
    *,
    ok: bool = True,
    ms: int = 100,
    status: int | None = 200,
    error: str | None = None,
    excerpt: str | None = "ok",
    destination: str = "crm",
    event_id: str | None = None,
) -> RecordedEvent:
    """The n-th attempt (its time orders the attempts: one second apart)."""
    return RecordedEvent(
        stream=StreamId("acme", f"s{n}"),
        version=2,
        event_id=event_id or f"ev-{n:05d}",
        type=DELIVERY_ATTEMPTED,
        schema_version=1,
        occurred_at=f"2026-12-06T08:{n // 60 % 60:02d}:{n % 60:02d}.000000Z",
        correlation_id="c",
        causation_id=None,
        data={
            "destination_id": destination,
            "delivery_id": f"msg_{n}",
            "attempt": 1,
            "started_at": "2026-12-06T08:00:00.000000Z",
            "duration_ms": ms,
            "outcome": "succeeded" if ok else "retryable_failure",
            "status_code": status,
            "error_class": error,
            "response_excerpt": excerpt,
            "retry_after_seconds": None,
            "next_attempt_at": None,
            "round": 1,
            "method": "POST",
        },
        prev_hash="0" * 64,
        hash="1" * 64,
    )


def disabled(n: int) -> RecordedEvent:
    return RecordedEvent(
        stream=StreamId("acme", f"s{n}"),
        version=3,
        event_id=f"dis-{n:05d}",
        type=DESTINATION_DISABLED,
        schema_version=1,
        occurred_at=f"2026-12-06T08:{n // 60 % 60:02d}:{n % 60:02d}.500000Z",
        correlation_id="c",
        causation_id=None,
        data={"destination_id": "crm", "form_id": "contact", "reason": "gone", "status_code": 410},
        prev_hash="0" * 64,
        hash="1" * 64,
    )


def failure(n: int) -> RecordedEvent:
    excerpt = "busy " + "x" * 500
    return attempt(
        n,
        ok=False,
        ms=3000,
        status=503,
        error="http_503",
        excerpt=excerpt,
        event_id=f"fail-{n:05d}",
    )
