"""The connector's use case: one attempt at one delivery, and its record.

The stream is the source of truth: how many attempts were made, and whether
the delivery already ended, are read from it (under a lease) before each
attempt. So a duplicated job finds the delivery finished or in flight and
does nothing, and no delivery ever gets two successes on record.

Two callers: the queue (first attempt of a round: cheap) and the retry
workflow (every later attempt, after a wait on the destination's schedule).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx

from formrelay.delivery.destination_secrets import DestinationSecrets
from formrelay.delivery.destinations import DestinationDirectory
from formrelay.delivery.jobs import DeliveryJob
from formrelay.delivery.leases import DeliveryBusyError, DeliveryLeases
from formrelay.delivery.mapping import map_body
from formrelay.delivery.outcomes import FINAL, RETRYABLE, SUCCEEDED, AttemptResult
from formrelay.delivery.progress import DeliveryProgress, progress
from formrelay.delivery.ssrf import DestinationRefusedError, destination_origin
from formrelay.delivery.webhook import build_request, default_body, encode_body, send
from formrelay.delivery.workflow import RetryWorkflow
from formrelay.domain.clock import Clock, SystemClock, rfc3339
from formrelay.domain.destinations import Destination
from formrelay.domain.errors import ConcurrencyError
from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    DELIVERY_DEAD_LETTERED,
    DELIVERY_FAILED,
    DESTINATION_DISABLED,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from formrelay.store.port import EventStore

_APPEND_TRIES = 25
_APPEND_BACKOFF_SECONDS = 0.02
_LEASE_MARGIN_SECONDS = 30
_JITTER = 0.1


# How a delivery ended, when handling a job ended it (DeliveryReport.ended).
ENDED_SUCCEEDED = "succeeded"
ENDED_FAILED = "failed"
ENDED_DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class DeliveryReport:
    """What handling one job did: for the log, the metrics, and the retry workflow."""

    outcome: str
    attempt: int
    status_code: int | None = None
    next_attempt_at: str | None = None
    attempt_in_round: int = 0
    round: int = 1
    # The ending this job put on record (ENDED_*), None if the delivery goes on or had
    # ended before; how long the HTTP attempt took, None if no request was sent; whether
    # this job handed the delivery to the retry workflow.
    ended: str | None = None
    duration_ms: int | None = None
    workflow_started: bool = False


@dataclass
class Connector:
    """Delivers jobs, records every attempt, and schedules retries."""

    events: EventStore
    destinations: DestinationDirectory
    secrets: DestinationSecrets
    leases: DeliveryLeases
    workflow: RetryWorkflow
    # Built by formrelay.delivery.pinning.pinned_client: it resolves each destination
    # once, checks every address against allowed_destinations, and connects to it.
    http: httpx.Client
    allowed_destinations: frozenset[str] = frozenset()
    time_scale: float = 1.0
    # Time (timestamps, waits, backoff) and chance (jitter) come in from outside, so
    # that a test can hold them still and replay a delivery exactly.
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.Random)

    def first_attempt(self, job: DeliveryJob) -> DeliveryReport:
        """The queue's job: attempt once, and hand a retryable failure to the workflow."""
        report = self._attempt_once(job, expected_attempt=1)
        # Only the round's first attempt hands over to the workflow (again, if the start
        # was lost: same name, same execution). A late copy of the message that finds
        # later attempts on record must not start a second execution beside theirs.
        if report.next_attempt_at is not None and report.attempt_in_round == 1:
            self.workflow.start(
                workflow_state(job, report),
                delivery_id=job.delivery_id,
                round_=report.round,
                attempt=report.attempt_in_round + 1,
            )
            return replace(report, workflow_started=True)
        return report

    def retry_attempt(self, job: DeliveryJob, attempt: int) -> DeliveryReport:
        """The workflow's task: in-round attempt `attempt`, made once however often asked."""
        return self._attempt_once(job, expected_attempt=attempt)

    def resume(self, job: DeliveryJob, attempt: int) -> DeliveryReport:
        """A retry whose execution was lost: in-round attempt `attempt`, made now (once,
        however often asked), and a further wait handed to a new execution, named by the
        attempt after the last on record (a name no earlier execution of it took)."""
        report = self.retry_attempt(job, attempt)
        if report.next_attempt_at is not None and report.attempt_in_round >= attempt:
            self.workflow.start(
                workflow_state(job, report),
                delivery_id=job.delivery_id,
                round_=report.round,
                attempt=report.attempt_in_round + 1,
            )
        return report

    def give_up(self, job: DeliveryJob, crash: str) -> DeliveryReport:
        """The workflow's last resort when its attempts kept crashing: dead-letter the
        delivery on record (visible, and redeliverable) unless it has ended already."""
        token = self.leases.acquire(job.tenant_id, job.delivery_id, _LEASE_MARGIN_SECONDS)
        try:
            stream = StreamId(job.tenant_id, job.submission_id)
            history = self.events.read(stream)
            state = progress(history, job.delivery_id)
            if state.ended is not None:
                return DeliveryReport(f"already_{state.ended}", state.attempts_total)
            last_error = f"attempt crashed: {crash}"[:200]
            dead = _dead_lettered(
                job, max(1, state.attempts_total), last_error, self.clock.timestamp()
            )
            self._append(stream, job, [dead], history)
            return DeliveryReport(
                "dead_lettered", state.attempts_total, round=state.round, ended=ENDED_DEAD_LETTERED
            )
        finally:
            self.leases.release(job.tenant_id, job.delivery_id, token)

    def _attempt_once(self, job: DeliveryJob, expected_attempt: int) -> DeliveryReport:
        destination = self.destinations.get(job.tenant_id, job.form_id, job.destination_id)
        lease_seconds = _LEASE_MARGIN_SECONDS + (
            destination.timeout_seconds + destination.connect_timeout_seconds if destination else 0
        )
        token = self.leases.acquire(job.tenant_id, job.delivery_id, lease_seconds)
        try:
            history = self.events.read(StreamId(job.tenant_id, job.submission_id))
            state = progress(history, job.delivery_id)
            if state.ended is not None:
                return DeliveryReport(f"already_{state.ended}", state.attempts_total)
            if state.attempts_in_round >= expected_attempt:
                # This attempt is on record already (a repeated job or task): report it again.
                last = state.last_attempt or {}
                return DeliveryReport(
                    "already_attempted",
                    int(last.get("attempt", state.attempts_total)),
                    last.get("status_code"),
                    last.get("next_attempt_at"),
                    attempt_in_round=state.attempts_in_round,
                    round=state.round,
                )
            return self._attempt(job, destination, history, state)
        finally:
            self.leases.release(job.tenant_id, job.delivery_id, token)

    def _attempt(
        self,
        job: DeliveryJob,
        destination: Destination | None,
        history: list[RecordedEvent],
        state: DeliveryProgress,
    ) -> DeliveryReport:
        stream = StreamId(job.tenant_id, job.submission_id)
        if destination is None or not destination.enabled:
            reason = "destination_missing" if destination is None else "destination_disabled"
            failed = _failed(job, state.attempts_total, reason, None, self.clock.timestamp())
            self._append(stream, job, [failed], history)
            return DeliveryReport(reason, state.attempts_total, ended=ENDED_FAILED)
        attempt = state.attempts_total + 1
        started_at = self.clock.timestamp()
        result = self._send(job, destination, history[0])
        next_at, records = self._decide(job, destination, state, attempt, started_at, result)
        self._append(stream, job, records, history)
        if result.gone:
            self.destinations.disable(
                job.tenant_id, job.form_id, job.destination_id, "gone (HTTP 410)"
            )
        return DeliveryReport(
            result.outcome,
            attempt,
            result.status_code,
            next_at,
            attempt_in_round=state.attempts_in_round + 1,
            round=state.round,
            ended=_ending(result, next_at),
            duration_ms=None if result.error_class == _REFUSED else result.duration_ms,
        )

    def _send(
        self, job: DeliveryJob, destination: Destination, received: RecordedEvent
    ) -> AttemptResult:
        credentials = self.secrets.credentials(job.tenant_id, job.form_id, job.destination_id)
        meta = {
            "submission_id": job.submission_id,
            "form_id": job.form_id,
            "received_at": received.occurred_at,
            "tenant_id": job.tenant_id,
        }
        payload = received.data["payload"]
        document = (
            default_body(payload, meta)
            if destination.mapping is None
            else map_body(destination.mapping, payload, meta)
        )
        try:
            destination_origin(destination.url)
        except DestinationRefusedError:
            return _refused()
        request = build_request(
            destination,
            delivery_id=job.delivery_id,
            body=encode_body(document),
            signing_secrets=credentials.signing_secrets,
            auth=credentials.auth,
            timestamp=int(self.clock.unix()),
        )
        try:
            return send(
                self.http,
                request,
                read_timeout=destination.timeout_seconds,
                connect_timeout=destination.connect_timeout_seconds,
                redact=[*credentials.signing_secrets, *credentials.auth.values()],
            )
        except DestinationRefusedError:
            # The client's resolution found a non-public address (or none): nothing was sent.
            return _refused()

    def _decide(
        self,
        job: DeliveryJob,
        destination: Destination,
        state: DeliveryProgress,
        attempt: int,
        started_at: str,
        result: AttemptResult,
    ) -> tuple[str | None, list[NewEvent]]:
        next_at = None
        if result.outcome == RETRYABLE:
            next_at = self._next_attempt_at(destination, state.attempts_in_round + 1, result)
        now = self.clock.timestamp()
        attempted = _attempted(job, state.round, attempt, started_at, result, next_at, now)
        records = [attempted]
        if result.outcome == FINAL:
            records.append(_failed(job, attempt, "final_failure", result.error_class, now))
            if result.gone:
                records.append(_disabled(job, result, now))
        elif result.outcome == RETRYABLE and next_at is None:
            records.append(_dead_lettered(job, attempt, result.error_class, now))
        return next_at, records

    def _next_attempt_at(
        self, destination: Destination, attempt_in_round: int, result: AttemptResult
    ) -> str | None:
        schedule = destination.retry_schedule_seconds
        if attempt_in_round > len(schedule):
            return None
        delay = schedule[attempt_in_round - 1] * self.rng.uniform(1 - _JITTER, 1 + _JITTER)
        if result.retry_after_seconds is not None:
            delay = max(delay, float(result.retry_after_seconds))
        due = self.clock.now() + timedelta(seconds=delay * self.time_scale)
        return rfc3339(due, "milliseconds")

    def _append(
        self,
        stream: StreamId,
        job: DeliveryJob,
        records: list[NewEvent],
        history: list[RecordedEvent],
    ) -> None:
        # Other deliveries of the same submission append to the same stream: on
        # a clash, re-read, and append after the new head unless this delivery
        # ended meanwhile (then ours would be a second ending).
        known = history
        for _ in range(_APPEND_TRIES):
            try:
                # The stream as just read: the append need not read it again.
                self.events.append(stream, records, expected_version=len(known), known=known)
                return
            except ConcurrencyError:
                # Every destination of a submission appends to its stream: back off a
                # little, at random, so the writers stop colliding.
                self.clock.sleep(self.rng.uniform(0, _APPEND_BACKOFF_SECONDS))
                latest = self.events.read(stream)
                if progress(latest, job.delivery_id).ended is not None:
                    return
                known = latest
        raise DeliveryBusyError(f"stream {stream.submission_id} stayed too busy to append")


def _ending(result: AttemptResult, next_at: str | None) -> str | None:
    """The ending an attempt's records put on the delivery (as _decide writes them)."""
    if result.outcome == SUCCEEDED:
        return ENDED_SUCCEEDED
    if result.outcome == FINAL:
        return ENDED_FAILED
    if result.outcome == RETRYABLE and next_at is None:
        return ENDED_DEAD_LETTERED
    return None


_REFUSED = "destination_refused"  # the address was not one we send to: no request went out


def _refused() -> AttemptResult:
    return AttemptResult(FINAL, None, _REFUSED, None, 0)


def _attempted(
    job: DeliveryJob,
    round_: int,
    attempt: int,
    started_at: str,
    result: AttemptResult,
    next_at: str | None,
    at: str,
) -> NewEvent:
    return NewEvent(
        type=DELIVERY_ATTEMPTED,
        correlation_id=job.correlation_id,
        occurred_at=at,
        data={
            "destination_id": job.destination_id,
            "delivery_id": job.delivery_id,
            "round": round_,
            "attempt": attempt,
            "started_at": started_at,
            "duration_ms": result.duration_ms,
            "outcome": result.outcome,
            "status_code": result.status_code,
            "error_class": result.error_class,
            "response_excerpt": result.response_excerpt,
            "retry_after_seconds": result.retry_after_seconds,
            "next_attempt_at": next_at,
        },
    )


def _failed(
    job: DeliveryJob, attempts: int, reason: str, last_error: str | None, at: str
) -> NewEvent:
    return NewEvent(
        type=DELIVERY_FAILED,
        correlation_id=job.correlation_id,
        occurred_at=at,
        data={
            "destination_id": job.destination_id,
            "delivery_id": job.delivery_id,
            "attempts": attempts,
            "reason": reason,
            "last_error": last_error,
        },
    )


def _dead_lettered(job: DeliveryJob, attempts: int, last_error: str | None, at: str) -> NewEvent:
    return NewEvent(
        type=DELIVERY_DEAD_LETTERED,
        correlation_id=job.correlation_id,
        occurred_at=at,
        data={
            "destination_id": job.destination_id,
            "delivery_id": job.delivery_id,
            "attempts": attempts,
            "last_error": last_error,
        },
    )


def _disabled(job: DeliveryJob, result: AttemptResult, at: str) -> NewEvent:
    return NewEvent(
        type=DESTINATION_DISABLED,
        correlation_id=job.correlation_id,
        occurred_at=at,
        data={
            "destination_id": job.destination_id,
            "form_id": job.form_id,
            "reason": "gone",
            "status_code": result.status_code or 410,
        },
    )


def workflow_state(job: DeliveryJob, report: DeliveryReport) -> dict[str, Any]:
    """The retry workflow's state after an attempt: wait until next_attempt_at, if any."""
    return {
        "job": job.to_dict(),
        "attempt": report.attempt_in_round + 1,
        "next_attempt_at": report.next_attempt_at,
        "outcome": report.outcome,
    }
