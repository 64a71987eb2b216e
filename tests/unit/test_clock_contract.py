"""The clock contract: the system clock and the manual fake keep the same promises."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from formrelay.domain.clock import Clock, ManualClock, SystemClock


class ClockContract:
    """What every Clock must do."""

    @pytest.fixture
    def clock(self) -> Iterator[Clock]:
        raise NotImplementedError

    def test_now_is_aware_and_in_utc(self, clock: Clock) -> None:
        assert clock.now().utcoffset() == timedelta(0)

    def test_time_never_runs_backwards(self, clock: Clock) -> None:
        readings = [clock.now() for _ in range(50)]
        assert readings == sorted(readings)

    def test_sleeping_lets_at_least_that_much_time_pass(self, clock: Clock) -> None:
        before = clock.now()
        clock.sleep(0.02)
        assert clock.now() - before >= timedelta(seconds=0.02)

    def test_sleeping_zero_or_less_returns(self, clock: Clock) -> None:
        clock.sleep(0)
        clock.sleep(-1)

    def test_timestamp_and_unix_are_now_in_their_forms(self, clock: Clock) -> None:
        before = clock.now()
        stamp, unix = clock.timestamp(), clock.unix()
        after = clock.now()
        assert stamp.endswith("Z") and len(stamp) == len("2026-01-01T00:00:00.000000Z")
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        assert before <= parsed <= after
        assert before.timestamp() <= unix <= after.timestamp()


class TestSystemClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Iterator[Clock]:
        yield SystemClock()


class TestManualClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Iterator[Clock]:
        yield ManualClock()

    def test_it_moves_only_when_advanced_or_slept_on(self) -> None:
        clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        assert clock.now() == clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
        clock.advance(1.5)
        clock.sleep(2)
        assert clock.now() == datetime(2026, 1, 1, 0, 0, 3, 500000, tzinfo=UTC)
        assert clock.sleeps == [2]
        clock.advance_to(datetime(2025, 1, 1, tzinfo=UTC))  # the past: no change
        assert clock.timestamp() == "2026-01-01T00:00:03.500000Z"

    def test_it_refuses_to_run_backwards_or_start_naive(self) -> None:
        with pytest.raises(ValueError):
            ManualClock().advance(-1)
        with pytest.raises(ValueError):
            ManualClock(datetime(2026, 1, 1))
