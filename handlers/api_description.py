"""GET /v1/openapi.json: the API's OpenAPI 3.1 description, unauthenticated (a static document)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.api.description import OPENAPI_CONTENT_TYPE, openapi_document
from formrelay.api.http import public_app
from formrelay.telemetry.tracing import traced

logger = Logger()
app = public_app(logger)


@app.get("/v1/openapi.json")
def openapi() -> Response[str]:
    """The description of every route, its parameters, bodies, answers and signing scheme."""
    return Response(status_code=200, content_type=OPENAPI_CONTENT_TYPE, body=openapi_document())


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)
