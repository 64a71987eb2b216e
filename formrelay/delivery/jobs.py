"""Delivery jobs: one message per (submission, destination) on the delivery queue."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import boto3

from formrelay.delivery.destinations import delivery_id
from formrelay.domain.errors import QueueError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


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


class DeliveryQueue:
    """The SQS queue delivery jobs travel on."""

    def __init__(self, queue_url: str, sqs: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self._sqs = sqs

    @property
    def sqs(self) -> SQSClient:
        """The SQS client, built on first use."""
        if self._sqs is None:
            self._sqs = boto3.client("sqs")
        return self._sqs

    def send(self, jobs: list[DeliveryJob], delay_seconds: int = 0) -> None:
        """Enqueue jobs, ten per call; raise if any was not accepted."""
        for start in range(0, len(jobs), 10):
            batch = jobs[start : start + 10]
            answer = self.sqs.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "MessageBody": job.to_json(), "DelaySeconds": delay_seconds}
                    for n, job in enumerate(batch)
                ],
            )
            if answer.get("Failed"):
                raise QueueError(f"queue refused {len(answer['Failed'])} delivery job(s)")
