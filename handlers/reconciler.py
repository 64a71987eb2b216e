"""The scheduled reconciler: what failures left behind, repaired for every tenant.

EventBridge Scheduler invokes it every 5 minutes (the template's `Schedule` event);
`formrelay dev` on a timer; `formrelay reconcile` on demand. Each run's repairs are
counted on the metric `ReconcilerRepairs` (namespace `formrelay`) by kind, never by
tenant (a dimension per tenant would make CloudWatch's bill grow with the tenants);
its alarm fires when repairs keep being needed. A tenant that could not be reconciled
is logged, does not stop the others, and fails the run afterwards (so it counts as an
error, and its alarm fires).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.composition import services
from formrelay.telemetry.tracing import traced

logger = Logger()
metrics = Metrics(namespace="formrelay")

REPAIRS_METRIC = "ReconcilerRepairs"


class ReconcileRunError(RuntimeError):
    """Some tenants or parked batches could not be reconciled (each was logged)."""


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Reconcile every tenant and the failure queues; the run's report."""
    report = services().reconciler.run(services().tenants.ids())
    for kind, count in report.counts().items():
        # One metric document per kind: its only dimension besides the service is `kind`.
        metrics.add_dimension(name="kind", value=kind)
        metrics.add_metric(name=REPAIRS_METRIC, unit=MetricUnit.Count, value=count)
        metrics.flush_metrics()
    for repair in report.repairs:
        logger.info("repaired", extra=repair.as_dict())
    if report.errors:
        logger.error("reconcile incomplete", extra={"errors": report.errors})
        raise ReconcileRunError(f"{len(report.errors)} error(s): {'; '.join(report.errors)}")
    return report.as_dict()
