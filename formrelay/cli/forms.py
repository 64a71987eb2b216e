"""`formrelay forms put|get|list`: a tenant's form registry through the signed API (admin key).

`put` registers a schema file as the form's first version, its next one (checked
under the form's compatibility mode) or the current one again; a refusal prints
every reason (for an incompatible schema: each pointer, reason and witness) and
exits 1. Readable output by default, the API's JSON answer with --json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from formrelay.cli.common import add_credentials, resolve_credentials
from formrelay.client import FormrelayClient
from formrelay.domain.errors import FormrelayError
from formrelay.registry.compatibility import Mode

COMMAND = "forms"


class FormSchemaError(FormrelayError):
    """The schema file cannot be read, or holds no JSON object."""


def add_commands(subparsers: Any) -> None:
    """Register `forms put|get|list` on the top-level subparsers."""
    forms = subparsers.add_parser(COMMAND, help="register and read the tenant's forms (admin key)")
    actions = forms.add_subparsers(dest="forms_command", required=True)

    put = actions.add_parser("put", help="register a schema (a new form or its next version)")
    put.add_argument("form", metavar="FORM", help="form id: a-z, 0-9, _ and -")
    put.add_argument("--schema", required=True, type=Path, help="a JSON Schema (draft-07) file")
    put.add_argument(
        "--compatibility",
        choices=[mode.value for mode in Mode],
        help="the mode to check under and keep (default: the form's, BACKWARD for a new form)",
    )

    get = actions.add_parser("get", help="a form at its current version, or one version")
    get.add_argument("form", metavar="FORM")
    get.add_argument("--version", type=int, help="this version instead of the current one")

    listing = actions.add_parser("list", help="the tenant's forms")
    for parser in (put, get, listing):
        parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
        add_credentials(parser)


def run(args: argparse.Namespace) -> int:
    """Run one `forms` command; 0 done, 1 refused by the API, 2 bad input."""
    client = FormrelayClient(resolve_credentials(args))
    if args.forms_command == "put":
        try:
            schema = read_schema(args.schema)
        except FormSchemaError as exc:
            print(f"formrelay forms put: {exc}", file=sys.stderr)
            return 2
        response = client.put_form(args.form, schema, args.compatibility)
        created = response.status_code == 201
        return _answer(args, response, lambda document: _registered(document, created))
    if args.forms_command == "get":
        if args.version is not None:
            return _answer(args, client.get_form_version(args.form, args.version), _version)
        return _answer(args, client.get_form(args.form), _form)
    return _answer(args, client.list_forms(), _listing)


def read_schema(path: Path) -> dict[str, Any]:
    """The schema in a file: one JSON object."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FormSchemaError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise FormSchemaError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise FormSchemaError(f"{path} holds no JSON object")
    return schema


def _answer(args: argparse.Namespace, response: httpx.Response, readable: Any) -> int:
    """Print a success to stdout (exit 0), a refusal to stderr (exit 1)."""
    try:
        document: Any = response.json()
    except ValueError:
        document = {"status": response.status_code, "body": response.text}
    if not response.is_success:
        print(
            json.dumps(document, indent=2, ensure_ascii=False) if args.json else refusal(document),
            file=sys.stderr,
        )
        return 1
    print(json.dumps(document, indent=2, ensure_ascii=False) if args.json else readable(document))
    return 0


def refusal(problem: Any) -> str:
    """A problem as lines a person reads: its detail, then each item with its pointer."""
    if not isinstance(problem, dict) or "detail" not in problem:
        return f"refused: {json.dumps(problem, ensure_ascii=False)}"
    lines = [f"refused ({problem.get('status')}): {problem['detail']}"]
    for item in problem.get("errors", []):
        where = item.get("pointer") or "/"
        lines.append(f"  {where}: {item.get('reason') or item.get('message')}")
        if "witness" in item:
            witness = json.dumps(item["witness"], ensure_ascii=False)
            lines.append(f"    for example: {witness}")
    return "\n".join(lines)


def _registered(document: dict[str, Any], created: bool) -> str:
    what = "created, " if created else ""
    return (
        f"form {document['form_id']}: {what}version {document['version']} is current "
        f"({document['compatibility']})"
    )


def _form(document: dict[str, Any]) -> str:
    head = (
        f"form {document['form_id']}: version {document['version']} of "
        f"{document['versions']} is current ({document['compatibility']})"
    )
    return head + "\n" + json.dumps(document["schema"], indent=2, ensure_ascii=False)


def _version(document: dict[str, Any]) -> str:
    head = f"form {document['form_id']}: version {document['version']}"
    return head + "\n" + json.dumps(document["schema"], indent=2, ensure_ascii=False)


def _listing(document: dict[str, Any]) -> str:
    forms = document["forms"]
    if not forms:
        return "no forms"
    width = max(len("FORM"), *(len(form["form_id"]) for form in forms))
    lines = [f"{'FORM':<{width}}  VERSION  COMPATIBILITY"]
    lines += [
        f"{form['form_id']:<{width}}  {form['version']:>7}  {form['compatibility']}"
        for form in forms
    ]
    return "\n".join(lines)
