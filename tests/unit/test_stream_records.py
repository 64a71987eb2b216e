"""Which stream records the submission projections read, and the times windows compare."""

from __future__ import annotations

import pytest

from formrelay.domain.clock import normalized_time
from formrelay.domain.events import LEDGER_STREAM, RecordedEvent, StreamId
from formrelay.store.items import to_item
from formrelay.store.stream_records import event_from_stream_record


def _insert_of(submission_id: str) -> dict[str, object]:
    event = RecordedEvent(
        stream=StreamId("acme", submission_id),
        version=1,
        event_id="0190a0b0-0000-7000-8000-000000000001",
        type="audit.anchored",
        schema_version=1,
        occurred_at="2026-03-01T10:00:00.000000Z",
        correlation_id="corr-1",
        causation_id=None,
        data={},
        prev_hash="0" * 64,
        hash="1" * 64,
    )
    return {"eventName": "INSERT", "dynamodb": {"NewImage": to_item(event)}}


def test_a_submissions_insert_is_read_and_the_ledgers_is_not() -> None:
    assert event_from_stream_record(_insert_of("sub-1")) is not None
    assert event_from_stream_record(_insert_of(LEDGER_STREAM)) is None


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("2026-01-31T00:00:00Z", "2026-01-31T00:00:00.000000Z"),
        ("2026-01-31T01:00:00.5+01:00", "2026-01-31T00:00:00.500000Z"),
        ("2026-01-31T00:00:00.123456z", "2026-01-31T00:00:00.123456Z"),
    ],
)
def test_a_window_bound_is_written_as_event_times_are(given: str, normalized: str) -> None:
    assert normalized_time(given) == normalized


@pytest.mark.parametrize(
    "bad", ["2026-01-31", "2026-01-31T00:00:00", "yesterday", "2026-13-01T00:00:00Z", "²" * 5]
)
def test_a_time_without_its_zone_or_date_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalized_time(bad)
