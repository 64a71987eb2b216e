"""A tenant's destinations: PUT/GET/DELETE /v1/forms/{form_id}/destinations/{destination_id},
GET /v1/forms/{form_id}/destinations (each with its health) and POST .../enable."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.api.http import (
    caller,
    http_app,
    json_body,
    json_response,
    no_query,
)
from formrelay.composition import services
from formrelay.telemetry.tracing import traced

logger = Logger()
app = http_app(logger, services)

DESTINATION = "/v1/forms/<form_id>/destinations/<destination_id>"
MAX_DESTINATION_BYTES = 64 * 1024
MAX_ENABLE_BYTES = 1024


@app.put(DESTINATION)
def put_destination(form_id: str, destination_id: str) -> Response[str]:
    """Create (201) or replace (200) a destination; the answer shows its signing secret."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, form_id=form_id)
    body = json_body(app, max_bytes=MAX_DESTINATION_BYTES)
    result = services().destination_admin.put(principal.tenant_id, form_id, destination_id, body)
    logger.info(
        "destination saved",
        extra={"destination_id": destination_id, "new_destination": result.created},
    )
    return json_response(201 if result.created else 200, result.body)


@app.get(DESTINATION)
def get_destination(form_id: str, destination_id: str) -> Response[str]:
    """A destination without its secrets."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, form_id=form_id)
    return json_response(
        200, services().destination_admin.get(principal.tenant_id, form_id, destination_id)
    )


@app.get("/v1/forms/<form_id>/destinations")
def list_destinations(form_id: str) -> Response[str]:
    """A form's destinations without their secrets, each with its health."""
    principal = caller(app)
    no_query(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, form_id=form_id)
    return json_response(200, services().destination_admin.listing(principal.tenant_id, form_id))


@app.post(DESTINATION + "/enable")
def enable_destination(form_id: str, destination_id: str) -> Response[str]:
    """Deliver to a destination again after a 410 disabled it; its settings stay as they are."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, form_id=form_id)
    raw = json_body(app, max_bytes=MAX_ENABLE_BYTES, optional=True)
    body = services().destination_admin.enable(principal.tenant_id, form_id, destination_id, raw)
    logger.info(
        "destination enabled",
        extra={"destination_id": destination_id, "re_enabled": body["re_enabled"]},
    )
    return json_response(200, body)


@app.delete(DESTINATION)
def delete_destination(form_id: str, destination_id: str) -> Response[str]:
    """Remove a destination and its credentials."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, form_id=form_id)
    services().destination_admin.delete(principal.tenant_id, form_id, destination_id)
    logger.info("destination deleted", extra={"destination_id": destination_id})
    return Response(status_code=204, body="")


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)
