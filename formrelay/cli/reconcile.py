"""`formrelay reconcile [--tenant T] [--grace 5m] [--json]`: repair now what failures left.

An operator command (AWS credentials, not an API key) that runs what the scheduled
ReconcilerFunction runs: for each tenant (or the one named), views behind their stream
re-projected, deliveries never dispatched queued again, retries whose execution was lost
attempted, and the failure queues' parked batches re-driven (with --tenant, only that
tenant's; a batch holding another's stays on its queue). It finds what it works on in
this order: the outputs of the stack named by --stack or $FORMRELAY_STACK; else the
environment, when it names $EVENTS_TABLE and $VIEWS_TABLE (a function's variables, see
infra/template.yaml ReconcilerFunction); else the local stack's state file
(<state-dir>/demo.json, which names the local ReconcilerFunction's environment). Exit 0
when it ran (repairs or none), 1 when something could not be repaired (or AWS refused),
2 for bad input, 3 when AWS cannot be reached.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from formrelay.cli import stack as cli_stack
from formrelay.cli.common import duration_seconds
from formrelay.cli.operator import (
    DEFAULT_STATE_DIR,
    LOCAL_ACCESS_KEY,
    LOCAL_REGION,
    LOCAL_SECRET_KEY,
    OPERATOR_FAILURES,
    exit_code_of,
)
from formrelay.composition import Services
from formrelay.domain.ids import TENANT_ID, check
from formrelay.reconciliation.reconciler import DEFAULT_GRACE_SECONDS
from formrelay.reconciliation.report import ReconcileReport
from formrelay.settings import ConfigurationError

COMMAND = "reconcile"
_NAME = "formrelay reconcile"
# The reconciler's variables, from the stack's outputs.
_OUTPUTS = {
    "EVENTS_TABLE": "EventsTableName",
    "VIEWS_TABLE": cli_stack.VIEWS_TABLE,
    "DELIVERY_QUEUE_URL": "DeliveryQueueUrl",
    "STATUS_VIEW_FAILURE_QUEUE_URL": "StatusViewFailureQueueUrl",
    "DISPATCHER_FAILURE_QUEUE_URL": "DispatcherFailureQueueUrl",
    "PUBLISHER_FAILURE_QUEUE_URL": "PublisherFailureQueueUrl",
    "DELIVERY_RETRY_STATE_MACHINE_ARN": "DeliveryRetryStateMachineArn",
    "EVENT_BUS_NAME": "EventBusName",
    "DESTINATION_SECRET_PREFIX": "DestinationSecretPrefix",
}


def add_command(subparsers: Any) -> None:
    """Register `reconcile`."""
    parser = subparsers.add_parser(
        COMMAND,
        help="repair what failures left behind, now (an operator command)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tenant", help="only this tenant (default: every tenant)")
    parser.add_argument(
        "--grace",
        type=duration_seconds,
        default=float(DEFAULT_GRACE_SECONDS),
        help="how long a submission may go without progress first (default 5m)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    cli_stack.add_stack_flag(parser)
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where `formrelay dev` wrote demo.json (used when no stack or tables are given)",
    )


def run(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Reconcile, print the repairs; the exit code as the module says."""
    env = os.environ if env is None else env
    try:
        if args.tenant is not None:
            check(TENANT_ID, args.tenant, "tenant id")
        environment, endpoint = resolve_environment(args, env)
        with _local_aws(endpoint):
            report = reconcile(environment, tenant=args.tenant, grace_seconds=args.grace)
    except OPERATOR_FAILURES as exc:
        return exit_code_of(_NAME, exc)
    if args.json:
        print(json.dumps(report.as_dict(), sort_keys=True))
    else:
        _print_table(report)
    for error in report.errors:
        print(f"{_NAME}: not repaired: {error}", file=sys.stderr)
    return 1 if report.errors else 0


def reconcile(
    environment: Mapping[str, str], *, tenant: str | None, grace_seconds: float
) -> ReconcileReport:
    """One run over the resources the environment names (every tenant, or one)."""
    services = Services(environment=environment)
    reconciler = dataclasses.replace(services.reconciler, grace_seconds=grace_seconds)
    if tenant is not None:
        return reconciler.run([tenant], all_tenants=False)
    return reconciler.run(services.tenants.ids())


def resolve_environment(
    args: argparse.Namespace, env: Mapping[str, str]
) -> tuple[dict[str, str], str | None]:
    """The reconciler's variables, and the local stack's AWS endpoint when it is the target."""
    named = cli_stack.stack_name(args.stack, env)
    if named is not None:
        outputs = cli_stack.describe_stack(named)
        return {name: outputs.require(output) for name, output in _OUTPUTS.items()}, None
    if env.get("EVENTS_TABLE", "").strip() and env.get("VIEWS_TABLE", "").strip():
        return dict(env), None
    state_file = args.state_dir / "demo.json"
    try:
        demo = json.loads(state_file.read_text(encoding="utf-8"))
        environment = {str(k): str(v) for k, v in demo["reconciler_environment"].items()}
        endpoint = None if env.get("AWS_ENDPOINT_URL") else str(demo["aws_endpoint"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(
            "nothing to reconcile: pass --stack, set FORMRELAY_STACK or EVENTS_TABLE and "
            f"VIEWS_TABLE, or run `formrelay dev --demo` (it writes {state_file})"
        ) from exc
    return environment, endpoint


@contextlib.contextmanager
def _local_aws(endpoint: str | None) -> Iterator[None]:
    """Every AWS client of this command on the local stack's endpoint, with its credentials
    (the reconciler builds several kinds of client, each as a function would)."""
    if endpoint is None:
        yield
        return
    wanted = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
    }
    saved = {name: os.environ.get(name) for name in (*wanted, "AWS_SESSION_TOKEN", "AWS_PROFILE")}
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _print_table(report: ReconcileReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    counts = ", ".join(f"{kind} {n}" for kind, n in report.counts().items())
    if not report.repairs:
        console.print(f"nothing to repair ({counts})")
        return
    table = Table(title=f"reconciler repairs ({counts})")
    for column in ("kind", "tenant", "submission", "detail"):
        table.add_column(column)
    for repair in report.repairs:
        table.add_row(repair.kind, repair.tenant_id, repair.submission_id, repair.detail)
    console.print(table)
