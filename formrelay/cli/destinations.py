"""`formrelay destinations put|get|delete`: manage a form's destinations (admin key)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from formrelay.cli.common import add_credentials, print_answer, resolve_credentials
from formrelay.client import FormrelayClient

COMMAND = "destinations"
AUTH_TYPES = ("none", "api_key", "bearer", "basic")


class UsageError(ValueError):
    """A flag's value cannot be turned into a request."""


def add_commands(subparsers: Any) -> None:
    """Register `destinations put|get|delete` on the top-level subparsers."""
    parser = subparsers.add_parser(COMMAND, help="manage a form's destinations (admin key)")
    actions = parser.add_subparsers(dest="destinations_command", required=True)

    put = actions.add_parser("put", help="create or replace a destination")
    _add_target(put)
    put.add_argument("--url", required=True, help="where deliveries go (http or https)")
    put.add_argument("--method", choices=("POST", "PUT"), help="HTTP method (default POST)")
    put.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a header sent with every delivery (repeatable)",
    )
    put.add_argument("--auth-type", choices=AUTH_TYPES, help="inferred from the flags below")
    put.add_argument("--auth-header", help="api_key: the header name (default X-Api-Key)")
    put.add_argument("--auth-value", help="api_key: the key (or @file)")
    put.add_argument("--token", help="bearer: the token (or @file)")
    put.add_argument("--username", help="basic: the user name")
    put.add_argument("--password", help="basic: the password (or @file)")
    put.add_argument("--mapping", help="field mapping as JSON (or @file)")
    put.add_argument("--timeout", type=float, help="read timeout in seconds (1-30)")
    put.add_argument("--retry-schedule", help='seconds between retries, e.g. "5,300,1800"')
    add_credentials(put)

    for name, helptext in (("get", "show a destination"), ("delete", "remove a destination")):
        action = actions.add_parser(name, help=helptext)
        _add_target(action)
        add_credentials(action)


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--form", required=True, help="form id")
    parser.add_argument("--id", required=True, dest="destination_id", help="destination id")


def run(args: argparse.Namespace) -> int:
    """Run one `destinations` command; 0 on success, 1 if the API refused, 2 on bad flags."""
    client = FormrelayClient(resolve_credentials(args))
    if args.destinations_command == "get":
        return print_answer(client.get_destination(args.form, args.destination_id))
    if args.destinations_command == "delete":
        response = client.delete_destination(args.form, args.destination_id)
        if response.status_code == 204:
            print(f"deleted {args.form}/{args.destination_id}", file=sys.stderr)
            return 0
        return print_answer(response)
    try:
        body = put_body(args)
    except UsageError as exc:
        print(f"formrelay destinations put: {exc}", file=sys.stderr)
        return 2
    return print_answer(client.put_destination(args.form, args.destination_id, body))


def put_body(args: argparse.Namespace) -> dict[str, Any]:
    """The PUT body the flags describe (the API validates it in full)."""
    body: dict[str, Any] = {"url": args.url}
    if args.method:
        body["method"] = args.method
    if args.header:
        body["headers"] = dict(_header(text) for text in args.header)
    auth = _auth(args)
    if auth is not None:
        body["auth"] = auth
    if args.mapping is not None:
        try:
            body["mapping"] = json.loads(_value(args.mapping))
        except json.JSONDecodeError as exc:
            raise UsageError(f"--mapping is not JSON: {exc}") from exc
    if args.timeout is not None:
        body["timeout_seconds"] = args.timeout
    if args.retry_schedule is not None:
        try:
            body["retry_schedule_seconds"] = [
                int(part) for part in args.retry_schedule.split(",") if part.strip()
            ]
        except ValueError as exc:
            raise UsageError("--retry-schedule must be seconds separated by commas") from exc
    return body


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--header {text!r} is not NAME=VALUE")
    return name.strip(), value


def _auth(args: argparse.Namespace) -> dict[str, str] | None:
    kind = args.auth_type or _inferred_auth_type(args)
    if kind is None:
        return None
    if kind == "api_key":
        if not args.auth_value:
            raise UsageError("api_key auth needs --auth-value")
        header = args.auth_header or "X-Api-Key"
        return {"type": "api_key", "header": header, "value": _value(args.auth_value)}
    if kind == "bearer":
        if not args.token:
            raise UsageError("bearer auth needs --token")
        return {"type": "bearer", "token": _value(args.token)}
    if kind == "basic":
        if not args.username or args.password is None:
            raise UsageError("basic auth needs --username and --password")
        return {"type": "basic", "username": args.username, "password": _value(args.password)}
    return {"type": "none"}


def _inferred_auth_type(args: argparse.Namespace) -> str | None:
    if args.auth_value or args.auth_header:
        return "api_key"
    if args.token:
        return "bearer"
    if args.username or args.password is not None:
        return "basic"
    return None


def _value(text: str) -> str:
    """A flag's value, or a file's content for @path (keeps secrets out of `ps`)."""
    if text.startswith("@"):
        try:
            return Path(text[1:]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read {text[1:]}: {exc.strerror}") from exc
    return text
