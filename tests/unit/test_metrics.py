"""The functions' metrics as CloudWatch reads them: EMF lines on stdout, in the formrelay
namespace, with no dimension but the service (and a refusal's reason)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from formrelay.api.errors import ANSWERS
from formrelay.telemetry.metrics import (
    delivery_handled,
    function_metrics,
    submission_accepted,
    submission_refused,
)


@dataclass(frozen=True)
class Report:
    ended: str | None = None
    duration_ms: int | None = None
    workflow_started: bool = False


@pytest.fixture(autouse=True)
def _powertools_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "formrelay")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "formrelay")


def emf_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def metrics_of(line: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """name -> (unit, value) of one EMF line."""
    [directive] = line["_aws"]["CloudWatchMetrics"]
    return {m["Name"]: (m["Unit"], line[m["Name"]]) for m in directive["Metrics"]}


def invoke(*reports: Report) -> None:
    """One invocation of a function that handled these delivery jobs; its one EMF line."""
    metrics = function_metrics()

    @metrics.log_metrics
    def handler(event: Any, context: Any) -> None:
        for report in reports:
            delivery_handled(metrics, report)

    handler({}, None)


def test_a_delivered_attempt_counts_its_ending_and_latency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invoke(Report(ended="succeeded", duration_ms=42))
    [line] = emf_lines(capsys.readouterr().out)
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "formrelay"
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert line["service"] == "formrelay"
    assert metrics_of(line) == {
        "AttemptLatency": ("Milliseconds", [42.0]),
        "DeliveriesSucceeded": ("Count", [1.0]),
    }


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (Report(ended="failed", duration_ms=7), {"DeliveriesFailed", "AttemptLatency"}),
        (Report(ended="failed"), {"DeliveriesFailed"}),  # no destination: nothing sent
        (Report(ended="dead_lettered"), {"DeliveriesDeadLettered"}),
        (
            Report(duration_ms=3, workflow_started=True),
            {"AttemptLatency", "RetryWorkflowsStarted"},
        ),
        (Report(duration_ms=3), {"AttemptLatency"}),  # a later attempt, still retrying
    ],
)
def test_each_ending_and_the_retry_workflow_have_their_metric(
    capsys: pytest.CaptureFixture[str], report: Report, expected: set[str]
) -> None:
    invoke(report)
    [line] = emf_lines(capsys.readouterr().out)
    assert set(metrics_of(line)) == expected
    assert all(value == [1.0] for unit, value in metrics_of(line).values() if unit == "Count")


def test_an_invocation_with_nothing_to_count_prints_nothing_and_does_not_raise(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.warns(UserWarning, match="No application metrics"):
        invoke(Report())  # a repeated job: its delivery had ended already
    assert emf_lines(capsys.readouterr().out) == []


def test_a_batch_sums_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    invoke(Report(ended="succeeded", duration_ms=10), Report(ended="succeeded", duration_ms=30))
    [line] = emf_lines(capsys.readouterr().out)
    assert metrics_of(line)["DeliveriesSucceeded"] == ("Count", [1.0, 1.0])
    assert metrics_of(line)["AttemptLatency"] == ("Milliseconds", [10.0, 30.0])


def test_two_functions_in_one_process_flush_only_their_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ingest, connector = function_metrics(), function_metrics()
    submission_accepted(ingest)
    delivery_handled(connector, Report(ended="succeeded", duration_ms=5))
    ingest.flush_metrics()
    [line] = emf_lines(capsys.readouterr().out)
    assert set(metrics_of(line)) == {"SubmissionsAccepted"}
    connector.flush_metrics()
    [line] = emf_lines(capsys.readouterr().out)
    assert set(metrics_of(line)) == {"DeliveriesSucceeded", "AttemptLatency"}


def test_a_refusal_is_counted_at_once_by_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    submission_refused("invalid-submission")
    [line] = emf_lines(capsys.readouterr().out)
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["reason", "service"]]
    assert (line["reason"], line["service"]) == ("invalid-submission", "formrelay")
    assert metrics_of(line) == {"SubmissionsRefused": ("Count", [1.0])}


def test_the_reasons_are_a_bounded_set_the_error_map_names() -> None:
    # The slugs of formrelay.api.errors (plus the few problems raised as themselves): a
    # dimension of a few dozen values, whatever the tenants send.
    slugs = {answer.slug for answer in ANSWERS.values()}
    assert 0 < len(slugs) < 60
    assert all(slug.replace("-", "").isalnum() and slug.islower() for slug in slugs)
