"""Scopes a key may hold, and which scope each route needs."""

from __future__ import annotations

SUBMIT = "submit"
READ = "read"
AUDIT = "audit"
ADMIN = "admin"
ALL_SCOPES = frozenset({SUBMIT, READ, AUDIT, ADMIN})

ROUTE_SCOPES: dict[str, str] = {
    "POST /v1/forms/{form_id}/submissions": SUBMIT,
    "GET /v1/submissions": READ,
    "GET /v1/submissions/{submission_id}": READ,
    "GET /v1/submissions/{submission_id}/events": READ,
    "POST /v1/submissions/{submission_id}/redeliveries": SUBMIT,
    "PUT /v1/forms/{form_id}/destinations/{destination_id}": ADMIN,
    "GET /v1/forms/{form_id}/destinations/{destination_id}": ADMIN,
    "DELETE /v1/forms/{form_id}/destinations/{destination_id}": ADMIN,
    "GET /v1/forms": ADMIN,
    "PUT /v1/forms/{form_id}": ADMIN,
    "GET /v1/forms/{form_id}": ADMIN,
    "GET /v1/forms/{form_id}/versions/{version}": ADMIN,
}


def scope_for_route(route_key: str) -> str | None:
    """The scope a route needs; None for a route nobody may call."""
    return ROUTE_SCOPES.get(route_key)
