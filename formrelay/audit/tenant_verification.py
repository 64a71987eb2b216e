"""Verify a tenant's whole record against its anchors: online (the Events table and the
anchors bucket) or offline (an export and the anchor objects alone), by the same code.

What is checked, each failure reported with the id it concerns:
- the anchors themselves: numbered 1, 2, 3... without a gap (a missing anchor), each
  object whole and self-consistent (an altered one), each naming the root of the one
  before it (`previous_root`), and each agreeing with its `audit.anchored` event in
  the tenant's ledger (an anchor the ledger records but the bucket lacks is missing);
- every stream head every anchor took in: the stream still has that version with that
  hash (else truncated, rewritten or deleted), and its chain verifies throughout.

Events after a stream's last anchored head are covered by their chain only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from formrelay.audit.anchors import Anchor
from formrelay.audit.errors import AnchorDocumentError
from formrelay.audit.heads import AnchoredHead
from formrelay.audit.verification import STREAM_DELETED, BadLink, verify_stream
from formrelay.domain.events import AUDIT_ANCHORED, LEDGER_STREAM, RecordedEvent, StreamId

Streams = Callable[[str], list[RecordedEvent]]  # submission id -> its events ([] if none)


@dataclass(frozen=True)
class Finding:
    """One thing that does not verify: what kind, which anchor or stream, and why."""

    kind: str  # "anchor" or "stream"
    id: str  # the anchor id, or the submission id
    reason: str

    def to_dict(self) -> dict[str, str]:
        """The finding as the CLI prints it."""
        return {"kind": self.kind, "id": self.id, "reason": self.reason}


@dataclass
class TenantVerdict:
    """What a tenant-wide verification checked, and what failed."""

    tenant_id: str
    anchors: int = 0
    streams: int = 0
    heads: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True when nothing failed."""
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        """The verdict as the CLI prints it with --json."""
        return {
            "tenant_id": self.tenant_id,
            "verified": self.verified,
            "anchors": self.anchors,
            "streams": self.streams,
            "heads": self.heads,
            "findings": [finding.to_dict() for finding in self.findings],
        }


def verify_tenant(
    tenant_id: str,
    *,
    anchor_objects: Mapping[int, bytes],
    streams: Streams,
    since: str | None = None,
) -> TenantVerdict:
    """Check the tenant's anchor objects (raw bytes by sequence number) and, for each
    anchor created at or after `since` (all without it), every head it took in."""
    verdict = TenantVerdict(tenant_id)
    cache: dict[str, list[RecordedEvent]] = {}

    def stream(submission_id: str) -> list[RecordedEvent]:
        if submission_id not in cache:
            cache[submission_id] = streams(submission_id)
        return cache[submission_id]

    anchors = _anchors(tenant_id, anchor_objects, stream(LEDGER_STREAM), verdict)
    checked: set[str] = set()
    reported: set[str] = set()  # one finding a stream: its first bad link
    for anchor in anchors:
        if since is not None and anchor.created_at < since:
            continue
        verdict.anchors += 1
        for index, head in enumerate(anchor.heads):
            verdict.heads += 1
            checked.add(head.submission_id)
            if head.submission_id in reported:
                continue
            events = stream(head.submission_id)
            bad = check_anchored_head(tenant_id, anchor, index, events)
            if bad is None:
                continue
            reason = f"version {bad.version}: {bad.reason}" if events else bad.reason
            verdict.findings.append(Finding("stream", head.submission_id, reason))
            reported.add(head.submission_id)
    verdict.streams = len(checked)
    return verdict


def check_anchored_head(
    tenant_id: str, anchor: Anchor, index: int, events: list[RecordedEvent]
) -> BadLink | None:
    """The first bad link of a stream (its events as stored) against the head that `anchor`
    took in as its leaf `index`, and along its chain; None when it verifies."""
    head = anchor.heads[index]
    if not events:
        return BadLink(
            1, f"{STREAM_DELETED}: anchor {anchor.anchor_id} took in version {head.version}"
        )
    anchored = AnchoredHead(head.submission_id, head.version, head.hash, anchor.anchor_id, index)
    return verify_stream(
        events, anchored=anchored, stream=StreamId(tenant_id, head.submission_id)
    ).first_bad


def check_anchors(
    tenant_id: str, objects: Mapping[int, bytes], ledger: Iterable[RecordedEvent]
) -> tuple[list[Anchor], list[Finding]]:
    """The tenant's readable anchors in order, and what is wrong with the anchors themselves
    (gaps, altered objects, broken links, disagreements with the ledger)."""
    verdict = TenantVerdict(tenant_id)
    return _anchors(tenant_id, objects, ledger, verdict), verdict.findings


def _anchors(
    tenant_id: str,
    objects: Mapping[int, bytes],
    ledger: Iterable[RecordedEvent],
    verdict: TenantVerdict,
) -> list[Anchor]:
    """The readable anchors in order; every gap, altered object, broken link and
    disagreement with the ledger added to the verdict."""
    recorded = {
        int(event.data["sequence"]): event.data for event in ledger if event.type == AUDIT_ANCHORED
    }
    last = max([*objects, *recorded], default=0)
    anchors: list[Anchor] = []
    previous: Anchor | None = None
    for sequence in range(1, last + 1):
        name = f"{sequence:012d}"
        raw = objects.get(sequence)
        if raw is None:
            verdict.findings.append(Finding("anchor", name, "missing: no anchor object"))
            previous = None
            continue
        try:
            anchor = Anchor.from_bytes(raw)
        except AnchorDocumentError as exc:
            verdict.findings.append(Finding("anchor", name, f"altered: {exc}"))
            previous = None
            continue
        if anchor.tenant_id != tenant_id or anchor.sequence != sequence:
            verdict.findings.append(
                Finding("anchor", name, "altered: the object is of another tenant or sequence")
            )
            previous = None
            continue
        if sequence > 1 and previous is not None and anchor.previous_root != previous.root:
            verdict.findings.append(
                Finding(
                    "anchor",
                    name,
                    f"does not link: its previous_root is not anchor {previous.anchor_id}'s root",
                )
            )
        if sequence == 1 and anchor.previous_root is not None:
            verdict.findings.append(
                Finding("anchor", name, "does not link: the first anchor names a previous root")
            )
        entry = recorded.get(sequence)
        if entry is None and sequence != last:
            verdict.findings.append(
                Finding("anchor", name, "not in the ledger: no audit.anchored event records it")
            )
        elif entry is not None and entry.get("root") != anchor.root:
            verdict.findings.append(
                Finding("anchor", name, "altered: its root is not the one the ledger recorded")
            )
        anchors.append(anchor)
        previous = anchor
    return anchors


def streams_of_export(lines: Iterable[str], tenant_id: str) -> Streams:
    """The streams of an export's NDJSON lines (every event of a tenant), by submission id;
    ValueError naming the line that is not an event of this tenant."""
    by_stream: dict[str, list[RecordedEvent]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = RecordedEvent.from_dict(json.loads(line))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"line {number} of the export is not an event: {exc}") from exc
        if event.stream.tenant_id != tenant_id:
            raise ValueError(f"line {number} of the export is an event of another tenant")
        by_stream.setdefault(event.stream.submission_id, []).append(event)
    for events in by_stream.values():
        events.sort(key=lambda event: event.version)
    return lambda submission_id: by_stream.get(submission_id, [])
