"""`formrelay console-link --tenant T [--scopes read,audit,submit] [--ttl 1h] [--json]`.

An operator command (AWS credentials, not an API key): it makes a short-lived key
for the tenant as `formrelay keys create --ttl` does (formrelay.auth.console_links)
and prints the URL that opens the console with it. It finds the Views table and the
key secrets as the other operator commands do (formrelay/cli/operator.py), and the API
the link opens from --endpoint; else the named stack's ApiEndpoint output; else
$FORMRELAY_ENDPOINT; else the local stack's state file (<state-dir>/demo.json). The
URL holds the key's secret (in its fragment): it is printed to stdout, once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from formrelay.auth.console_links import DEFAULT_SCOPES, create_console_link
from formrelay.auth.scopes import ALL_SCOPES
from formrelay.cli import stack as cli_stack
from formrelay.cli.common import duration_seconds
from formrelay.cli.operator import Directories, add_target_flags, run_on_target
from formrelay.domain.clock import Clock, SystemClock
from formrelay.domain.errors import InvalidConsoleLinkError, UnknownTenantError
from formrelay.settings import ConfigurationError

COMMAND = "console-link"


def add_command(subparsers: Any) -> None:
    """Register `console-link` on the top-level subparsers."""
    parser = subparsers.add_parser(
        COMMAND, help="a short-lived link that opens the console for a tenant"
    )
    parser.add_argument("--tenant", required=True)
    parser.add_argument(
        "--scopes",
        default=",".join(sorted(DEFAULT_SCOPES)),
        help=f"comma-separated, of: {', '.join(sorted(ALL_SCOPES))} (default: %(default)s)",
    )
    parser.add_argument(
        "--ttl",
        type=duration_seconds,
        default=3600.0,
        help="the link stops working this long from now: 60s to 12h (default: 1h)",
    )
    parser.add_argument(
        "--endpoint", help="the API the link opens (default: the stack's, or FORMRELAY_ENDPOINT)"
    )
    add_target_flags(parser)


def run(
    args: argparse.Namespace,
    env: Mapping[str, str] | None = None,
    read_stack: cli_stack.StackReader = cli_stack.describe_stack,
    clock: Clock | None = None,
) -> int:
    """Make the link; 0 done, 1 refused, 2 bad input or configuration, 3 AWS unreachable.

    clock: what the link's ttl counts from (default the system's).
    """
    environment = os.environ if env is None else env
    now = clock or SystemClock()

    def make_link(args: argparse.Namespace, dirs: Directories) -> int:
        endpoint = api_endpoint(args, environment, read_stack)
        if dirs.tenants.get(args.tenant) is None:
            raise UnknownTenantError(
                f"no tenant {args.tenant} (create it with `formrelay tenants create`)"
            )
        scopes = [part.strip() for part in args.scopes.split(",") if part.strip()]
        link = create_console_link(
            dirs.keys, args.tenant, endpoint, now=now.unix(), scopes=scopes, ttl_seconds=args.ttl
        )
        document = {**link.as_dict(), "tenant_id": args.tenant}
        lines = [
            f"console  {link.url}",
            f"key_id   {link.key_id}",
            f"scopes   {','.join(sorted(link.scopes))}",
            f"expires  {document['expires_at']}",
        ]
        print(json.dumps(document) if args.json else "\n".join(lines))
        print(
            "The link holds the key's secret: share it only with who may act for the tenant. "
            f"It ends at its expiry, or at once with: formrelay keys revoke --tenant "
            f"{args.tenant} --key-id {link.key_id}",
            file=sys.stderr,
        )
        return 0

    return run_on_target(args, make_link, environment, bad_input=(InvalidConsoleLinkError,))


def api_endpoint(
    args: argparse.Namespace,
    env: Mapping[str, str],
    read_stack: cli_stack.StackReader = cli_stack.describe_stack,
) -> str:
    """--endpoint; else the named stack's ApiEndpoint; else $FORMRELAY_ENDPOINT; else the
    local stack's state file. A named stack is the whole target (as for the tables)."""
    if args.endpoint:
        return str(args.endpoint).strip()
    named = cli_stack.stack_name(args.stack, env)
    if named is not None:
        return read_stack(named).require(cli_stack.API_ENDPOINT)
    given = env.get("FORMRELAY_ENDPOINT", "").strip()
    if given:
        return given
    return _local_endpoint(Path(args.state_dir) / "demo.json")


def _local_endpoint(state_file: Path) -> str:
    try:
        endpoint = json.loads(state_file.read_text(encoding="utf-8"))["endpoint"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            "no API endpoint for the link: pass --endpoint or --stack, set FORMRELAY_ENDPOINT, "
            f"or run `formrelay dev --demo` (it writes {state_file})"
        ) from exc
    if not isinstance(endpoint, str) or not endpoint:
        raise ConfigurationError(f"{state_file} names no endpoint (restart `formrelay dev`)")
    return endpoint
