"""GET /v1/submissions (the listing), /{id} and /{id}/events: a submission's status and its
verified history."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.api.http import caller, http_app, json_response
from formrelay.composition import services
from formrelay.telemetry.tracing import traced
from formrelay.views.history import submission_history, submission_status
from formrelay.views.listing import parse_query

logger = Logger()
app = http_app(logger, services)


@app.get("/v1/submissions")
def listing() -> Response[str]:
    """The tenant's submissions, newest first, by form, status and time, a page at a time."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id)
    params = dict(app.current_event.query_string_parameters or {})
    return json_response(200, services().listing.page(parse_query(principal.tenant_id, params)))


@app.get("/v1/submissions/<submission_id>")
def status(submission_id: str) -> Response[str]:
    """The submission's status view."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, submission_id=submission_id)
    view = submission_status(principal.tenant_id, submission_id, events=services().events)
    return json_response(200, view)


@app.get("/v1/submissions/<submission_id>/events")
def events(submission_id: str) -> Response[str]:
    """Every event of the submission, with its hash chain and whether it verifies."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, submission_id=submission_id)
    return json_response(
        200, submission_history(principal.tenant_id, submission_id, events=services().events)
    )


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)
