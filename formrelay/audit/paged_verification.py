"""The tenant's whole record checked against its anchors, one bounded page at a time
(`GET /v1/audit/verify`): what `formrelay audit verify --tenant` finds, by the same checks
(tenant_verification.py), cut into pages a Lambda invocation can answer.

A walk has two parts, in this order:
- the **anchored heads**: every head every anchor took in (anchor by anchor, leaf by leaf),
  each stream read and checked against that head and along its chain;
- the **unanchored heads**: every stream with an event after the last anchor's window
  (from its `until` less the anchoring overlap) up to the time of the first page, whose
  head no anchor holds yet, checked along its chain only.
The first page also checks the anchors themselves against each other and against the
tenant's ledger (gaps, altered objects, broken links), as the CLI does.

What bounds a page: about `limit` stream reads, anchor objects read while walking
counted among them (a page always checks one head, and the tenant index may hand a
page up to one event a shard more than asked). The first page's anchor check reads every
anchor object and the ledger once: anchors are taken at most every five minutes and
only when a stream changed, so they grow with time, not with the number of streams.

A stream is named at most once a page (its first bad link). A stream that several
anchors took in is checked against each of them, so a client that gathers the pages
may meet it in more than one; `streams` counts the distinct streams of one page.

The next page's cursor is sealed by the CursorSigner and bound to the tenant and `since`,
like the export's: an edited cursor, another tenant's, or another walk's is refused
(InvalidCursorError) before anything is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from formrelay.audit.anchor_store import AnchorStore
from formrelay.audit.anchoring import OVERLAP
from formrelay.audit.anchors import Anchor
from formrelay.audit.errors import AnchorDocumentError
from formrelay.audit.tenant_verification import check_anchored_head, check_anchors
from formrelay.audit.verification import verify_stream
from formrelay.domain.clock import normalized_time, rfc3339
from formrelay.domain.errors import StreamNotFoundError
from formrelay.domain.events import LEDGER_STREAM, RecordedEvent, StreamId
from formrelay.store.items import TENANT_INDEX_SHARDS
from formrelay.store.port import EventStore
from formrelay.views.cursors import CursorSigner, Position
from formrelay.views.errors import InvalidCursorError, InvalidListingQueryError

# Bound into every verification cursor's scope: no listing or export cursor passes for one.
PURPOSE = "audit-verify"
DEFAULT_LIMIT, MAX_LIMIT = 100, 500
PARAMETERS = frozenset({"since", "limit", "cursor"})
_LIMIT = re.compile(r"[0-9]{1,3}")  # ASCII digits only: '²'.isdigit() is true
_EARLIEST = "0000-01-01T00:00:00.000000Z"
_NUMBER = re.compile(r"0|[1-9][0-9]{0,11}")
_SHARDS = frozenset(str(shard) for shard in range(TENANT_INDEX_SHARDS))
# A shard's position in the tenant index (see store.port.tenant_events), or `~`: done.
_SHARD_POSITION = re.compile(r"~|[0-9]{4}[\x21-\x7e]{20,200}")
# What every cursor holds besides the walk's place: the time the first page fixed as the
# walk's end, the last anchor then, and where the unanchored part of the walk starts.
_FIXED = ("until", "last", "tail_since", "tail_anchor")


@dataclass(frozen=True)
class VerifyQuery:
    """Which page of a tenant's verification: anchors taken at or after `since` (all without)."""

    tenant_id: str
    since: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def scope(self) -> dict[str, str | None]:
        """What a cursor of this walk is bound to."""
        return {"purpose": PURPOSE, "tenant_id": self.tenant_id, "since": self.since}


@dataclass
class VerifyPage:
    """What one page checked and found; the next page's cursor (None: the walk is done)."""

    tenant_id: str
    anchors: int = 0  # anchors whose heads this page started checking
    streams: int = 0  # distinct streams this page read and checked
    anchored: int = 0  # anchored heads checked against their anchor and along their chain
    unanchored: int = 0  # heads no anchor holds yet, checked along their chain only
    findings: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The page as the API answers it."""
        return {
            "tenant_id": self.tenant_id,
            "anchors": self.anchors,
            "streams": self.streams,
            "anchored": self.anchored,
            "unanchored": self.unanchored,
            "findings": self.findings,
            "next_cursor": self.next_cursor,
        }


def parse_verify_query(
    tenant_id: str, params: Mapping[str, str], *, repeated: bool = False
) -> VerifyQuery:
    """A verification query from query-string parameters; InvalidListingQueryError if
    malformed. repeated: the raw query names a parameter twice (API Gateway would have
    joined the values with a comma)."""
    if repeated:
        raise InvalidListingQueryError("a query parameter is repeated")
    unknown = set(params) - PARAMETERS
    if unknown:
        raise InvalidListingQueryError(f"unknown query parameters: {', '.join(sorted(unknown))}")
    since = None
    if "since" in params:
        try:
            since = normalized_time(params["since"])
        except ValueError as exc:
            raise InvalidListingQueryError(
                "since must be an RFC 3339 time such as 2026-01-31T00:00:00Z"
            ) from exc
    limit_text = params.get("limit", str(DEFAULT_LIMIT))
    if not _LIMIT.fullmatch(limit_text) or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise InvalidListingQueryError(f"limit must be 1 to {MAX_LIMIT}")
    if "cursor" in params and not params["cursor"]:
        raise InvalidCursorError()
    return VerifyQuery(tenant_id, since, int(limit_text), params.get("cursor"))


@dataclass(frozen=True)
class TenantVerification:
    """What verifying a tenant's record page by page needs."""

    events: EventStore
    anchors: AnchorStore
    cursors: CursorSigner

    def page(self, query: VerifyQuery, *, now: str) -> VerifyPage:
        """One page of the walk; now (`domain.clock.rfc3339`) ends the walk on its first page."""
        walk = _Walk(self, query)
        if query.cursor is None:
            walk.start(now)
        else:
            walk.resume(_opened(self.cursors.open(query.cursor, query.scope())))
        walk.run()
        return walk.finish()


class _Walk:
    """One page's walk: where it stands, what it has read, what it found."""

    def __init__(self, service: TenantVerification, query: VerifyQuery) -> None:
        self.service = service
        self.query = query
        self.page = VerifyPage(query.tenant_id)
        self.fixed: dict[str, str] = {}
        self.sequence, self.index = 1, 0  # the anchored part's place
        self.shards: dict[str, str] | None = None  # the unanchored part's place
        self.budget = query.limit
        self.streams: dict[str, list[RecordedEvent]] = {}
        self.named: set[tuple[str, str]] = set()
        self.loaded: dict[int, Anchor | None] = {}

    def start(self, now: str) -> None:
        tenant = self.query.tenant_id
        store = self.service.anchors
        objects = {
            sequence: store.raw(tenant, sequence) or b"" for sequence in store.sequences(tenant)
        }
        self.budget -= 1  # the ledger
        anchors, findings = check_anchors(tenant, objects, self._read(LEDGER_STREAM))
        for finding in findings:
            self._name(finding.kind, finding.id, None, finding.reason)
        self.loaded = {anchor.sequence: anchor for anchor in anchors}
        last = anchors[-1] if anchors else None
        since = self.query.since or _EARLIEST
        tail_since = since
        if last is not None:
            tail_since = max(since, rfc3339(_parse(last.until) - OVERLAP))
        self.fixed = {
            "until": now,
            "last": str(max(objects, default=0)),
            "tail_since": tail_since,
            "tail_anchor": str(last.sequence) if last else "0",
        }

    def resume(self, position: Position) -> None:
        self.fixed = {name: position[name] for name in _FIXED}
        if "sequence" in position:
            self.sequence, self.index = int(position["sequence"]), int(position["index"])
        else:
            self.shards = {name: position[name] for name in _SHARDS if name in position}

    def run(self) -> None:
        while self.shards is None and self.budget > 0:
            if not self._anchored_step():
                self.shards = {}
        while self.shards is not None and self.budget > 0 and not self._done():
            self._unanchored_step()

    def finish(self) -> VerifyPage:
        self.page.streams = len(self.streams)
        if self.shards is None:
            position = {**self.fixed, "sequence": str(self.sequence), "index": str(self.index)}
            self.page.next_cursor = self.service.cursors.seal(self.query.scope(), position)
        elif not self._done():
            self.page.next_cursor = self.service.cursors.seal(
                self.query.scope(), {**self.fixed, **self.shards}
            )
        return self.page

    def _done(self) -> bool:
        return self.shards is not None and all(self.shards.get(shard) == "~" for shard in _SHARDS)

    def _anchored_step(self) -> bool:
        """Check the next anchored head; False once every anchor's heads are behind."""
        if self.sequence > int(self.fixed["last"]):
            return False
        anchor = self._anchor(self.sequence)
        if anchor is None or (
            self.query.since is not None and anchor.created_at < self.query.since
        ):
            self.sequence, self.index = self.sequence + 1, 0
            return True
        if self.index >= len(anchor.heads):
            self.sequence, self.index = self.sequence + 1, 0
            return True
        if self.index == 0:
            self.page.anchors += 1
        head = anchor.heads[self.index]
        events = self._read(head.submission_id)
        self.budget -= 1
        self.page.anchored += 1
        bad = check_anchored_head(self.query.tenant_id, anchor, self.index, events)
        if bad is not None:
            self._name("stream", head.submission_id, bad.version, bad.reason)
        self.index += 1
        return True

    def _unanchored_step(self) -> None:
        """Check the streams of the next events of the window after the last anchor."""
        assert self.shards is not None
        # The index read counts too: a stream with many events in the window costs reads
        # of the index however few streams are new.
        limit, self.budget = max(1, self.budget - 1), self.budget - 1
        page = self.service.events.tenant_events(
            self.query.tenant_id,
            since=self.fixed["tail_since"],
            until=self.fixed["until"],
            after=self.shards or None,
            limit=limit,
        )
        held = self._held()
        for event in page.events:
            submission_id = event.stream.submission_id
            fresh = submission_id not in self.streams
            events = self._read(submission_id)
            if fresh:
                self.budget -= 1
            if event.version != self._first_in_window(events, event.version):
                continue  # the stream is checked where the walk meets its first such event
            if events and events[-1].version <= held.get(submission_id, 0):
                continue  # its head is the last anchor's: checked with the anchored heads
            self.page.unanchored += 1
            verdict = verify_stream(events, anchored=None, stream=event.stream)
            if verdict.first_bad is not None:
                self._name(
                    "stream", submission_id, verdict.first_bad.version, verdict.first_bad.reason
                )
        self.shards = dict(page.position) if page.position else dict.fromkeys(_SHARDS, "~")

    def _first_in_window(self, events: list[RecordedEvent], met: int) -> int:
        """The lowest version of the stream that occurred in the unanchored window (met,
        the version the walk met, when none of the stream as read did: it was changed)."""
        since, until = self.fixed["tail_since"], self.fixed["until"]
        versions = [e.version for e in events if since <= e.occurred_at < until]
        return min(versions, default=met)

    def _held(self) -> dict[str, int]:
        """The version of each stream the last anchor holds (none without an anchor)."""
        anchor = self._anchor(int(self.fixed["tail_anchor"]))
        return {} if anchor is None else {h.submission_id: h.version for h in anchor.heads}

    def _anchor(self, sequence: int) -> Anchor | None:
        """An anchor object, read once a page; None when missing, altered or not this
        tenant's (the first page names each of those)."""
        if sequence < 1:
            return None
        if sequence not in self.loaded:
            self.budget -= 1
            try:
                anchor = self.service.anchors.get(self.query.tenant_id, sequence)
            except AnchorDocumentError:
                anchor = None
            if anchor is not None and (
                anchor.tenant_id != self.query.tenant_id or anchor.sequence != sequence
            ):
                anchor = None
            self.loaded[sequence] = anchor
        return self.loaded[sequence]

    def _read(self, submission_id: str) -> list[RecordedEvent]:
        if submission_id not in self.streams:
            try:
                self.streams[submission_id] = self.service.events.read(
                    StreamId(self.query.tenant_id, submission_id), verify=False
                )
            except StreamNotFoundError:
                self.streams[submission_id] = []
        return self.streams[submission_id]

    def _name(self, kind: str, id_: str, version: int | None, reason: str) -> None:
        if (kind, id_) in self.named:
            return
        self.named.add((kind, id_))
        self.page.findings.append({"kind": kind, "id": id_, "version": version, "reason": reason})


def _opened(position: Position) -> Position:
    """A verified cursor's position, if it has exactly the shape this module seals."""
    if not all(name in position for name in _FIXED):
        raise InvalidCursorError()
    if _normalized_or_none(position["until"]) != position["until"]:
        raise InvalidCursorError()
    if _normalized_or_none(position["tail_since"]) != position["tail_since"] and (
        position["tail_since"] != _EARLIEST
    ):
        raise InvalidCursorError()
    rest = set(position) - set(_FIXED)
    numbers = [position["last"], position["tail_anchor"]]
    if rest == {"sequence", "index"}:
        numbers += [position["sequence"], position["index"]]
    elif not rest <= _SHARDS or not all(_SHARD_POSITION.fullmatch(position[s]) for s in rest):
        raise InvalidCursorError()
    if not all(_NUMBER.fullmatch(number) for number in numbers):
        raise InvalidCursorError()
    return position


def _normalized_or_none(text: str) -> str | None:
    try:
        return normalized_time(text)
    except ValueError:
        return None


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(normalized_time(text).replace("Z", "+00:00"))
