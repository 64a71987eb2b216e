"""The reconciler: finds what failures left behind, per tenant, and repairs it idempotently.

Every repair goes through the path the pipeline itself takes, so a repair that turns out
not to be needed changes nothing: views are re-projected newer-version-wins (the status
view's own write), jobs are queued as the dispatcher queues them (the connector reads
the stream under a lease before each attempt, so a job queued twice is delivered once),
and an overdue retry is attempted by the retry workflow's own task. A run:

1. views behind their stream: the tenant's events since its checkpoint (up to the grace
   period ago), each submission's head version against its view's (never written counts
   as behind); those behind are re-projected. The checkpoint then moves on.
2. on the listing index by status (gsi1), submissions `received`, or `delivering`,
   before the grace period: a delivery that has no attempt in its round is queued again
   (`undispatched`), once, in the run whose grace period the submission first passed;
   one `retrying` whose next attempt is past by more than the overdue period lost its
   retry execution, and is attempted now (`retry_resumed`). Each is
   checked against the stream (read strongly consistent) first: a view that only
   lagged is re-projected instead.
3. the failure queues: each parked batch's records are read back (from the stream, or
   from the event store by the batch's time window when the stream let them go) and
   handled again as their projection would; the message is deleted only when every
   record of it was.

What a run repaired is recorded per tenant (`ReconcileState.record`) and returned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from formrelay.delivery.connector import Connector
from formrelay.delivery.dispatch import jobs_for
from formrelay.delivery.jobs import DeliveryQueue
from formrelay.delivery.progress import progress
from formrelay.domain.clock import Clock, SystemClock, normalized_time, rfc3339
from formrelay.domain.events import SUBMISSION_RECEIVED, RecordedEvent, StreamId
from formrelay.publishing.port import EventPublisher
from formrelay.reconciliation.parked import (
    DISPATCHER,
    PUBLISHER,
    STATUS_VIEW,
    ParkedBatch,
    ParkedBatches,
    ParkedBatchNotRepairedError,
    UnreadableParkedMessageError,
)
from formrelay.reconciliation.report import (
    PARKED_RECORD,
    RETRY_RESUMED,
    UNDISPATCHED,
    VIEW_BEHIND,
    ReconcileReport,
    Repair,
)
from formrelay.reconciliation.state import ReconcileState
from formrelay.store.port import EventStore
from formrelay.views.status import DELIVERING, PENDING, RECEIVED, RETRYING, fold

logger = logging.getLogger(__name__)

DEFAULT_GRACE_SECONDS = 300
DEFAULT_OVERDUE_SECONDS = 900
# Events a page of the walk over a tenant's events; failure-queue messages a run handles.
_PAGE = 500
_MAX_PARKED_PER_QUEUE = 200
# Stream arrival times are a little later than the events' own: widen the window by this.
_ARRIVAL_SLACK_SECONDS = 60


class StatusReader(Protocol):
    """The views a run looks at (reconciliation.dynamodb.StatusIndex)."""

    def in_status(
        self, tenant_id: str, status: str, *, received_before: str | None = None
    ) -> Iterable[dict[str, Any]]:
        """The tenant's views in one status, received before the given time."""
        ...

    def versions(self, tenant_id: str, submission_ids: Iterable[str]) -> dict[str, int]:
        """Stored view versions by submission id (missing: no view)."""
        ...


class ViewWriter(Protocol):
    """Where status views are kept (StatusViews): newer-version-wins, True if written."""

    def put(self, tenant_id: str, view: dict[str, Any]) -> bool:
        """Store a view unless a newer version is stored."""
        ...


@dataclass
class Reconciler:
    """Repairs what failed stream batches, lost executions and lost jobs left behind."""

    events: EventStore
    views: ViewWriter
    index: StatusReader
    state: ReconcileState
    queue: DeliveryQueue
    connector: Connector | None = None
    publisher: EventPublisher | None = None
    parked: Sequence[ParkedBatches] = ()
    clock: Clock = field(default_factory=SystemClock)
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    overdue_seconds: float = DEFAULT_OVERDUE_SECONDS

    def run(self, tenant_ids: Sequence[str], *, all_tenants: bool = True) -> ReconcileReport:
        """Reconcile these tenants, and the failure queues' records of theirs
        (`all_tenants`: the queues' records of every tenant, as the scheduled run does)."""
        now = self.clock.now()
        report = ReconcileReport(started_at=rfc3339(now))
        for tenant_id in tenant_ids:
            try:
                self._tenant(tenant_id, now, report)
            except Exception as exc:  # one tenant's failure must not stop the others'
                logger.exception("tenant not reconciled", extra={"tenant_id": tenant_id})
                report.errors.append(f"{tenant_id}: {type(exc).__name__}: {exc}")
        only = None if all_tenants else frozenset(tenant_ids)
        for queue in self.parked:
            self._parked(queue, tenant_ids, only, report)
        for tenant_id in sorted({r.tenant_id for r in report.repairs}):
            self.state.record(tenant_id, report.started_at, report.of_tenant(tenant_id))
        return report

    # 1. views behind their stream

    def _tenant(self, tenant_id: str, now: datetime, report: ReconcileReport) -> None:
        settled = rfc3339(now - timedelta(seconds=self.grace_seconds))
        since = self.state.checkpoint(tenant_id)
        crossed = since is None or since < settled
        if crossed:
            self._views_behind(tenant_id, since, settled, report)
            self.state.advance(tenant_id, settled)
        # Deliveries are looked for undispatched once, in the run whose grace period a
        # submission first passes: a job that waits its turn in a backlog looks the same
        # as a lost one, and queuing it again on every run would only lengthen the backlog
        # (a job lost after it was queued ends on the delivery queue's DLQ as any job does).
        self._stalled(tenant_id, now, settled, since if crossed else settled, report)

    def _views_behind(
        self, tenant_id: str, since: str | None, until: str, report: ReconcileReport
    ) -> None:
        heads: dict[str, int] = {}
        position = None
        while True:
            page = self.events.tenant_events(
                tenant_id, since=since, until=until, after=position, limit=_PAGE
            )
            for event in page.events:
                if not event.stream.is_ledger:
                    sid = event.stream.submission_id
                    heads[sid] = max(heads.get(sid, 0), event.version)
            position = page.position
            if position is None:
                break
        stored = self.index.versions(tenant_id, heads)
        for submission_id, head in sorted(heads.items()):
            if stored.get(submission_id, 0) < head:
                self._reproject(tenant_id, submission_id)
                report.add(Repair(VIEW_BEHIND, tenant_id, submission_id, f"to version {head}"))

    def _reproject(self, tenant_id: str, submission_id: str) -> list[RecordedEvent]:
        history = self.events.read(StreamId(tenant_id, submission_id))
        self.views.put(tenant_id, fold(history))
        return history

    # 2. deliveries never dispatched, and retries whose execution was lost

    def _stalled(
        self,
        tenant_id: str,
        now: datetime,
        settled: str,
        since: str | None,
        report: ReconcileReport,
    ) -> None:
        overdue = rfc3339(now - timedelta(seconds=self.overdue_seconds))
        for status in (RECEIVED, DELIVERING):
            for view in self.index.in_status(tenant_id, status, received_before=settled):
                destinations: dict[str, dict[str, Any]] = view.get("destinations", {})
                newly = since is None or not _before(view.get("received_at"), since)
                waiting = (
                    newly
                    and view.get("updated_at", "") < settled
                    and any(d["state"] in (PENDING, DELIVERING) for d in destinations.values())
                )
                late = any(
                    d["state"] == RETRYING and _before(d.get("next_attempt_at"), overdue)
                    for d in destinations.values()
                )
                if waiting or late:
                    self._repair_stalled(tenant_id, view, overdue, report, requeue=waiting)

    def _repair_stalled(
        self,
        tenant_id: str,
        view: dict[str, Any],
        overdue: str,
        report: ReconcileReport,
        *,
        requeue: bool,
    ) -> None:
        submission_id = view["submission_id"]
        history = self.events.read(StreamId(tenant_id, submission_id))
        repaired = False
        for job in jobs_for(history[0]):
            state = progress(history, job.delivery_id)
            due = (state.last_attempt or {}).get("next_attempt_at")
            if requeue and _undispatched(history, job.delivery_id):
                self.queue.send([job])
                report.add(Repair(UNDISPATCHED, tenant_id, submission_id, job.destination_id))
                repaired = True
            elif state.in_flight and self.connector is not None and _before(due, overdue):
                attempt = state.attempts_in_round + 1
                outcome = self.connector.resume(job, attempt).outcome
                detail = f"{job.destination_id}: attempt {attempt} ({outcome})"
                report.add(Repair(RETRY_RESUMED, tenant_id, submission_id, detail))
                repaired = True
        if not repaired and view.get("version", 0) < history[-1].version:
            # The stream is further on than the view said: the view only lagged.
            self.views.put(tenant_id, fold(history))
            report.add(Repair(VIEW_BEHIND, tenant_id, submission_id, "status index"))

    # 3. records parked on the failure queues

    def _parked(
        self,
        queue: ParkedBatches,
        tenant_ids: Sequence[str],
        only: frozenset[str] | None,
        report: ReconcileReport,
    ) -> None:
        # A message comes back with a new receipt each time it is received (at once, if its
        # queue's visibility timeout is short): a run handles each batch it names once.
        seen: set[tuple[str, str, str]] = set()
        while len(seen) < _MAX_PARKED_PER_QUEUE:
            fresh = 0
            for batch in queue.take(10):
                if isinstance(batch, UnreadableParkedMessageError):
                    if str(batch) not in report.errors:
                        report.errors.append(str(batch))
                    continue
                key = (batch.shard_id, batch.first_sequence, batch.last_sequence)
                if key in seen:
                    continue
                seen.add(key)
                fresh += 1
                try:
                    self._redrive(queue, batch, tenant_ids, only, report)
                except Exception as exc:  # the message stays: the next run tries again
                    logger.exception("parked batch not repaired")
                    report.errors.append(f"{queue.projection}: {type(exc).__name__}: {exc}")
            if not fresh:
                return

    def _redrive(
        self,
        queue: ParkedBatches,
        batch: ParkedBatch,
        tenant_ids: Sequence[str],
        only: frozenset[str] | None,
        report: ReconcileReport,
    ) -> None:
        events = queue.events(batch)
        if events is None:
            events = self._from_store(batch, tenant_ids)
        mine = [e for e in events if only is None or e.stream.tenant_id in only]
        if queue.projection == PUBLISHER:
            self._republish(mine)
        repaired: dict[tuple[str, str], None] = {}
        for event in mine:
            if event.stream.is_ledger:
                continue
            key = (event.stream.tenant_id, event.stream.submission_id)
            if queue.projection == STATUS_VIEW and key not in repaired:
                self._reproject(*key)
            elif queue.projection == DISPATCHER and event.type == SUBMISSION_RECEIVED:
                self._redispatch(*key)
            repaired.setdefault(key, None)
        for tenant_id, submission_id in repaired:
            report.add(Repair(PARKED_RECORD, tenant_id, submission_id, queue.projection))
        if len(mine) == len(events):
            queue.done(batch)

    def _from_store(self, batch: ParkedBatch, tenant_ids: Sequence[str]) -> list[RecordedEvent]:
        if batch.first_arrival is None or batch.last_arrival is None:
            # Without its time window the batch cannot be found again.
            raise ParkedBatchNotRepairedError(
                f"stream batch from {batch.first_sequence} is no longer on the stream"
            )
        first = datetime.fromisoformat(batch.first_arrival.replace("Z", "+00:00"))
        last = datetime.fromisoformat(batch.last_arrival.replace("Z", "+00:00"))
        since = rfc3339(first - timedelta(seconds=_ARRIVAL_SLACK_SECONDS))
        until = rfc3339(last + timedelta(seconds=1))
        found: list[RecordedEvent] = []
        for tenant_id in tenant_ids:
            position = None
            while True:
                page = self.events.tenant_events(
                    tenant_id, since=since, until=until, after=position, limit=_PAGE
                )
                found += page.events
                position = page.position
                if position is None:
                    break
        return found

    def _redispatch(self, tenant_id: str, submission_id: str) -> None:
        history = self.events.read(StreamId(tenant_id, submission_id))
        jobs = [job for job in jobs_for(history[0]) if _undispatched(history, job.delivery_id)]
        if jobs:
            self.queue.send(jobs)

    def _republish(self, events: list[RecordedEvent]) -> None:
        if self.publisher is None:
            raise ParkedBatchNotRepairedError("no event bus to publish parked events to")
        refused = self.publisher.publish(events)
        if refused:
            raise ParkedBatchNotRepairedError(f"the bus refused {len(refused)} event(s) again")


def _undispatched(history: Sequence[RecordedEvent], delivery_id: str) -> bool:
    """No attempt of the delivery in its round, and the round has not ended."""
    state = progress(history, delivery_id)
    return state.ended is None and state.attempts_in_round == 0


def _before(moment: Any, limit: str) -> bool:
    """Whether an RFC 3339 time (None: never) is before `limit` (microsecond Z form)."""
    return isinstance(moment, str) and normalized_time(moment) < limit
