"""One contract for the reconciler's records, run on the memory fake and on moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from formrelay.reconciliation.dynamodb import DynamoDBReconcileState
from formrelay.reconciliation.memory import InMemoryReconcileState
from formrelay.reconciliation.report import UNDISPATCHED, VIEW_BEHIND, Repair
from formrelay.reconciliation.state import MAX_RECORDED_REPAIRS, ReconcileState
from tests.support.template_aws import template_aws


@pytest.fixture(params=["memory", "dynamodb"])
def state(request: pytest.FixtureRequest) -> Iterator[ReconcileState]:
    if request.param == "memory":
        yield InMemoryReconcileState()
        return
    with template_aws() as aws:
        yield DynamoDBReconcileState(aws.views_table, aws.dynamodb)


def test_a_tenant_never_reconciled_has_no_checkpoint(state: ReconcileState) -> None:
    assert state.checkpoint("acme") is None


def test_the_checkpoint_moves_forward_only_and_per_tenant(state: ReconcileState) -> None:
    state.advance("acme", "2026-12-01T10:00:00.000000Z")
    state.advance("acme", "2026-12-01T09:00:00.000000Z")  # a slower run, finishing late
    assert state.checkpoint("acme") == "2026-12-01T10:00:00.000000Z"
    state.advance("acme", "2026-12-01T11:00:00.000000Z")
    assert state.checkpoint("acme") == "2026-12-01T11:00:00.000000Z"
    assert state.checkpoint("globex") is None


def test_a_run_with_repairs_is_recorded_for_its_tenant_only(state: ReconcileState) -> None:
    repairs = [
        Repair(VIEW_BEHIND, "acme", "sub_1", "to version 3"),
        Repair(UNDISPATCHED, "acme", "sub_2", "crm"),
        Repair(UNDISPATCHED, "acme", "sub_3", "crm"),
    ]
    state.record("acme", "2026-12-01T10:00:00.000000Z", repairs)
    state.record("acme", "2026-12-01T10:05:00.000000Z", [])  # nothing repaired: no record
    state.record("acme", "2026-12-01T10:10:00.000000Z", repairs[:1])

    runs = state.runs("acme")
    assert [r["started_at"] for r in runs] == [
        "2026-12-01T10:00:00.000000Z",
        "2026-12-01T10:10:00.000000Z",
    ]
    assert runs[0]["counts"] == {VIEW_BEHIND: 1, UNDISPATCHED: 2}
    assert runs[0]["repairs"][1] == repairs[1].as_dict() and runs[0]["truncated"] is False
    assert state.runs("globex") == []


def test_a_large_run_keeps_its_counts_and_the_first_ids(state: ReconcileState) -> None:
    many = [Repair(VIEW_BEHIND, "acme", f"sub_{n}") for n in range(MAX_RECORDED_REPAIRS + 5)]
    state.record("acme", "2026-12-01T10:00:00.000000Z", many)
    [run] = state.runs("acme")
    assert run["counts"] == {VIEW_BEHIND: MAX_RECORDED_REPAIRS + 5}
    assert len(run["repairs"]) == MAX_RECORDED_REPAIRS and run["truncated"] is True
