"""Classifying an HTTP status: succeeded, retryable, or final."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formrelay.delivery.outcomes import FINAL, RETRYABLE, SUCCEEDED, outcome_for_status


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
