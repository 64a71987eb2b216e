"""Redelivery: run a submission's delivery again, from the start of its schedule.

Each redelivery appends `delivery.redelivery_requested` (a new round) and
queues the job like a first delivery: the same path, the same records.
"""

from __future__ import annotations

from dataclasses import dataclass

from formrelay.delivery.errors import (
    DeliveryInProgressError,
    InvalidRedeliveryOptionsError,
    SubmissionChangedError,
    UnknownDeliveryError,
)
from formrelay.delivery.jobs import DeliveryJob, DeliveryQueue
from formrelay.delivery.progress import progress
from formrelay.domain.errors import (
    ConcurrencyError,
    InvalidIdentifierError,
    StreamNotFoundError,
    UnknownSubmissionError,
)
from formrelay.domain.events import DELIVERY_REDELIVERY_REQUESTED, NewEvent, StreamId
from formrelay.domain.ids import DESTINATION_ID, SUBMISSION_ID, check
from formrelay.domain.strict_json import parse_body
from formrelay.store.port import EventStore

# A redelivery's reason is kept on record up to this many characters.
MAX_REASON_LENGTH = 200


@dataclass(frozen=True)
class RedeliveryOptions:
    """What a redelivery request's body may say: one destination only, and why."""

    destination_id: str | None = None
    reason: str | None = None


def parse_options(body: bytes) -> RedeliveryOptions:
    """The options of a redelivery body (empty: every destination, no reason)."""
    if not body.strip():
        return RedeliveryOptions()
    options = parse_body(body)
    if not isinstance(options, dict) or set(options) - {"destination_id", "reason"}:
        raise InvalidRedeliveryOptionsError('the body may hold only "destination_id" and "reason"')
    if not all(isinstance(v, str) or v is None for v in options.values()):
        raise InvalidRedeliveryOptionsError('"destination_id" and "reason" are strings')
    reason = options.get("reason") or None
    return RedeliveryOptions(
        destination_id=options.get("destination_id"),
        reason=reason[:MAX_REASON_LENGTH] if reason else None,
    )


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
    """Start a new round for each chosen delivery that has ended, unless one is still running."""
    stream = StreamId(request.tenant_id, request.submission_id)
    try:
        check(SUBMISSION_ID, request.submission_id, "submission id")
        if request.destination_id is not None:
            check(DESTINATION_ID, request.destination_id, "destination id")
        history = events.read(stream)
    except (InvalidIdentifierError, StreamNotFoundError) as exc:
        raise UnknownSubmissionError() from exc
    received = history[0]
    chosen = received.data["destinations"]
    if request.destination_id is not None:
        if request.destination_id not in chosen:
            raise UnknownDeliveryError(request.destination_id)
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
        raise DeliveryInProgressError(running)
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
        events.append(stream, records, expected_version=history[-1].version, known=history)
    except ConcurrencyError as exc:
        raise SubmissionChangedError() from exc
    queue.send(jobs)
    return jobs
