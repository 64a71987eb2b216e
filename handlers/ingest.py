"""POST /v1/forms/{form_id}/submissions: accept a signed submission."""

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
from formrelay.intake.submissions import MAX_SUBMISSION_BYTES, IntakeRequest, accept_submission
from formrelay.telemetry.metrics import function_metrics, submission_accepted, submission_refused
from formrelay.telemetry.tracing import traced

logger = Logger()
metrics = function_metrics()
app = http_app(logger, services, on_refused=lambda problem: submission_refused(problem.slug))


@app.post("/v1/forms/<form_id>/submissions")
def submit(form_id: str) -> Response[str]:
    """Validate and record one submission; 202 with its id and links."""
    principal = caller(app)
    headers = app.current_event.headers
    request = IntakeRequest(
        tenant_id=principal.tenant_id,
        key_id=principal.key_id,
        form_id=form_id,
        body=json_body(app, max_bytes=MAX_SUBMISSION_BYTES),
        correlation_id=correlation_id(app),
        idempotency_key=headers.get("idempotency-key"),
    )
    logger.thread_safe_append_keys(
        tenant_id=request.tenant_id, correlation_id=request.correlation_id
    )
    accepted = accept_submission(request, forms=services().forms, events=services().events)
    if not accepted.replayed:
        submission_accepted(metrics)
    logger.info(
        "submission accepted",
        extra={
            "submission_id": accepted.submission_id,
            "form_id": form_id,
            "replayed": accepted.replayed,
        },
    )
    location = accepted.body()["links"]["self"]
    return json_response(202, accepted.body(), headers={"Location": location})


@traced
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)
