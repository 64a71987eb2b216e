"""Metrics: CloudWatch Embedded Metric Format lines on the function's log (Powertools Metrics).

The namespace is POWERTOOLS_METRICS_NAMESPACE (`formrelay`, the template's Globals) and
the only dimension is `service`, plus `reason` for refusals: a bounded set (the problem
slugs of formrelay.api.errors), so the number of CloudWatch metrics stays fixed however
many tenants there are. No tenant id, form id or submission id is ever a dimension; the
log lines around a metric say which tenant it was.

Each function module makes its own `function_metrics()` and flushes it once per
invocation (`log_metrics` on the handler). Refusals go out at once with their reason as
a dimension of their own (`single_metric`), so they never share the invocation's set.
"""

from __future__ import annotations

import os
from typing import Protocol

from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

NAMESPACE = "formrelay"  # unless POWERTOOLS_METRICS_NAMESPACE says otherwise
SUBMISSIONS_ACCEPTED = "SubmissionsAccepted"
SUBMISSIONS_REFUSED = "SubmissionsRefused"
DELIVERIES_SUCCEEDED = "DeliveriesSucceeded"
DELIVERIES_FAILED = "DeliveriesFailed"
DELIVERIES_DEAD_LETTERED = "DeliveriesDeadLettered"
ATTEMPT_LATENCY = "AttemptLatency"
RETRY_WORKFLOWS_STARTED = "RetryWorkflowsStarted"

# DeliveryReport.ended (formrelay.delivery.connector) -> the metric that counts it.
_ENDINGS = {
    "succeeded": DELIVERIES_SUCCEEDED,
    "failed": DELIVERIES_FAILED,
    "dead_lettered": DELIVERIES_DEAD_LETTERED,
}


class DeliveryOutcome(Protocol):
    """What the metrics read of a delivery report (formrelay.delivery.connector)."""

    @property
    def ended(self) -> str | None:
        """succeeded, failed or dead_lettered if this job ended the delivery."""
        ...

    @property
    def duration_ms(self) -> int | None:
        """How long the HTTP attempt took, None if none was sent."""
        ...

    @property
    def workflow_started(self) -> bool:
        """Whether the job handed the delivery to the retry workflow."""
        ...


def function_metrics() -> Metrics:
    """A metric set of the caller's own, flushed by its `log_metrics`.

    Powertools' Metrics instances share one set per process unless given a provider;
    the local stack runs several containers in one process, and each flushes only its own.
    """
    return Metrics(provider=AmazonCloudWatchEMFProvider(namespace=_namespace()))


def submission_accepted(metrics: Metrics) -> None:
    """One new submission on record (an idempotent replay is not a second one)."""
    metrics.add_metric(name=SUBMISSIONS_ACCEPTED, unit=MetricUnit.Count, value=1)


def submission_refused(reason: str) -> None:
    """One submission refused, by the problem's slug: printed at once, in a set of its own
    (dimensions service and reason)."""
    with single_metric(
        name=SUBMISSIONS_REFUSED, unit=MetricUnit.Count, value=1, namespace=_namespace()
    ) as metric:
        metric.add_dimension(name="reason", value=reason)


def delivery_handled(metrics: Metrics, report: DeliveryOutcome) -> None:
    """What one delivery job came to: its attempt's latency, its ending, a workflow started."""
    if report.duration_ms is not None:
        metrics.add_metric(
            name=ATTEMPT_LATENCY, unit=MetricUnit.Milliseconds, value=report.duration_ms
        )
    if report.ended in _ENDINGS:
        metrics.add_metric(name=_ENDINGS[report.ended], unit=MetricUnit.Count, value=1)
    if report.workflow_started:
        metrics.add_metric(name=RETRY_WORKFLOWS_STARTED, unit=MetricUnit.Count, value=1)


def _namespace() -> str:
    # Powertools raises at the flush when no namespace is set: a function given no
    # POWERTOOLS_METRICS_NAMESPACE (a test's, a copied template's) still counts, here.
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE
