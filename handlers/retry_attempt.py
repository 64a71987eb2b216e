"""The retry workflow's task: one later attempt of a delivery, after its wait.

Invoked by Step Functions with `{"job": {...}, "attempt": n, "next_attempt_at": ...}`;
returns the next state: the workflow waits again while `next_attempt_at` is set.
When the attempt kept crashing, the workflow's GiveUp state invokes it once more
with the state and `"crashed": {"Error", "Cause"}`: the delivery is then
dead-lettered on record.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.composition import services
from formrelay.delivery.connector import workflow_state
from formrelay.delivery.jobs import DeliveryJob
from formrelay.telemetry.metrics import delivery_handled, function_metrics
from formrelay.telemetry.tracing import annotate, traced

logger = Logger()
metrics = function_metrics()


@traced
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Attempt once (or report the attempt already on record) and say what comes next."""
    job = DeliveryJob.from_dict(event["job"])
    attempt = int(event["attempt"])
    logger.thread_safe_append_keys(
        tenant_id=job.tenant_id,
        submission_id=job.submission_id,
        correlation_id=job.correlation_id,
        destination_id=job.destination_id,
        delivery_id=job.delivery_id,
    )
    annotate(job.correlation_id)
    crashed = event.get("crashed")
    if isinstance(crashed, dict):
        error = str(crashed.get("Error", "unknown error"))
        report = services().connector.give_up(job, error)
        delivery_handled(metrics, report)
        logger.warning("delivery given up after crashed attempts", extra={"error": error})
        return workflow_state(job, report)
    report = services().connector.retry_attempt(job, attempt)
    delivery_handled(metrics, report)
    logger.info(
        "delivery retry",
        extra={
            "outcome": report.outcome,
            "attempt": report.attempt,
            "status_code": report.status_code,
            "next_attempt_at": report.next_attempt_at,
        },
    )
    return workflow_state(job, report)
