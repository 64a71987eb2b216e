"""The scheduled reconciler run, through its real handler on moto (the template's tables
and queues): every tenant in the directory is reconciled, the repairs are counted on the
`ReconcilerRepairs` metric by kind (never by tenant), and a parked batch is drained."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from formrelay.composition import services
from formrelay.domain.events import StreamId
from formrelay.reconciliation.report import KINDS
from tests.support.events import received
from tests.support.http_events import Context
from tests.support.template_aws import TemplateAws, template_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        ref = provisioned.resources
        monkeypatch.setenv("EVENTS_TABLE", provisioned.events_table)
        monkeypatch.setenv("VIEWS_TABLE", provisioned.views_table)
        monkeypatch.setenv("DELIVERY_QUEUE_URL", ref["DeliveryQueue"]["Ref"])
        for variable, queue in (
            ("STATUS_VIEW_FAILURE_QUEUE_URL", "StatusViewFailureQueue"),
            ("DISPATCHER_FAILURE_QUEUE_URL", "DispatcherFailureQueue"),
            ("PUBLISHER_FAILURE_QUEUE_URL", "PublisherFailureQueue"),
        ):
            monkeypatch.setenv(variable, ref[queue]["Ref"])
        monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "formrelay")
        services.cache_clear()
        yield provisioned
        services.cache_clear()


def _metrics(printed: str) -> dict[str, dict[str, Any]]:
    """The EMF documents printed, by their `kind` dimension."""
    found = {}
    for line in printed.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            found[document["kind"]] = document
    return found


def test_the_scheduled_run_repairs_every_tenant_and_counts_repairs_by_kind(
    aws: TemplateAws, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.reconciler import handler

    # Given two tenants, one with a submission long ago whose projections never ran
    lost, quiet = f"l{uuid.uuid4().hex[:8]}", f"q{uuid.uuid4().hex[:8]}"
    operator = aws.seed_tenant(lost)
    aws.seed_tenant(quiet)
    submission_id = f"sub_{uuid.uuid4().hex}"
    operator.events.append(
        StreamId(lost, submission_id), [received("2026-01-01T00:00:00.000000Z")], 0
    )
    capsys.readouterr()

    # When the schedule invokes the function
    answer = handler(
        {"detail-type": "Scheduled Event", "source": "aws.events"},
        Context(function_name="formrelay-ReconcilerFunction"),
    )

    # Then the lost submission's view is written and its job queued; the quiet tenant has none
    assert answer["counts"] == {
        "view_behind": 1,
        "undispatched": 1,
        "retry_resumed": 0,
        "parked_record": 0,
    }
    assert {r["tenant_id"] for r in answer["repairs"]} == {lost}
    sqs = boto3.client("sqs", region_name="us-east-1")
    [message] = sqs.receive_message(QueueUrl=aws.resources["DeliveryQueue"]["Ref"])["Messages"]
    assert json.loads(message["Body"])["submission_id"] == submission_id
    # and the repairs are counted by kind, with no tenant among the dimensions
    documents = _metrics(capsys.readouterr().out)
    assert sorted(documents) == sorted(KINDS)
    for kind, document in documents.items():
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "formrelay"
        assert sorted(directive["Dimensions"][0]) == ["kind", "service"]
        assert directive["Metrics"][0]["Name"] == "ReconcilerRepairs"
        assert document["ReconcilerRepairs"] == [answer["counts"][kind]]
        assert lost not in json.dumps(document) and "tenant_id" not in document
    # and the run is on record for the tenant it repaired
    assert [run["counts"] for run in services().reconciler.state.runs(lost)] == [
        {"view_behind": 1, "undispatched": 1}
    ]
    assert services().reconciler.state.runs(quiet) == []
