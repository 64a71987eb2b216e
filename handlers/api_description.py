"""The API's public routes, unauthenticated static documents: GET /v1/openapi.json (its
OpenAPI 3.1 description) and the console's files, GET /console/ and GET /console/{file}.

API Gateway routes both /console and /console/ to the route `GET /console` with the path
as it was asked (`rawPath`): the page is answered at /console/ only, where its relative
module URLs resolve under /console/, and /console is redirected there."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.api.console import INDEX, console_file
from formrelay.api.description import OPENAPI_CONTENT_TYPE, openapi_document
from formrelay.api.http import problem_response, public_app
from formrelay.api.problems import Problem
from formrelay.telemetry.tracing import traced

logger = Logger()
app = public_app(logger)


@app.get("/v1/openapi.json")
def openapi() -> Response[str]:
    """The description of every route, its parameters, bodies, answers and signing scheme."""
    return Response(status_code=200, content_type=OPENAPI_CONTENT_TYPE, body=openapi_document())


def _console(name: str) -> Response[str]:
    found = console_file(name)
    if found is None:
        return problem_response(Problem(404, "not-found", "Not found", "no such console file"))
    return Response(
        status_code=200, content_type=found.content_type, body=found.body, headers=found.headers
    )


@app.get("/console")
def console_without_slash() -> Response[str]:
    """Redirect to the page's own address (relative, so a stage prefix is kept; a
    browser keeps the fragment, and so the link's key, across the redirect)."""
    return Response(
        status_code=301,
        content_type="text/plain; charset=utf-8",
        body="",
        headers={"Location": "console/", "Cache-Control": "no-cache"},
    )


@app.get("/console/")
def console_index() -> Response[str]:
    """The console's page: it reads its key from the URL's fragment, which no server sees."""
    return _console(INDEX)


@app.get("/console/<file>")
def console_asset(file: str) -> Response[str]:
    """One of the console's own files (its styles and modules); any other name is 404."""
    return _console(file)


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)
