"""Stream projection: one delivery job per destination for every received submission."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.composition import services
from formrelay.delivery.dispatch import dispatch
from formrelay.store.stream_records import event_from_stream_record
from formrelay.telemetry.tracing import annotate, traced

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    """Enqueue the delivery jobs a submission.received record calls for."""
    event = event_from_stream_record(record.raw_event)
    if event is None:
        return
    logger.thread_safe_append_keys(
        tenant_id=event.stream.tenant_id,
        submission_id=event.stream.submission_id,
        correlation_id=event.correlation_id,
    )
    annotate(event.correlation_id)
    count = dispatch(event, services().delivery_queue)
    if count:
        logger.info("deliveries dispatched", extra={"jobs": count})


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point: partial batch responses."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
