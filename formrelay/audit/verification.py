"""Verify one stream: recompute its hash chain and name the first bad link.

The chain alone shows an event altered, inserted, removed or moved in the middle of a
stream, but not a tail cut off or a whole stream deleted (what is left still links).
The anchored head covers those: a stream shorter than the version an anchor took in
was truncated, one whose event at that version has another hash was rewritten, one
with no events at all although anchored was deleted. Events after the anchored
version are covered by their chain only, until the next anchor takes them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from formrelay.audit.heads import AnchoredHead
from formrelay.domain.errors import StreamNotFoundError
from formrelay.domain.events import RecordedEvent, StreamId
from formrelay.domain.hashing import GENESIS_HASH, chain_hash

STREAM_DELETED = "stream deleted"


@dataclass(frozen=True)
class BadLink:
    """The first version of a stream that fails verification, and why."""

    version: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The finding as the API shows it."""
        return {"version": self.version, "reason": self.reason}


@dataclass(frozen=True)
class StreamVerdict:
    """Whether a stream verified, its first bad link if not, and its anchored head."""

    verified: bool
    first_bad: BadLink | None
    anchored: AnchoredHead | None
    # How many events the stream holds as read (what was checked).
    events: int

    @property
    def covers_head(self) -> bool:
        """True when the anchored head is the stream's verified last event."""
        return self.verified and self.anchored is not None and self.anchored.version == self.events

    def to_dict(self) -> dict[str, Any]:
        """The verdict as the API shows it."""
        anchored = None
        if self.anchored is not None:
            anchored = {
                "anchor_id": self.anchored.anchor_id,
                "version": self.anchored.version,
                "hash": self.anchored.hash,
                "leaf_index": self.anchored.leaf_index,
                "covers_head": self.covers_head,
            }
        return {
            "verified": self.verified,
            "first_bad": None if self.first_bad is None else self.first_bad.to_dict(),
            "anchored": anchored,
            "events": self.events,
        }


def verify_stream(
    events: Sequence[RecordedEvent],
    *,
    anchored: AnchoredHead | None,
    stream: StreamId | None = None,
) -> StreamVerdict:
    """Recompute the chain of a stream's events (as stored, in key order) and check them
    against the stream's anchored head; stream, when given, is whose events these must be.

    Raises StreamNotFoundError when there are no events and no anchor ever took the
    stream in: there is nothing that was, or should be, there.
    """
    if not events and anchored is None:
        raise StreamNotFoundError("no events and no anchored head: nothing to verify")
    findings = [_first_bad_link(events, stream)]
    if anchored is not None:
        findings.append(_against_anchor(events, anchored))
    # The first bad link is the lowest version either check names.
    found = min((f for f in findings if f is not None), key=lambda f: f.version, default=None)
    return StreamVerdict(
        verified=found is None, first_bad=found, anchored=anchored, events=len(events)
    )


def _first_bad_link(events: Sequence[RecordedEvent], stream: StreamId | None) -> BadLink | None:
    owner = stream if stream is not None else (events[0].stream if events else None)
    prev_hash = GENESIS_HASH
    for expected, event in enumerate(events, start=1):
        if event.version != expected:
            return _misplaced(events, expected, event.version)
        if event.stream != owner:
            return BadLink(expected, "the event belongs to another stream")
        if chain_hash(event.prev_hash, event.body()) != event.hash:
            return BadLink(expected, "altered: the event's hash does not match its body")
        if event.prev_hash != prev_hash:
            return BadLink(
                expected,
                "does not link: its prev_hash is not the hash of version "
                f"{expected - 1} (an event inserted or removed before it)"
                if expected > 1
                else "does not link: the first event does not start from the genesis hash",
            )
        prev_hash = event.hash
    return None


def _misplaced(events: Sequence[RecordedEvent], expected: int, found: int) -> BadLink:
    later = {event.version for event in events[expected:]}
    if expected in later:
        return BadLink(expected, f"reordered: version {found} stands where {expected} belongs")
    if found > expected:
        return BadLink(expected, f"missing: the stream goes from version {expected - 1} to {found}")
    return BadLink(expected, f"out of order: version {found} appears again after {expected - 1}")


def _against_anchor(events: Sequence[RecordedEvent], anchored: AnchoredHead) -> BadLink | None:
    if not events:
        return BadLink(1, STREAM_DELETED)
    if len(events) < anchored.version:
        return BadLink(
            len(events) + 1,
            f"truncated: the stream ends at version {len(events)}, "
            f"anchor {anchored.anchor_id} took it in at version {anchored.version}",
        )
    if events[anchored.version - 1].hash != anchored.hash:
        return BadLink(
            anchored.version,
            f"rewritten: the hash of version {anchored.version} is not the one "
            f"anchor {anchored.anchor_id} took in",
        )
    return None
