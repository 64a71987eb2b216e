"""The delivery queue port over SQS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import boto3

from formrelay.delivery.jobs import DeliveryJob, DeliveryQueue
from formrelay.domain.errors import QueueError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SQSDeliveryQueue(DeliveryQueue):
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

    def _enqueue(self, jobs: Sequence[DeliveryJob]) -> None:
        answer = self.sqs.send_message_batch(
            QueueUrl=self.queue_url,
            Entries=[{"Id": str(n), "MessageBody": job.to_json()} for n, job in enumerate(jobs)],
        )
        if answer.get("Failed"):
            raise QueueError(f"queue refused {len(answer['Failed'])} delivery job(s)")
