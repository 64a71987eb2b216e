"""The API's description (OpenAPI 3.1), kept in schemas/api/openapi.json and served as is.

tests/unit/test_openapi.py holds it to the routes: one operation per route of
auth.scopes.ROUTE_SCOPES and PUBLIC_ROUTES, each listing the scopes that let a key call it.
"""

from __future__ import annotations

from functools import lru_cache

from formrelay.registry.schemas import schemas_root

OPENAPI_CONTENT_TYPE = "application/json"


@lru_cache(maxsize=1)
def openapi_document() -> str:
    """The OpenAPI document's text, read once per container."""
    return (schemas_root() / "api" / "openapi.json").read_text(encoding="utf-8")
