"""The clock port: what time it is, and waiting. Injected wherever time decides behaviour.

`SystemClock` is the real one; `ManualClock` is the in-memory fake, which only
moves when told to (or when something sleeps on it), so tests of retries,
leases and schedules are deterministic. Both pass one contract suite
(tests/integration/test_clock_contract.py).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta


def rfc3339(moment: datetime, timespec: str = "microseconds") -> str:
    """An aware datetime as an RFC 3339 UTC timestamp ending in Z."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def normalized_time(text: str) -> str:
    """An RFC 3339 time given with a zone (`Z` or an offset), written as events record
    theirs (UTC, microseconds), so that it compares with their times as text does.
    ValueError if it is no such time."""
    if not isinstance(text, str) or len(text) > 40 or not text.isascii() or "T" not in text:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"an RFC 3339 time needs its zone (Z or an offset): {text!r}")
    return rfc3339(moment)


class Clock(ABC):
    """Now, and waiting; the rest is derived here, once."""

    @abstractmethod
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""

    @abstractmethod
    def sleep(self, seconds: float) -> None:
        """Wait this many seconds (nothing for zero or less)."""

    def timestamp(self) -> str:
        """Now as an RFC 3339 UTC timestamp with microseconds (as events record it)."""
        return rfc3339(self.now())

    def unix(self) -> float:
        """Now in seconds since the epoch."""
        return self.now().timestamp()


class SystemClock(Clock):
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


# A fixed, whole-second start, so timestamps in tests read easily.
MANUAL_CLOCK_START = datetime(2026, 1, 1, tzinfo=UTC)


class ManualClock(Clock):
    """A clock that moves only when advanced or slept on; it records every sleep."""

    def __init__(self, start: datetime = MANUAL_CLOCK_START) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock's time is timezone-aware")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._now += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward (never back)."""
        if seconds < 0:
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def advance_to(self, moment: datetime) -> None:
        """Move time forward to `moment` (no change if it is already past)."""
        with self._lock:
            self._now = max(self._now, moment.astimezone(UTC))
