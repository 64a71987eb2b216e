"""Nothing lost when functions fail: with the dispatcher failing its first 15 invocations
and the status view failing 20% of the time, 100 submissions from concurrent clients all
end delivered, none twice, and what the dispatcher's mapping gave up on (parked on its
failure queue) is re-driven by the reconciler until every failure queue is empty.

The dispatcher's first record fails 11 times (its mapping's MaximumRetryAttempts is 10),
so the mapping parks it on DispatcherFailureQueue and reads on: without the reconciler
that submission would never be delivered. The stack's scheduled ReconcilerFunction (every
5 s with the compressed clock) may re-drive it first, or the operator's `formrelay
reconcile` run: either way it is the reconciler that empties the queue.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack, running_stack
from tests.support.delivery_load import ended_view, submit_all

SUBMISSIONS = 100
FAULTS = (
    "--fault",
    "DispatcherFunction:first=15",
    "--fault",
    "StatusViewFunction:rate=0.2",
    "--fault-seed",
    "12",
)
# Every queue a record or job lands on when its function gives up on it.
FAILURE_QUEUES = (
    "StatusViewFailureQueue",
    "DispatcherFailureQueue",
    "PublisherFailureQueue",
    "DeliveryDLQ",
)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The demo stack with the dispatcher and status view failing, clock compressed."""
    state_dir = tmp_path_factory.mktemp("fault-recovery")
    with running_stack(state_dir, "--time-scale", "0.0001", *FAULTS) as stack:
        # A load, not a rate-limit check: set before the first request
        stack.services().tenants.set_limits("demo", 10_000, 10_000)
        yield stack


def queue_depths(stack: RunningStack) -> dict[str, int]:
    """Messages on each failure queue and the delivery DLQ, visible or in flight."""
    return stack.queue_depths(FAILURE_QUEUES)


# What the local stream mapping logs when it parks a batch on its failure queue.
PARKED = re.compile(
    r"poller-DispatcherFunction-stream: gave up on (\d+) records .* parked on the failure queue"
)


def parked_by_dispatcher(stack: RunningStack) -> int:
    """How many records the dispatcher's mapping has parked on its failure queue so far."""
    log = stack.log_path.read_text(encoding="utf-8", errors="replace")
    return sum(int(n) for n in PARKED.findall(log))


def reconciler_repairs(stack: RunningStack) -> list[dict[str, Any]]:
    """The repairs the scheduled ReconcilerFunction logged (handlers/reconciler.py logs
    "repaired" with each repair; in-process functions share one logger, so its line may
    carry another function's name)."""
    repairs = []
    for line in stack.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if '"message":"repaired"' in line and '"kind":' in line:
            repairs.append(json.loads(line))
    return repairs


def reconcile(stack: RunningStack) -> dict[str, Any]:
    """`formrelay reconcile --grace 0s --json`, as an operator runs it against the stack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FORMRELAY_"))}
    formrelay = Path(sys.executable).parent / "formrelay"
    state_dir = str(stack.log_path.parent)
    done = subprocess.run(
        [str(formrelay), "reconcile", "--grace", "0s", "--json", "--state-dir", state_dir],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def deliveries_per_submission(stack: RunningStack) -> Counter[str]:
    """How many webhooks the demo sink got, per submission id."""
    return Counter(json.loads(r["body"])["submission_id"] for r in stack.sink_received())


def test_a_hundred_submissions_through_failing_functions_are_each_delivered_once(
    faulty: RunningStack,
) -> None:
    stack = faulty
    # When 100 submissions arrive from 10 clients at once
    ids = submit_all(stack, SUBMISSIONS, workers=10)
    assert len(set(ids)) == SUBMISSIONS

    # Then the dispatcher's mapping gives up on what it failed on 11 times: it is parked
    parked = stack.wait_for(
        lambda: parked_by_dispatcher(stack),
        timeout=120,
        what="the dispatcher's mapping to park a batch on its failure queue",
        describe=lambda: queue_depths(stack),
    )
    # And every other submission is delivered while the parked ones wait for the reconciler
    stack.wait_for(
        lambda: len(deliveries_per_submission(stack)) >= SUBMISSIONS - parked,
        timeout=180,
        what="every submission the dispatcher read on past to be delivered",
        describe=lambda: (len(deliveries_per_submission(stack)), queue_depths(stack)),
    )

    # When the operator reconciles (the scheduled run may have re-driven the batch already)
    report = reconcile(stack)
    assert report["errors"] == []

    # Then all 100 are delivered, each once
    stack.wait_for(
        lambda: len(deliveries_per_submission(stack)) == SUBMISSIONS,
        timeout=120,
        what="every submission to be delivered",
        describe=lambda: (len(deliveries_per_submission(stack)), queue_depths(stack)),
    )
    assert set(deliveries_per_submission(stack)) == set(ids)
    views = stack.wait_for(
        lambda: _ended(stack, ids),
        timeout=120,
        what="every status view to show its delivery ended",
    )
    assert {v["status"] for v in views.values()} == {"delivered"}
    # And the parked record was re-driven by the reconciler, which emptied every queue
    scheduled = [r for r in reconciler_repairs(stack) if r["kind"] == "parked_record"]
    by_operator = [r for r in report["repairs"] if r["kind"] == "parked_record"]
    assert len(scheduled) + len(by_operator) >= parked
    stack.wait_for(
        lambda: not any(queue_depths(stack).values()),
        timeout=30,
        what="every failure queue to be empty",
        describe=lambda: queue_depths(stack),
    )
    assert set(deliveries_per_submission(stack).values()) == {1}
    assert stack.received_submissions() == SUBMISSIONS


def _ended(stack: RunningStack, ids: list[str]) -> dict[str, dict[str, Any]] | None:
    views = {s: ended_view(stack, s, destinations=1) for s in ids}
    if any(v is None for v in views.values()):
        return None
    return {s: v for s, v in views.items() if v is not None}
