"""`formrelay forms put`: register a new schema version of a tenant's form (operator command).

A minimal door onto the form catalog (formrelay/registry/), so a deployed stack can
take its first submissions: each put makes the schema the form's next, current
version. Where it finds the Views table: see formrelay/cli/operator.py.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from formrelay.cli.operator import Directories, add_target_flags, run_on_target
from formrelay.domain.errors import FormrelayError, UnknownTenantError
from formrelay.registry.registration import register

COMMAND = "forms"


class FormSchemaError(FormrelayError):
    """The schema file cannot be read, or is not a JSON Schema object."""


def add_commands(subparsers: Any) -> None:
    """Register `forms put` on the top-level subparsers."""
    forms = subparsers.add_parser(COMMAND, help="register the JSON Schemas of tenants' forms")
    actions = forms.add_subparsers(dest="action", required=True)
    put = actions.add_parser("put", help="make a schema the form's next version (creates the form)")
    put.add_argument("--tenant", required=True)
    put.add_argument("--form", required=True, help="form id: a-z, 0-9, _ and -")
    put.add_argument("--schema", required=True, type=Path, help="a JSON Schema (draft-07) file")
    add_target_flags(put)


def run(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Run one `forms` command; 0 done, 1 refused, 2 bad input, 3 AWS unreachable."""
    return run_on_target(
        args, _forms_put, os.environ if env is None else env, bad_input=(FormSchemaError,)
    )


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


def _forms_put(args: argparse.Namespace, dirs: Directories) -> int:
    schema = read_schema(args.schema)
    if dirs.tenants.get(args.tenant) is None:
        raise UnknownTenantError(
            f"no tenant {args.tenant} (create it with `formrelay tenants create`)"
        )
    try:
        version = register(dirs.forms, args.tenant, args.form, schema).version
    except FormrelayError:
        raise
    except ValueError as exc:  # the schema compiler's refusal (fastjsonschema)
        raise FormSchemaError(f"{args.schema} is not a JSON Schema: {exc}") from exc
    document = {"tenant_id": args.tenant, "form_id": args.form, "schema_version": version}
    lines = [f"form {args.form} of {args.tenant}: schema version {version} is current"]
    print(json.dumps(document) if args.json else "\n".join(lines))
    return 0
