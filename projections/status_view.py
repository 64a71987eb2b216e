"""Stream projection: keeps each submission's status view (received -> delivered | failed).

A view is recomputed from the whole stream, so the view written after reading a stream
at version V covers every event up to V: later records of the same stream in the batch
(the attempts of a submission's several destinations, which often arrive together) cost
no further read or write.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.composition import services
from formrelay.domain.events import StreamId
from formrelay.store.stream_records import event_from_stream_record
from formrelay.telemetry.tracing import annotate, traced
from formrelay.views.status import fold

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord, projected: dict[StreamId, int] | None = None) -> None:
    """Recompute the view of the record's submission from its whole stream, unless this
    batch has written it already from a read that holds the record's event
    (`projected`: the version each stream's view was written at in this batch)."""
    event = event_from_stream_record(record.raw_event)
    if event is None:
        return
    stream = StreamId(event.stream.tenant_id, event.stream.submission_id)
    if projected is not None and projected.get(stream, 0) >= event.version:
        return
    logger.thread_safe_append_keys(
        tenant_id=stream.tenant_id,
        submission_id=stream.submission_id,
        correlation_id=event.correlation_id,
    )
    annotate(event.correlation_id)
    view = fold(services().events.read(stream))
    written = services().statuses.put(stream.tenant_id, view)
    if projected is not None:
        projected[stream] = view["version"]
    logger.info("status projected", extra={"status": view["status"], "written": written})


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: partial batch responses, so one bad record blocks no others."""
    projected: dict[StreamId, int] = {}
    return process_partial_response(
        event=event,
        record_handler=partial(record_handler, projected=projected),
        processor=processor,
        context=context,
    )
