"""`formrelay ...`: run the local stack, submit, read history, manage tenants and keys,
judge schema changes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from formrelay.cli import audit_anchor as cli_audit_anchor
from formrelay.cli import audit_export as cli_audit_export
from formrelay.cli import audit_verify as cli_audit_verify
from formrelay.cli import console_link as cli_console_link
from formrelay.cli import contract_test as cli_contract_test
from formrelay.cli import destinations as cli_destinations
from formrelay.cli import forms as cli_forms
from formrelay.cli import keys as cli_keys
from formrelay.cli import projections as cli_projections
from formrelay.cli import reconcile as cli_reconcile
from formrelay.cli import redeliver as cli_redeliver
from formrelay.cli import schemas as cli_schemas
from formrelay.cli.common import add_credentials, print_answer, resolve_credentials
from formrelay.cli.operator import AWS_UNCONFIGURED, aws_refusal, aws_unconfigured
from formrelay.client import CredentialsError, FormrelayClient, verify_history
from formrelay.domain.errors import IntegrityError
from formrelay.local.faults import FaultSpec, FaultSpecError, UnknownFaultFunctionError, parse_fault
from formrelay.settings import ConfigurationError, parse_secret_cache_seconds


def _secret_cache_seconds(text: str) -> int:
    try:
        return parse_secret_cache_seconds(text)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _fault(text: str) -> FaultSpec:
    try:
        return parse_fault(text)
    except FaultSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="formrelay", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run the whole pipeline locally (emulated AWS)")
    dev.add_argument("--port", type=int, default=8787, help="HTTP API port (default 8787)")
    dev.add_argument("--demo", action="store_true", help="seed a demo tenant and receiver")
    dev.add_argument(
        "--demo-submissions",
        action="store_true",
        help="with --demo (implied): submit one submission that is delivered, one retrying, "
        "one dead-lettered and one failed",
    )
    dev.add_argument("--state-dir", type=Path, default=Path(".formrelay"))
    dev.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="multiply every retry wait (or FORMRELAY_TIME_SCALE); 0.001 runs a day in 90 s",
    )
    dev.add_argument(
        "--allow-destination",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="let deliveries reach this non-public address (repeatable)",
    )
    dev.add_argument(
        "--secret-cache-seconds",
        type=_secret_cache_seconds,
        default=None,
        metavar="N",
        help="how long functions cache key secrets (default: the template's, 30)",
    )
    dev.add_argument(
        "--build-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="run the functions from this host build (`make build-host`: .aws-sam/host)",
    )
    dev.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="FUNCTION:MODE",
        help="make a template function fail: first=N, rate=P (0<P<=1) or timeout (repeatable)",
    )
    dev.add_argument(
        "--fault-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the rate=P faults: the same seed fails the same invocations (default 0)",
    )

    submit = commands.add_parser("submit", help="submit a form")
    submit.add_argument("--form", required=True, help="form id")
    submit.add_argument("--data", required=True, help="the submission as JSON (or @file)")
    submit.add_argument("--idempotency-key", help="makes retries of this submit safe")
    add_credentials(submit)

    for name, helptext in (("status", "a submission's status"), ("history", "its events")):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("submission_id")
        add_credentials(sub)
    cli_redeliver.add_command(commands)
    cli_destinations.add_commands(commands)
    cli_keys.add_commands(commands)
    cli_console_link.add_command(commands)
    cli_forms.add_commands(commands)
    cli_contract_test.add_command(commands)
    cli_schemas.add_commands(commands)
    cli_projections.add_commands(commands)
    cli_reconcile.add_command(commands)
    _add_audit_group(commands)
    return parser


def _add_audit_group(commands: Any) -> None:
    """`formrelay audit ...`: each subcommand module adds itself here with one line (its
    add_command registers its parser on the group and sets `audit_run` to its runner)."""
    audit = commands.add_parser(
        "audit", help="the tenant's audit record: export, verify, prove, anchor"
    )
    group = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    cli_audit_export.add_command(group)
    cli_audit_verify.add_command(group)
    cli_audit_anchor.add_command(group)


def _client(args: argparse.Namespace) -> FormrelayClient:
    return FormrelayClient(resolve_credentials(args))


def _submit(args: argparse.Namespace) -> int:
    text = args.data
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    response = _client(args).submit(
        args.form, text.encode("utf-8"), idempotency_key=args.idempotency_key
    )
    return print_answer(response)


def _history(args: argparse.Namespace) -> int:
    response = _client(args).history(args.submission_id)
    code = print_answer(response)
    if code == 0:
        try:
            verify_history(response.json())
        except IntegrityError as exc:
            print(f"hash chain does NOT verify: {exc}", file=sys.stderr)
            return 2
        print(
            f"hash chain verified locally: {len(response.json()['events'])} events", file=sys.stderr
        )
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `formrelay` command."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "dev":
            from formrelay.local.dev import run  # the local stack needs the [local] extra

            run(
                port=args.port,
                demo=args.demo or args.demo_submissions,
                state_dir=args.state_dir,
                time_scale=args.time_scale,
                allow_destinations=args.allow_destination,
                secret_cache_seconds=args.secret_cache_seconds,
                build_dir=args.build_dir,
                faults=args.fault,
                fault_seed=args.fault_seed,
                demo_submissions=args.demo_submissions,
            )
            return 0
        return _command(args)
    except (CredentialsError, ConfigurationError, UnknownFaultFunctionError) as exc:
        # ConfigurationError: the --stack; UnknownFaultFunctionError: dev's --fault
        print(f"formrelay: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"formrelay: could not reach the API: {exc}", file=sys.stderr)
        return 3
    except ClientError as exc:  # describing the --stack
        print(f"formrelay: {aws_refusal(exc)}", file=sys.stderr)
        return 1
    except AWS_UNCONFIGURED as exc:
        print(f"formrelay: {aws_unconfigured(exc)}", file=sys.stderr)
        return 2
    except BotoCoreError as exc:
        print(f"formrelay: could not reach AWS: {exc}", file=sys.stderr)
        return 3


def _audit(args: argparse.Namespace) -> int:
    return int(args.audit_run(args))


# Commands whose subcommands run themselves.
_GROUPS: dict[str, Callable[[argparse.Namespace], int]] = {
    "audit": _audit,
    cli_projections.COMMAND: cli_projections.run,
    cli_reconcile.COMMAND: cli_reconcile.run,
    cli_console_link.COMMAND: cli_console_link.run,
}


def _command(args: argparse.Namespace) -> int:
    """Every command but `dev`."""
    if args.command in _GROUPS:
        return _GROUPS[args.command](args)
    if args.command in cli_keys.COMMANDS:
        return cli_keys.run(args)
    if args.command == cli_forms.COMMAND:
        return cli_forms.run(args)
    if args.command == cli_schemas.COMMAND:
        return cli_schemas.run(args)
    if args.command == cli_destinations.COMMAND:
        return cli_destinations.run(args)
    if args.command == cli_contract_test.COMMAND:
        return cli_contract_test.run(args)
    if args.command == "redeliver":
        return cli_redeliver.run(_client(args), args)
    if args.command == "submit":
        return _submit(args)
    if args.command == "status":
        return print_answer(_client(args).status(args.submission_id))
    return _history(args)


if __name__ == "__main__":
    sys.exit(main())
