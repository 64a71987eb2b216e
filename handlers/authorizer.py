"""API Gateway HTTP API Lambda authorizer (payload 2.0, simple responses)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.auth.authorize import AccessDeniedError, AuthorizationRequest, authorize
from formrelay.composition import services
from formrelay.telemetry.tracing import traced

logger = Logger()


@traced
@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=APIGatewayAuthorizerEventV2)
def handler(event: APIGatewayAuthorizerEventV2, context: LambdaContext) -> dict[str, Any]:
    """Allow a well-signed request and pass its tenant on; deny anything else."""
    app = services()
    request = AuthorizationRequest(
        route_key=event.route_key,
        method=event.request_context.http.method,
        path=event.raw_path,
        raw_query=event.raw_query_string or "",
        headers=event.headers or {},
    )
    logger.thread_safe_append_keys(
        route=event.route_key, request_id=event.request_context.request_id
    )
    try:
        principal = authorize(
            request,
            keys=app.keys,
            nonces=app.nonces,
            now=time.time(),
            window_seconds=app.settings.signature_window_seconds,
        )
    except AccessDeniedError as denied:
        logger.info("request denied", extra={"reason": denied.reason})
        return {"isAuthorized": False}
    logger.info(
        "request authorized", extra={"tenant_id": principal.tenant_id, "key_id": principal.key_id}
    )
    return {"isAuthorized": True, "context": principal.as_context()}
