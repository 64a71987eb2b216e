"""Classifying a delivery attempt's result: succeeded, retryable, or final."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

SUCCEEDED = "succeeded"
RETRYABLE = "retryable_failure"
FINAL = "final_failure"

GONE = 410
_RETRYABLE_STATUSES = frozenset({408, 429})
# A destination may ask for a pause with Retry-After, but not for longer than this.
MAX_RETRY_AFTER_SECONDS = 6 * 3600


@dataclass(frozen=True)
class AttemptResult:
    """What one HTTP attempt came to."""

    outcome: str
    status_code: int | None
    error_class: str | None
    response_excerpt: str | None
    duration_ms: int
    retry_after_seconds: int | None = None

    @property
    def gone(self) -> bool:
        """The destination says it is gone for good (410): disable it."""
        return self.status_code == GONE


def outcome_for_status(status_code: int) -> str:
    """2xx succeeds; 5xx, 408 and 429 may be retried; anything else is final."""
    if 200 <= status_code < 300:
        return SUCCEEDED
    if status_code >= 500 or status_code in _RETRYABLE_STATUSES:
        return RETRYABLE
    # Redirects are not followed: a destination that moved must be updated.
    return FINAL


def parse_retry_after(value: str | None, now: datetime | None = None) -> int | None:
    """Seconds a Retry-After header asks for (delta-seconds or HTTP date), bounded."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        seconds = int(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = int((when - (now or datetime.now(UTC))).total_seconds())
    return max(0, min(seconds, MAX_RETRY_AFTER_SECONDS))
