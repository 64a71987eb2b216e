"""PUT/GET /v1/forms/{form_id}, GET .../versions/{n}, GET .../compatibility and GET /v1/forms:
a tenant's form registry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.api.http import caller, http_app, json_body, json_response
from formrelay.composition import services
from formrelay.registry.form_admin import (
    MAX_FORM_BYTES,
    form_document,
    form_list,
    put_form,
    version_document,
)
from formrelay.registry.version_compatibility import (
    parse_compatibility_query,
    version_compatibility,
)
from formrelay.telemetry.tracing import traced

logger = Logger()
app = http_app(logger, services)

FORM = "/v1/forms/<form_id>"


@app.put(FORM)
def put(form_id: str) -> Response[str]:
    """Register a schema: 201 for a new form, 200 for a new version or the current one again."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, form_id=form_id)
    body = json_body(app, max_bytes=MAX_FORM_BYTES)
    result = put_form(services().forms, principal.tenant_id, form_id, body)
    logger.info(
        "form registered",
        extra={
            "version": result.version,
            "compatibility": result.compatibility.value,
            "new_form": result.created,
            "changed": result.changed,
        },
    )
    return json_response(201 if result.created else 200, result.body())


@app.get(FORM)
def get(form_id: str) -> Response[str]:
    """The form at its current version, with its schema."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, form_id=form_id)
    return json_response(200, form_document(services().forms, principal.tenant_id, form_id))


@app.get(FORM + "/versions/<version>")
def get_version(form_id: str, version: str) -> Response[str]:
    """One schema version of the form, as registered."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, form_id=form_id)
    return json_response(
        200, version_document(services().forms, principal.tenant_id, form_id, version)
    )


@app.get(FORM + "/compatibility")
def compatibility(form_id: str) -> Response[str]:
    """How two versions of the form compare under its mode (or the one asked), with witnesses."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, form_id=form_id)
    query = parse_compatibility_query(dict(app.current_event.query_string_parameters or {}))
    return json_response(
        200, version_compatibility(services().forms, principal.tenant_id, form_id, query)
    )


@app.get("/v1/forms")
def listing() -> Response[str]:
    """The tenant's forms, by id."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id)
    return json_response(200, form_list(services().forms, principal.tenant_id))


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)
