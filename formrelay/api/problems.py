"""RFC 9457 problem details: every API error a client sees from our code.

Domain errors become problems through the error map (formrelay.api.errors); the
HTTP layer builds its own few (no such route, 413, 415, 429, the bare 500) directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from formrelay.domain.errors import FormrelayError

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_BASE = "https://formrelay.dev/problems/"


@dataclass
class Problem(FormrelayError):
    """An error answered to the client as application/problem+json."""

    status: int
    slug: str
    title: str
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        """The problem document."""
        document: dict[str, Any] = {
            "type": _TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            document["errors"] = self.errors
        return document

    def to_json(self) -> str:
        """The problem document as JSON text."""
        return json.dumps(self.body())


def rate_limited(retry_after: int, limited_by: str) -> Problem:
    """429: the caller's tenant (or key) is over its request rate; retry after so many seconds."""
    return Problem(
        429,
        "rate-limited",
        "Too many requests",
        f"this {limited_by}'s request rate limit is exceeded; retry after {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )
