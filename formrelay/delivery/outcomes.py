"""Classifying a delivery attempt's result: succeeded, retryable, or final."""

from __future__ import annotations

from dataclasses import dataclass

SUCCEEDED = "succeeded"
RETRYABLE = "retryable_failure"
FINAL = "final_failure"

_RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class AttemptResult:
    """What one HTTP attempt came to."""

    outcome: str
    status_code: int | None
    error_class: str | None
    response_excerpt: str | None
    duration_ms: int


def outcome_for_status(status_code: int) -> str:
    """2xx succeeds; 5xx, 408 and 429 may be retried; anything else is final."""
    if 200 <= status_code < 300:
        return SUCCEEDED
    if status_code >= 500 or status_code in _RETRYABLE_STATUSES:
        return RETRYABLE
    # Redirects are not followed: a destination that moved must be updated.
    return FINAL
