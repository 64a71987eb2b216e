"""The dispatcher's use case: a received submission becomes one job per destination."""

from __future__ import annotations

from formrelay.delivery.jobs import DeliveryJob, DeliveryQueue
from formrelay.domain.events import SUBMISSION_RECEIVED, RecordedEvent


def jobs_for(event: RecordedEvent) -> list[DeliveryJob]:
    """The delivery jobs a submission.received event calls for (none for other events)."""
    if event.type != SUBMISSION_RECEIVED:
        return []
    return [
        DeliveryJob.for_destination(
            tenant_id=event.stream.tenant_id,
            submission_id=event.stream.submission_id,
            form_id=event.data["form_id"],
            destination_id=destination_id,
            correlation_id=event.correlation_id,
        )
        for destination_id in event.data["destinations"]
    ]


def dispatch(event: RecordedEvent, queue: DeliveryQueue) -> int:
    """Enqueue the jobs for one event; return how many."""
    jobs = jobs_for(event)
    if jobs:
        queue.send(jobs)
    return len(jobs)
