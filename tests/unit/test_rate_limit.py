"""Rate limits as tenant and key items carry them for the rate limiter."""

from __future__ import annotations

import pytest

from formrelay.auth.tenants import RateLimit
from formrelay.domain.errors import InvalidRateLimitError


def test_both_parts_or_neither() -> None:
    assert RateLimit.of(None, None) is None
    assert RateLimit.of(2, 5) == RateLimit(2.0, 5)
    for rate, burst in ((1.0, None), (None, 5)):
        with pytest.raises(InvalidRateLimitError):
            RateLimit.of(rate, burst)


@pytest.mark.parametrize(
    ("rate", "burst"),
    [
        (0, 1),
        (-1, 1),
        (float("nan"), 1),
        (float("inf"), 1),
        (100_001, 1),
        (1, 0),
        (1, 2.5),
        (1, True),
        (1, 1_000_001),
    ],
)
def test_out_of_range_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(InvalidRateLimitError):
        RateLimit(rate, burst)


def test_item_attributes_round_trip_as_numbers() -> None:
    for limit, rate_text in ((RateLimit(10, 20), "10"), (RateLimit(0.25, 1), "0.25")):
        attributes = limit.attributes()
        assert attributes == {"rate_per_second": {"N": rate_text}, "burst": {"N": str(limit.burst)}}
        assert RateLimit.from_item(attributes) == limit
    assert RateLimit.from_item({"rate_per_second": {"N": "3"}}) is None
