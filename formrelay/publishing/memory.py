"""The event publisher port in memory: tests and the fake's contract runs."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from formrelay.publishing.port import SOURCE, BusEntry, EventPublisher


class InMemoryEventPublisher(EventPublisher):
    """A bus in a list; it can be told to refuse an event's entry a number of times."""

    def __init__(self) -> None:
        self.delivered: list[dict[str, Any]] = []
        self.calls: list[int] = []
        self._refusals: Counter[str] = Counter()

    def refuse(self, event_id: str, times: int = 1) -> None:
        """Refuse the entry of that event the next `times` times it is put."""
        self._refusals[event_id] += times

    def _put(self, entries: Sequence[BusEntry]) -> list[str | None]:
        self.calls.append(len(entries))
        reasons: list[str | None] = []
        for entry in entries:
            if self._refusals[entry.event.event_id] > 0:
                self._refusals[entry.event.event_id] -= 1
                reasons.append("InternalFailure: refused as told")
                continue
            self.delivered.append(
                {
                    "source": SOURCE,
                    "detail-type": entry.detail_type,
                    "detail": json.loads(entry.detail),
                }
            )
            reasons.append(None)
        return reasons
