"""`formrelay projections rebuild [--tenant T]`: every status view recomputed from the events.

An operator command: it reads the Events table and writes the Views table
directly, with AWS credentials (see formrelay/views/rebuild.py for what it
writes and why running it beside the live projection is safe). It finds both
tables in this order: --events-table/--views-table; else the outputs of the
stack named by --stack or $FORMRELAY_STACK; else $EVENTS_TABLE and
$VIEWS_TABLE; else the local stack's state file (<state-dir>/demo.json).
Exit 0 when every view was rebuilt, 1 when a stream could not be (its id is
named), 2 for bad input, 3 when AWS cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from formrelay.cli import stack as cli_stack
from formrelay.cli.operator import (
    DEFAULT_STATE_DIR,
    OPERATOR_FAILURES,
    exit_code_of,
    session_for,
)
from formrelay.domain.ids import TENANT_ID, check
from formrelay.settings import ConfigurationError
from formrelay.store.dynamodb import DynamoDBEventStore
from formrelay.views.rebuild import RebuildReport, TenantIds, rebuild_tenant, submissions_of
from formrelay.views.status import StatusViews

COMMAND = "projections"
EVENTS_TABLE_OUTPUT = "EventsTableName"
_NAME = "formrelay projections rebuild"


@dataclass(frozen=True)
class Tables:
    """The tables a rebuild reads and writes, and the AWS endpoint they are on."""

    events_table: str
    views_table: str
    endpoint_url: str | None  # None: boto3's own choice ($AWS_ENDPOINT_URL or AWS)
    local: bool  # the local stack's state file named them: use its local credentials


def add_commands(subparsers: Any) -> None:
    """Register `projections rebuild` on the top-level subparsers."""
    projections = subparsers.add_parser("projections", help="rebuild the read models")
    actions = projections.add_subparsers(dest="action", required=True)
    rebuild = actions.add_parser(
        "rebuild",
        help="recompute every status view from the event store",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_table_flags(rebuild)


def add_table_flags(parser: argparse.ArgumentParser) -> None:
    """--tenant, --json, --stack, --events-table, --views-table and --state-dir: what an
    operator command over both tables takes (resolve_tables reads them)."""
    parser.add_argument("--tenant", help="only this tenant (default: every tenant)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    cli_stack.add_stack_flag(parser)
    parser.add_argument("--events-table", help="the Events table (or EVENTS_TABLE)")
    parser.add_argument("--views-table", help="the Views table (or VIEWS_TABLE)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where `formrelay dev` wrote demo.json (used when no table is given)",
    )


def run(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Rebuild, reporting per tenant; the exit code as the module says."""
    try:
        if args.tenant is not None:
            check(TENANT_ID, args.tenant, "tenant id")
        tables = resolve_tables(args, os.environ if env is None else env)
        reports = _rebuild(args, tables)
    except OPERATOR_FAILURES as exc:
        return exit_code_of(_NAME, exc)
    refused = [f"{r.tenant_id}/{s}" for r in reports for s in r.refused]
    if args.json:
        print(json.dumps({"tenants": [r.as_dict() for r in reports]}))
    else:
        for report in reports:
            print(
                f"{report.tenant_id}: {report.submissions} submissions, "
                f"{report.written} views written"
            )
    for name in refused:
        print(
            f"{_NAME}: no view rebuilt for {name}: its chain does not verify, or it does "
            "not start with submission.received",
            file=sys.stderr,
        )
    return 1 if refused else 0


def resolve_tables(args: argparse.Namespace, env: Mapping[str, str]) -> Tables:
    """Flags first, then the named stack's outputs, then the environment, then the state file."""
    events, views = (args.events_table or "").strip(), (args.views_table or "").strip()
    named = cli_stack.stack_name(args.stack, env)
    if named is not None:
        if not (events and views):
            outputs = cli_stack.describe_stack(named)
            events = events or outputs.require(EVENTS_TABLE_OUTPUT)
            views = views or outputs.require(cli_stack.VIEWS_TABLE)
        return Tables(events, views, None, local=False)
    events = events or env.get("EVENTS_TABLE", "").strip()
    views = views or env.get("VIEWS_TABLE", "").strip()
    if events and views:
        return Tables(events, views, None, local=False)
    state_file = args.state_dir / "demo.json"
    try:
        demo = json.loads(state_file.read_text(encoding="utf-8"))
        events, views = events or str(demo["events_table"]), views or str(demo["views_table"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            "no Events and Views tables: pass --stack or --events-table and --views-table, "
            "set FORMRELAY_STACK or EVENTS_TABLE and VIEWS_TABLE, or run `formrelay dev "
            f"--demo` (it writes {state_file})"
        ) from exc
    endpoint = None if env.get("AWS_ENDPOINT_URL") else str(demo["aws_endpoint"])
    return Tables(events, views, endpoint, local=True)


def _rebuild(args: argparse.Namespace, tables: Tables) -> list[RebuildReport]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    session = session_for(local=tables.local)
    dynamodb = session.client("dynamodb", endpoint_url=tables.endpoint_url)
    events = DynamoDBEventStore(tables.events_table, dynamodb)
    views = StatusViews(tables.views_table, dynamodb)
    tenants = [args.tenant] if args.tenant else TenantIds(tables.views_table, dynamodb).all()
    console = Console(stderr=True)
    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=args.json or not console.is_terminal,
    )
    reports = []
    with bar:
        for tenant in tenants:
            task = bar.add_task(f"{tenant}: finding submissions", total=None)
            ids = list(submissions_of(tenant, events))
            bar.update(task, description=f"{tenant}: rebuilding", total=len(ids))
            reports.append(
                rebuild_tenant(
                    tenant,
                    ids,
                    events=events,
                    views=views,
                    advanced=partial(bar.advance, task),
                )
            )
    return reports
