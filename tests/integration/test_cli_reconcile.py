"""`formrelay reconcile` on moto: the operator's run of the reconciler, by tenant or all,
with its grace period, as a table or JSON; its exit codes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from formrelay.cli.common import duration_seconds
from formrelay.cli.main import main
from formrelay.composition import services
from formrelay.domain.clock import SystemClock
from formrelay.domain.events import StreamId
from tests.support.events import received
from tests.support.template_aws import TemplateAws, template_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        ref = provisioned.resources
        monkeypatch.setenv("EVENTS_TABLE", provisioned.events_table)
        monkeypatch.setenv("VIEWS_TABLE", provisioned.views_table)
        monkeypatch.setenv("DELIVERY_QUEUE_URL", ref["DeliveryQueue"]["Ref"])
        monkeypatch.setenv("STATUS_VIEW_FAILURE_QUEUE_URL", ref["StatusViewFailureQueue"]["Ref"])
        monkeypatch.chdir(tmp_path)
        services.cache_clear()
        yield provisioned
        services.cache_clear()


def _lost_submission(aws: TemplateAws, tenant: str, occurred_at: str) -> str:
    """A tenant with a submission whose projections never ran."""
    operator = aws.seed_tenant(tenant)
    submission_id = f"sub_{uuid.uuid4().hex}"
    operator.events.append(StreamId(tenant, submission_id), [received(occurred_at)], 0)
    return submission_id


def test_reconcile_one_tenant_as_json(aws: TemplateAws, capsys: pytest.CaptureFixture[str]) -> None:
    acme, globex = f"a{uuid.uuid4().hex[:8]}", f"g{uuid.uuid4().hex[:8]}"
    lost = _lost_submission(aws, acme, "2026-01-01T00:00:00.000000Z")
    _lost_submission(aws, globex, "2026-01-01T00:00:00.000000Z")
    capsys.readouterr()

    assert main(["reconcile", "--tenant", acme, "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["view_behind"] == 1 and report["counts"]["undispatched"] == 1
    assert {(r["tenant_id"], r["submission_id"]) for r in report["repairs"]} == {(acme, lost)}
    assert report["errors"] == []


def test_a_just_received_submission_waits_for_its_grace_period(
    aws: TemplateAws, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = f"a{uuid.uuid4().hex[:8]}"
    lost = _lost_submission(aws, tenant, SystemClock().timestamp())
    capsys.readouterr()

    # Within the default grace period of 5 minutes: nothing to repair, and the table says so
    assert main(["reconcile", "--tenant", tenant]) == 0
    assert "nothing to repair" in capsys.readouterr().out
    # With no grace at all, the view is written and the job queued; the table lists them
    assert main(["reconcile", "--grace", "0s"]) == 0
    printed = capsys.readouterr().out
    assert "undispatched" in printed and "view_behind" in printed and lost[:12] in printed


def test_bad_input_exits_2(aws: TemplateAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reconcile", "--tenant", "not a tenant!"]) == 2
    assert "tenant id" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["reconcile", "--grace", "soon"])
    assert exited.value.code == 2


def test_without_a_stack_tables_or_local_state_it_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("EVENTS_TABLE", "VIEWS_TABLE", "FORMRELAY_STACK"):
        monkeypatch.delenv(name, raising=False)
    assert main(["reconcile", "--state-dir", str(tmp_path)]) == 2
    assert "formrelay dev --demo" in capsys.readouterr().err


def test_durations() -> None:
    assert [duration_seconds(t) for t in ("90", "90s", "5m", "1h", "0")] == [90, 90, 300, 3600, 0]
