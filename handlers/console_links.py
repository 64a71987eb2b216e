"""POST /v1/console-links: a short-lived key of the caller's tenant and the console URL for it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.api.http import caller, http_app, json_body, json_response, request_endpoint
from formrelay.auth.console_links import create_console_link, parse_request
from formrelay.composition import services
from formrelay.telemetry.tracing import traced

logger = Logger()
app = http_app(logger, services)

MAX_REQUEST_BYTES = 1024


@app.post("/v1/console-links")
def create_link() -> Response[str]:
    """201 with the link (its secret in the URL's fragment, shown once) and its key's expiry."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id)
    request = parse_request(json_body(app, max_bytes=MAX_REQUEST_BYTES, optional=True))
    endpoint = request_endpoint(app)
    link = create_console_link(
        services().keys,
        principal.tenant_id,
        endpoint,
        now=services().clock.unix(),
        scopes=request.scopes,
        ttl_seconds=request.ttl_seconds,
        within=principal.scopes,
    )
    logger.info(
        "console link made",
        extra={
            "key_id": link.key_id,
            "made_by": principal.key_id,
            "scopes": sorted(link.scopes),
            "expires_at": link.expires_at,
        },
    )
    return json_response(201, link.as_dict())


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)
