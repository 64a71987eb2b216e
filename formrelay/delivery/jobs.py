"""Delivery jobs, and the queue port they travel on: one job per (submission, destination).

Back ends of the queue: `delivery/sqs.py` (the delivery queue) and
`delivery/memory.py` (the fake); both pass
tests/integration/test_delivery_queue_contract.py.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from formrelay.delivery.destinations import delivery_id


@dataclass(frozen=True)
class DeliveryJob:
    """Deliver one submission to one destination."""

    tenant_id: str
    submission_id: str
    form_id: str
    destination_id: str
    delivery_id: str
    correlation_id: str

    @classmethod
    def for_destination(
        cls,
        tenant_id: str,
        submission_id: str,
        form_id: str,
        destination_id: str,
        correlation_id: str,
    ) -> DeliveryJob:
        """The job for one destination of a submission."""
        return cls(
            tenant_id=tenant_id,
            submission_id=submission_id,
            form_id=form_id,
            destination_id=destination_id,
            delivery_id=delivery_id(tenant_id, submission_id, destination_id),
            correlation_id=correlation_id,
        )

    def to_dict(self) -> dict[str, str]:
        """The job as a JSON object."""
        return asdict(self)

    def to_json(self) -> str:
        """The message body."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> DeliveryJob:
        """A job from its JSON object (KeyError if a field is missing)."""
        return cls(**{name: str(fields[name]) for name in cls.__dataclass_fields__})

    @classmethod
    def from_json(cls, text: str) -> DeliveryJob:
        """A job from its message body (KeyError/ValueError if malformed)."""
        return cls.from_dict(json.loads(text))


# What one SQS SendMessageBatch takes; every back end sends in such batches.
BATCH_SIZE = 10


class DeliveryQueue(ABC):
    """Where delivery jobs wait for the connector."""

    def send(self, jobs: Sequence[DeliveryJob]) -> None:
        """Enqueue jobs, at most BATCH_SIZE per call; QueueError if any was not accepted."""
        for start in range(0, len(jobs), BATCH_SIZE):
            self._enqueue(jobs[start : start + BATCH_SIZE])

    @abstractmethod
    def _enqueue(self, jobs: Sequence[DeliveryJob]) -> None:
        """Enqueue one batch (1 to BATCH_SIZE jobs); raise QueueError if any was refused."""
