"""What the API commands share: the credential flags, where they lead, how an answer is printed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

import httpx

from formrelay.cli import stack as cli_stack
from formrelay.client import Credentials
from formrelay.domain.durations import parse_duration


def duration_seconds(text: str) -> float:
    """`90`, `90s`, `5m`, `1h` or `7d` in seconds (argparse's type: ArgumentTypeError if not)."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_credentials(parser: argparse.ArgumentParser) -> None:
    """--endpoint, --key-id and --secret (each also from the environment)."""
    parser.add_argument("--endpoint", help="API endpoint (or FORMRELAY_ENDPOINT)")
    parser.add_argument("--key-id", help="API key id (or FORMRELAY_KEY_ID)")
    parser.add_argument("--secret", help="API key secret (or FORMRELAY_SECRET)")
    cli_stack.add_stack_flag(parser)


def resolve_credentials(
    args: argparse.Namespace,
    env: Mapping[str, str] | None = None,
    read_stack: cli_stack.StackReader = cli_stack.describe_stack,
) -> Credentials:
    """The endpoint from --endpoint, else the named stack's ApiEndpoint output, else
    FORMRELAY_ENDPOINT, else the local demo file; the key from flags, else FORMRELAY_*.

    With a stack named (--stack or FORMRELAY_STACK) the demo file and FORMRELAY_ENDPOINT
    are not read: the local stack's key would not open a deployed one.
    """
    named = cli_stack.stack_name(args.stack, os.environ if env is None else env)
    if named is None:
        return Credentials.resolve(args.endpoint, args.key_id, args.secret)
    endpoint = args.endpoint or read_stack(named).require(cli_stack.API_ENDPOINT)
    return Credentials.resolve(endpoint, args.key_id, args.secret, demo_file=None)


def print_answer(response: httpx.Response) -> int:
    """The answer as JSON: stdout on success (exit 0), stderr otherwise (exit 1)."""
    try:
        document: Any = response.json()
    except ValueError:
        document = {"status": response.status_code, "body": response.text}
    stream = sys.stdout if response.is_success else sys.stderr
    print(json.dumps(document, indent=2, ensure_ascii=False), file=stream)
    return 0 if response.is_success else 1
