"""Stream projection: keeps each submission's status view (received -> delivered | failed)
and each destination's health (formrelay.delivery.destination_health.py).

A view is recomputed from the whole stream, so the view written after reading a stream
at version V covers every event up to V: later records of the same stream in the batch
(the attempts of a submission's several destinations, which often arrive together) cost
no further read or write. A batch's attempts are folded into their destinations' health
once the batch's records are handled: one read and at most one write per destination.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
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
from formrelay.delivery.destination_health import HealthBatch
from formrelay.domain.events import StreamId
from formrelay.store.stream_records import event_from_stream_record
from formrelay.telemetry.tracing import annotate, traced
from formrelay.views.status import fold

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@dataclass
class Batch:
    """What one invocation's records share: the version each stream's view was written at
    in this batch, each stream's form, and the destinations' health events."""

    projected: dict[StreamId, int] = field(default_factory=dict)
    forms: dict[StreamId, str] = field(default_factory=dict)
    health: HealthBatch = field(default_factory=HealthBatch)


def record_handler(record: DynamoDBRecord, batch: Batch | None = None) -> None:
    """Recompute the view of the record's submission from its whole stream, unless this
    batch has written it already from a read that holds the record's event; keep the
    record's event for its destination's health."""
    event = event_from_stream_record(record.raw_event)
    if event is None:
        return
    stream = StreamId(event.stream.tenant_id, event.stream.submission_id)
    if batch is not None and batch.projected.get(stream, 0) >= event.version:
        batch.health.add(stream.tenant_id, batch.forms[stream], event)
        return
    logger.thread_safe_append_keys(
        tenant_id=stream.tenant_id,
        submission_id=stream.submission_id,
        correlation_id=event.correlation_id,
    )
    annotate(event.correlation_id)
    view = fold(services().events.read(stream))
    written = services().statuses.put(stream.tenant_id, view)
    if batch is not None:
        batch.projected[stream] = view["version"]
        batch.forms[stream] = view["form_id"]
        batch.health.add(stream.tenant_id, view["form_id"], event)
    logger.info("status projected", extra={"status": view["status"], "written": written})


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point: partial batch responses, so one bad record blocks no others.

    The health of the records handled is written after them; a failure there fails the
    invocation, and the batch comes again (every write of it is idempotent)."""
    batch = Batch()
    answer = process_partial_response(
        event=event,
        record_handler=partial(record_handler, batch=batch),
        processor=processor,
        context=context,
    )
    written = batch.health.flush(services().destination_health)
    if written:
        logger.info("destination health projected", extra={"destinations": written})
    return answer
