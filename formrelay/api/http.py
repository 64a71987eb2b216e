"""What every HTTP handler shares: problem responses, the caller, the raw body.

`http_app()` installs what every route needs, so no route can forget it: problem
answers, the body bound to its signed digest, and the rate limit.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from formrelay.api.errors import problem_for
from formrelay.api.problems import PROBLEM_CONTENT_TYPE, Problem, rate_limited
from formrelay.auth.authorize import Principal
from formrelay.auth.rate_limits import RateLimiter
from formrelay.auth.signing import CONTENT_SHA256_HEADER, body_sha256
from formrelay.domain.errors import BodyDigestMismatchError, FormrelayError
from formrelay.telemetry.tracing import annotate

# A Host as a client may send it: a DNS name or an address literal, and a port.
_HOST = re.compile(
    r"^(?:(?:[A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$"
)
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# application/json or application/<anything>+json, optionally with charset=utf-8 only.
_JSON_MEDIA_TYPE = re.compile(r"^application/(?:[a-z0-9.!#$&^_-]+\+)?json$")


def problem_response(problem: Problem) -> Response[str]:
    """A problem as an HTTP response."""
    return Response(
        status_code=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=problem.to_json(),
        headers=problem.headers or None,
    )


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    """A JSON document as an HTTP response."""
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body),
        headers=headers,
    )


def install_error_handlers(
    app: APIGatewayHttpResolver,
    logger: Logger,
    on_refused: Callable[[Problem], None] | None = None,
) -> None:
    """Domain errors answer as the error map says (formrelay.api.errors), problems as
    themselves; anything else is logged with its trace and answers a bare 500.
    `on_refused` hears of every refusal (a function's metrics)."""

    def refused(problem: Problem, error: Exception) -> Response[str]:
        if on_refused is not None:
            on_refused(problem)
        logger.info(
            "request refused",
            extra={
                "status": problem.status,
                "problem": problem.slug,
                "error": type(error).__name__,
            },
        )
        return problem_response(problem)

    @app.exception_handler(Problem)
    def _problem(problem: Problem) -> Response[str]:
        return refused(problem, problem)

    @app.exception_handler(FormrelayError)
    def _domain_error(error: FormrelayError) -> Response[str]:
        problem = problem_for(error)
        if problem is None:
            return _unexpected(error)
        return refused(problem, error)

    @app.not_found
    def _not_found(_: Exception) -> Response[str]:
        return problem_response(Problem(404, "not-found", "Not found", "no such route"))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return problem_response(
            Problem(500, "internal-error", "Internal error", "the request could not be completed")
        )


class HasRateLimiter(Protocol):
    """What install_rate_limit needs from the services: the rate limiter."""

    @property
    def rate_limiter(self) -> RateLimiter:
        """Request rate limits per tenant and key."""
        ...


def http_app(
    logger: Logger,
    services: Callable[[], HasRateLimiter],
    on_refused: Callable[[Problem], None] | None = None,
) -> APIGatewayHttpResolver:
    """An HTTP function's resolver: problems for errors (each refusal told to `on_refused`);
    every route traced by its correlation id, body-bound, then rate limited.

    The body check runs first: a request whose body is not the one signed is not the
    tenant's request, so it takes no token from the tenant's buckets (writes nothing
    at all), and it costs one hash, no I/O, where the rate limit costs a DynamoDB write.
    """
    app = APIGatewayHttpResolver()
    install_error_handlers(app, logger, on_refused)
    install_trace_annotation(app)
    install_body_binding(app, logger)
    install_rate_limit(app, logger, services)
    return app


def public_app(logger: Logger) -> APIGatewayHttpResolver:
    """The resolver of a function whose routes need no signature (auth.scopes.PUBLIC_ROUTES).

    Problems for errors, and nothing else: no authorizer ran, so there is no caller to
    bind a body to or to rate limit; such a route serves a static document only.
    """
    app = APIGatewayHttpResolver()
    install_error_handlers(app, logger)
    return app


def install_trace_annotation(app: APIGatewayHttpResolver) -> None:
    """Every route of the app first puts the request's correlation id on its trace."""

    def annotate_trace(
        app: APIGatewayHttpResolver, next_middleware: NextMiddleware
    ) -> Response[Any]:
        annotate(correlation_id(app))
        return next_middleware(app)

    app.use(middlewares=[annotate_trace])


def install_body_binding(app: APIGatewayHttpResolver, logger: Logger) -> None:
    """Every route of the app first checks SHA-256(raw body) against the signed digest; 401 if not.

    The authorizer verifies the signature over the X-Fr-Content-Sha256 header but never
    sees the body (API Gateway gives it none): only the function can bind the body to
    the signature. A Powertools middleware for all routes, so no route can forget it;
    a GET's empty body is checked too.
    """

    def bind_body(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        signed = app.current_event.headers.get(CONTENT_SHA256_HEADER.lower(), "")
        if body_sha256(raw_body(app)) != signed:
            logger.info("body does not match its signed digest")
            raise BodyDigestMismatchError("the body does not match its signed digest")
        return next_middleware(app)

    app.use(middlewares=[bind_body])


def install_rate_limit(
    app: APIGatewayHttpResolver,
    logger: Logger,
    services: Callable[[], HasRateLimiter],
    clock: Callable[[], float] = time.time,
) -> None:
    """Every route of the app takes a token from its caller's buckets first; none left -> 429.

    A Powertools middleware for all routes, so no route can forget it. It runs
    before the route, so a refused request writes nothing but the buckets.
    `services` is called per request: nothing is built at import.
    """

    def rate_limit(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        principal = caller(app)
        decision = services().rate_limiter.take(principal.tenant_id, principal.key_id, now=clock())
        if not decision.allowed:
            logger.info(
                "rate limited",
                extra={
                    "tenant_id": principal.tenant_id,
                    "key_id": principal.key_id,
                    "limited_by": decision.limited_by,
                    "retry_after": decision.retry_after,
                },
            )
            raise rate_limited(decision.retry_after, decision.limited_by)
        return next_middleware(app)

    app.use(middlewares=[rate_limit])


def caller(app: APIGatewayHttpResolver) -> Principal:
    """The principal the authorizer verified: the only source of the tenant."""
    context = app.current_event.request_context.authorizer.get_lambda or {}
    return Principal.from_context(context)


def raw_body(app: APIGatewayHttpResolver) -> bytes:
    """The request body exactly as the client sent it."""
    event = app.current_event
    body = event.body or ""
    if event.is_base64_encoded:
        return base64.b64decode(body)
    return body.encode("utf-8", errors="surrogatepass")


def no_query(app: APIGatewayHttpResolver) -> None:
    """Refuse a query on a route that takes none (400): a parameter it would ignore, such
    as a tenant id, must not look as if it had been heard."""
    named = sorted(app.current_event.query_string_parameters or {})
    if named:
        raise Problem(
            400,
            "bad-request",
            "Bad request",
            f"this route takes no query parameters: {', '.join(named)}",
        )


def json_body(app: APIGatewayHttpResolver, *, max_bytes: int, optional: bool = False) -> bytes:
    """The raw body of a request that must carry JSON: 413 over max_bytes, 415 if not JSON.

    With optional=True an empty body needs no content type (and comes back empty).
    """
    body = raw_body(app)
    if len(body) > max_bytes:
        raise Problem(
            413,
            "body-too-large",
            "Request body too large",
            f"the body is {len(body)} bytes; at most {max_bytes} are accepted",
        )
    if optional and not body:
        return body
    content_type = app.current_event.headers.get("content-type", "")
    if not is_json_content_type(content_type):
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "the body must be sent as application/json (charset utf-8, if given)",
        )
    return body


def is_json_content_type(value: str) -> bool:
    """Whether a Content-Type header names JSON in UTF-8."""
    media_type, *parameters = (part.strip().lower() for part in value.split(";"))
    if not _JSON_MEDIA_TYPE.fullmatch(media_type):
        return False
    for parameter in parameters:
        name, _, given = parameter.partition("=")
        if name.strip() != "charset" or given.strip().strip('"') not in ("utf-8", "utf8"):
            return False
    return True


def correlation_id(app: APIGatewayHttpResolver) -> str:
    """The caller's X-Correlation-Id if well formed, else the request id."""
    given = app.current_event.headers.get("x-correlation-id", "")
    if _CORRELATION_ID.fullmatch(given):
        return given
    return app.current_event.request_context.request_id


def request_endpoint(app: APIGatewayHttpResolver) -> str:
    """The API's base URL as this request reached it: `<scheme>://<domain>[/<stage>]`.

    The domain and stage are API Gateway's (requestContext; the local front gives the
    Host it was reached at), the scheme its X-Forwarded-Proto (https on AWS; the local
    front sends none: http on a loopback host, else https). A named stage is a path
    prefix; `$default` is none. 400 for a domain that is no host name.
    """
    context = app.current_event.request_context
    domain = context.domain_name or ""
    if not _HOST.fullmatch(domain):
        raise Problem(400, "bad-host", "Bad request", "the request's host is no host name")
    scheme = app.current_event.headers.get("x-forwarded-proto", "").strip().lower()
    if scheme not in ("http", "https"):
        host = domain.rsplit(":", 1)[0] if not domain.endswith("]") else domain
        scheme = "http" if host.lower() in _LOOPBACK_HOSTS else "https"
    stage = context.stage or "$default"
    return f"{scheme}://{domain}" + ("" if stage == "$default" else f"/{stage}")
