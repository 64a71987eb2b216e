"""POST /v1/submissions/{id}/redeliveries: deliver a submission again."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.api.http import (
    caller,
    correlation_id,
    http_app,
    json_body,
    json_response,
)
from formrelay.composition import services
from formrelay.delivery.redelivery import RedeliveryRequest, parse_options, request_redelivery
from formrelay.telemetry.tracing import traced

logger = Logger()
app = http_app(logger, services)

MAX_OPTIONS_BYTES = 4 * 1024


@app.post("/v1/submissions/<submission_id>/redeliveries")
def redeliver(submission_id: str) -> Response[str]:
    """Queue a new round of delivery for one destination or all of them."""
    principal = caller(app)
    options = parse_options(json_body(app, max_bytes=MAX_OPTIONS_BYTES, optional=True))
    request = RedeliveryRequest(
        tenant_id=principal.tenant_id,
        submission_id=submission_id,
        destination_id=options.destination_id,
        requested_by=principal.key_id,
        correlation_id=correlation_id(app),
        reason=options.reason,
    )
    logger.thread_safe_append_keys(tenant_id=request.tenant_id, submission_id=submission_id)
    jobs = request_redelivery(request, events=services().events, queue=services().delivery_queue)
    logger.info("redelivery requested", extra={"deliveries": len(jobs)})
    return json_response(
        202,
        {
            "submission_id": submission_id,
            "redeliveries": [
                {"destination_id": j.destination_id, "delivery_id": j.delivery_id} for j in jobs
            ],
        },
    )


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)
