"""The warm path, per submission and per event, in one process on in-process moto.

For every payload size (1 KB, 10 KB, 100 KB of JSON body) and number of destinations per
form (1, 3, 10), a form of that many destinations (all to a local HTTP receiver that
answers 200) takes a few warm-up submissions, then `--submissions` measured ones. Each
goes through the template's functions as the local stack runs them (bench/in_process.py):
the authorizer and ingest with API Gateway HTTP API v2 events, then every record the
append wrote to the Events table's stream (read through the DynamoDB Streams API) to the
status view, publisher and dispatcher (each record to every function whose FilterCriteria
it passes, one record per invocation), then every job the dispatcher queued to the
connector (one message per invocation, delivered over HTTP), and on until the stream and
the queue are empty: the connector's own appends come back through the stream too.

Figures are wall-clock time per invocation (time.perf_counter around the handler call;
building the events is left out: API Gateway's and the event source's work), median and
p99 over the measured submissions. The p99 of a few dozen samples is close to their
maximum: read it as "the slow end". Nothing is timed under tracemalloc: `--memory` is a
run of its own that records each invocation's traced peak (KiB allocated above what was
allocated before the call) instead, written to bench/results/warm_path_memory.json;
moto runs in-process, so what it allocates to answer the function's calls counts too.
The AWS behind the functions is moto in-process, so DynamoDB, SQS and EventBridge calls
cost what moto costs here (a few ms each), not what AWS costs; the figures compare
sizes and fan-outs with each other, not with Lambda's bill. moto's Query of a table's
own key is made to read one partition, as DynamoDB's does (`in_process.query_by_partition`:
moto's own sorts the whole table), so later rows are not slower for the earlier rows'
stored submissions.

Prints a table and writes bench/results/warm_path.json.
Run: .venv/bin/python bench/warm_path.py [--submissions 20] [--warmup 3]
[--sizes 1024,10240,102400] [--destinations 1,3,10] [--memory] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from in_process import (
    BENCH_FORM_SCHEMA,
    Passage,
    Pipeline,
    install_atomicity,
    local_credentials,
    payload_of,
    quiet_functions,
)
from moto import mock_aws
from rich.console import Console
from rich.table import Table

from formrelay.bootstrap import seed_tenant
from formrelay.local.sink import Sink

RESULTS = Path(__file__).parent / "results"
SIZES = (1024, 10 * 1024, 100 * 1024)
DESTINATIONS = (1, 3, 10)
TENANT = "bench"
# (label, function, kind of invocation or None for all): each a figure per invocation.
PER_INVOCATION = (
    ("authorizer / request", "AuthorizerFunction", None),
    ("ingest / request", "IngestFunction", None),
    ("status view / received", "StatusViewFunction", "submission.received"),
    ("status view / attempted", "StatusViewFunction", "delivery.attempted"),
    ("publisher / event", "PublisherFunction", None),
    ("dispatcher / received", "DispatcherFunction", "submission.received"),
    ("connector / delivery", "ConnectorFunction", "delivery"),
)
INTAKE = ("AuthorizerFunction", "IngestFunction")


def figures(samples: list[float]) -> dict[str, Any]:
    """Median and p99 (ms) of a list of durations in seconds."""
    ms = sorted(s * 1000 for s in samples)
    if not ms:
        return {"n": 0, "median_ms": None, "p99_ms": None}
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 2), "p99_ms": round(p99, 2)}


def peaks(samples: list[int]) -> dict[str, Any]:
    """Median and largest traced peak (KiB) of a list of invocations' peaks in bytes."""
    if not samples:
        return {"n": 0, "median_kib": None, "max_kib": None}
    kib = [b / 1024 for b in samples]
    return {
        "n": len(kib),
        "median_kib": round(statistics.median(kib), 1),
        "max_kib": round(max(kib), 1),
    }


def summarise_memory(passages: list[Passage]) -> dict[str, Any]:
    """Per invocation kind, the traced peak above what was allocated before the call."""
    return {
        "per_invocation": {
            label: peaks(
                [
                    i.peak_bytes
                    for p in passages
                    for i in p.invocations
                    if i.function == function
                    and (kind is None or i.kind == kind)
                    and i.peak_bytes is not None
                ]
            )
            for label, function, kind in PER_INVOCATION
        }
    }


def summarise(passages: list[Passage]) -> dict[str, Any]:
    """Per invocation kind and per submission, median and p99."""
    per_invocation = {
        label: figures([s for p in passages for s in p.of(function, kind)])
        for label, function, kind in PER_INVOCATION
    }
    intake = [sum(s for f in INTAKE for s in p.of(f)) for p in passages]
    downstream = [
        sum(i.seconds for i in p.invocations if i.function not in INTAKE) for p in passages
    ]
    invocations = {
        function: statistics.mean(len(p.of(function)) for p in passages)
        for function in sorted({i.function for p in passages for i in p.invocations})
    }
    return {
        "per_invocation": per_invocation,
        "per_submission": {
            "authorizer + ingest": figures(intake),
            "projections + connector": figures(downstream),
        },
        "invocations_per_submission": invocations,
    }


def run(
    submissions: int, warmup: int, sizes: list[int], fan_outs: list[int], memory: bool = False
) -> list[dict[str, Any]]:
    """Every size and fan-out, in one moto and one set of warm functions (memory: traced
    peaks instead of times, in a run of its own)."""
    rows = []
    with Sink() as sink, mock_aws(), quiet_functions():
        install_atomicity()
        pipeline = Pipeline(sink.url, memory=memory)
        seeded = seed_tenant(
            pipeline.operator,
            tenant_id=TENANT,
            form_id="contact",
            schema=BENCH_FORM_SCHEMA,
            destination_url=f"{sink.url}/hooks/contact",
        )
        pipeline.operator.tenants.set_limits(TENANT, 100_000, 100_000)  # a bench, not a limit
        pipeline.skip_stream()
        n = 0
        for size in sizes:
            for destinations in fan_outs:
                form_id = f"f{size // 1024}k-{destinations}d"
                pipeline.form(TENANT, form_id, destinations)
                measured = []
                started = time.perf_counter()
                for i in range(warmup + submissions):
                    n += 1
                    passage = pipeline.submit(
                        TENANT, seeded.key_id, seeded.secret, form_id, payload_of(size, n)
                    )
                    if i >= warmup:
                        measured.append(passage)
                delivered = len(sink.received())
                print(
                    f"{size // 1024:>4} KB x {destinations:>2} destinations: "
                    f"{time.perf_counter() - started:.1f} s, {delivered} deliveries so far",
                    file=sys.stderr,
                )
                rows.append(
                    {
                        "payload_bytes": size,
                        "destinations": destinations,
                        "submissions": len(measured),
                        **(summarise_memory(measured) if memory else summarise(measured)),
                    }
                )
        expected = (warmup + submissions) * len(sizes) * sum(fan_outs)
        if len(sink.received()) != expected:
            raise RuntimeError(f"{len(sink.received())} deliveries, expected {expected}")
    return rows


def _cell(figure: dict[str, Any]) -> str:
    if not figure["n"]:
        return "-"
    return f"{figure['median_ms']:.1f} / {figure['p99_ms']:.1f}"


def print_rows(rows: list[dict[str, Any]], submissions: int) -> None:
    console = Console(width=200)
    table = Table(
        title=f"Warm path on in-process moto: ms per invocation, median / p99 "
        f"({submissions} submissions a row)"
    )
    table.add_column("payload", justify="right")
    table.add_column("dest.", justify="right")
    for label, _, _ in PER_INVOCATION:
        table.add_column(label, justify="right")
    for row in rows:
        table.add_row(
            f"{row['payload_bytes'] // 1024} KB",
            str(row["destinations"]),
            *(_cell(row["per_invocation"][label]) for label, _, _ in PER_INVOCATION),
        )
    console.print(table)
    table = Table(title="Warm path per submission: ms, median / p99; invocations per submission")
    for column in ("payload", "dest.", "authorizer + ingest", "projections + connector"):
        table.add_column(column, justify="right")
    table.add_column("invocations per submission")
    for row in rows:
        per = row["per_submission"]
        calls = ", ".join(
            f"{name.removesuffix('Function')} {count:g}"
            for name, count in row["invocations_per_submission"].items()
        )
        table.add_row(
            f"{row['payload_bytes'] // 1024} KB",
            str(row["destinations"]),
            _cell(per["authorizer + ingest"]),
            _cell(per["projections + connector"]),
            calls,
        )
    console.print(table)


def print_memory(rows: list[dict[str, Any]], submissions: int) -> None:
    table = Table(
        title=f"Warm path, a separate run under tracemalloc: KiB allocated at the peak of an "
        f"invocation, median / max ({submissions} submissions a row)"
    )
    table.add_column("payload", justify="right")
    table.add_column("dest.", justify="right")
    for label, _, _ in PER_INVOCATION:
        table.add_column(label, justify="right")
    for row in rows:
        cells = []
        for label, _, _ in PER_INVOCATION:
            figure = row["per_invocation"][label]
            cells.append(
                f"{figure['median_kib']:.0f} / {figure['max_kib']:.0f}" if figure["n"] else "-"
            )
        table.add_row(f"{row['payload_bytes'] // 1024} KB", str(row["destinations"]), *cells)
    Console(width=200).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=20, help="measured, per row")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured, per row")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="payload bytes, commas")
    parser.add_argument(
        "--destinations", default=",".join(map(str, DESTINATIONS)), help="per form, commas"
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="instead of times, each invocation's traced peak (a run of its own)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or RESULTS / ("warm_path_memory.json" if args.memory else "warm_path.json")
    local_credentials()
    started = time.perf_counter()
    sizes = [int(s) for s in args.sizes.split(",")]
    fan_outs = [int(d) for d in args.destinations.split(",")]
    if args.memory:
        tracemalloc.start()
    rows = run(args.submissions, args.warmup, sizes, fan_outs, memory=args.memory)
    if args.memory:
        tracemalloc.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": {"python": platform.python_version(), "cpu": platform.machine()},
                "measures": "traced peak KiB" if args.memory else "ms",
                "submissions_per_row": args.submissions,
                "warmup_per_row": args.warmup,
                "seconds": round(time.perf_counter() - started, 1),
                "rows": rows,
            },
            indent=2,
        )
    )
    if args.memory:
        print_memory(rows, args.submissions)
    else:
        print_rows(rows, args.submissions)


if __name__ == "__main__":
    main()
