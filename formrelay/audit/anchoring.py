"""Taking an anchor: the heads of a tenant's streams that changed, summed in one Merkle root.

Each anchor covers a window of the tenant's events (from the tenant index, in
time order): the window starts a little before the previous anchor's end
(`OVERLAP`: an event may be recorded with a time slightly before a slower
writer's), and ends a little before now (`SETTLE`: the index lags appends).
Every stream with an event in the window gets its head in the tree (unless
the previous anchor holds that very head), the tenant's ledger stream among
them, so each anchor also takes in the ledger event of the one before it. A
window in which only the ledger changed takes no anchor.

Order of writes, each step safe to repeat: the anchor object first (write-once
storage: the record that counts), then the streams' anchored heads, then the
`audit.anchored` event in the ledger. A run that finds an object the ledger
does not know yet finishes that anchor instead of taking a new one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from formrelay.audit.anchor_store import AnchorStore
from formrelay.audit.anchors import Anchor, StreamHead
from formrelay.audit.errors import AnchorConflictError
from formrelay.audit.heads import AnchoredHead, AnchoredHeads
from formrelay.domain.clock import Clock, normalized_time, rfc3339
from formrelay.domain.events import AUDIT_ANCHORED, LEDGER_STREAM, NewEvent, StreamId
from formrelay.store.port import EventStore

OVERLAP = timedelta(seconds=60)
SETTLE = timedelta(seconds=5)
_EARLIEST = "0000-01-01T00:00:00.000000Z"


@dataclass(frozen=True)
class Anchoring:
    """What taking an anchor needs: the events, where anchors go, and the time."""

    events: EventStore
    anchors: AnchorStore
    heads: AnchoredHeads
    clock: Clock
    overlap: timedelta = OVERLAP
    settle: timedelta = SETTLE

    def take(self, tenant_id: str) -> Anchor | None:
        """Anchor the tenant's changed streams; the anchor, or None when nothing changed."""
        ledger = StreamId(tenant_id, LEDGER_STREAM)
        recorded = self.events.read(ledger) if self.events.version(ledger) else []
        anchored = [event for event in recorded if event.type == AUDIT_ANCHORED]
        last = anchored[-1].data if anchored else None
        sequence = (last["sequence"] if last else 0) + 1
        pending = self.anchors.get(tenant_id, sequence)
        if pending is not None:  # written before a run stopped: finish it
            self._record(pending, ledger, len(recorded))
            return pending
        now = self.clock.now()
        until = rfc3339(now - self.settle)
        since = _EARLIEST
        if last is not None:
            since = rfc3339(_parse(last["until"]) - self.overlap)
        heads = _latest(self._changed_heads(tenant_id, since, until))
        if last is not None:  # the overlap finds heads the last anchor took in already
            previous = self.anchors.get(tenant_id, sequence - 1)
            held = {head.submission_id: head.version for head in previous.heads} if previous else {}
            # A stream's head at or below the one the last anchor holds is no change (the
            # overlap can show a stream's earlier events alone): anchoring it would move
            # its anchored head back.
            heads = [h for h in heads if h.version > held.get(h.submission_id, 0)]
        if all(head.submission_id == LEDGER_STREAM for head in heads):
            # No submission changed: the ledger's own last event waits for one that does,
            # so a quiet tenant costs no anchor at all.
            return None
        anchor = Anchor.of(
            tenant_id,
            sequence,
            heads,
            created_at=rfc3339(now),
            since=since,
            until=until,
            previous_root=last["root"] if last else None,
        )
        try:
            self.anchors.put(anchor)
        except AnchorConflictError:
            # Another run (the schedule, or an operator's) took this sequence number a
            # moment ago: finish that anchor, which covers the same changes, instead.
            won = self.anchors.get(tenant_id, sequence)
            if won is None:
                raise
            self._record(won, ledger, len(recorded))
            return won
        self._record(anchor, ledger, len(recorded))
        return anchor

    def _changed_heads(self, tenant_id: str, since: str, until: str) -> list[StreamHead]:
        heads: list[StreamHead] = []
        position = None
        while True:
            page = self.events.tenant_events(tenant_id, since=since, until=until, after=position)
            heads.extend(
                StreamHead(event.stream.submission_id, event.version, event.hash)
                for event in page.events
            )
            if page.position is None:
                return heads
            position = page.position

    def _record(self, anchor: Anchor, ledger: StreamId, ledger_version: int) -> None:
        self.heads.record(
            anchor.tenant_id,
            [
                AnchoredHead(head.submission_id, head.version, head.hash, anchor.anchor_id, index)
                for index, head in enumerate(anchor.heads)
            ],
        )
        self.events.append(
            ledger,
            [
                NewEvent(
                    type=AUDIT_ANCHORED,
                    data={
                        "sequence": anchor.sequence,
                        "root": anchor.root,
                        "previous_root": anchor.previous_root,
                        "tree_size": len(anchor.heads),
                        "since": anchor.since,
                        "until": anchor.until,
                        "key": anchor.key,
                    },
                    correlation_id=f"anchor-{anchor.tenant_id}-{anchor.anchor_id}",
                    event_id=_anchor_event_id(anchor),
                    occurred_at=self.clock.timestamp(),
                )
            ],
            ledger_version,
        )


def _latest(heads: list[StreamHead]) -> list[StreamHead]:
    """Each stream's highest-version head among heads."""
    latest: dict[str, StreamHead] = {}
    for head in heads:
        if head.submission_id not in latest or head.version > latest[head.submission_id].version:
            latest[head.submission_id] = head
    return list(latest.values())


def _anchor_event_id(anchor: Anchor) -> str:
    """The ledger event's id, derived from the anchor, so finishing an anchor twice appends once."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"formrelay:{anchor.key}:{anchor.root}"))


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(normalized_time(text).replace("Z", "+00:00"))
