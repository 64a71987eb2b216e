"""SQS-triggered connector: one delivery attempt per job, each on record."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.composition import services
from formrelay.delivery.jobs import DeliveryJob
from formrelay.telemetry.metrics import delivery_handled, function_metrics
from formrelay.telemetry.tracing import annotate, traced

logger = Logger()
metrics = function_metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    """Deliver one job; a raised error leaves the message for SQS to hand back."""
    job = DeliveryJob.from_json(record.body)
    logger.thread_safe_append_keys(
        tenant_id=job.tenant_id,
        submission_id=job.submission_id,
        correlation_id=job.correlation_id,
        destination_id=job.destination_id,
        delivery_id=job.delivery_id,
    )
    annotate(job.correlation_id)
    report = services().connector.first_attempt(job)
    delivery_handled(metrics, report)
    logger.info(
        "delivery attempt",
        extra={
            "outcome": report.outcome,
            "attempt": report.attempt,
            "status_code": report.status_code,
        },
    )


@traced
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point: partial batch responses."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
