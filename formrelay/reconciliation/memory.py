"""In-memory back ends of the reconciler's ports, for tests."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from formrelay.reconciliation.parked import ParkedBatch, ParkedBatches
from formrelay.reconciliation.state import ReconcileState


class InMemoryReconcileState(ReconcileState):
    """Checkpoints and run records in dicts."""

    def __init__(self) -> None:
        self._checkpoints: dict[str, str] = {}
        self._runs: dict[str, dict[str, dict[str, Any]]] = {}

    def _read_checkpoint(self, tenant_id: str) -> str | None:
        return self._checkpoints.get(tenant_id)

    def _write_checkpoint_if_later(self, tenant_id: str, until: str) -> None:
        if self._checkpoints.get(tenant_id, "") <= until:
            self._checkpoints[tenant_id] = until

    def _write_run(self, tenant_id: str, started_at: str, record: dict[str, Any]) -> None:
        self._runs.setdefault(tenant_id, {})[started_at] = copy.deepcopy(record)

    def _read_runs(self, tenant_id: str) -> list[dict[str, Any]]:
        runs = self._runs.get(tenant_id, {})
        return [copy.deepcopy(runs[k]) for k in sorted(runs)]


class InMemoryParkedBatches(ParkedBatches):
    """A failure queue of message bodies over a stream of records kept in a list."""

    def __init__(self, projection: str, stream_arn: str = "arn:stream/fake") -> None:
        super().__init__(projection)
        self.stream_arn = stream_arn
        self.messages: dict[str, str] = {}  # receipt -> body
        self.stream: list[dict[str, Any]] = []  # records, in sequence-number order
        self.trimmed = False  # the stream has let every record go
        self._next = 0

    def append_record(self, record: dict[str, Any]) -> str:
        """Put a record on the fake stream under the next sequence number; that number."""
        self._next += 1
        sequence = f"{self._next:021d}"
        self.stream.append(
            {**record, "dynamodb": {**record["dynamodb"], "SequenceNumber": sequence}}
        )
        return sequence

    def park(self, body: str) -> None:
        """Put a message on the fake failure queue."""
        self.messages[f"r{len(self.messages)}-{self._next}-{body.__hash__()}"] = body

    def _receive(self, limit: int) -> list[tuple[str, str]]:
        return list(self.messages.items())[:limit]

    def _records(self, batch: ParkedBatch) -> list[dict[str, Any]] | None:
        if self.trimmed:
            return None
        first, last = int(batch.first_sequence), int(batch.last_sequence)
        return [r for r in self.stream if first <= int(r["dynamodb"]["SequenceNumber"]) <= last]

    def _delete(self, receipt: str) -> None:
        self.messages.pop(receipt, None)


class InMemoryStatusViews:
    """Status views in a dict, written newer-version-wins, found by status and time as the
    listing index finds them (the reconciler's `ViewWriter` and `StatusReader` at once)."""

    def __init__(self) -> None:
        self.views: dict[tuple[str, str], dict[str, Any]] = {}

    def put(self, tenant_id: str, view: dict[str, Any]) -> bool:
        """Store a view unless a newer version is stored; True if written."""
        key = (tenant_id, view["submission_id"])
        stored = self.views.get(key)
        if stored is not None and stored["version"] > view["version"]:
            return False
        self.views[key] = copy.deepcopy(view)
        return True

    def in_status(
        self, tenant_id: str, status: str, *, received_before: str | None = None
    ) -> list[dict[str, Any]]:
        """The tenant's views in `status`, oldest first, received before the given time."""
        found = [
            (f"{view['received_at']}#{sid}", view)
            for (tenant, sid), view in self.views.items()
            if tenant == tenant_id and view["status"] == status
        ]
        return [
            copy.deepcopy(view)
            for sort_key, view in sorted(found, key=lambda pair: pair[0])
            if received_before is None or sort_key < received_before
        ]

    def versions(self, tenant_id: str, submission_ids: Iterable[str]) -> dict[str, int]:
        """Stored view versions by submission id (missing: no view)."""
        return {
            sid: int(self.views[(tenant_id, sid)]["version"])
            for sid in submission_ids
            if (tenant_id, sid) in self.views
        }
