"""GET /v1/audit/events: every event of the tenant in a time window, as NDJSON, page by page;
GET /v1/audit/verify: the tenant's whole record checked against its anchors, page by page;
GET /v1/submissions/{id}/verify and /proof: one submission's record checked against its
chain and its anchor, and the Merkle proof that its anchor holds it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from formrelay.api.http import caller, http_app, json_response
from formrelay.audit.export import (
    NDJSON_CONTENT_TYPE,
    NEXT_CURSOR_HEADER,
    export_page,
    parse_export_query,
)
from formrelay.audit.paged_verification import parse_verify_query
from formrelay.audit.proofs import SubmissionRecord
from formrelay.auth.signing import has_repeated_key
from formrelay.composition import services
from formrelay.domain.clock import rfc3339
from formrelay.telemetry.tracing import traced

logger = Logger()
app = http_app(logger, services)


@app.get("/v1/audit/events")
def export() -> Response[str]:
    """A page of the tenant's events with their hashes; the next cursor in a header."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id)
    params = dict(app.current_event.query_string_parameters or {})
    query = parse_export_query(principal.tenant_id, params)
    page = export_page(
        query,
        events=services().events,
        cursors=services().cursors,
        now=rfc3339(services().clock.now()),
    )
    return Response(
        status_code=200,
        content_type=NDJSON_CONTENT_TYPE,
        body=page.ndjson(),
        headers={NEXT_CURSOR_HEADER: page.next_cursor} if page.next_cursor else None,
    )


@app.get("/v1/audit/verify")
def verify_tenant() -> Response[str]:
    """A page of the tenant's verification: what it checked, what failed, the next cursor."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id)
    event = app.current_event
    query = parse_verify_query(
        principal.tenant_id,
        dict(event.query_string_parameters or {}),
        repeated=has_repeated_key(event.raw_query_string or ""),
    )
    page = services().tenant_verification.page(query, now=rfc3339(services().clock.now()))
    return json_response(200, page.to_dict())


def _record() -> SubmissionRecord:
    return SubmissionRecord(
        events=services().events, heads=services().anchored_heads, anchors=services().anchor_store
    )


@app.get("/v1/submissions/<submission_id>/verify")
def verify(submission_id: str) -> Response[str]:
    """Whether the submission's record verifies, its first bad link if not, and its anchor."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, submission_id=submission_id)
    verdict = _record().verdict(principal.tenant_id, submission_id)
    return json_response(200, {"submission_id": submission_id, **verdict.to_dict()})


@app.get("/v1/submissions/<submission_id>/proof")
def proof(submission_id: str) -> Response[str]:
    """The submission's head and the inclusion proof of its anchored head."""
    principal = caller(app)
    logger.thread_safe_append_keys(tenant_id=principal.tenant_id, submission_id=submission_id)
    return json_response(200, _record().proof(principal.tenant_id, submission_id))


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)
