"""Classifying an HTTP status (succeeded, retryable, or final) and reading Retry-After."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formrelay.delivery.outcomes import (
    FINAL,
    MAX_RETRY_AFTER_SECONDS,
    RETRYABLE,
    SUCCEEDED,
    outcome_for_status,
    parse_retry_after,
)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_succeeds(status: int) -> None:
    assert outcome_for_status(status) == SUCCEEDED


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599, 408, 429])
def test_5xx_408_and_429_may_be_retried(status: int) -> None:
    assert outcome_for_status(status) == RETRYABLE


@pytest.mark.parametrize(
    "status", [100, 199, 300, 301, 302, 304, 307, 400, 401, 403, 404, 409, 410, 422]
)
def test_redirects_and_other_4xx_are_final(status: int) -> None:
    assert outcome_for_status(status) == FINAL


def test_outcomes_are_the_values_the_event_schema_allows() -> None:
    schema = json.loads(
        (Path(__file__).parents[2] / "schemas/events/delivery.attempted/1.json").read_text()
    )
    assert set(schema["properties"]["outcome"]["enum"]) == {SUCCEEDED, RETRYABLE, FINAL}


# --- Retry-After ---------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120),
        ("0", 0),
        (" 7\t", 7),
        ("0042", 42),
        ("21601", MAX_RETRY_AFTER_SECONDS),
        ("9" * 5000, MAX_RETRY_AFTER_SECONDS),
        ("Tue, 01 Dec 2026 12:02:00 GMT", 120),
        ("Tue, 01 Dec 2026 11:00:00 GMT", 0),
        ("Wed, 02 Dec 2026 12:00:00 GMT", MAX_RETRY_AFTER_SECONDS),
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(header: str, seconds: int) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "\u00b2",  # superscript two: '²'.isdigit() is true, int('²') raises
        "\u0661\u0662\u0663",  # Arabic-Indic digits: int() reads these as 123
        "\uff11\uff12\uff10",  # fullwidth digits: so does it these, as 120
        "-5",
        "+5",
        "1.5",
        "12 s",
        "soon",
        "Tue, 01 Dec 2026 12:02:00 GMT\u00b2",
        "Tue, 99 Foo 2026 12:02:00 GMT",
    ],
)
def test_anything_else_is_ignored(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


@settings(max_examples=500)
@given(header=st.text(max_size=60))
def test_arbitrary_header_text_never_raises_and_stays_within_bounds(header: str) -> None:
    seconds = parse_retry_after(header, now=NOW)

    assert seconds is None or 0 <= seconds <= MAX_RETRY_AFTER_SECONDS


@settings(max_examples=300)
@given(
    day=st.sampled_from(["Mon", "Tue", "Fri", "Xyz", ""]),
    date=st.integers(-5, 40),
    month=st.sampled_from(["Jan", "Dec", "Foo"]),
    year=st.integers(0, 100_000),
    clock=st.tuples(st.integers(-1, 99), st.integers(-1, 99), st.integers(-1, 99)),
    zone=st.sampled_from(["GMT", "UTC", "+2359", "-2359", "+9999", "EST", ""]),
)
def test_date_shaped_nonsense_never_raises(
    day: str, date: int, month: str, year: int, clock: tuple[int, int, int], zone: str
) -> None:
    header = f"{day}, {date:02d} {month} {year} {clock[0]:02d}:{clock[1]:02d}:{clock[2]:02d} {zone}"

    seconds = parse_retry_after(header, now=NOW)

    assert seconds is None or 0 <= seconds <= MAX_RETRY_AFTER_SECONDS
