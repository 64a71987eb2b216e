"""`formrelay tenants ...` and `formrelay keys ...`: onboard tenants, manage and rotate keys.

Operator commands: they talk to DynamoDB and Secrets Manager directly, not to
the HTTP API, so they need AWS credentials, not an API key. They find their
tables in this order: --views-table/--secret-prefix, else $VIEWS_TABLE and
$TENANT_SECRET_PREFIX, else the local stack's state file (<state-dir>/demo.json,
written by `formrelay dev --demo`), whose emulated AWS they then use unless
$AWS_ENDPOINT_URL says otherwise. Secrets are printed to stdout, once; every
message and error goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from formrelay.auth.keys import KeyDirectory, ListedKey
from formrelay.auth.scopes import ALL_SCOPES
from formrelay.auth.tenants import RateLimit, Tenant, TenantDirectory
from formrelay.domain.errors import (
    FormrelayError,
    InvalidIdentifierError,
    InvalidRateLimitError,
    InvalidScopesError,
    UnknownKeyError,
    UnknownTenantError,
)
from formrelay.settings import ConfigurationError

COMMANDS = ("tenants", "keys")
DEFAULT_SECRET_PREFIX = "formrelay/tenants/"
DEFAULT_STATE_DIR = Path(".formrelay")
# What the emulated AWS of `formrelay dev` accepts.
LOCAL_ACCESS_KEY = LOCAL_SECRET_KEY = "testing"
LOCAL_REGION = "us-east-1"
# Refused input: exit 2 like argparse; other refusals exit 1, AWS unreachable 3.
_BAD_INPUT = (ConfigurationError, InvalidIdentifierError, InvalidScopesError, InvalidRateLimitError)


@dataclass(frozen=True)
class Target:
    """Where the operator commands read and write."""

    views_table: str
    secret_prefix: str
    endpoint_url: str | None  # None: boto3's own choice ($AWS_ENDPOINT_URL or AWS)
    local: bool  # the local stack's state file named it: use its local credentials


def resolve_target(
    views_table: str | None,
    secret_prefix: str | None,
    state_dir: Path,
    env: Mapping[str, str],
) -> Target:
    """Flags first, then the environment, then the local stack's state file."""
    table = (views_table or env.get("VIEWS_TABLE", "")).strip()
    prefix = (secret_prefix or env.get("TENANT_SECRET_PREFIX", "")).strip()
    if table:
        return Target(table, prefix or DEFAULT_SECRET_PREFIX, None, local=False)
    state_file = state_dir / "demo.json"
    try:
        demo = json.loads(state_file.read_text(encoding="utf-8"))
        table = str(demo["views_table"])
    except FileNotFoundError as exc:
        raise ConfigurationError(
            "no Views table: pass --views-table, set VIEWS_TABLE, "
            f"or run `formrelay dev --demo` (it writes {state_file})"
        ) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"{state_file} does not name the Views table (restart `formrelay dev --demo`)"
        ) from exc
    prefix = prefix or str(demo.get("tenant_secret_prefix") or DEFAULT_SECRET_PREFIX)
    endpoint = None if env.get("AWS_ENDPOINT_URL") else str(demo["aws_endpoint"])
    return Target(table, prefix, endpoint, local=True)


@dataclass(frozen=True)
class Directories:
    """The adapters the commands use, on the resolved target."""

    tenants: TenantDirectory
    keys: KeyDirectory

    @classmethod
    def on(cls, target: Target) -> Directories:
        """Adapters with clients for the target."""
        if target.local:
            session = boto3.session.Session(
                aws_access_key_id=LOCAL_ACCESS_KEY,
                aws_secret_access_key=LOCAL_SECRET_KEY,
                region_name=LOCAL_REGION,
            )
        else:
            session = boto3.session.Session()
        dynamodb = session.client("dynamodb", endpoint_url=target.endpoint_url)
        secretsmanager = session.client("secretsmanager", endpoint_url=target.endpoint_url)
        return cls(
            TenantDirectory(target.views_table, dynamodb),
            KeyDirectory(
                target.views_table,
                target.secret_prefix,
                dynamodb=dynamodb,
                secretsmanager=secretsmanager,
            ),
        )


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
        _add_target_flags(parser)


def _add_limit_flags(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--rate", type=float, required=required, help="requests per second")
    parser.add_argument("--burst", type=int, required=required, help="bucket size (requests)")


def _add_target_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--views-table", help="the Views table (or VIEWS_TABLE)")
    parser.add_argument(
        "--secret-prefix", help="key secrets' name prefix (or TENANT_SECRET_PREFIX)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where `formrelay dev` wrote demo.json (used when no table is given)",
    )


def run(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Run one command; 0 done, 1 refused, 2 bad input or configuration, 3 AWS unreachable."""
    name = f"formrelay {args.command} {args.action}"
    try:
        target = resolve_target(
            args.views_table, args.secret_prefix, args.state_dir, os.environ if env is None else env
        )
        return _ACTIONS[(args.command, args.action)](args, Directories.on(target))
    except _BAD_INPUT as exc:
        return _fail(name, str(exc), 2)
    except FormrelayError as exc:
        return _fail(name, str(exc), 1)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return _fail(name, f"AWS refused: {error.get('Code')}: {error.get('Message')}", 1)
    except BotoCoreError as exc:
        return _fail(name, f"could not reach AWS: {exc}", 3)


def _fail(name: str, message: str, code: int) -> int:
    print(f"{name}: {message}", file=sys.stderr)
    return code


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
    key, secret = dirs.keys.create(args.tenant, scopes, limit)
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
    rows = [("KEY ID", "STATE", "SCOPES", "ROTATION", "LIMIT")]
    for entry in listed:
        record, limit = entry.record, entry.record.rate_limit
        rows.append(
            (
                record.key_id,
                record.state,
                ",".join(sorted(record.scopes)),
                "pending" if entry.rotation_pending else "-",
                f"{limit.rate_per_second:g}/s burst {limit.burst}" if limit else "-",
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
