"""Items read per page of the tenant listing, for a tenant of 100 and of 10,000 submissions.

Lists every combination of filters page by page (50 a page) on the Views table of
infra/template.yaml in moto (in-process), and counts, per page, what DynamoDB says it
read: the Query's Count and ScannedCount, and the items BatchGetItem returned. A page's
reads do not depend on how many submissions the tenant has; for contrast, the listing
this replaced (gsi1 with a FilterExpression on form_id) is measured on the same data.

Status items are written straight through the status projection's adapter (no events,
no stream), 1 in 100 of them of a rare form. ConsumedCapacity is asked for and
recorded, but moto answers constants (MOTO_NOTES.md), so Count and ScannedCount are the
figures. Prints a table and writes bench/results/listing_pages.json.
Run: .venv/bin/python bench/listing_pages.py
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from rich.console import Console
from rich.table import Table

from formrelay.local.provision import provision
from formrelay.local.template import load_template
from formrelay.tables import keys as vk
from formrelay.views.cursors import CursorSigner
from formrelay.views.listing import ListingQuery, SubmissionListing
from formrelay.views.status import StatusViews

RESULTS = Path(__file__).parent / "results"
SIZES = (100, 10_000)
PAGE = 50
TENANT = "bench"
COMMON, RARE = "contact", "rare"  # 1 in 100 submissions is of the rare form
# (name, form, status) of each query measured
QUERIES = (
    ("all", None, None),
    ("status", None, "delivered"),
    ("form", COMMON, None),
    ("form + status", COMMON, "delivered"),
    ("rare form", RARE, None),
    ("rare form + status", RARE, "delivered"),
)


class Reads:
    """What DynamoDB answered to the listing's client: per call, its kind and counts."""

    def __init__(self, client: Any) -> None:
        self.calls: list[dict[str, Any]] = []
        events = client.meta.events
        for operation in ("Query", "BatchGetItem"):
            events.register(f"provide-client-params.dynamodb.{operation}", _ask_for_capacity)
            events.register(f"after-call.dynamodb.{operation}", self._record)

    def _record(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Query":
            call = {"op": "Query", "count": parsed["Count"], "scanned": parsed["ScannedCount"]}
        else:
            got = sum(len(items) for items in parsed.get("Responses", {}).values())
            call = {"op": "BatchGetItem", "count": got, "scanned": got}
        capacity = parsed.get("ConsumedCapacity")
        if capacity:
            call["capacity_units"] = sum(c.get("CapacityUnits", 0) for c in _listed(capacity))
        self.calls.append(call)

    def since(self, mark: int) -> list[dict[str, Any]]:
        return self.calls[mark:]


def _ask_for_capacity(params: dict[str, Any], **_: Any) -> None:
    params["ReturnConsumedCapacity"] = "TOTAL"


def _listed(capacity: Any) -> list[dict[str, Any]]:
    return capacity if isinstance(capacity, list) else [capacity]


def _view(n: int) -> dict[str, Any]:
    seconds = n  # one a second from the start of the day: times stay distinct and ordered
    received = f"2026-12-01T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return {
        "submission_id": f"sub-{n:06d}",
        "form_id": RARE if n % 100 == 0 else COMMON,
        "form_version": 1,
        "status": "failed" if n % 10 == 3 else "delivered",
        "received_at": received + ".000000Z",
        "updated_at": received + ".500000Z",
        "version": 2,
        "destinations": {
            "primary": {"state": "delivered", "attempts": 1, "round": 1, "last_error": None}
        },
    }


def _page_figures(reads: list[dict[str, Any]]) -> dict[str, Any]:
    queried = [r for r in reads if r["op"] == "Query"]
    fetched = [r for r in reads if r["op"] == "BatchGetItem"]
    return {
        "index_items_read": sum(r["scanned"] for r in queried),
        "index_items_matched": sum(r["count"] for r in queried),
        "items_read_by_key": sum(r["count"] for r in fetched),
        "capacity_units": round(sum(r.get("capacity_units", 0) for r in reads), 2),
    }


def walk(
    listing: SubmissionListing, reads: Reads, query: ListingQuery, max_pages: int | None = None
) -> dict[str, Any]:
    """List a query to its end (or its first max_pages pages); what each page listed and read."""
    pages: list[dict[str, Any]] = []
    started = time.perf_counter()
    while True:
        mark = len(reads.calls)
        page = listing.page(query)
        pages.append({"listed": len(page["submissions"]), **_page_figures(reads.since(mark))})
        if page["next_cursor"] is None or len(pages) == max_pages:
            break
        query = replace(query, cursor=page["next_cursor"])
    return _summary(pages, time.perf_counter() - started)


def walk_filtered(client: Any, table: str, form_id: str, status: str) -> dict[str, Any]:
    """The listing this replaced: gsi1 (tenant + status) with a FilterExpression on form_id."""
    pages: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {
        "TableName": table,
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "FilterExpression": "form_id = :form",
        "ExpressionAttributeValues": {
            ":pk": {"S": vk.listing_pk(TENANT, status)},
            ":form": {"S": form_id},
        },
        "Limit": PAGE,
    }
    started = time.perf_counter()
    while True:
        answer = client.query(**arguments)
        pages.append(
            {
                "listed": answer["Count"],
                "index_items_read": answer["ScannedCount"],
                "index_items_matched": answer["Count"],
                "items_read_by_key": 0,
                "capacity_units": 0,
            }
        )
        if "LastEvaluatedKey" not in answer:
            break
        arguments["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    return _summary(pages, time.perf_counter() - started)


def _summary(pages: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    full = pages[:-1] or pages  # every page but the last is a full one
    return {
        "pages": len(pages),
        "listed": sum(p["listed"] for p in pages),
        "index_items_read_per_full_page": sorted({p["index_items_read"] for p in full}),
        "items_read_by_key_per_full_page": sorted({p["items_read_by_key"] for p in full}),
        "max_items_read_per_page": max(
            p["index_items_read"] + p["items_read_by_key"] for p in pages
        ),
        "items_read_in_all": sum(p["index_items_read"] + p["items_read_by_key"] for p in pages),
        "seconds": round(seconds, 3),
        "per_page": pages,
    }


def measure(size: int) -> list[dict[str, Any]]:
    """Every query on a tenant of `size` submissions, in a fresh moto."""
    with mock_aws():
        resources = provision(load_template(), "bench")
        table = resources["ViewsTable"]["Ref"]
        client = boto3.client("dynamodb", region_name="us-east-1")
        statuses = StatusViews(table, client)
        started = time.perf_counter()
        for n in range(size):
            statuses.put(TENANT, _view(n))
        written = time.perf_counter() - started
        statuses.put("neighbour", _view(0))  # another tenant's, never listed here
        reads = Reads(client)
        listing = SubmissionListing(table, client, cursors=CursorSigner(lambda: b"k" * 32))
        rows = []
        for name, form_id, status in QUERIES:
            query = ListingQuery(TENANT, status, form_id, limit=PAGE)
            rows.append(
                {"size": size, "query": name, "via": "index", **walk(listing, reads, query)}
            )
        for name, form_id in (("form + status", COMMON), ("rare form + status", RARE)):
            rows.append(
                {
                    "size": size,
                    "query": name,
                    "via": "gsi1 + filter (before)",
                    **walk_filtered(client, table, form_id, "delivered"),
                }
            )
        print(f"{size} status items written in {written:.1f} s")
        return rows


def main() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    rows = [row for size in SIZES for row in measure(size)]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "listing_pages.json").write_text(
        json.dumps({"page_size": PAGE, "rows": rows}, indent=2)
    )
    table = Table(title=f"Tenant listing, {PAGE} a page: items DynamoDB read per page")
    for column in (
        "submissions",
        "query",
        "via",
        "pages",
        "listed",
        "index items / full page",
        "by key / full page",
        "max read / page",
        "read in all",
    ):
        table.add_column(column, justify="right" if column not in ("query", "via") else "left")
    for row in rows:
        table.add_row(
            f"{row['size']:,}",
            row["query"],
            row["via"],
            str(row["pages"]),
            f"{row['listed']:,}",
            ",".join(map(str, row["index_items_read_per_full_page"])),
            ",".join(map(str, row["items_read_by_key_per_full_page"])),
            str(row["max_items_read_per_page"]),
            f"{row['items_read_in_all']:,}",
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
