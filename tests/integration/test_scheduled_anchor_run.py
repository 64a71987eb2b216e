"""The scheduled anchor run, through its real handler on moto: every tenant in the
directory of tenants gets its anchor, a quiet one none; and the local stack's timer
invokes a Schedule function on its rate, scaled like its other waits."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from formrelay.composition import services
from formrelay.domain.events import StreamId
from formrelay.local.pollers import SchedulePoller, schedule_seconds
from tests.support.events import received
from tests.support.http_events import Context
from tests.support.template_aws import TemplateAws, template_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        monkeypatch.setenv("EVENTS_TABLE", provisioned.events_table)
        monkeypatch.setenv("VIEWS_TABLE", provisioned.views_table)
        monkeypatch.setenv("ANCHORS_BUCKET", provisioned.resources["AnchorsBucket"]["Ref"])
        monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
        services.cache_clear()
        yield provisioned
        services.cache_clear()


def test_the_scheduled_run_anchors_each_tenant_that_changed(aws: TemplateAws) -> None:
    from handlers.anchor import handler

    # Given two tenants, one of which has a submission older than the settle time
    busy, quiet = f"b{uuid.uuid4().hex[:8]}", f"q{uuid.uuid4().hex[:8]}"
    operator = aws.seed_tenant(busy)
    aws.seed_tenant(quiet)
    assert {busy, quiet} <= set(operator.tenants.ids())
    operator.events.append(
        StreamId(busy, f"sub_{uuid.uuid4().hex}"), [received("2026-01-01T00:00:00.000000Z")], 0
    )

    # When the schedule invokes the function
    answer = handler(
        {"detail-type": "Scheduled Event", "source": "aws.events"},
        Context(function_name="formrelay-AnchorFunction"),
    )

    # Then the busy tenant has its first anchor, the quiet one none; a second run adds none
    assert answer["anchors"].get(busy) == 1 and quiet not in answer["anchors"]
    assert handler({}, Context(function_name="formrelay-AnchorFunction"))["anchors"] == {}
    assert services().anchor_store.sequences(busy) == [1]
    assert services().anchor_store.sequences(quiet) == []


def test_a_rate_schedule_runs_on_its_scaled_interval() -> None:
    assert schedule_seconds("rate(5 minutes)") == 300
    assert schedule_seconds("rate(1 hour)") == 3600
    with pytest.raises(ValueError):
        schedule_seconds("cron(0 12 * * ? *)")

    invoked = threading.Event()
    events: list[Any] = []

    class Runtime:
        class spec:
            logical_id = name = "AnchorFunction"

        def invoke(self, event: Any) -> None:
            events.append(event)
            if len(events) == 2:
                invoked.set()

    # However compressed the clock, a schedule runs at most every 5 s unless told otherwise
    compressed = SchedulePoller(Runtime(), {"Schedule": "rate(5 minutes)"}, 0.0001)  # type: ignore[arg-type]
    assert compressed.interval == 5.0
    poller = SchedulePoller(Runtime(), {"Schedule": "rate(1 minute)"}, 0.005, minimum=0)  # type: ignore[arg-type]
    assert poller.interval == pytest.approx(0.3)
    poller.start()
    try:
        assert invoked.wait(10), "the schedule never ran twice"
    finally:
        poller.stop()
        poller.join(5)
    assert events[0]["detail-type"] == "Scheduled Event" and events[0]["source"] == "aws.events"
