"""20 submissions to 3 destinations at once, one of them failing every first attempt: each
delivery ends delivered, once. The 200-submission load is bench/bench_delivery_load.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningStack, running_stack
from tests.support.delivery_load import (
    PRIMARY,
    add_destinations,
    endings,
    requests_per_delivery,
    submit_all,
    unverified,
    wait_until_ended,
)
from tests.support.scripted_receiver import ScriptedReceiver

SUBMISSIONS = 20
# destination id -> receiver path: one that answers at once, one that answers 500 first
PATHS = {"steady": "/ok", "flaky": "/flaky"}


@pytest.fixture(scope="module")
def loaded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningStack, ScriptedReceiver, dict[str, str]]]:
    """A stack whose contact form delivers to the demo sink, a steady and a flaky receiver."""
    receiver = ScriptedReceiver().start()
    state_dir: Path = tmp_path_factory.mktemp("concurrent")
    allow = ("--allow-destination", receiver.address)
    try:
        with running_stack(state_dir, "--time-scale", "0.0001", *allow) as stack:
            yield stack, receiver, add_destinations(stack, receiver, PATHS)
    finally:
        receiver.stop()


def test_concurrent_submissions_are_each_delivered_once_everywhere(
    loaded: tuple[RunningStack, ScriptedReceiver, dict[str, str]],
) -> None:
    stack, receiver, secrets = loaded
    # When 20 submissions arrive from 8 clients at once
    ids = submit_all(stack, SUBMISSIONS, workers=8)
    assert len(set(ids)) == SUBMISSIONS

    # Then every delivery ends, delivered
    views = wait_until_ended(stack, ids, destinations=3, timeout=120)
    for submission_id, view in views.items():
        assert view["status"] == "delivered", (submission_id, view)

    # With exactly one success on record per delivery, and no failure record
    found = endings(stack, ids)
    for submission_id in ids:
        for destination_id in (PRIMARY, *PATHS):
            assert found.successes[submission_id][destination_id] == 1, (
                submission_id,
                destination_id,
            )
        assert not found.failures[submission_id], submission_id

    # And the receivers saw each delivery once (the flaky one twice: its 500, then the retry)
    steady = requests_per_delivery(receiver, "/ok")
    flaky = requests_per_delivery(receiver, "/flaky")
    assert len(steady) == len(flaky) == SUBMISSIONS
    assert set(steady.values()) == {1}
    assert set(flaky.values()) == {2}
    assert len(stack.sink_received()) == SUBMISSIONS
    # And every request verifies per Standard Webhooks
    assert unverified(receiver, secrets) == []
