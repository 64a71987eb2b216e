"""The event publisher port over an EventBridge event bus."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from formrelay.publishing.port import SOURCE, BusEntry, EventPublisher

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class EventBridgePublisher(EventPublisher):
    """Puts events on one EventBridge bus with PutEvents."""

    def __init__(self, bus_name: str, events: EventBridgeClient | None = None) -> None:
        self.bus_name = bus_name
        self._events = events

    @property
    def client(self) -> EventBridgeClient:
        """The EventBridge client, built on first use."""
        if self._events is None:
            self._events = boto3.client("events")
        return self._events

    def _put(self, entries: Sequence[BusEntry]) -> list[str | None]:
        try:
            answer = self.client.put_events(Entries=[self._entry(entry) for entry in entries])
        except ClientError as refused:  # the whole call (throttled past botocore's retries...)
            return [f"{refused.response['Error'].get('Code', 'Error')}: call refused"] * len(
                entries
            )
        except BotoCoreError as unreachable:
            return [f"bus unreachable: {type(unreachable).__name__}"] * len(entries)
        results: list[Any] = answer.get("Entries", [])
        if len(results) != len(entries):  # an answer that cannot be matched: try them all again
            return ["the bus answered for other entries than were sent"] * len(entries)
        return [
            f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}"
            if result.get("ErrorCode")
            else None
            for result in results
        ]

    def _entry(self, entry: BusEntry) -> Any:
        return {
            "EventBusName": self.bus_name,
            "Source": SOURCE,
            "DetailType": entry.detail_type,
            "Detail": entry.detail,
            "Time": datetime.fromisoformat(entry.event.occurred_at.replace("Z", "+00:00")),
        }
