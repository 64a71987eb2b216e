"""`formrelay audit anchor [--tenant T]`: take the anchors now, as the scheduled run does.

An operator command (AWS credentials, not an API key): for each tenant (or the one
named), a Merkle root over the heads of the streams that changed since its last
anchor, written once to the anchors bucket and appended to the tenant's ledger. It
finds the tables and the bucket in this order: --events-table/--views-table/
--anchors-bucket; else the outputs of the stack named by --stack or
$FORMRELAY_STACK; else $EVENTS_TABLE, $VIEWS_TABLE and $ANCHORS_BUCKET; else the
local stack's state file (<state-dir>/demo.json). Exit 0 when done, 1 when a
tenant's anchor could not be taken, 2 for bad input, 3 when AWS cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from typing import Any

from formrelay.audit.anchoring import Anchoring
from formrelay.audit.dynamodb import DynamoDBAnchoredHeads
from formrelay.audit.s3 import S3AnchorStore
from formrelay.auth.tenants import TenantDirectory
from formrelay.cli import stack as cli_stack
from formrelay.cli.operator import (
    OPERATOR_FAILURES,
    exit_code_of,
    session_for,
)
from formrelay.cli.projections import add_table_flags, resolve_tables
from formrelay.domain.clock import SystemClock
from formrelay.domain.ids import TENANT_ID, check
from formrelay.settings import ConfigurationError
from formrelay.store.dynamodb import DynamoDBEventStore

ANCHORS_BUCKET_OUTPUT = "AnchorsBucketName"
_NAME = "formrelay audit anchor"


def add_command(group: Any) -> None:
    """Register `anchor` on the `audit` group."""
    parser = group.add_parser(
        "anchor",
        help="take the tenants' anchors now (an operator command)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_table_flags(parser)
    parser.add_argument("--anchors-bucket", help="the anchors bucket (or ANCHORS_BUCKET)")
    parser.set_defaults(audit_run=run)


def run(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Take each tenant's anchor and report it; the exit code as the module says."""
    try:
        taken = _take(args, os.environ if env is None else env)
    except OPERATOR_FAILURES as exc:
        return exit_code_of(_NAME, exc)
    if args.json:
        print(json.dumps({"anchors": taken}))
    for tenant, anchor in taken.items() if not args.json else ():
        if anchor is None:
            print(f"{tenant}: nothing changed since its last anchor")
        else:
            print(
                f"{tenant}: anchor {anchor['anchor_id']} over {anchor['heads']} stream heads, "
                f"root {anchor['root']} ({anchor['key']})"
            )
    return 0


def _take(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, dict[str, Any] | None]:
    if args.tenant is not None:
        check(TENANT_ID, args.tenant, "tenant id")
    tables = resolve_tables(args, env)
    bucket = anchors_bucket(args, env)
    session = session_for(local=tables.local)
    dynamodb = session.client("dynamodb", endpoint_url=tables.endpoint_url)
    anchoring = Anchoring(
        DynamoDBEventStore(tables.events_table, dynamodb),
        S3AnchorStore(bucket, session.client("s3", endpoint_url=tables.endpoint_url)),
        DynamoDBAnchoredHeads(tables.views_table, dynamodb),
        SystemClock(),
    )
    tenants = [args.tenant] if args.tenant else TenantDirectory(tables.views_table, dynamodb).ids()
    taken: dict[str, dict[str, Any] | None] = {}
    for tenant in tenants:
        anchor = anchoring.take(tenant)
        taken[tenant] = (
            None
            if anchor is None
            else {
                "anchor_id": anchor.anchor_id,
                "root": anchor.root,
                "heads": len(anchor.heads),
                "key": anchor.key,
            }
        )
    return taken


def anchors_bucket(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    """The anchors bucket: --anchors-bucket, the stack's output, $ANCHORS_BUCKET, demo.json."""
    given = (args.anchors_bucket or "").strip()
    if given:
        return given
    named = cli_stack.stack_name(args.stack, env)
    if named is not None:
        return cli_stack.describe_stack(named).require(ANCHORS_BUCKET_OUTPUT)
    if env.get("ANCHORS_BUCKET", "").strip():
        return env["ANCHORS_BUCKET"].strip()
    state_file = args.state_dir / "demo.json"
    try:
        return str(json.loads(state_file.read_text(encoding="utf-8"))["anchors_bucket"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            "no anchors bucket: pass --stack or --anchors-bucket, set FORMRELAY_STACK or "
            f"ANCHORS_BUCKET, or run `formrelay dev --demo` (it writes {state_file})"
        ) from exc
