"""Laws of the reconciler, on fakes, for random breakages of random submissions:
after one run every view of the reconciled tenant is its stream's fold, exactly the
deliveries with no attempt are queued, another tenant is untouched, and a second run
changes no view."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from formrelay.delivery.destinations import delivery_id
from formrelay.delivery.memory import InMemoryDeliveryQueue
from formrelay.domain.clock import ManualClock, rfc3339
from formrelay.domain.events import DELIVERY_ATTEMPTED, NewEvent, StreamId
from formrelay.reconciliation.memory import InMemoryReconcileState, InMemoryStatusViews
from formrelay.reconciliation.reconciler import Reconciler
from formrelay.store.memory import InMemoryEventStore
from formrelay.views.status import fold
from tests.support.events import received

# What happened to a submission: which destinations were attempted (and succeeded), and
# what its view is: never written, written before the attempts (behind), or current.
submission = st.tuples(
    st.sampled_from(["acme", "globex"]),
    st.lists(st.booleans(), min_size=1, max_size=3),  # per destination: attempted?
    st.sampled_from(["missing", "behind", "current"]),
)


def _succeeded(tenant: str, submission_id: str, destination: str, at: str) -> NewEvent:
    return NewEvent(
        type=DELIVERY_ATTEMPTED,
        data={
            "destination_id": destination,
            "delivery_id": delivery_id(tenant, submission_id, destination),
            "round": 1,
            "attempt": 1,
            "started_at": at,
            "duration_ms": 10,
            "outcome": "succeeded",
            "status_code": 200,
            "error_class": None,
            "response_excerpt": None,
            "retry_after_seconds": None,
            "next_attempt_at": None,
        },
        correlation_id="c",
        occurred_at=at,
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(submission, min_size=1, max_size=8))
def test_one_run_repairs_the_tenant_and_a_second_changes_no_view(
    fates: list[tuple[str, list[bool], str]],
) -> None:
    clock = ManualClock()
    events, views = InMemoryEventStore(), InMemoryStatusViews()
    undispatched: set[tuple[str, str]] = set()
    for n, (tenant, attempted, view) in enumerate(fates):
        submission_id = f"sub_{n:04d}"
        stream = StreamId(tenant, submission_id)
        destinations = [f"d{i}" for i in range(len(attempted))]
        at = rfc3339(clock.now() + timedelta(seconds=n))
        events.append(stream, [received(at, destinations)], expected_version=0)
        if view == "behind":
            views.put(tenant, fold(events.read(stream)))
        for destination, done in zip(destinations, attempted, strict=True):
            if done:
                head = events.version(stream)
                events.append(stream, [_succeeded(tenant, submission_id, destination, at)], head)
            elif tenant == "acme":
                undispatched.add((submission_id, destination))
        if view == "current":
            views.put(tenant, fold(events.read(stream)))
    others = copy.deepcopy({k: v for k, v in views.views.items() if k[0] == "globex"})
    queue = InMemoryDeliveryQueue()
    reconciler = Reconciler(
        events=events,
        views=views,
        index=views,
        state=InMemoryReconcileState(),
        queue=queue,
        clock=clock,
    )
    clock.advance(3600)

    reconciler.run(["acme"], all_tenants=False)

    for (tenant, submission_id), view in views.views.items():
        if tenant == "acme":
            assert view == fold(events.read(StreamId(tenant, submission_id)))
    # every acme submission has its view now, a never-written one included
    assert {sid for tenant, sid in views.views if tenant == "acme"} == {
        f"sub_{n:04d}" for n, (tenant, _, _) in enumerate(fates) if tenant == "acme"
    }
    assert {(j.submission_id, j.destination_id) for j in queue.take()} == undispatched
    assert {k: v for k, v in views.views.items() if k[0] == "globex"} == others

    before: dict[Any, Any] = copy.deepcopy(views.views)
    clock.advance(60)
    again = reconciler.run(["acme"], all_tenants=False)
    assert views.views == before
    assert again.counts()["view_behind"] == 0
