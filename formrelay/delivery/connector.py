"""The connector's use case: one attempt at one delivery job, and its record.

The stream is the source of truth: how many attempts were made, and whether
the delivery already ended, are read from it before each attempt. So a
duplicated job finds the delivery finished and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from formrelay.delivery.destinations import DestinationDirectory
from formrelay.delivery.jobs import DeliveryJob, DeliveryQueue
from formrelay.delivery.outcomes import FINAL, RETRYABLE, SUCCEEDED, AttemptResult
from formrelay.delivery.webhook import delivery_body, send
from formrelay.domain.errors import ConcurrencyError
from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    DELIVERY_FAILED,
    NewEvent,
    RecordedEvent,
    StreamId,
    utc_now,
)
from formrelay.store.port import EventStore

_APPEND_TRIES = 5


@dataclass(frozen=True)
class DeliveryReport:
    """What handling one job did, for the log."""

    outcome: str
    attempt: int
    status_code: int | None = None


@dataclass
class Connector:
    """Delivers jobs and records every attempt."""

    events: EventStore
    destinations: DestinationDirectory
    queue: DeliveryQueue
    http: httpx.Client
    retry_schedule_seconds: tuple[int, ...]

    def handle(self, job: DeliveryJob) -> DeliveryReport:
        """Make the next attempt of a delivery unless it has already ended."""
        stream = StreamId(job.tenant_id, job.submission_id)
        history = self.events.read(stream)
        done = _ended(history, job.delivery_id)
        attempt = _attempts(history, job.delivery_id) + 1
        if done is not None:
            return DeliveryReport(outcome=f"already_{done}", attempt=attempt - 1)
        destination = self.destinations.get(job.tenant_id, job.form_id, job.destination_id)
        if destination is None or not destination.enabled:
            failed = self._failed(job, attempt - 1, "destination_missing", None)
            self._append(stream, [failed], history)
            return DeliveryReport(outcome="destination_missing", attempt=attempt - 1)
        received = history[0]
        body = delivery_body(received.data, job.submission_id, received.occurred_at)
        started_at = utc_now()
        result = send(self.http, destination, job.delivery_id, body)
        retry_in = self._retry_delay(result, attempt)
        records = [self._attempted(job, attempt, started_at, result, retry_in)]
        if result.outcome == FINAL:
            records.append(self._failed(job, attempt, "final_failure", result.error_class))
        elif result.outcome == RETRYABLE and retry_in is None:
            records.append(self._failed(job, attempt, "attempts_exhausted", result.error_class))
        self._append(stream, records, history)
        if retry_in is not None:
            self.queue.send([job], delay_seconds=retry_in)
        return DeliveryReport(result.outcome, attempt, result.status_code)

    def _retry_delay(self, result: AttemptResult, attempt: int) -> int | None:
        if result.outcome != RETRYABLE or attempt > len(self.retry_schedule_seconds):
            return None
        return self.retry_schedule_seconds[attempt - 1]

    def _append(
        self, stream: StreamId, records: list[NewEvent], history: list[RecordedEvent]
    ) -> None:
        # Other deliveries of the same submission append to the same stream: on a
        # version clash, re-read the head and append after it.
        version = history[-1].version
        for _ in range(_APPEND_TRIES):
            try:
                self.events.append(stream, records, expected_version=version)
                return
            except ConcurrencyError:
                version = self.events.version(stream)
        self.events.append(stream, records, expected_version=version)

    @staticmethod
    def _attempted(
        job: DeliveryJob, attempt: int, started_at: str, result: AttemptResult, retry_in: int | None
    ) -> NewEvent:
        return NewEvent(
            type=DELIVERY_ATTEMPTED,
            correlation_id=job.correlation_id,
            data={
                "destination_id": job.destination_id,
                "delivery_id": job.delivery_id,
                "attempt": attempt,
                "started_at": started_at,
                "duration_ms": result.duration_ms,
                "outcome": result.outcome,
                "status_code": result.status_code,
                "error_class": result.error_class,
                "response_excerpt": result.response_excerpt,
                "next_attempt_in_seconds": retry_in,
            },
        )

    @staticmethod
    def _failed(job: DeliveryJob, attempts: int, reason: str, last_error: str | None) -> NewEvent:
        return NewEvent(
            type=DELIVERY_FAILED,
            correlation_id=job.correlation_id,
            data={
                "destination_id": job.destination_id,
                "delivery_id": job.delivery_id,
                "attempts": attempts,
                "reason": reason,
                "last_error": last_error,
            },
        )


def _attempts(history: list[RecordedEvent], delivery_id: str) -> int:
    return sum(
        1
        for e in history
        if e.type == DELIVERY_ATTEMPTED and e.data.get("delivery_id") == delivery_id
    )


def _ended(history: list[RecordedEvent], delivery_id: str) -> str | None:
    for event in history:
        if event.data.get("delivery_id") != delivery_id:
            continue
        if event.type == DELIVERY_FAILED:
            return "failed"
        if event.type == DELIVERY_ATTEMPTED and event.data.get("outcome") == SUCCEEDED:
            return "delivered"
    return None
