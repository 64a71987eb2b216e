"""Events as the pipeline records them, for tests that build histories by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from formrelay.domain.events import SUBMISSION_RECEIVED, NewEvent


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
