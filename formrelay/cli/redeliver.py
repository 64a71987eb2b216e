"""`formrelay redeliver`: one submission, or every submission of a form in a status."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from formrelay.cli.common import add_credentials
from formrelay.client import FormrelayClient


def add_command(commands: Any) -> None:
    """Register `redeliver` on the CLI's subcommands."""
    parser = commands.add_parser(
        "redeliver",
        help="deliver again: one submission, or in bulk by form, status and time",
    )
    parser.add_argument("submission_id", nargs="?", help="one submission to redeliver")
    parser.add_argument("--destination", help="only this destination")
    parser.add_argument("--form", help="bulk: the form whose submissions to redeliver")
    parser.add_argument(
        "--status",
        default="dead_lettered",
        help="bulk: submissions in this status (default: dead_lettered)",
    )
    parser.add_argument("--since", help="bulk: received at or after this time (RFC 3339)")
    add_credentials(parser)


def _submissions(client: FormrelayClient, args: argparse.Namespace) -> Iterator[str]:
    cursor: str | None = None
    while True:
        query = {"status": args.status, "form_id": args.form, "limit": "100"}
        if args.since:
            query["since"] = args.since
        if cursor:
            query["cursor"] = cursor
        response = client.request("GET", "/v1/submissions", query=query)
        response.raise_for_status()
        page = response.json()
        yield from (item["submission_id"] for item in page["submissions"])
        cursor = page.get("next_cursor")
        if not cursor:
            return


def _redeliver_one(client: FormrelayClient, submission_id: str, destination: str | None) -> Any:
    body = json.dumps({"destination_id": destination} if destination else {}).encode()
    return client.request("POST", f"/v1/submissions/{submission_id}/redeliveries", body=body)


def _progress(done: int, total: int, failed: int, out: TextIO) -> None:
    width = 30
    filled = width * done // total if total else width
    bar = "#" * filled + "." * (width - filled)
    out.write(f"\rredelivering [{bar}] {done}/{total}  refused: {failed}")
    out.flush()


def run(client: FormrelayClient, args: argparse.Namespace) -> int:
    """Redeliver; print what was queued; non-zero if anything was refused."""
    if args.submission_id:
        response = _redeliver_one(client, args.submission_id, args.destination)
        stream = sys.stdout if response.is_success else sys.stderr
        print(json.dumps(response.json(), indent=2), file=stream)
        return 0 if response.is_success else 1
    if not args.form:
        print("formrelay redeliver: give a submission id, or --form for bulk", file=sys.stderr)
        return 2
    targets = list(_submissions(client, args))
    refused: list[dict[str, Any]] = []
    for done, submission_id in enumerate(targets, start=1):
        response = _redeliver_one(client, submission_id, args.destination)
        if not response.is_success:
            refused.append({"submission_id": submission_id, "status": response.status_code})
        _progress(done, len(targets), len(refused), sys.stderr)
    if targets:
        sys.stderr.write("\n")
    summary = {"matched": len(targets), "queued": len(targets) - len(refused), "refused": refused}
    print(json.dumps(summary, indent=2))
    return 0 if not refused else 1
