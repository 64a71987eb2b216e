"""Rebuild: every status view recomputed from the event store, as the live projection makes it.

The tenant index (`EventStore.tenant_events`) names every stream of a tenant;
each submission's stream is then read whole (strongly consistent, its chain
verified) and folded by `views.status.fold`, and the view stored through the
same newer-version-wins write the live projection uses (`StatusViews.put`), so
its listing index attributes are rewritten with it. A view at the same version
is written again (that repairs its item); one the live projection has meanwhile
moved to a later version is left as it is, so a rebuild running beside the live
projection never puts an older view over a newer one. The ledger stream has no
status view. A stream whose chain does not verify, or that does not start with
`submission.received`, gets no view from the rebuild: it is reported by id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from formrelay.domain.errors import IntegrityError
from formrelay.domain.events import StreamId
from formrelay.store.port import EventStore
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter
from formrelay.views.status import fold

# Events a page of the walk over the tenant index.
_PAGE = 1000


class ViewWriter(Protocol):
    """Where status views are kept (StatusViews): newer-version-wins, True if written."""

    def put(self, tenant_id: str, view: dict[str, Any]) -> bool:
        """Store a view unless a newer version is stored."""
        ...


@dataclass
class RebuildReport:
    """What a rebuild of one tenant did."""

    tenant_id: str
    submissions: int = 0  # streams with a view to rebuild
    written: int = 0  # views written (the others were at a later version already)
    refused: list[str] = field(default_factory=list)  # streams no view could be made of

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "tenant_id": self.tenant_id,
            "submissions": self.submissions,
            "written": self.written,
            "refused": self.refused,
        }


def submissions_of(tenant_id: str, events: EventStore) -> Iterator[str]:
    """The id of every submission stream of the tenant, each once, in order of first event."""
    seen: set[str] = set()
    position = None
    while True:
        page = events.tenant_events(tenant_id, after=position, limit=_PAGE)
        for event in page.events:
            stream = event.stream
            if not stream.is_ledger and stream.submission_id not in seen:
                seen.add(stream.submission_id)
                yield stream.submission_id
        position = page.position
        if position is None:
            return


def rebuild_tenant(
    tenant_id: str,
    submission_ids: list[str],
    *,
    events: EventStore,
    views: ViewWriter,
    advanced: Callable[[], None] = lambda: None,
) -> RebuildReport:
    """Recompute and store the view of each submission from its stream; `advanced` after each."""
    report = RebuildReport(tenant_id)
    for submission_id in submission_ids:
        report.submissions += 1
        try:
            view = fold(events.read(StreamId(tenant_id, submission_id)))
        except (IntegrityError, ValueError):
            report.refused.append(submission_id)
        else:
            report.written += views.put(tenant_id, view)
        advanced()
    return report


class TenantIds(ViewsTableAdapter):
    """Every tenant recorded in the Views table (an operator's read: a filtered scan)."""

    def all(self) -> list[str]:
        """The ids of every tenant item, sorted."""
        found: list[str] = []
        arguments: dict[str, Any] = {
            "TableName": self.views_table,
            "FilterExpression": "sk = :tenant AND begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {
                ":tenant": {"S": vk.TENANT_SK},
                ":prefix": {"S": "T#"},
            },
            "ProjectionExpression": "tenant_id",
        }
        while True:
            answer = self.dynamodb.scan(**arguments)
            found += [item["tenant_id"]["S"] for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                return sorted(found)
            arguments["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
