"""Redelivery: run a submission's delivery again, from the start of its schedule.

Each redelivery appends `delivery.redelivery_requested` (a new round) and
queues the job like a first delivery: the same path, the same records.
"""

from __future__ import annotations

from dataclasses import dataclass

from formrelay.api.problems import Problem, not_found
from formrelay.delivery.jobs import DeliveryJob, DeliveryQueue
from formrelay.delivery.progress import progress
from formrelay.domain.errors import ConcurrencyError, InvalidIdentifierError, StreamNotFoundError
from formrelay.domain.events import DELIVERY_REDELIVERY_REQUESTED, NewEvent, StreamId
from formrelay.domain.ids import DESTINATION_ID, SUBMISSION_ID, check
from formrelay.store.port import EventStore


@dataclass(frozen=True)
class RedeliveryRequest:
    """Who asks to redeliver what."""

    tenant_id: str
    submission_id: str
    destination_id: str | None
    requested_by: str
    correlation_id: str
    reason: str | None = None


def request_redelivery(
    request: RedeliveryRequest, *, events: EventStore, queue: DeliveryQueue
) -> list[DeliveryJob]:
    """Start a new round for each chosen delivery that has ended; 409 if one is still running."""
    stream = StreamId(request.tenant_id, request.submission_id)
    try:
        check(SUBMISSION_ID, request.submission_id, "submission id")
        if request.destination_id is not None:
            check(DESTINATION_ID, request.destination_id, "destination id")
        history = events.read(stream)
    except (InvalidIdentifierError, StreamNotFoundError) as exc:
        raise not_found("no such submission") from exc
    received = history[0]
    chosen = received.data["destinations"]
    if request.destination_id is not None:
        if request.destination_id not in chosen:
            raise not_found("the submission has no delivery to that destination")
        chosen = [request.destination_id]
    jobs = [
        DeliveryJob.for_destination(
            request.tenant_id,
            request.submission_id,
            received.data["form_id"],
            destination_id,
            request.correlation_id,
        )
        for destination_id in chosen
    ]
    running = [j.destination_id for j in jobs if progress(history, j.delivery_id).ended is None]
    if running:
        raise Problem(
            409,
            "delivery-in-progress",
            "Delivery in progress",
            f"still being delivered to: {', '.join(running)}; redeliver once it has ended",
        )
    records = [
        NewEvent(
            type=DELIVERY_REDELIVERY_REQUESTED,
            correlation_id=request.correlation_id,
            data={
                "destination_id": job.destination_id,
                "delivery_id": job.delivery_id,
                "requested_by": request.requested_by,
                "reason": request.reason,
            },
        )
        for job in jobs
    ]
    try:
        events.append(stream, records, expected_version=history[-1].version)
    except ConcurrencyError as exc:
        raise Problem(
            409, "concurrent-change", "Conflict", "the submission changed meanwhile; try again"
        ) from exc
    queue.send(jobs)
    return jobs
