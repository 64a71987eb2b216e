"""What one new submission reads and writes in DynamoDB, with 1,000 and with 20,000
submissions already stored for its tenant; and what a listing page reads then.

The pipeline is the template's functions on in-process moto, called as the local stack
calls them (bench/in_process.py): one signed submission (1 KB, one destination) through
the authorizer and ingest, its stream records through the status view, publisher and
dispatcher, its delivery job through the connector to a local HTTP receiver, and the
connector's own records back through the projections. A botocore hook on each function's
own DynamoDB client records every call: its operation, the items it read (GetItem: the
item if found; Query: Count and ScannedCount; BatchGetItem: the items returned) and the
items it wrote (PutItem, UpdateItem, DeleteItem: one each, a failed condition included,
as DynamoDB charges it; TransactWriteItems and BatchWriteItem: one per item). moto's
ConsumedCapacity is a constant (shared/MOTO_NOTES.md), so no capacity units are given
here: the item counts are what is real.

How the stored submissions are written, fast: one template submission goes through the
whole pipeline first; every item it left whose key names it (its two events, its status
item) or its request (the nonce the authorizer claimed) is then copied, with a fresh
submission id, event ids and nonce, by BatchWriteItem (25 items a call) straight into
the tables, so each stored submission has the items a real one has (a status view in
every listing index, a stream of two events, a nonce), without running the pipeline for
each. The copies' hashes are not recomputed (no path measured here reads another
submission's chain). Their stream records are skipped: the functions see only the
measured submissions'. Every stored submission is of the same form and time, so the
listing indexes' partitions for the tenant hold all of them.

The listing figures reuse bench/listing_pages.py's walk over these stored submissions:
its first pages of every query of the tenant (bench/listing_pages.py walks every page,
for 100 and 10,000 status items written through the status views' adapter).

moto's Query of a table's own key is made to read one partition, as DynamoDB's does
(`in_process.query_by_partition`; moto's own sorts the whole table for each, seconds at
20,000 stored): the same answers, checked call by call against moto's own on a small
run. Index queries (the listing's) are moto's own, which is why the listing reads only
its first pages here.

Seeding takes longer than the functions' 30 s caches (key secrets, rate limits): the
first submission after it refreshes them (two GetItems more, in ingest), so it is run
and counted apart ("first after seeding"), and the measured ones come after it.

Prints the figures side by side and writes bench/results/scale.json.
Then, with the most stored, the same per new submission to forms of 3 and 10
destinations (`--destinations`), to show what each further destination costs.

Run: .venv/bin/python bench/scale.py [--sizes 1000,20000] [--submissions 5]
[--destinations 3,10] [--out bench/results/scale.json]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections import Counter, defaultdict
from functools import partial
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
from listing_pages import PAGE, Reads, walk
from moto import mock_aws
from rich.console import Console
from rich.table import Table

from formrelay.bootstrap import seed_tenant
from formrelay.composition import Services
from formrelay.domain.ids import new_id
from formrelay.local.sink import Sink
from formrelay.views.cursors import CursorSigner
from formrelay.views.listing import ListingQuery, SubmissionListing

RESULTS = Path(__file__).parent / "results"
TENANT = "bench"
FORM = "contact"
PAYLOAD_BYTES = 1024
LISTING_PAGES = 2  # the first pages of each query: a full page and the next
LISTING_QUERIES = (
    ("all", None, None),
    ("status", None, "delivered"),
    ("form", FORM, None),
    ("form + status", FORM, "delivered"),
)
_TABLES = ("EventsTable", "ViewsTable")


class DynamoDBCalls:
    """Every DynamoDB call of the functions' own clients: function, operation, items."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def watch(self, pipeline: Pipeline) -> None:
        """Hook every function container's DynamoDB client (those made later too)."""
        for name, runtime in pipeline.runtimes.items():
            runtime.configure(partial(self._hook, name))

    def _hook(self, function: str, services: Services) -> None:
        events = services.dynamodb.meta.events
        events.register("provide-client-params.dynamodb", _keep_params)
        events.register("after-call.dynamodb", partial(self._record, function))

    def _record(
        self, function: str, http_response: Any, parsed: dict[str, Any], model: Any, **kw: Any
    ) -> None:
        params: dict[str, Any] = kw.get("context", {}).get("bench_params", {})
        op = model.name
        read = scanned = written = 0
        if op == "GetItem":
            read = scanned = int("Item" in parsed)
        elif op in ("Query", "Scan"):
            read, scanned = parsed.get("Count", 0), parsed.get("ScannedCount", 0)
        elif op in ("BatchGetItem", "TransactGetItems"):
            responses = parsed.get("Responses", {})
            got = (
                sum(len(items) for items in responses.values())
                if isinstance(responses, dict)
                else sum(1 for r in responses if r.get("Item"))
            )
            read = scanned = got
        elif op in ("PutItem", "UpdateItem", "DeleteItem"):
            written = 1
        elif op == "TransactWriteItems":
            written = len(params.get("TransactItems", []))
        elif op == "BatchWriteItem":
            written = sum(len(v) for v in params.get("RequestItems", {}).values())
        self.calls.append(
            {
                "function": function,
                "op": op,
                "table": str(params.get("TableName", "")),
                "index": params.get("IndexName"),
                "ok": http_response.status_code < 300,
                "items_read": read,
                "items_scanned": scanned,
                "items_written": written,
            }
        )


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """The call's parameters, for after-call (which sees only the answer)."""
    context["bench_params"] = dict(params)


def per_submission(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """The calls of one submission: totals, by operation and by function."""
    by_op: Counter[str] = Counter(c["op"] for c in calls)
    by_function: dict[str, Counter[str]] = defaultdict(Counter)
    for c in calls:
        tally = by_function[c["function"].removesuffix("Function")]
        tally["calls"] += 1
        for figure in ("items_read", "items_scanned", "items_written"):
            tally[figure] += c[figure]
    return {
        "calls": len(calls),
        "failed_calls": sum(not c["ok"] for c in calls),
        "items_read": sum(c["items_read"] for c in calls),
        "items_scanned": sum(c["items_scanned"] for c in calls),
        "items_written": sum(c["items_written"] for c in calls),
        "by_operation": dict(sorted(by_op.items())),
        "by_function": {name: dict(t) for name, t in sorted(by_function.items())},
        "each_call": [
            " ".join(
                (
                    c["function"].removesuffix("Function"),
                    c["op"],
                    c["table"] + (f"/{c['index']}" if c["index"] else ""),
                    f"read {c['items_read']} scanned {c['items_scanned']}",
                    f"written {c['items_written']}" + ("" if c["ok"] else " (refused)"),
                )
            )
            for c in calls
        ],
    }


class Seeder:
    """Stored submissions for the tenant, copied from one real one (see the module)."""

    def __init__(self, pipeline: Pipeline, template: dict[str, list[dict[str, Any]]]) -> None:
        self.pipeline = pipeline
        self.template = template  # table logical id -> the template submission's items
        self.stored = 0

    @classmethod
    def from_submission(cls, pipeline: Pipeline, before: dict[Any, Any], sub: str) -> Seeder:
        """The items the submission `sub` left (those absent from `before`) that are its own."""
        template: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for (table, pk, _), item in _items(pipeline).items():
            if (table, pk, _) in before:
                continue
            if sub in pk or "#NONCE#" in pk:
                template[table].append(item)
        return cls(pipeline, dict(template))

    def store(self, count: int) -> float:
        """Write `count` more stored submissions; the seconds it took."""
        started = time.perf_counter()
        text = {table: json.dumps(items) for table, items in self.template.items()}
        originals = _originals(self.template)
        pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _ in range(count):
            fresh = {old: _fresh_like(old) for old in originals}
            for table, source in text.items():
                copied = source
                for old, new in fresh.items():
                    copied = copied.replace(old, new)
                pending[table].extend(json.loads(copied))
            for table in list(pending):
                while len(pending[table]) >= 25:
                    self._write(table, pending[table][:25])
                    del pending[table][:25]
        for table, items in pending.items():
            if items:
                self._write(table, items)
        self.stored += count
        self.pipeline.skip_stream()  # the copies' records are no function's business
        return time.perf_counter() - started

    def _write(self, table: str, items: list[dict[str, Any]]) -> None:
        name = self.pipeline.resources[table]["Ref"]
        request = {name: [{"PutRequest": {"Item": item}} for item in items]}
        while request:
            answer = self.pipeline.dynamodb.batch_write_item(RequestItems=request)
            request = answer.get("UnprocessedItems") or {}


def _items(pipeline: Pipeline) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every item of both tables by (table, pk, sk) (only while they are small)."""
    found = {}
    for table in _TABLES:
        name = pipeline.resources[table]["Ref"]
        for item in pipeline.dynamodb.scan(TableName=name)["Items"]:
            found[(table, item["pk"]["S"], item["sk"]["S"])] = item
    return found


def _originals(template: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The template submission's own identifiers: its id, its events' ids, its nonce."""
    names: set[str] = set()
    for items in template.values():
        for item in items:
            pk = item["pk"]["S"]
            if "#NONCE#" in pk:
                names.add(pk.rsplit("#", 1)[1])
            elif "submission_id" in item:
                names.add(item["submission_id"]["S"])
            if "event_id" in item:
                names.add(item["event_id"]["S"])
    return sorted(names)


def _fresh_like(old: str) -> str:
    """A new identifier of the same kind: a uuid7 for a uuid, else a new nonce."""
    return new_id() if len(old) == 36 and old.count("-") == 4 else secrets.token_urlsafe(18)


def listing_reads(pipeline: Pipeline) -> list[dict[str, Any]]:
    """The first pages of each listing query of the tenant: what each page read."""
    client = pipeline.dynamodb
    reads = Reads(client)
    table = pipeline.resources["ViewsTable"]["Ref"]
    listing = SubmissionListing(table, client, cursors=CursorSigner(lambda: b"k" * 32))
    rows = []
    for name, form_id, status in LISTING_QUERIES:
        query = ListingQuery(TENANT, status, form_id, limit=PAGE)
        walked = walk(listing, reads, query, max_pages=LISTING_PAGES)
        walked.pop("per_page")
        rows.append({"query": name, **walked})
    return rows


def run(
    sizes: list[int], submissions: int, fan_outs: list[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """For each size (ascending; stored submissions only added), the figures; then, with
    the most stored, per new submission to a form of each number of destinations."""
    rows = []
    with Sink() as sink, mock_aws(), quiet_functions():
        install_atomicity()
        pipeline = Pipeline(sink.url)
        seeded = seed_tenant(
            pipeline.operator,
            tenant_id=TENANT,
            form_id=FORM,
            schema=BENCH_FORM_SCHEMA,
            destination_url=f"{sink.url}/hooks/{FORM}",
        )
        pipeline.operator.tenants.set_limits(TENANT, 100_000, 100_000)
        pipeline.skip_stream()
        counter = DynamoDBCalls()
        counter.watch(pipeline)

        def submit(n: int, form_id: str = FORM) -> Passage:
            body = payload_of(PAYLOAD_BYTES, n)
            return pipeline.submit(TENANT, seeded.key_id, seeded.secret, form_id, body)

        def counted(n: int, form_id: str = FORM) -> dict[str, Any]:
            mark = len(counter.calls)
            submit(n, form_id)
            return per_submission(counter.calls[mark:])

        before = _items(pipeline)
        template = submit(0)  # also warms every function
        seeder = Seeder.from_submission(pipeline, before, template.submission_id)
        seeder.stored = 1
        n = 0
        for size in sorted(sizes):
            seconds = seeder.store(size - seeder.stored)
            print(f"{seeder.stored:,} stored submissions ({seconds:.1f} s)", file=sys.stderr)
            # Seeding takes longer than the functions' 30 s caches (rate limits, secrets):
            # the first submission after it refreshes them. Counted apart, not measured.
            n += 1
            after_pause = counted(n)
            measured = []
            for _ in range(submissions):
                n += 1
                measured.append(counted(n))
            seeder.stored += submissions + 1
            rows.append(
                {
                    "stored_submissions": size,
                    "seeding_seconds": round(seconds, 1),
                    "first_after_seeding": after_pause,
                    "submissions": measured,
                    "per_submission_range": _range(measured),
                    "listing": listing_reads(pipeline),
                }
            )
        fan_out = []
        for destinations in sorted(fan_outs):
            form_id = f"{FORM}-{destinations}d"
            pipeline.form(TENANT, form_id, destinations)
            n += 1
            counted(n, form_id)  # the form's first submission: not measured
            runs = []
            for _ in range(submissions):
                n += 1
                runs.append(counted(n, form_id))
            fan_out.append(
                {
                    "destinations": destinations,
                    "stored_submissions": seeder.stored,
                    "submissions": runs,
                    "per_submission_range": _range(runs),
                }
            )
    return rows, fan_out


def _range(measured: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Each total's [min, max] over the measured submissions."""
    figures = ("calls", "items_read", "items_scanned", "items_written")
    return {f: [min(m[f] for m in measured), max(m[f] for m in measured)] for f in figures}


def _span(values: list[int]) -> str:
    low, high = values
    return str(low) if low == high else f"{low}-{high}"


def print_rows(rows: list[dict[str, Any]]) -> None:
    console = Console(width=180)
    table = Table(title="DynamoDB per new submission (1 KB, one destination), min-max over runs")
    table.add_column("stored", justify="right")
    for column in ("calls", "items read", "items scanned", "items written"):
        table.add_column(column, justify="right")
    table.add_column("by operation (first run)")
    table.add_column("first after seeding: calls / read / written", justify="right")
    for row in rows:
        spread = row["per_submission_range"]
        first = row["submissions"][0]
        pause = row["first_after_seeding"]
        table.add_row(
            f"{row['stored_submissions']:,}",
            _span(spread["calls"]),
            _span(spread["items_read"]),
            _span(spread["items_scanned"]),
            _span(spread["items_written"]),
            ", ".join(f"{op} {count}" for op, count in first["by_operation"].items()),
            f"{pause['calls']} / {pause['items_read']} / {pause['items_written']}",
        )
    console.print(table)
    table = Table(title="Per function, first measured submission: calls / read / scanned / written")
    functions = sorted({f for row in rows for f in row["submissions"][0]["by_function"]})
    table.add_column("stored", justify="right")
    for function in functions:
        table.add_column(function, justify="right")
    for row in rows:
        by_function = row["submissions"][0]["by_function"]
        cells = []
        for function in functions:
            t = by_function.get(function, {})
            cells.append(
                "/".join(
                    str(t.get(k, 0))
                    for k in ("calls", "items_read", "items_scanned", "items_written")
                )
            )
        table.add_row(f"{row['stored_submissions']:,}", *cells)
    console.print(table)
    table = Table(title=f"Listing, {PAGE} a page, first {LISTING_PAGES} pages: items read")
    columns = ("stored", "query", "index items / full page", "by key / full page", "max / page")
    for column in columns:
        table.add_column(column, justify="right" if column != "query" else "left")
    for row in rows:
        for query in row["listing"]:
            table.add_row(
                f"{row['stored_submissions']:,}",
                query["query"],
                ",".join(map(str, query["index_items_read_per_full_page"])),
                ",".join(map(str, query["items_read_by_key_per_full_page"])),
                str(query["max_items_read_per_page"]),
            )
    console.print(table)


def print_fan_out(fan_out: list[dict[str, Any]]) -> None:
    if not fan_out:
        return
    table = Table(title="DynamoDB per new submission by destinations per form, min-max over runs")
    for column in ("destinations", "stored", "calls", "items read", "items written"):
        table.add_column(column, justify="right")
    table.add_column("by operation (first run)")
    for row in fan_out:
        spread = row["per_submission_range"]
        first = row["submissions"][0]
        table.add_row(
            str(row["destinations"]),
            f"{row['stored_submissions']:,}",
            _span(spread["calls"]),
            _span(spread["items_read"]),
            _span(spread["items_written"]),
            ", ".join(f"{op} {count}" for op, count in first["by_operation"].items()),
        )
    Console(width=180).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,20000", help="stored submissions, commas")
    parser.add_argument("--submissions", type=int, default=5, help="measured, per size")
    parser.add_argument(
        "--destinations", default="3,10", help="further fan-outs, at the most stored, commas"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    args = parser.parse_args()
    local_credentials()
    started = time.perf_counter()
    sizes = [int(s) for s in args.sizes.split(",")]
    fan_outs = [int(d) for d in args.destinations.split(",") if d]
    rows, fan_out = run(sizes, args.submissions, fan_outs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "payload_bytes": PAYLOAD_BYTES,
                "destinations": 1,
                "seconds": round(time.perf_counter() - started, 1),
                "rows": rows,
                "fan_out": fan_out,
            },
            indent=2,
        )
    )
    print_rows(rows)
    print_fan_out(fan_out)


if __name__ == "__main__":
    main()
