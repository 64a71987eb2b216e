"""The soak: thousands of submissions through `formrelay dev` while everything fails a little.

2,000 submissions (--submissions) from concurrent clients to 3 destinations (the demo
sink, a steady receiver, and one failing 30% of the time), with `--fault F:rate=0.05`
on every function of the template, and the connector killed mid-attempt a few times
(--kills). At the end (after `formrelay reconcile`): every (submission, destination)
pair is terminal, none is lost, none has two successes on record. Prints the counts
and the time taken, writes bench/results/soak.json, exits 1 if an invariant failed.

How the connector is killed: the stack runs its functions from a host build
(`formrelay dev --build-dir`), so every ConnectorFunction container is a process of
its own. On a few chosen requests the steady receiver holds its answer; while it
does, the soak SIGKILLs every ConnectorFunction container of the stack. The one
sending that request dies after its POST and before reading the answer or recording
anything, as a Lambda that crashes mid-attempt; the stack starts new containers, and
the delivery queue hands the killed batches back after their visibility timeout
(the template's 60 s: the compressed clock does not shorten it).

Clients act as clients do: a submit answered 5xx (a faulted ingest or authorizer) is
sent again with the same Idempotency-Key; a read answered 5xx is read again.

Run (minutes on 2 cores; not part of `make test`):
    .venv/bin/python bench/soak.py [--submissions 2000] [--kills 3] [--build-dir DIR]
Without --build-dir it runs `make build-host` into a temporary directory first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the stack runner lives with the tests

from formrelay.local.template import load_template, resources_of_type  # noqa: E402
from formrelay.tables import keys as vk  # noqa: E402
from tests.e2e.conftest import RunningStack, running_stack  # noqa: E402

RESULTS = Path(__file__).parent / "results"
TIME_SCALE = "0.0001"  # the 27-hour retry schedule in about ten seconds
FAULT_RATE = 0.05
FLAKY_SHARE = 0.3
PRIMARY = "primary"  # the demo form's own destination: the demo sink
DESTINATIONS = (PRIMARY, "steady", "flaky")
TERMINAL = {"delivered", "failed", "dead_lettered"}
HOLD_SECONDS = 3.0  # how long the steady receiver holds an answer for a kill (< timeout)
FAILURE_QUEUES = (
    "StatusViewFailureQueue",
    "DispatcherFailureQueue",
    "PublisherFailureQueue",
    "DeliveryDLQ",
)


class Receiver(ThreadingHTTPServer):
    """Two webhook destinations: /steady answers 200, /flaky 500 30% of the time (seeded).
    Records every request's path and webhook-id; holds the answers to the chosen steady
    requests until the kill they trigger is done."""

    daemon_threads = True

    def __init__(self, seed: int, hold_at: set[int]) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.lock = threading.Lock()
        self.random = random.Random(f"{seed}:flaky")
        self.requests: list[tuple[str, str]] = []
        self.steady_seen = 0
        self.hold_at = hold_at
        self.kill_wanted = threading.Event()
        self.kill_done = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where the destinations point."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connector killed mid-request hangs up on us: that is the point, not an error."""

    def answer_for(self, path: str, webhook_id: str) -> tuple[int, bool]:
        """The status to answer, and whether to hold it for a kill first."""
        with self.lock:
            self.requests.append((path, webhook_id))
            if path == "/flaky":
                return (500 if self.random.random() < FLAKY_SHARE else 200), False
            self.steady_seen += 1
            return 200, self.steady_seen in self.hold_at


class _ReceiverHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        status, hold = self.server.answer_for(self.path, self.headers.get("webhook-id", ""))
        if hold:
            self.server.kill_done.clear()
            self.server.kill_wanted.set()
            self.server.kill_done.wait(HOLD_SECONDS)
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _children(pid: int) -> Iterator[tuple[int, str]]:
    """(pid, command line) of every process whose parent is pid (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if parent == pid:
            yield int(entry.name), command


def connector_containers(dev_pid: int) -> list[int]:
    """The pids of the stack's ConnectorFunction containers."""
    return [
        pid
        for pid, command in _children(dev_pid)
        if "lambda_worker.py" in command and "handlers.connector.handler" in command
    ]


class Killer:
    """Kills every connector container each time the receiver holds an answer for it."""

    def __init__(self, receiver: Receiver, dev_pid: int) -> None:
        self.receiver = receiver
        self.dev_pid = dev_pid
        self.kills = 0
        self.containers_killed = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Killer:
        """Start waiting for kills."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop waiting."""
        self._stopping.set()
        self.receiver.kill_wanted.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.receiver.kill_wanted.wait()
            self.receiver.kill_wanted.clear()
            if self._stopping.is_set():
                return
            pids = connector_containers(self.dev_pid)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    self.containers_killed += 1
                except ProcessLookupError:
                    pass
            self.kills += bool(pids)
            self.receiver.kill_done.set()


def _retrying(call: Callable[[], httpx.Response], attempts: int = 20) -> httpx.Response:
    """A request sent again while the stack answers 5xx (a faulted function) or drops it."""
    answer: httpx.Response | None = None
    for attempt in range(attempts):
        try:
            answer = call()
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code < 500:
            return answer
        time.sleep(min(0.1 * 2**attempt, 2.0))
    raise RuntimeError(f"still failing after {attempts} tries: {answer and answer.text}")


def submit_all(stack: RunningStack, count: int, workers: int) -> tuple[list[str], int]:
    """Submit `count` forms from `workers` clients; their ids and how many 5xx were retried."""
    retried = Counter[str]()

    def submit(n: int) -> str:
        client = stack.client()
        key = f"soak-{n}"
        tries = 0

        def once() -> httpx.Response:
            nonlocal tries
            tries += 1
            return client.submit(
                "contact", {"email": f"u{n}@example.com", "name": f"U{n}"}, idempotency_key=key
            )

        answer = _retrying(once)
        assert answer.status_code == 202, answer.text
        retried["submits"] += tries - 1
        return str(answer.json()["submission_id"])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        ids = list(pool.map(submit, range(count)))
    return ids, retried["submits"]


def views_of(stack: RunningStack, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Every submission's status view, read from the Views table by key (BatchGetItem,
    100 keys a call).

    2,000 signed API reads a round took longer than the deliveries they waited for; the
    view's content is the same one `GET /v1/submissions/{id}` answers (the API reads it
    from this item), so the soak reads the table itself. By key, not by Scan: a Scan
    every round reads every nonce and view of the table, and on the emulator it took a
    second of the one process that also serves the pipeline, slowing what it waited for."""
    dynamodb, table = stack.dynamodb(), stack.table("ViewsTable")
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        keys: list[dict[str, Any]] = [
            {"pk": {"S": vk.status_pk("demo", s)}, "sk": {"S": vk.STATUS_SK}}
            for s in ids[start : start + 100]
        ]
        while keys:
            answer = dynamodb.batch_get_item(
                RequestItems={table: {"Keys": keys, "ConsistentRead": True}}
            )
            for item in answer.get("Responses", {}).get(table, []):
                view = json.loads(item["view"]["S"])
                found[view["submission_id"]] = view
            keys = list(answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
    return {submission_id: found.get(submission_id, {}) for submission_id in ids}


def _ended(view: dict[str, Any]) -> bool:
    shown = view.get("destinations", {})
    return set(shown) == set(DESTINATIONS) and all(d["state"] in TERMINAL for d in shown.values())


def wait_until_ended(stack: RunningStack, ids: list[str], timeout: float) -> list[str]:
    """Poll the views until every submission's deliveries have ended; those that did not."""
    waiting = list(ids)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        views = views_of(stack, waiting)
        waiting = [s for s in waiting if not _ended(views[s])]
        if waiting:
            time.sleep(2)
    return waiting


def histories(stack: RunningStack, ids: list[str], workers: int) -> dict[str, list[dict[str, Any]]]:
    """Every submission's event history (all pages)."""
    client = stack.client()

    def history(submission_id: str) -> list[dict[str, Any]]:
        answer = _retrying(lambda: client.history(submission_id))
        assert answer.status_code == 200, answer.text
        return list(answer.json()["events"])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(ids, pool.map(history, ids), strict=True))


def pair_endings(events: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """Per destination: its successes on record and its final failures."""
    found: dict[str, Counter[str]] = {d: Counter() for d in DESTINATIONS}
    for event in events:
        data = event.get("data", {})
        destination = data.get("destination_id")
        if destination not in found:
            continue
        if event["type"] == "delivery.attempted" and data.get("outcome") == "succeeded":
            found[destination]["succeeded"] += 1
        elif event["type"] == "delivery.failed":
            found[destination]["failed"] += 1
        elif event["type"] == "delivery.dead_lettered":
            found[destination]["dead_lettered"] += 1
    return found


def queue_depths(stack: RunningStack) -> dict[str, int]:
    """Messages on each failure queue and the delivery DLQ, visible or in flight."""
    return stack.queue_depths(FAILURE_QUEUES)


def reconcile(stack: RunningStack) -> dict[str, Any]:
    """`formrelay reconcile --grace 0s --json` against the running stack: its report (or,
    when it failed, its exit code and what it said)."""
    formrelay = Path(sys.executable).parent / "formrelay"
    state_dir = stack.log_path.parent
    command = [str(formrelay), "reconcile", "--grace", "0s", "--json"]
    command += ["--state-dir", str(state_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FORMRELAY_"))}
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    if done.returncode != 0:
        return {"exit_code": done.returncode, "stderr": done.stderr[-3000:]}
    report: dict[str, Any] = json.loads(done.stdout)
    return {"exit_code": 0, "counts": report["counts"], "errors": report["errors"]}


def function_faults() -> list[str]:
    """`--fault F:rate=0.05` for every function of the template."""
    functions = sorted(resources_of_type(load_template(), "AWS::Serverless::Function"))
    return [arg for name in functions for arg in ("--fault", f"{name}:rate={FAULT_RATE:g}")]


@contextmanager
def host_build(build_dir: Path | None) -> Iterator[Path]:
    """The host build the stack runs: the one given, else `make build-host` into a temp dir."""
    if build_dir is not None:
        yield build_dir
        return
    from tests.support.builds import make_build

    with tempfile.TemporaryDirectory() as scratch:
        yield make_build("build-host", Path(scratch) / "host")


def run(
    submissions: int, workers: int, kills: int, seed: int, build: Path | None
) -> dict[str, Any]:
    """Start the stack with its faults, submit, kill, reconcile, check."""
    # The steady receiver holds its answer (and the connector is killed) at these requests
    hold_at = {round(submissions * (k + 1) / (kills + 1)) for k in range(kills)}
    receiver = Receiver(seed, hold_at)
    receiver.thread.start()
    faults = function_faults()
    with host_build(build) as build_dir, tempfile.TemporaryDirectory() as state_dir:
        address = receiver.url.removeprefix("http://")
        args = ["--time-scale", TIME_SCALE, "--allow-destination", address]
        args += ["--build-dir", str(build_dir), *faults, "--fault-seed", str(seed)]
        with running_stack(Path(state_dir), *args) as stack:
            setup(stack, receiver)
            killer = Killer(receiver, dev_pid(stack)).start()
            started = time.perf_counter()
            ids, submit_retries = submit_all(stack, submissions, workers)
            submitted = time.perf_counter()
            not_ended = wait_until_ended(stack, ids, timeout=60 + submissions)
            ended = time.perf_counter()
            killer.stop()
            before = queue_depths(stack)
            summary = reconcile(stack)
            not_ended = wait_until_ended(stack, ids, timeout=120)
            reconciled = time.perf_counter()
            after = queue_depths(stack)
            found = histories(stack, ids, workers)
        RESULTS.mkdir(exist_ok=True)  # the stack's log, kept beside the figures
        shutil.copyfile(Path(state_dir) / "dev.log", RESULTS / "soak-dev.log")
    receiver.shutdown()
    return figures(
        found,
        ids=ids,
        not_ended=not_ended,
        receiver=receiver,
        killer=killer,
        seconds={
            "submit": submitted - started,
            "all_ended": ended - started,
            "total": reconciled - started,
        },
        extra={
            "submit_retries": submit_retries,
            "failure_queues_before_reconcile": before,
            "failure_queues_after_reconcile": after,
            "reconcile": summary,
        },
        workers=workers,
    )


def dev_pid(stack: RunningStack) -> int:
    """The pid of the `formrelay dev` process (the parent of its function containers)."""
    pids = [
        pid
        for pid, command in _children(os.getpid())
        if " dev --demo" in command and str(stack.log_path.parent) in command
    ]
    assert len(pids) == 1, pids
    return pids[0]


def setup(stack: RunningStack, receiver: Receiver) -> None:
    """The steady and the flaky destination on the demo form, and no rate limit.

    The delivery queue keeps the template's 60 s visibility timeout, although the
    compressed clock does not shorten it: a killed container's delivery lease (30 s
    and the destination's timeouts) must expire before its batch comes back, or the
    five receives the queue allows run out against a lease nobody holds any more."""
    stack.services().tenants.set_limits("demo", 100_000, 100_000)
    client = stack.client()
    for destination_id in ("steady", "flaky"):
        body = json.dumps({"url": f"{receiver.url}/{destination_id}", "timeout_seconds": 5})
        path = f"/v1/forms/contact/destinations/{destination_id}"

        def put(path: str = path, body: str = body) -> httpx.Response:
            return client.request("PUT", path, body=body.encode())

        answer = _retrying(put)
        assert answer.status_code in (200, 201), answer.text


def figures(
    found: dict[str, list[dict[str, Any]]],
    *,
    ids: list[str],
    not_ended: list[str],
    receiver: Receiver,
    killer: Killer,
    seconds: dict[str, float],
    extra: dict[str, Any],
    workers: int,
) -> dict[str, Any]:
    """The counts per destination, the invariants, and the times."""
    per_destination: dict[str, Counter[str]] = {d: Counter() for d in DESTINATIONS}
    two_successes = []
    not_terminal = []
    for submission_id, events in found.items():
        for destination, counts in pair_endings(events).items():
            ending = sum(counts.values())
            if counts["succeeded"] > 1:
                two_successes.append([submission_id, destination])
            if ending == 0:
                not_terminal.append([submission_id, destination])
            key = "succeeded" if counts["succeeded"] else ("failed" if ending else "not_terminal")
            if counts["dead_lettered"]:
                key = "dead_lettered"
            per_destination[destination][key] += 1
            per_destination[destination]["ending_records"] += ending
    received = [
        s for s, events in found.items() if events and events[0]["type"] == "submission.received"
    ]
    steady_requests = Counter(w for p, w in receiver.requests if p == "/steady")
    checks = {
        "every_submission_on_record": len(received) == len(ids),
        "every_pair_terminal": not not_terminal,
        "every_view_shows_its_pairs_ended": not not_ended,
        "no_pair_with_two_successes": not two_successes,
        "every_pair_ended_once": all(
            per_destination[d]["ending_records"] == len(ids) for d in DESTINATIONS
        ),
        "failure_queues_empty": not any(extra["failure_queues_after_reconcile"].values()),
        "reconcile_ran_clean": extra["reconcile"]["exit_code"] == 0,
        "connector_killed": killer.kills > 0,
    }
    return {
        "name": "soak (local stack, function faults, connector kills)",
        "submissions": len(ids),
        "destinations": len(DESTINATIONS),
        "workers": workers,
        "function_fault_rate": FAULT_RATE,
        "flaky_destination_failure_share": FLAKY_SHARE,
        "connector_kills": killer.kills,
        "connector_containers_killed": killer.containers_killed,
        "per_destination": {d: dict(c) for d, c in per_destination.items()},
        "steady_receiver_requests": sum(steady_requests.values()),
        "steady_deliveries_received_twice": sum(1 for n in steady_requests.values() if n > 1),
        "not_terminal": not_terminal[:20],
        "views_not_ended": len(not_ended),
        "views_not_ended_ids": not_ended[:20],
        "two_successes": two_successes[:20],
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        **extra,
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version()},
        "checks": checks,
        "ok": all(checks.values()),
    }


def _is_received(event: dict[str, Any]) -> bool:
    return bool(event["type"] == "submission.received")


def show(result: dict[str, Any]) -> None:
    """The counts and the time, as tables."""
    console = Console()
    table = Table(title=f"soak: {result['submissions']} submissions x 3 destinations")
    columns = ("succeeded", "failed", "dead_lettered", "not_terminal", "ending_records")
    table.add_column("destination")
    for column in columns:
        table.add_column(column, justify="right")
    for destination, counts in result["per_destination"].items():
        table.add_row(destination, *(str(counts.get(c, 0)) for c in columns))
    console.print(table)
    facts = Table(show_header=False)
    for name in (
        "connector_kills",
        "connector_containers_killed",
        "submit_retries",
        "steady_deliveries_received_twice",
        "failure_queues_before_reconcile",
        "failure_queues_after_reconcile",
        "seconds",
        "machine",
    ):
        facts.add_row(name, str(result[name]))
    for name, passed in result["checks"].items():
        facts.add_row(name, "[green]ok[/green]" if passed else "[red]FAILED[/red]")
    console.print(facts)


def main() -> None:
    """Run once, print, write the JSON; exit 1 if an invariant failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--kills", type=int, default=3, help="connector kills (default 3)")
    parser.add_argument("--seed", type=int, default=12, help="the faults' and receiver's seed")
    parser.add_argument("--build-dir", type=Path, help="a `make build-host` output to run")
    args = parser.parse_args()
    result = run(args.submissions, args.workers, args.kills, args.seed, args.build_dir)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
    show(result)
    if not result["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
