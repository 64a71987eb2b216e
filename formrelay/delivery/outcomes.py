"""Classifying a delivery attempt's result: succeeded, retryable, or final."""

from __future__ import annotations

import re
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
# delay-seconds = 1*DIGIT, and DIGIT is ASCII 0-9 only: '²'.isdigit() is true, int('²') raises.
_DELAY_SECONDS = re.compile(r"[0-9]+")


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
    """Seconds a Retry-After header asks for, bounded; None unless it is one of the two forms
    RFC 9110 allows: delay-seconds (ASCII digits only) or an HTTP date. Never raises."""
    text = (value or "").strip(" \t")
    seconds: int | None
    if _DELAY_SECONDS.fullmatch(text):
        # Digits past what the bound could ever need are not read (int() of thousands of
        # digits is slow, and refused past 4300).
        seconds = MAX_RETRY_AFTER_SECONDS if len(text) > 12 else int(text)
    else:
        seconds = _seconds_until(text, now or datetime.now(UTC))
    return None if seconds is None else max(0, min(seconds, MAX_RETRY_AFTER_SECONDS))


def _seconds_until(text: str, now: datetime) -> int | None:
    """Seconds from now to an HTTP date; None if text is not a date email.utils can read."""
    if not text.isascii():
        return None
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int((when - now).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
