"""Scopes a key may hold, and which scopes let a key call each route (any one of them)."""

from __future__ import annotations

SUBMIT = "submit"
READ = "read"
AUDIT = "audit"
ADMIN = "admin"
ALL_SCOPES = frozenset({SUBMIT, READ, AUDIT, ADMIN})

# What an auditor reads, a reader may read too: search, status, history, verification.
READ_OR_AUDIT = frozenset({READ, AUDIT})
# A reader, who may read every payload already, may read the forms' schemas those payloads
# follow (and how their versions compare): writes to the registry stay admin only.
READ_OR_ADMIN = frozenset({READ, ADMIN})

ROUTE_SCOPES: dict[str, frozenset[str]] = {
    "POST /v1/forms/{form_id}/submissions": frozenset({SUBMIT}),
    "GET /v1/submissions": READ_OR_AUDIT,
    "GET /v1/submissions/{submission_id}": READ_OR_AUDIT,
    "GET /v1/submissions/{submission_id}/events": READ_OR_AUDIT,
    "POST /v1/submissions/{submission_id}/redeliveries": frozenset({SUBMIT}),
    "PUT /v1/forms/{form_id}/destinations/{destination_id}": frozenset({ADMIN}),
    "GET /v1/forms/{form_id}/destinations/{destination_id}": frozenset({ADMIN}),
    "DELETE /v1/forms/{form_id}/destinations/{destination_id}": frozenset({ADMIN}),
    # A reader, who may read every payload already, may see where they go and how that
    # goes (URLs, headers without credentials, health); changing a destination is admin's.
    "GET /v1/forms/{form_id}/destinations": READ_OR_ADMIN,
    "POST /v1/forms/{form_id}/destinations/{destination_id}/enable": frozenset({ADMIN}),
    "GET /v1/forms": READ_OR_ADMIN,
    "PUT /v1/forms/{form_id}": frozenset({ADMIN}),
    "GET /v1/forms/{form_id}": READ_OR_ADMIN,
    "GET /v1/forms/{form_id}/versions/{version}": READ_OR_ADMIN,
    "GET /v1/forms/{form_id}/compatibility": READ_OR_ADMIN,
    "GET /v1/audit/events": frozenset({AUDIT}),
    # The tenant's whole record against its anchors: an auditor's check, not a reader's.
    "GET /v1/audit/verify": frozenset({AUDIT}),
    "GET /v1/submissions/{submission_id}/verify": READ_OR_AUDIT,
    "GET /v1/submissions/{submission_id}/proof": READ_OR_AUDIT,
    # A console link is a new key of the tenant: only an admin may make one.
    "POST /v1/console-links": frozenset({ADMIN}),
}


# Routes that answer without a signature: no authorizer runs for them (the template's
# `Auth: Authorizer: NONE`), and the authorizer lets none of them through, since it
# grants only what ROUTE_SCOPES names. They serve static documents, nothing of a tenant:
# the API's description and the console's files. The console's page is the route
# `GET /console`: API Gateway HTTP API refuses a route path that ends in "/" and routes
# /console/ (where console links point) to it, as it routes any path with a trailing slash.
PUBLIC_ROUTES: frozenset[str] = frozenset(
    {"GET /v1/openapi.json", "GET /console", "GET /console/{file}"}
)


def scopes_for_route(route_key: str) -> frozenset[str]:
    """The scopes any one of which lets a key call a route; none for a route nobody may call."""
    return ROUTE_SCOPES.get(route_key, frozenset())
