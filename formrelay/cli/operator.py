"""Where the operator commands (`tenants`, `keys`) read and write, and how they fail.

They talk to DynamoDB and Secrets Manager directly, not to the HTTP API, so they
need AWS credentials, not an API key. They find the Views table and the key
secrets' prefix in this order: --views-table/--secret-prefix; else the outputs of
the stack named by --stack or $FORMRELAY_STACK; else $VIEWS_TABLE and
$TENANT_SECRET_PREFIX; else the local stack's state file (<state-dir>/demo.json,
written by `formrelay dev --demo`), whose emulated AWS they then use unless
$AWS_ENDPOINT_URL says otherwise. A named stack is the whole target: with one,
neither those variables nor the state file are read (a table of one deployment and
a prefix of another would split a tenant's keys across two).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from formrelay.auth.keys import KeyDirectory
from formrelay.auth.tenants import TenantDirectory
from formrelay.cli import stack as cli_stack
from formrelay.domain.errors import (
    FormrelayError,
    InvalidIdentifierError,
    InvalidRateLimitError,
    InvalidScopesError,
)
from formrelay.settings import ConfigurationError

DEFAULT_SECRET_PREFIX = "formrelay/tenants/"
DEFAULT_STATE_DIR = Path(".formrelay")
# What the emulated AWS of `formrelay dev` accepts.
LOCAL_ACCESS_KEY = LOCAL_SECRET_KEY = "testing"
LOCAL_REGION = "us-east-1"
# Refused input: exit 2 like argparse; other refusals exit 1, AWS unreachable 3.
_BAD_INPUT = (ConfigurationError, InvalidIdentifierError, InvalidScopesError, InvalidRateLimitError)
# No region or no credentials: the shell is not set up for AWS (exit 2, not "unreachable").
AWS_UNCONFIGURED = (NoRegionError, NoCredentialsError)


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
    *,
    stack: str | None = None,
    read_stack: cli_stack.StackReader = cli_stack.describe_stack,
) -> Target:
    """Flags first, then the named stack's outputs, then the environment, then the state file.

    The stack is described only if the flags leave something to find.
    """
    table, prefix = (views_table or "").strip(), (secret_prefix or "").strip()
    named = cli_stack.stack_name(stack, env)
    if named is not None:
        if table and prefix:
            return Target(table, prefix, None, local=False)
        outputs = read_stack(named)
        table = table or outputs.require(cli_stack.VIEWS_TABLE)
        prefix = prefix or outputs.require(cli_stack.TENANT_SECRET_PREFIX)
        return Target(table, prefix, None, local=False)
    table = table or env.get("VIEWS_TABLE", "").strip()
    prefix = prefix or env.get("TENANT_SECRET_PREFIX", "").strip()
    if table:
        return Target(table, prefix or DEFAULT_SECRET_PREFIX, None, local=False)
    return _local_target(prefix, state_dir, env)


def _local_target(prefix: str, state_dir: Path, env: Mapping[str, str]) -> Target:
    state_file = state_dir / "demo.json"
    try:
        demo = json.loads(state_file.read_text(encoding="utf-8"))
        table = str(demo["views_table"])
    except FileNotFoundError as exc:
        raise ConfigurationError(
            "no Views table: pass --stack or --views-table, set FORMRELAY_STACK or VIEWS_TABLE, "
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
        session = session_for(local=target.local)
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


def session_for(*, local: bool) -> boto3.session.Session:
    """The AWS session of an operator command: the local stack's credentials when its state
    file named the target, else boto3's own (profile, environment, role)."""
    if local:
        return boto3.session.Session(
            aws_access_key_id=LOCAL_ACCESS_KEY,
            aws_secret_access_key=LOCAL_SECRET_KEY,
            region_name=LOCAL_REGION,
        )
    return boto3.session.Session()


def add_target_flags(parser: argparse.ArgumentParser) -> None:
    """--json, --stack, --views-table, --secret-prefix and --state-dir."""
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    cli_stack.add_stack_flag(parser)
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


Action = Callable[[argparse.Namespace, Directories], int]


def run_on_target(
    args: argparse.Namespace,
    action: Action,
    env: Mapping[str, str],
    bad_input: tuple[type[FormrelayError], ...] = (),
) -> int:
    """Resolve the target and run one action: 0 done, 1 refused, 2 bad input, 3 unreachable."""
    name = " ".join(filter(None, ("formrelay", args.command, getattr(args, "action", None))))
    refused_input: tuple[type[Exception], ...] = (*_BAD_INPUT, *bad_input)
    try:
        target = resolve_target(
            args.views_table, args.secret_prefix, args.state_dir, env, stack=args.stack
        )
        return action(args, Directories.on(target))
    except refused_input as exc:
        return fail(name, str(exc), 2)
    except FormrelayError as exc:
        return fail(name, str(exc), 1)
    except ClientError as exc:
        return fail(name, aws_refusal(exc), 1)
    except AWS_UNCONFIGURED as exc:
        return fail(name, aws_unconfigured(exc), 2)
    except BotoCoreError as exc:
        return fail(name, f"could not reach AWS: {exc}", 3)


# What an operator command over the tables may fail with: exit_code_of says how it ends.
OPERATOR_FAILURES = (ConfigurationError, InvalidIdentifierError, ClientError, BotoCoreError)


def exit_code_of(name: str, exc: Exception) -> int:
    """Say on stderr why an operator command failed; its exit code: 2 bad input or a shell
    not set up for AWS, 1 AWS refused, 3 AWS unreachable."""
    if isinstance(exc, ConfigurationError | InvalidIdentifierError):
        return fail(name, str(exc), 2)
    if isinstance(exc, ClientError):
        return fail(name, aws_refusal(exc), 1)
    if isinstance(exc, AWS_UNCONFIGURED):
        return fail(name, aws_unconfigured(exc), 2)
    return fail(name, f"could not reach AWS: {exc}", 3)


def aws_refusal(exc: ClientError) -> str:
    """An AWS refusal in one line."""
    error = exc.response.get("Error", {})
    return f"AWS refused: {error.get('Code')}: {error.get('Message')}"


def aws_unconfigured(exc: BotoCoreError) -> str:
    """No region or credentials, and what to set."""
    return f"{exc} (set AWS_DEFAULT_REGION and AWS credentials, e.g. AWS_PROFILE)"


def fail(name: str, message: str, code: int) -> int:
    """One line on stderr; the exit code."""
    print(f"{name}: {message}", file=sys.stderr)
    return code
