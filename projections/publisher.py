"""Stream projection: every domain event of the Events table, onto the event bus."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.composition import services
from formrelay.publishing.forwarding import forward
from formrelay.telemetry.tracing import traced

logger = Logger()


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: the batch is published in PutEvents calls of up to ten
    entries; records whose events the bus still refused are reported as partial
    failures, so the stream hands them over again (at least once, never dropped)."""
    outcome = forward(event.get("Records", []), services().event_publisher)
    logger.info(
        "events published",
        extra={
            "published": outcome.published,
            "skipped": outcome.skipped,
            "failed": len(outcome.failed),
        },
    )
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in outcome.failed]}
