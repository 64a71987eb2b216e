"""Reading recorded events out of DynamoDB Streams records."""

from __future__ import annotations

from typing import Any

from formrelay.domain.events import RecordedEvent
from formrelay.store.items import from_item


def event_from_stream_record(
    record: dict[str, Any], *, ledger: bool = False
) -> RecordedEvent | None:
    """The submission event an INSERT record carries; None for any other record (events are
    never modified) and for the tenants' ledger streams, which no submission projection
    reads (`ledger=True` keeps them: the event bus carries the ledger's events too)."""
    if record.get("eventName") != "INSERT":
        return None
    image = record.get("dynamodb", {}).get("NewImage")
    if not image or not image.get("pk", {}).get("S", "").startswith("T#"):
        return None
    event = from_item(image)
    return None if event.stream.is_ledger and not ledger else event
