"""The local stack's throughput: 1,000 submissions from 8 concurrent clients to one destination.

The stack runs here as `formrelay dev --demo` runs it (formrelay.local.dev: the emulated AWS,
the functions in-process, the front, the pollers and the demo sink); the clients run in a
process of their own, as a user's would, so they do not share the stack's interpreter.
Measured in one run:

- the emulated DynamoDB's raw PutItem rate as the functions reach it: one client built the
  way a function's container builds its own (formrelay.composition), putting ~600-byte
  items one after another into a scratch table, before the load;
- end to end, from the first POST to the last delivery the sink records: submissions/s,
  and per submission the latency from its POST to its delivery (the sink stamps arrivals);
- every AWS call the stack made during the load (a botocore hook on the session every
  in-process client is built from: functions and pollers), per submission;
- the stack process's CPU time during the load, per submission: on a machine shared with
  other work the rate follows the CPU the stack gets, and this figure does not.

Targets (issue 13): at least 15 submissions/s end to end, and at least half of
(raw write rate / AWS calls per submission). Prints rich tables and writes
bench/results/local_throughput.json. Run:
    .venv/bin/python bench/local_throughput.py [--submissions 1000] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
TARGET_SUBMISSIONS_PER_SECOND = 15.0
RAW_ITEM_BYTES = 600


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _submit_all(demo: dict[str, Any], count: int, clients: int) -> list[tuple[str, float, float]]:
    """In the clients' process: `count` submissions from `clients` threads.

    Each is (submission id, wall time its POST started, wall time its 202 came back).
    """
    from formrelay.client import Credentials, FormrelayClient

    local = threading.local()

    def submit(n: int) -> tuple[str, float, float]:
        if not hasattr(local, "client"):
            credentials = Credentials(demo["endpoint"], demo["key_id"], demo["secret"])
            local.client = FormrelayClient(credentials)
        started = time.time()
        answer = local.client.submit(
            demo["form_id"], {"email": f"u{n}@example.com", "name": f"User {n}"}
        )
        if answer.status_code != 202:
            raise RuntimeError(f"submission {n}: {answer.status_code} {answer.text}")
        return str(answer.json()["submission_id"]), started, time.time()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(submit, range(count)))


class CallCounter:
    """Counts every AWS call made by clients of boto3's default session (service.operation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def install(self) -> None:
        """Count calls of every client built from the default session from now on."""
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-call", self._count)  # type: ignore[union-attr]

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def take(self) -> Counter[str]:
        """The calls counted so far; the count starts again from zero."""
        with self._lock:
            taken, self.calls = self.calls, Counter()
        return taken


def raw_put_rate(stack: Any, puts: int) -> dict[str, Any]:
    """PutItem/s of one client built as a function's container builds its own."""
    from formrelay.composition import Container

    environment = stack.functions["IngestFunction"].environment
    dynamodb = Container(environment).services.dynamodb
    table = "formrelay-bench-raw-writes"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    filler = "x" * (RAW_ITEM_BYTES - 40)
    try:
        started = time.perf_counter()
        for n in range(puts):
            dynamodb.put_item(
                TableName=table, Item={"pk": {"S": f"item-{n:08d}"}, "data": {"S": filler}}
            )
        elapsed = time.perf_counter() - started
    finally:
        dynamodb.delete_table(TableName=table)
    return {
        "puts": puts,
        "item_bytes": RAW_ITEM_BYTES,
        "seconds": round(elapsed, 3),
        "put_items_per_second": round(puts / elapsed, 1),
        "endpoint": dynamodb.meta.endpoint_url,
    }


def _deliveries(
    received: list[dict[str, Any]], wanted: set[str], first: dict[str, float]
) -> dict[str, float]:
    """Each wanted submission's first arrival at the sink (wall time), added to first from
    the sink's entries after those already read."""
    for entry in received:
        try:
            submission_id = json.loads(entry["body"])["submission_id"]
        except (ValueError, KeyError, TypeError):
            continue
        if submission_id in wanted and submission_id not in first:
            first[submission_id] = float(entry["received_at"])
    return first


def run(submissions: int, clients: int, raw_puts: int, timeout: float) -> dict[str, Any]:
    """Start the stack, measure its raw write rate, load it, and measure end to end."""
    from formrelay.local.dev import LocalStack, host_port, write_demo
    from formrelay.local.sink import Sink

    counter = CallCounter()
    counter.install()
    sink = Sink()
    with (
        tempfile.TemporaryDirectory() as state_dir,
        sink,
        LocalStack(allow_destinations=[host_port(sink.url)]) as stack,
    ):
        demo = json.loads(write_demo(stack, sink, Path(state_dir)).read_text())
        raw = raw_put_rate(stack, raw_puts)
        # A load, not a rate-limit check: set before the first request is served.
        stack.operator_services().tenants.set_limits(demo["tenant_id"], 10_000, 10_000)
        counter.take()
        # The stack's CPU (every thread of this process; the clients run in their own):
        # what a submission costs whatever else the machine is doing.
        cpu_started = time.process_time()
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(1) as pool:
            submitted = pool.apply(_submit_all, (demo, submissions, clients))
        accepted_at = time.time()
        wanted = {submission_id for submission_id, _, _ in submitted}
        deadline = time.monotonic() + timeout
        delivered: dict[str, float] = {}
        read = 0
        while len(delivered) < len(wanted) and time.monotonic() < deadline:
            received = sink.received()
            _deliveries(received[read:], wanted, delivered)
            read = len(received)
            if len(delivered) < len(wanted):
                time.sleep(0.25)
        cpu_seconds = time.process_time() - cpu_started
        calls = counter.take()
        received = sink.received()
    first_post = min(started for _, started, _ in submitted)
    last_accept = max(answered for _, _, answered in submitted)
    last_delivery = max(delivered.values(), default=accepted_at)
    posted = {submission_id: started for submission_id, started, _ in submitted}
    latencies = [delivered[s] - posted[s] for s in delivered]
    accept_latencies = [answered - started for _, started, answered in submitted]
    total_calls = sum(calls.values())
    per_submission = total_calls / submissions
    end_to_end = len(delivered) / (last_delivery - first_post)
    ceiling = raw["put_items_per_second"] / per_submission
    return {
        "name": "local stack throughput",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "submissions": submissions,
        "clients": clients,
        "destinations": 1,
        "delivered": len(delivered),
        "sink_requests": len(received),
        "raw_put_item": raw,
        "accept_seconds": round(last_accept - first_post, 2),
        "accepted_per_second": round(submissions / (last_accept - first_post), 2),
        "end_to_end_seconds": round(last_delivery - first_post, 2),
        "end_to_end_submissions_per_second": round(end_to_end, 2),
        "accept_latency_seconds": {
            name: round(_percentile(accept_latencies, share), 3)
            for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
        },
        "delivered_latency_seconds": {
            name: round(_percentile(latencies, share), 3) if latencies else None
            for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
        },
        "stack_cpu_seconds": round(cpu_seconds, 2),
        "stack_cpu_ms_per_submission": round(1000 * cpu_seconds / submissions, 1),
        "submissions_per_cpu_second": round(submissions / cpu_seconds, 2),
        "aws_calls": dict(calls.most_common()),
        "aws_calls_per_submission": round(per_submission, 2),
        "targets": {
            "end_to_end_at_least": TARGET_SUBMISSIONS_PER_SECOND,
            "half_of_raw_over_calls": round(ceiling / 2, 2),
            "end_to_end_met": end_to_end >= TARGET_SUBMISSIONS_PER_SECOND,
            "raw_share_met": end_to_end >= ceiling / 2,
        },
        "ok": len(delivered) == submissions,
    }


def show(result: dict[str, Any], console: Console) -> None:
    """Print the figures as rich tables."""
    figures = Table(
        title=f"local stack: {result['submissions']} submissions, "
        f"{result['clients']} clients, 1 destination"
    )
    figures.add_column("measure")
    figures.add_column("value", justify="right")
    raw = result["raw_put_item"]
    figures.add_row("raw PutItem/s (as the functions reach it)", f"{raw['put_items_per_second']}")
    figures.add_row("  through", str(raw["endpoint"]))
    figures.add_row("accepted/s (first POST to last 202)", f"{result['accepted_per_second']}")
    figures.add_row(
        "end to end submissions/s (first POST to last delivery)",
        f"{result['end_to_end_submissions_per_second']}",
    )
    figures.add_row("delivered", f"{result['delivered']} / {result['submissions']}")
    for name, value in result["accept_latency_seconds"].items():
        figures.add_row(f"POST -> 202 {name} (s)", f"{value}")
    for name, value in result["delivered_latency_seconds"].items():
        figures.add_row(f"POST -> delivered {name} (s)", f"{value}")
    figures.add_row("AWS calls per submission", f"{result['aws_calls_per_submission']}")
    figures.add_row(
        "stack CPU ms per submission (all its threads)",
        f"{result['stack_cpu_ms_per_submission']}",
    )
    figures.add_row(
        "submissions per stack CPU second (one free core)",
        f"{result['submissions_per_cpu_second']}",
    )
    console.print(figures)

    targets = Table(title="issue 13 targets")
    targets.add_column("target")
    targets.add_column("needed", justify="right")
    targets.add_column("measured", justify="right")
    targets.add_column("met")
    measured = result["end_to_end_submissions_per_second"]
    goal = result["targets"]
    targets.add_row(
        "end to end submissions/s",
        f">= {goal['end_to_end_at_least']}",
        f"{measured}",
        "yes" if goal["end_to_end_met"] else "NO",
    )
    targets.add_row(
        "half of raw PutItem/s / calls per submission",
        f">= {goal['half_of_raw_over_calls']}",
        f"{measured}",
        "yes" if goal["raw_share_met"] else "NO",
    )
    console.print(targets)

    calls = Table(title="AWS calls during the load (stack's clients)")
    calls.add_column("call")
    calls.add_column("count", justify="right")
    calls.add_column("per submission", justify="right")
    for name, count in result["aws_calls"].items():
        calls.add_row(name, str(count), f"{count / result['submissions']:.2f}")
    console.print(calls)


def main() -> None:
    """Run once, print, write the JSON; exit 1 if a submission was not delivered."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--raw-puts", type=int, default=500)
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds to wait for deliveries"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "local_throughput.json")
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    log_path = args.output.with_suffix(".log")
    # The functions log a JSON line per event to stdout: into the log file, not the terminal.
    terminal = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    with log_path.open("w") as log:
        sys.stdout.flush()
        os.dup2(log.fileno(), sys.stdout.fileno())
        logging.basicConfig(
            level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=log
        )
        try:
            result = run(args.submissions, args.clients, args.raw_puts, args.timeout)
        finally:
            sys.stdout.flush()
            os.dup2(terminal.fileno(), sys.stdout.fileno())
    show(result, Console(file=terminal))
    print(f"functions' log: {log_path}", file=terminal)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}", file=terminal)
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
