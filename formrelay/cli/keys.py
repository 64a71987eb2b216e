"""`formrelay tenants ...` and `formrelay keys ...`: onboard tenants, manage and rotate keys.

Operator commands (see formrelay/cli/operator.py for where they find the Views
table and the key secrets: flags, --stack, the environment or the local stack).
Secrets are printed to stdout, once; every message and error goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from formrelay.auth.keys import ListedKey
from formrelay.auth.scopes import ALL_SCOPES
from formrelay.auth.tenants import RateLimit, Tenant
from formrelay.cli.common import duration_seconds
from formrelay.cli.operator import (
    Directories,
    Target,
    add_target_flags,
    resolve_target,
    run_on_target,
)
from formrelay.domain.errors import UnknownKeyError, UnknownTenantError

__all__ = ["COMMANDS", "Target", "add_commands", "resolve_target", "run"]

COMMANDS = ("tenants", "keys")


def add_commands(subparsers: Any) -> None:
    """Register `tenants ...` and `keys ...` on the top-level subparsers."""
    tenants = subparsers.add_parser("tenants", help="onboard tenants and set their rate limits")
    tenant_actions = tenants.add_subparsers(dest="action", required=True)
    create = tenant_actions.add_parser("create", help="record a new tenant")
    create.add_argument("tenant", metavar="NAME", help="tenant id: a-z, 0-9 and -, max 40")
    create.add_argument("--display-name", help="a human name (default: the tenant id)")
    _add_limit_flags(create, required=False)
    show = tenant_actions.add_parser("show", help="show a tenant and its limits")
    show.add_argument("--tenant", required=True)
    limits = tenant_actions.add_parser("limits", help="set a tenant's rate limit")
    limits.add_argument("--tenant", required=True)
    _add_limit_flags(limits, required=True)

    keys = subparsers.add_parser("keys", help="create, list, revoke and rotate tenant API keys")
    key_actions = keys.add_subparsers(dest="action", required=True)
    key_create = key_actions.add_parser("create", help="make a key (its secret is shown once)")
    key_create.add_argument("--tenant", required=True)
    key_create.add_argument(
        "--scopes", required=True, help=f"comma-separated, of: {', '.join(sorted(ALL_SCOPES))}"
    )
    _add_limit_flags(key_create, required=False)
    key_create.add_argument(
        "--ttl",
        type=_ttl,
        help="the key stops working this long from now, e.g. 1h or 7d (default: never)",
    )
    key_list = key_actions.add_parser("list", help="a tenant's keys (never their secrets)")
    key_list.add_argument("--tenant", required=True)
    revoke = key_actions.add_parser("revoke", help="refuse a key from the next request on")
    rotate = key_actions.add_parser(
        "rotate", help="start a rotation (prints the new secret), or --finish/--cancel it"
    )
    for parser in (revoke, rotate):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--key-id", required=True)
    ending = rotate.add_mutually_exclusive_group()
    ending.add_argument(
        "--finish", action="store_true", help="make the new secret the key's only one"
    )
    ending.add_argument(
        "--cancel", action="store_true", help="drop the new secret, keep the old one"
    )

    for parser in (create, show, limits, key_create, key_list, revoke, rotate):
        add_target_flags(parser)


def _add_limit_flags(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--rate", type=float, required=required, help="requests per second")
    parser.add_argument("--burst", type=int, required=required, help="bucket size (requests)")


def _ttl(text: str) -> float:
    seconds = duration_seconds(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"a key's time to live must be longer than 0: {text!r}")
    return seconds


def run(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Run one command; 0 done, 1 refused, 2 bad input or configuration, 3 AWS unreachable."""
    action = _ACTIONS[(args.command, args.action)]
    return run_on_target(args, action, os.environ if env is None else env)


def _print(args: argparse.Namespace, document: dict[str, Any], lines: list[str]) -> None:
    """One JSON object with --json, else readable lines, to stdout."""
    print(json.dumps(document) if args.json else "\n".join(lines))


def _tell(message: str) -> None:
    print(message, file=sys.stderr)


def _tenant_lines(tenant: Tenant) -> list[str]:
    limit = tenant.rate_limit
    shown = f"{limit.rate_per_second:g}/s, burst {limit.burst}" if limit else "none"
    return [f"tenant  {tenant.tenant_id}", f"name    {tenant.name}", f"limit   {shown}"]


def _tenants_create(args: argparse.Namespace, dirs: Directories) -> int:
    name = args.display_name or args.tenant
    tenant = dirs.tenants.create(args.tenant, name, args.rate, args.burst)
    _print(args, tenant.as_dict(), _tenant_lines(tenant))
    return 0


def _tenants_show(args: argparse.Namespace, dirs: Directories) -> int:
    tenant = _existing_tenant(dirs, args.tenant)
    _print(args, tenant.as_dict(), _tenant_lines(tenant))
    return 0


def _tenants_limits(args: argparse.Namespace, dirs: Directories) -> int:
    tenant = dirs.tenants.set_limits(args.tenant, args.rate, args.burst)
    _print(args, tenant.as_dict(), _tenant_lines(tenant))
    return 0


def _existing_tenant(dirs: Directories, tenant_id: str) -> Tenant:
    tenant = dirs.tenants.get(tenant_id)
    if tenant is None:
        raise UnknownTenantError(
            f"no tenant {tenant_id} (create it with `formrelay tenants create`)"
        )
    return tenant


def _keys_create(args: argparse.Namespace, dirs: Directories) -> int:
    scopes = frozenset(part.strip() for part in args.scopes.split(",") if part.strip())
    limit = RateLimit.of(args.rate, args.burst)
    _existing_tenant(dirs, args.tenant)
    expires_at = None if args.ttl is None else int(time.time() + args.ttl)
    key, secret = dirs.keys.create(args.tenant, scopes, limit, expires_at=expires_at)
    document = {**key.as_dict(), "secret": secret}
    _print(args, document, [f"key_id  {key.key_id}", f"secret  {secret}"])
    _tell("Store the secret now: it is not shown again.")
    return 0


def _keys_list(args: argparse.Namespace, dirs: Directories) -> int:
    _existing_tenant(dirs, args.tenant)
    listed = sorted(dirs.keys.list(args.tenant), key=lambda entry: entry.record.key_id)
    document = {"tenant_id": args.tenant, "keys": [entry.as_dict() for entry in listed]}
    _print(args, document, _key_table(listed))
    return 0


def _key_table(listed: list[ListedKey]) -> list[str]:
    rows = [("KEY ID", "STATE", "SCOPES", "ROTATION", "LIMIT", "EXPIRES")]
    for entry in listed:
        record, limit = entry.record, entry.record.rate_limit
        rows.append(
            (
                record.key_id,
                record.state,
                ",".join(sorted(record.scopes)),
                "pending" if entry.rotation_pending else "-",
                f"{limit.rate_per_second:g}/s burst {limit.burst}" if limit else "-",
                str(record.as_dict()["expires_at"] or "-"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _keys_revoke(args: argparse.Namespace, dirs: Directories) -> int:
    key = dirs.keys.revoke(args.tenant, args.key_id)
    _print(args, key.as_dict(), [f"revoked {key.key_id}: refused from the next request on"])
    return 0


def _keys_rotate(args: argparse.Namespace, dirs: Directories) -> int:
    if args.finish:
        key = dirs.keys.finish_rotation(args.tenant, args.key_id)
        _print(
            args,
            {**key.as_dict(), "state": "current"},
            [f"rotated {key.key_id}: the new secret is now its only one"],
        )
        _tell("The old secret keeps verifying until the functions' secret cache expires.")
        return 0
    if args.cancel:
        key = dirs.keys.cancel_rotation(args.tenant, args.key_id)
        _print(
            args,
            {**key.as_dict(), "state": "cancelled"},
            [f"cancelled the rotation of {key.key_id}: its old secret stays the only one"],
        )
        return 0
    rotating = dirs.keys.get(args.tenant, args.key_id)
    if rotating is None:
        raise UnknownKeyError(f"tenant {args.tenant} has no key {args.key_id}")
    secret = dirs.keys.start_rotation(args.tenant, args.key_id)
    document = {**rotating.as_dict(), "secret": secret, "state": "pending"}
    _print(args, document, [f"key_id  {rotating.key_id}", f"secret  {secret}"])
    _tell(
        "Rotation started: the old and the new secret both verify. Give the client the new "
        "secret, then run: formrelay keys rotate "
        f"--tenant {args.tenant} --key-id {args.key_id} --finish"
    )
    return 0


_ACTIONS: dict[tuple[str, str], Callable[[argparse.Namespace, Directories], int]] = {
    ("tenants", "create"): _tenants_create,
    ("tenants", "show"): _tenants_show,
    ("tenants", "limits"): _tenants_limits,
    ("keys", "create"): _keys_create,
    ("keys", "list"): _keys_list,
    ("keys", "revoke"): _keys_revoke,
    ("keys", "rotate"): _keys_rotate,
}
