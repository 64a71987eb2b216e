"""The destination-health contract: the in-memory fake and the Views table adapter (moto).

Health is folded from stream records, which come at least once, in batches of any size:
whatever the batching, repeats or order, the record is the same, and an unchanged record
is not written again.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.capacity_units import item_size, write_units
from formrelay.delivery.destination_health import (
    WINDOW,
    DestinationHealth,
    DynamoDBDestinationHealth,
    HealthRecord,
    InMemoryDestinationHealth,
    merge,
    summary,
)
from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    RecordedEvent,
    new_id,
)
from tests.support.events import attempt, disabled, failure
from tests.support.template_aws import TemplateAws, template_aws

# An event: an attempt (ok or failing) or a disabling, at one of 40 instants.
EVENTS = st.lists(
    st.tuples(st.integers(0, 39), st.sampled_from(["ok", "fail", "gone"])).map(
        lambda t: {"ok": attempt, "fail": failure, "gone": disabled}[t[1]](t[0])
    ),
    max_size=60,
)


@given(events=EVENTS, cuts=st.lists(st.integers(0, 60), max_size=5), seed=st.randoms())
@settings(max_examples=150, deadline=None)
def test_any_batching_repeats_or_order_of_the_events_folds_to_the_same_record(
    events: list[RecordedEvent], cuts: list[int], seed: Any
) -> None:
    # Given the events folded in one go
    once = merge(HealthRecord(), events)
    # When they come again shuffled, some twice, in batches cut anywhere
    again = events + events[: len(events) // 2]
    seed.shuffle(again)
    record = HealthRecord()
    bounds = [0, *sorted(c for c in cuts if c <= len(again)), len(again)]
    for start, end in itertools.pairwise(bounds):
        record = merge(record, again[start:end])
    # Then the record is the same: the newest attempts, errors and disabling win
    assert record == once
    assert len(once.recent) <= WINDOW
    attempts = {(e.occurred_at, e.event_id) for e in events if e.type == DELIVERY_ATTEMPTED}
    assert [e["event_id"] for e in once.recent] == [i for _, i in sorted(attempts)[-WINDOW:]]


def test_the_summary_works_out_the_rate_latency_and_last_error() -> None:
    record = merge(HealthRecord(), [attempt(1, ms=100), attempt(2, ms=300), failure(3)])
    shown = summary(record)
    assert shown["recent_attempts"] == 3 and shown["recent_succeeded"] == 2
    assert shown["success_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert shown["latency_ms"] == {"p50": 300, "p95": 3000, "max": 3000}
    assert shown["last_error"]["status_code"] == 503
    assert shown["last_error"]["error_class"] == "http_503"
    assert len(shown["last_error"]["response_excerpt"]) == 200  # an excerpt, not the body
    assert all("response_excerpt" not in e for e in shown["recent"])  # the last error's only
    assert shown["last_success_at"] == attempt(2).occurred_at
    assert [e["event_id"] for e in shown["recent"]] == ["fail-00003", "ev-00002", "ev-00001"]
    # And a destination never attempted says so, rather than 0% or 100%
    empty = summary(None)
    assert empty["success_rate"] is None and empty["latency_ms"] is None and empty["recent"] == []


def test_an_error_pushed_out_of_the_window_is_still_the_last_error() -> None:
    record = merge(HealthRecord(), [failure(1), *(attempt(n) for n in range(2, 2 + WINDOW))])
    assert all(e["ok"] for e in record.recent)
    assert record.last_error is not None and record.last_error["event_id"] == "fail-00001"


class DestinationHealthContract:
    """The behaviour every DestinationHealth back end must show."""

    @pytest.fixture
    def tenant(self) -> str:
        return f"t{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def health(self) -> Iterator[DestinationHealth]:
        raise NotImplementedError

    def test_recorded_events_read_back_and_the_same_again_writes_nothing(
        self, health: DestinationHealth, tenant: str
    ) -> None:
        assert health.record(tenant, "contact", "crm", [attempt(1), failure(2)]) is True
        stored = health.get(tenant, "contact", "crm")
        assert stored == merge(HealthRecord(), [attempt(1), failure(2)])
        # The same records again (a stream batch retried): nothing to write
        assert health.record(tenant, "contact", "crm", [failure(2), attempt(1)]) is False
        assert health.record(tenant, "contact", "crm", [disabled(3)]) is True
        assert health.get(tenant, "contact", "crm").disabled["reason"] == "gone"

    def test_an_unknown_destination_has_empty_health(
        self, health: DestinationHealth, tenant: str
    ) -> None:
        assert health.get(tenant, "contact", "crm") == HealthRecord()
        assert health.for_form(tenant, "contact") == {}

    def test_a_forms_health_is_its_destinations_only_and_the_tenants_only(
        self, health: DestinationHealth, tenant: str
    ) -> None:
        health.record(tenant, "contact", "crm", [attempt(1)])
        health.record(tenant, "contact", "mail", [failure(2)])
        health.record(tenant, "contact-us", "crm", [attempt(3)])  # a form id it prefixes
        health.record("other" + tenant, "contact", "crm", [attempt(4)])
        found = health.for_form(tenant, "contact")
        assert set(found) == {"crm", "mail"}
        assert [e["event_id"] for e in found["crm"].recent] == ["ev-00001"]
        assert found["mail"].last_error is not None

    def test_forgetting_a_destination_drops_its_health_only(
        self, health: DestinationHealth, tenant: str
    ) -> None:
        health.record(tenant, "contact", "crm", [attempt(1), failure(2)])
        health.record(tenant, "contact", "mail", [attempt(3)])
        health.record("other" + tenant, "contact", "crm", [attempt(4)])
        health.forget(tenant, "contact", "crm")
        health.forget(tenant, "contact", "never-attempted")  # nothing there: no error
        assert health.get(tenant, "contact", "crm") == HealthRecord()
        assert set(health.for_form(tenant, "contact")) == {"mail"}
        assert health.get("other" + tenant, "contact", "crm").recent != ()
        # And a fold that read the record before it was forgotten cannot bring it back
        assert not health._write_if(tenant, "contact", "mail", HealthRecord(), revision=0)
        health.forget(tenant, "contact", "mail")
        assert not health._write_if(tenant, "contact", "mail", HealthRecord(), revision=1)
        assert health.for_form(tenant, "contact") == {}
        # And the id's next attempts start a new record
        assert health.record(tenant, "contact", "crm", [attempt(5)]) is True
        assert [e["event_id"] for e in health.get(tenant, "contact", "crm").recent] == ["ev-00005"]

    def test_two_writers_at_once_lose_neither_ones_events(
        self, health: DestinationHealth, tenant: str
    ) -> None:
        # Given two stream batches folding different attempts of one destination at once
        batches = [[attempt(n) for n in range(k, 40, 4)] for k in range(4)]
        errors: list[BaseException] = []

        def fold(events: list[RecordedEvent]) -> None:
            try:
                for event in events:
                    health.record(tenant, "contact", "crm", [event])
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=fold, args=(b,)) for b in batches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Then every attempt is in (the newest WINDOW of them), none lost to a race
        assert errors == []
        kept = [e["event_id"] for e in health.get(tenant, "contact", "crm").recent]
        assert kept == [f"ev-{n:05d}" for n in range(40 - WINDOW, 40)]


class StaleFirstReads(InMemoryDestinationHealth):
    """A fake whose eventually consistent reads answer the record as it was a write ago."""

    def __init__(self) -> None:
        super().__init__()
        self.previous: dict[tuple[str, str, str], HealthRecord] = {}
        self.writes = 0

    def _read(
        self, tenant_id: str, form_id: str, destination_id: str, *, consistent: bool
    ) -> HealthRecord:
        key = (tenant_id, form_id, destination_id)
        if not consistent and key in self.previous:
            return self.previous[key]
        return super()._read(tenant_id, form_id, destination_id, consistent=True)

    def _write_if(
        self,
        tenant_id: str,
        form_id: str,
        destination_id: str,
        record: HealthRecord,
        revision: int,
    ) -> bool:
        before = super()._read(tenant_id, form_id, destination_id, consistent=True)
        written = super()._write_if(tenant_id, form_id, destination_id, record, revision)
        if written:
            self.previous[(tenant_id, form_id, destination_id)] = before
            self.writes += 1
        return written


def test_a_stale_first_read_neither_loses_events_nor_writes_them_twice() -> None:
    # Given a store whose cheap first read lags a write behind
    health = StaleFirstReads()
    events = [attempt(n) for n in range(1, 6)] + [failure(6)]
    for event in events:
        assert health.record("acme", "contact", "crm", [event]) is True
    # Then every event is in, each written once
    assert health.get("acme", "contact", "crm") == merge(HealthRecord(), events)
    assert health.writes == len(events)
    # And events already in (the lagging read has some, the stored record all) write nothing
    assert health.record("acme", "contact", "crm", events[-2:]) is False
    assert health.writes == len(events)


class TestInMemoryDestinationHealth(DestinationHealthContract):
    @pytest.fixture
    def health(self) -> Iterator[DestinationHealth]:
        yield InMemoryDestinationHealth()


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    """The Views table of the template, on the emulated DynamoDB."""
    with template_aws() as provisioned:
        yield provisioned


class TestDynamoDBDestinationHealth(DestinationHealthContract):
    @pytest.fixture
    def health(self, aws: TemplateAws) -> Iterator[DestinationHealth]:
        yield DynamoDBDestinationHealth(aws.views_table, aws.dynamodb)

    def test_a_full_record_is_one_write_unit(
        self, health: DestinationHealth, aws: TemplateAws, tenant: str
    ) -> None:
        # Given a destination whose recent window is full, its last error a long answer,
        # once disabled, with ids and times as the store makes them
        rng = random.Random(7)
        events = [
            dataclasses.replace(
                attempt(n, status=201, ms=rng.randrange(50, 30000)),
                event_id=new_id(),
                occurred_at=f"2026-12-06T08:{n // 60:02d}:{n % 60:02d}.{rng.randrange(10**6):06d}Z",
            )
            for n in range(WINDOW + 5)
        ]
        page = (  # a proxy's answer, as a failing destination's often is
            "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
            "<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
            f"<hr><center>nginx</center>\r\n<!-- request {uuid.uuid4()} -->\r\n</body></html>"
        )
        events += [
            attempt(WINDOW + 6, ok=False, status=503, error="http_503", excerpt=page),
            disabled(WINDOW + 7),
        ]
        health.record(tenant, "contact-form-with-a-long-name", "crm-webhook", events)
        # Then its item is under 1 KB: each batch of its attempts costs one write unit
        found = aws.dynamodb.query(
            TableName=aws.views_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={
                ":pk": {"S": f"T#{tenant}#HEALTH#contact-form-with-a-long-name"}
            },
        )["Items"]
        assert len(found) == 1
        assert write_units(item_size(found[0])) == 1, item_size(found[0])
        # And it reads back whole
        stored = health.get(tenant, "contact-form-with-a-long-name", "crm-webhook")
        assert stored == merge(HealthRecord(), events)
        assert len(stored.recent) == WINDOW and stored.disabled is not None
