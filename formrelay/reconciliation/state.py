"""The reconciler's own records per tenant: a checkpoint, and what each run repaired.

The checkpoint is the time up to which the tenant's events were compared with their
views: the next run reads the tenant's events from there on (`EventStore.tenant_events`),
so no run reads more than what happened since the last. It never moves back (two runs
at once leave the later one). Each run that repaired something for the tenant keeps
one record of it (counts and ids), for operators and auditors; the ledger stream is
left to anchors, whose chain an operator's repair notes should not lengthen.
Back ends: `reconciliation/dynamodb.py` (items in the Views table) and
`reconciliation/memory.py` (the fake); both pass
tests/integration/test_reconcile_state_contract.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from formrelay.reconciliation.report import Repair

# A run's record keeps at most this many repairs by id (its counts keep them all).
MAX_RECORDED_REPAIRS = 100
# Run records expire after this long (read with their expiry, never left to TTL alone).
RUN_RECORD_DAYS = 90


class ReconcileState(ABC):
    """Checkpoints and run records, per tenant."""

    def checkpoint(self, tenant_id: str) -> str | None:
        """The time up to which the tenant's views were checked (None: never)."""
        return self._read_checkpoint(tenant_id)

    def advance(self, tenant_id: str, until: str) -> None:
        """Move the checkpoint to `until`, unless it is there or later already."""
        self._write_checkpoint_if_later(tenant_id, until)

    def record(self, tenant_id: str, started_at: str, repairs: Sequence[Repair]) -> None:
        """Keep what one run repaired for the tenant (nothing kept when nothing repaired)."""
        if not repairs:
            return
        counts: dict[str, int] = {}
        for repair in repairs:
            counts[repair.kind] = counts.get(repair.kind, 0) + 1
        self._write_run(
            tenant_id,
            started_at,
            {
                "started_at": started_at,
                "counts": counts,
                "repairs": [r.as_dict() for r in repairs[:MAX_RECORDED_REPAIRS]],
                "truncated": len(repairs) > MAX_RECORDED_REPAIRS,
            },
        )

    def runs(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's run records, oldest first."""
        return self._read_runs(tenant_id)

    @abstractmethod
    def _read_checkpoint(self, tenant_id: str) -> str | None:
        """The stored checkpoint, if any."""

    @abstractmethod
    def _write_checkpoint_if_later(self, tenant_id: str, until: str) -> None:
        """Store `until` unless the stored checkpoint is later (text order is time order)."""

    @abstractmethod
    def _write_run(self, tenant_id: str, started_at: str, record: dict[str, Any]) -> None:
        """Store one run's record (the same run written twice keeps one)."""

    @abstractmethod
    def _read_runs(self, tenant_id: str) -> list[dict[str, Any]]:
        """Every stored run record of the tenant, oldest first."""
