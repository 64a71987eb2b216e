"""`formrelay audit verify` and `formrelay audit proof ID`: the record, checked.

    formrelay audit verify ID                        one submission, through the API
    formrelay audit verify --tenant T [--since TIME] the tenant's whole record against
                                                     every anchor (AWS credentials)
    formrelay audit verify --export FILE --anchors DIR   the same offline, from an
                                                     export and the anchor objects

verify prints a table (or JSON with --json) naming each first bad link, and exits
1 when anything does not verify, 2 for bad input. The tenant-wide check reports a
deleted, truncated or rewritten stream by its id, and a missing, altered or
unlinked anchor by its id. Offline, the export must cover the tenant's whole
history (`formrelay audit export --since 2000-01-01T00:00:00Z`), and DIR holds
the anchor objects as the bucket does (`aws s3 sync s3://BUCKET/anchors/T DIR`).
proof prints the head and the Merkle inclusion proof, recomputes the root from
the proof's leaf and path here, and exits 1 unless it equals the anchor's root.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from formrelay.audit.proofs import root_from_proof
from formrelay.audit.s3 import S3AnchorStore
from formrelay.audit.tenant_verification import TenantVerdict, streams_of_export, verify_tenant
from formrelay.cli.audit_anchor import anchors_bucket
from formrelay.cli.common import add_credentials, print_answer, resolve_credentials
from formrelay.cli.operator import (
    DEFAULT_STATE_DIR,
    OPERATOR_FAILURES,
    exit_code_of,
    fail,
    session_for,
)
from formrelay.cli.projections import resolve_tables
from formrelay.client import FormrelayClient
from formrelay.domain.clock import normalized_time
from formrelay.domain.errors import InvalidIdentifierError, StreamNotFoundError
from formrelay.domain.events import RecordedEvent, StreamId
from formrelay.domain.ids import TENANT_ID, check
from formrelay.store.dynamodb import DynamoDBEventStore

_NAME = "formrelay audit verify"


def add_command(group: Any) -> None:
    """Register `verify` and `proof` on the `audit` group."""
    verify = group.add_parser(
        "verify",
        help="check a submission's record against its chain and its anchor (exit 1 if not)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("submission_id", nargs="?", help="one submission (through the API)")
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verify.add_argument("--tenant", help="the whole record of this tenant (AWS credentials)")
    verify.add_argument("--since", type=_time, help="only anchors taken at or after this time")
    verify.add_argument("--export", type=Path, metavar="FILE", help="offline: an NDJSON export")
    verify.add_argument("--anchors", type=Path, metavar="DIR", help="offline: anchor objects")
    verify.add_argument("--events-table", help="the Events table (or EVENTS_TABLE)")
    verify.add_argument("--views-table", help="the Views table (or VIEWS_TABLE)")
    verify.add_argument("--anchors-bucket", help="the anchors bucket (or ANCHORS_BUCKET)")
    verify.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where `formrelay dev` wrote demo.json (used when nothing else names them)",
    )
    add_credentials(verify)
    verify.set_defaults(audit_run=run_verify)
    proof = group.add_parser(
        "proof",
        help="a submission's Merkle inclusion proof, recomputed here (exit 1 if it fails)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    proof.add_argument("submission_id")
    add_credentials(proof)
    proof.set_defaults(audit_run=run_proof)


def run_verify(args: argparse.Namespace) -> int:
    """One submission, a tenant, or an export: 0 verified, 1 not (or refused), 2 bad input."""
    if args.export is not None or args.anchors is not None:
        return _offline(args)
    if args.tenant is not None:
        return _online(args)
    if args.submission_id is None:
        return fail(_NAME, "name a submission, --tenant T, or --export FILE --anchors DIR", 2)
    return _one(args)


def _one(args: argparse.Namespace) -> int:
    response = FormrelayClient(resolve_credentials(args)).verify(args.submission_id)
    if not response.is_success or args.json:
        code = print_answer(response)
        return code if code else (0 if response.json().get("verified") else 1)
    verdict = response.json()
    _table(verdict)
    return 0 if verdict["verified"] else 1


def run_proof(args: argparse.Namespace) -> int:
    """Print the proof and check it: 0 when its root is the anchor's, 1 otherwise."""
    response = FormrelayClient(resolve_credentials(args)).proof(args.submission_id)
    code = print_answer(response)
    if code:
        return code
    answer = response.json()
    proof = answer.get("proof")
    if proof is None:
        print(
            "no anchor holds this submission yet: its events are covered by their chain only",
            file=sys.stderr,
        )
        return 0 if answer["verified"] else 1
    root = root_from_proof(
        proof["leaf"], proof["leaf_index"], proof["anchor"]["tree_size"], proof["audit_path"]
    )
    if root != proof["anchor"]["root"]:
        print(
            f"the proof does NOT give anchor {proof['anchor']['anchor_id']}'s root", file=sys.stderr
        )
        return 1
    print(
        f"proof checked here: the head is leaf {proof['leaf_index']} of anchor "
        f"{proof['anchor']['anchor_id']} (root {root}, object {proof['anchor']['key']})",
        file=sys.stderr,
    )
    return 0 if answer["verified"] else 1


def _offline(args: argparse.Namespace) -> int:
    if args.export is None or args.anchors is None:
        return fail(_NAME, "offline verification takes both --export FILE and --anchors DIR", 2)
    try:
        lines = args.export.read_text(encoding="utf-8").splitlines()
        tenant = args.tenant or _tenant_of(lines)
        check(TENANT_ID, tenant, "tenant id")
        streams = streams_of_export(lines, tenant)
        objects = _anchor_files(args.anchors, tenant)
    except (OSError, ValueError, InvalidIdentifierError) as exc:
        return fail(_NAME, str(exc), 2)
    return _report(
        verify_tenant(tenant, anchor_objects=objects, streams=streams, since=args.since), args
    )


def _online(args: argparse.Namespace) -> int:
    env = os.environ
    try:
        check(TENANT_ID, args.tenant, "tenant id")
        tables = resolve_tables(args, env)
        bucket = anchors_bucket(args, env)
        session = session_for(local=tables.local)
        events = DynamoDBEventStore(
            tables.events_table, session.client("dynamodb", endpoint_url=tables.endpoint_url)
        )
        anchors = S3AnchorStore(bucket, session.client("s3", endpoint_url=tables.endpoint_url))
        objects = {
            sequence: anchors.raw(args.tenant, sequence) or b""
            for sequence in anchors.sequences(args.tenant)
        }

        def streams(submission_id: str) -> list[RecordedEvent]:
            try:
                return events.read(StreamId(args.tenant, submission_id), verify=False)
            except StreamNotFoundError:
                return []

        verdict = verify_tenant(
            args.tenant, anchor_objects=objects, streams=streams, since=args.since
        )
    except OPERATOR_FAILURES as exc:
        return exit_code_of(_NAME, exc)
    return _report(verdict, args)


def _tenant_of(lines: list[str]) -> str:
    for line in lines:
        if line.strip():
            return str(json.loads(line)["tenant_id"])
    raise ValueError("the export is empty: name the tenant with --tenant")


def _anchor_files(directory: Path, tenant: str) -> dict[int, bytes]:
    """The anchor objects in DIR (or DIR/anchors/TENANT, the bucket's layout), by sequence."""
    nested = directory / "anchors" / tenant
    folder = nested if nested.is_dir() else directory
    if not folder.is_dir():
        raise ValueError(f"{directory} is not a directory of anchor objects")
    return {
        int(path.stem): path.read_bytes()
        for path in folder.glob("*.json")
        if path.stem.isascii() and path.stem.isdigit()
    }


def _report(verdict: TenantVerdict, args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(verdict.to_dict()))
        return 0 if verdict.verified else 1
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"tenant {verdict.tenant_id}: {verdict.anchors} anchors, {verdict.heads} heads of "
        f"{verdict.streams} streams checked: "
        + ("[green]verified[/]" if verdict.verified else f"[red]{len(verdict.findings)} failed[/]")
    )
    if not verdict.verified:
        table = Table("kind", "id", "reason")
        for finding in verdict.findings:
            table.add_row(finding.kind, finding.id, finding.reason)
        console.print(table)
    return 0 if verdict.verified else 1


def _time(text: str) -> str:
    try:
        return normalized_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 time with its zone") from exc


def _table(verdict: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"submission {verdict['submission_id']}", show_header=False)
    table.add_row("verified", "[green]yes[/]" if verdict["verified"] else "[red]NO[/]")
    table.add_row("events", str(verdict["events"]))
    bad = verdict["first_bad"]
    table.add_row(
        "first bad link", "none" if bad is None else f"version {bad['version']}: {bad['reason']}"
    )
    anchored = verdict["anchored"]
    if anchored is None:
        table.add_row("anchored", "not yet: covered by the hash chain only until the next anchor")
    else:
        covered = "its head" if anchored["covers_head"] else "not its latest events"
        table.add_row(
            "anchored",
            f"anchor {anchored['anchor_id']} at version {anchored['version']} ({covered})",
        )
    Console().print(table)
    if not verdict["verified"]:
        print(json.dumps({"first_bad": bad}), file=sys.stderr)
