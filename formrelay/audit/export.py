"""Tenant-wide export: every event of a tenant in a time window, page by page, with its hashes.

Each event is given as a submission's history gives it (`RecordedEvent.to_dict`):
its stream (tenant and submission id), version, `prev_hash` and `hash`, so an
auditor can recompute every chain from the export alone. The tenant's ledger
stream (`_ledger`) is exported with the rest: it is an ordinary chained stream.

The next page's cursor is sealed by a CursorSigner and bound to the tenant and
the window, so an edited cursor, or one given out for another tenant or another
window, is refused (InvalidCursorError) before anything is read. When `until` is
not given, the first page fixes it at the time of that request and the cursor
carries it on, so the window does not keep growing while an export follows it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from formrelay.domain.clock import normalized_time
from formrelay.store.items import TENANT_INDEX_SHARDS
from formrelay.store.port import EventStore
from formrelay.views.cursors import CursorSigner, Position
from formrelay.views.errors import InvalidCursorError, InvalidListingQueryError

# The response header that carries the next page's cursor (absent on the last page).
NEXT_CURSOR_HEADER = "X-Fr-Next-Cursor"
NDJSON_CONTENT_TYPE = "application/x-ndjson"
# Bound into every export cursor's scope: no listing cursor can pass for one.
PURPOSE = "audit-events"
DEFAULT_LIMIT, MAX_LIMIT = 500, 1000
_PARAMETERS = frozenset({"since", "until", "limit", "cursor"})
# Numbers in ASCII only: '²'.isdigit() is true, and int('²') raises.
_LIMIT = re.compile(r"[0-9]{1,4}")
# Where the cursor keeps the window's end when the request gave none.
_UNTIL = "until"
_SHARDS = frozenset(str(shard) for shard in range(TENANT_INDEX_SHARDS))
# A shard's position: a tenant index key (`<time>#<submission id>#V#<version>`), or `~`.
_SHARD_POSITION = re.compile(r"~|[0-9]{4}[\x21-\x7e]{20,200}")


@dataclass(frozen=True)
class ExportQuery:
    """Which events to export (always within one tenant): those that occurred in [since, until)."""

    tenant_id: str
    since: str
    until: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def scope(self) -> dict[str, str | None]:
        """What a cursor of this export is bound to: the tenant and the window as requested."""
        return {
            "purpose": PURPOSE,
            "tenant_id": self.tenant_id,
            "since": self.since,
            "until": self.until,
        }


@dataclass(frozen=True)
class ExportPage:
    """A page of events as the API shows them, and the next page's cursor (None: the last)."""

    events: list[dict[str, Any]]
    next_cursor: str | None

    def ndjson(self) -> str:
        """The events as NDJSON: one compact JSON document a line, each line ending in \\n."""
        return "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in self.events)


def parse_export_query(tenant_id: str, params: Mapping[str, str]) -> ExportQuery:
    """An export query from query-string parameters; InvalidListingQueryError if malformed."""
    unknown = set(params) - _PARAMETERS
    if unknown:
        raise InvalidListingQueryError(f"unknown query parameters: {', '.join(sorted(unknown))}")
    if "since" not in params:
        raise InvalidListingQueryError("since is required (an RFC 3339 time)")
    since = _time(params["since"], "since")
    until = _time(params["until"], "until") if "until" in params else None
    if until is not None and until < since:
        raise InvalidListingQueryError("until must not be before since")
    limit_text = params.get("limit", str(DEFAULT_LIMIT))
    if not _LIMIT.fullmatch(limit_text) or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise InvalidListingQueryError(f"limit must be 1 to {MAX_LIMIT}")
    return ExportQuery(tenant_id, since, until, int(limit_text), params.get("cursor") or None)


def export_page(
    query: ExportQuery, *, events: EventStore, cursors: CursorSigner, now: str
) -> ExportPage:
    """One page of the tenant's events in the window, in time order.

    now: the current time (`domain.clock.rfc3339`), the window's end when none was given.
    A page may be shorter than the limit, even empty, and still have a next cursor.
    """
    after = _opened(cursors.open(query.cursor, query.scope()), query) if query.cursor else {}
    until = after.pop(_UNTIL, None) or query.until or now
    page = events.tenant_events(
        query.tenant_id, since=query.since, until=until, after=after or None, limit=query.limit
    )
    if page.position is None:
        next_cursor = None
    else:
        position = dict(page.position)
        if query.until is None:
            position[_UNTIL] = until
        next_cursor = cursors.seal(query.scope(), position)
    return ExportPage([event.to_dict() for event in page.events], next_cursor)


def _time(text: str, name: str) -> str:
    try:
        return normalized_time(text)
    except ValueError as exc:
        raise InvalidListingQueryError(
            f"{name} must be an RFC 3339 time such as 2026-01-31T00:00:00Z"
        ) from exc


def _opened(position: Position, query: ExportQuery) -> dict[str, str]:
    """A verified cursor's position, if it has exactly the shape this module seals."""
    shards = {name: value for name, value in position.items() if name != _UNTIL}
    if not set(shards) <= _SHARDS or not all(
        _SHARD_POSITION.fullmatch(value) for value in shards.values()
    ):
        raise InvalidCursorError()
    if _UNTIL in position:
        if query.until is not None or _normalized_or_none(position[_UNTIL]) != position[_UNTIL]:
            raise InvalidCursorError()
        shards[_UNTIL] = position[_UNTIL]
    elif query.until is None:
        raise InvalidCursorError()
    return shards


def _normalized_or_none(text: str) -> str | None:
    """The time as events record theirs, or None if it is no RFC 3339 time."""
    try:
        return normalized_time(text)
    except ValueError:
        return None
