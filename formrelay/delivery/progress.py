"""Where one delivery stands, read from its submission's stream.

A delivery runs in rounds: the first, and one more for every redelivery
requested. Within a round it ends at a success, a final failure, or a dead letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from formrelay.delivery.outcomes import SUCCEEDED
from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    DELIVERY_DEAD_LETTERED,
    DELIVERY_FAILED,
    DELIVERY_REDELIVERY_REQUESTED,
    RecordedEvent,
)

DELIVERED, FAILED, DEAD_LETTERED = "delivered", "failed", "dead_lettered"


@dataclass(frozen=True)
class DeliveryProgress:
    """One delivery's state in its current round."""

    round: int
    attempts_total: int
    attempts_in_round: int
    ended: str | None
    last_attempt: dict[str, Any] | None

    @property
    def in_flight(self) -> bool:
        """Attempts were made this round and it has not ended: a retry is pending."""
        return self.ended is None and self.attempts_in_round > 0


def progress(history: Sequence[RecordedEvent], delivery_id: str) -> DeliveryProgress:
    """Fold a stream down to one delivery's progress."""
    round_, total, in_round = 1, 0, 0
    ended: str | None = None
    last: dict[str, Any] | None = None
    for event in history:
        if event.data.get("delivery_id") != delivery_id:
            continue
        if event.type == DELIVERY_REDELIVERY_REQUESTED:
            round_, in_round, ended, last = round_ + 1, 0, None, None
        elif event.type == DELIVERY_ATTEMPTED:
            total, in_round, last = total + 1, in_round + 1, event.data
            if event.data["outcome"] == SUCCEEDED:
                ended = DELIVERED
        elif event.type == DELIVERY_FAILED:
            ended = FAILED
        elif event.type == DELIVERY_DEAD_LETTERED:
            ended = DEAD_LETTERED
    return DeliveryProgress(round_, total, in_round, ended, last)
