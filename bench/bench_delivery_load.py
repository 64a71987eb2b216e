"""Delivery under load: 200 submissions to 3 destinations (one failing half the time) through
the local stack (`formrelay dev` in a subprocess), none lost, none delivered twice.

Prints the figures and writes bench/results/delivery_load.json. Run:
    .venv/bin/python bench/bench_delivery_load.py [--submissions 200] [--workers 8]
It takes minutes on 2 cores; `make test` runs the small version
(tests/e2e/test_concurrent_delivery.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the stack runner and receiver live with the tests

from tests.e2e.conftest import RunningStack, running_stack  # noqa: E402
from tests.support.delivery_load import (  # noqa: E402
    PRIMARY,
    add_destinations,
    endings,
    requests_per_delivery,
    submit_all,
    unverified,
    wait_until_ended,
)
from tests.support.scripted_receiver import ScriptedReceiver  # noqa: E402

RESULTS = Path(__file__).parent / "results"
PATHS = {"steady": "/ok", "coin": "/coin-flip"}
TIME_SCALE = "0.0001"  # the 27-hour retry schedule in about ten seconds


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)


def _checks(
    stack: RunningStack, receiver: ScriptedReceiver, ids: list[str], secrets: dict[str, str]
) -> dict[str, bool]:
    """The invariants: every delivery ended once, none delivered twice, every request signed."""
    found = endings(stack, ids)
    steady = requests_per_delivery(receiver, "/ok")
    return {
        "every_delivery_ended_once": all(
            found.per_delivery(s, d) == 1 for s in ids for d in (PRIMARY, *PATHS)
        ),
        "steady_destinations_delivered": all(
            found.successes[s][PRIMARY] == found.successes[s]["steady"] == 1 for s in ids
        ),
        "steady_receiver_saw_each_once": len(steady) == len(ids) and set(steady.values()) == {1},
        "every_request_verifies": unverified(receiver, secrets) == [],
    }


def _latencies(views: dict[str, dict[str, Any]]) -> list[float]:
    """Seconds from receipt to delivery, per delivery that was delivered."""
    return [
        (_at(shown["delivered_at"]) - _at(view["received_at"])).total_seconds()
        for view in views.values()
        for shown in view["destinations"].values()
        if shown.get("delivered_at")
    ]


def run(submissions: int, workers: int) -> dict[str, Any]:
    """Start a stack, load it, and measure."""
    receiver = ScriptedReceiver().start()
    try:
        with tempfile.TemporaryDirectory() as state_dir:
            allow = ("--allow-destination", receiver.address)
            with running_stack(Path(state_dir), "--time-scale", TIME_SCALE, *allow) as stack:
                secrets = add_destinations(stack, receiver, PATHS)
                started = time.perf_counter()
                ids = submit_all(stack, submissions, workers)
                submitted = time.perf_counter()
                views = wait_until_ended(stack, ids, destinations=3, timeout=900)
                ended = time.perf_counter()
                checks = _checks(stack, receiver, ids, secrets)
    finally:
        receiver.stop()
    states: dict[str, int] = {}
    for view in views.values():
        for shown in view["destinations"].values():
            states[shown["state"]] = states.get(shown["state"], 0) + 1
    latencies = _latencies(views)
    deliveries = submissions * 3
    return {
        "name": "delivery load (local stack)",
        "submissions": submissions,
        "destinations": 3,
        "workers": workers,
        "submit_seconds": round(submitted - started, 2),
        "submissions_per_second": round(submissions / (submitted - started), 1),
        "all_ended_seconds": round(ended - started, 2),
        "deliveries_per_second": round(deliveries / (ended - started), 1),
        "delivered_latency_p50_seconds": _percentile(latencies, 0.5),
        "delivered_latency_p95_seconds": _percentile(latencies, 0.95),
        "delivered_latency_mean_seconds": round(statistics.fmean(latencies), 3),
        "end_states": states,
        "checks": checks,
        "ok": all(checks.values()),
    }


def main() -> None:
    """Run once, print, write the JSON; exit 1 if an invariant failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    figures = run(args.submissions, args.workers)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "delivery_load.json").write_text(json.dumps(figures, indent=2))
    for name, value in figures.items():
        print(f"{name:<34} {value}")
    if not figures["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
