"""`formrelay contract-test`: does the API accept every submission the form's schema allows?

Examples are generated from the form's registered schema (or a local schema file, e.g.
the next version before it is registered) and sent through the real, signed ingest
path; every rejected example is reported with the API's problem errors and the
example itself, with what in the schema kept examples from being generated.
The submissions are real: they are recorded and delivered like any other.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import jsonschema

from formrelay.cli.common import add_credentials, resolve_credentials
from formrelay.cli.contract_examples import (
    ContractToolsMissingError,
    Generated,
    generate,
    submission_body,
)
from formrelay.cli.forms import FormSchemaError, read_schema
from formrelay.client import FormrelayClient
from formrelay.delivery.outcomes import parse_retry_after
from formrelay.domain.errors import FormrelayError

COMMAND = "contract-test"
DEFAULT_EXAMPLES = 25
DEFAULT_SEED = 0
# A rate-limited example is sent again after the wait the API asks for, this many times.
MAX_RATE_LIMITED_TRIES = 20
# Longer examples are cut in the text report (--json prints them whole).
SHOWN_EXAMPLE_CHARS = 2000

Sleep = Callable[[float], None]
# Tell the progress bar how many examples were sent and rejected (None: unchanged), and why
# it waits.
Progress = Callable[[int | None, int | None, str], None]


class ContractTestAbortedError(FormrelayError):
    """The API refused what the test needs (the form's schema, or the key itself)."""


def add_command(commands: Any) -> None:
    """Register `contract-test` on the CLI's subcommands."""
    parser = commands.add_parser(
        COMMAND,
        help="send submissions generated from a form's schema; report every one refused",
    )
    parser.add_argument("--form", required=True, help="form id")
    parser.add_argument(
        "--schema",
        type=Path,
        help="generate from this JSON Schema file instead of the form's registered schema",
    )
    parser.add_argument(
        "--examples",
        type=_positive,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"how many examples to send (default {DEFAULT_EXAMPLES})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"the generation seed: the same seed sends the same examples (default {DEFAULT_SEED})",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_credentials(parser)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


@dataclass(frozen=True)
class Rejection:
    """An example the API refused: its answer's status and problem, and the example."""

    index: int
    status: int
    problem: dict[str, Any]
    example: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """{"index", "status", "title", "errors", "example"} (errors: the problem's pointers)."""
        return {
            "index": self.index,
            "status": self.status,
            "title": self.problem.get("title") or self.problem.get("message"),
            "detail": self.problem.get("detail"),
            "errors": self.problem.get("errors", []),
            "example": self.example,
        }


@dataclass
class Report:
    """What a contract test found."""

    form_id: str
    source: str
    seed: int
    generated: Generated
    accepted: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Examples were sent, every one was accepted, and the schema raised no problem."""
        return bool(self.generated.examples) and not self.rejections and not self.problems

    @property
    def problems(self) -> list[dict[str, str]]:
        """The schema problems met while generating."""
        return [p.as_dict() for p in self.generated.problems]

    def as_dict(self) -> dict[str, Any]:
        """The report as `--json` prints it."""
        return {
            "form_id": self.form_id,
            "schema": self.source,
            "seed": self.seed,
            "examples": len(self.generated.examples),
            "accepted": self.accepted,
            "rejected": [r.as_dict() for r in self.rejections],
            "schema_problems": self.problems,
            "discarded": self.generated.discarded,
            "passed": self.passed,
        }


def run(args: argparse.Namespace, sleep: Sleep = time.sleep) -> int:
    """0 every example accepted, 1 one refused (or a schema problem), 2 bad input."""
    try:
        client = FormrelayClient(resolve_credentials(args))
        schema, source = _schema(client, args)
        report = Report(args.form, source, args.seed, generate(schema, args.examples, args.seed))
        with _progress(len(report.generated.examples)) as advance:
            _send_all(client, report, advance, sleep)
    except (FormSchemaError, ContractTestAbortedError, ContractToolsMissingError) as exc:
        print(f"formrelay contract-test: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_report(report, sys.stdout)
    return 0 if report.passed else 1


def _schema(client: FormrelayClient, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The schema to generate from, and where it came from."""
    if args.schema is not None:
        schema = read_schema(args.schema)
        try:
            jsonschema.Draft7Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise FormSchemaError(f"{args.schema} is not a JSON Schema: {exc.message}") from exc
        return schema, f"file {args.schema}"
    response = client.get_form(args.form)
    if not response.is_success:
        raise ContractTestAbortedError(
            f"cannot read the schema of form {args.form}: {_refusal(response)}"
        )
    form = response.json()
    return form["schema"], f"registered version {form['version']}"


def _refusal(response: httpx.Response) -> str:
    problem = _problem(response)
    return f"{response.status_code} {problem.get('detail') or problem.get('message') or ''}"


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {"detail": response.text[:200]}
    return document if isinstance(document, dict) else {"detail": str(document)[:200]}


def _send_all(client: FormrelayClient, report: Report, progress: Progress, sleep: Sleep) -> None:
    for index, example in enumerate(report.generated.examples, start=1):
        response = _send(client, report.form_id, example, progress, sleep)
        if response.status_code in (401, 403, 404):  # about the key or the form, not the example
            raise ContractTestAbortedError(
                f"the API refused to take submissions to form {report.form_id}: "
                f"{_refusal(response)}"
            )
        if response.is_success:
            report.accepted += 1
        else:
            report.rejections.append(
                Rejection(index, response.status_code, _problem(response), example)
            )
        progress(index, len(report.rejections), "")


def _send(
    client: FormrelayClient,
    form_id: str,
    example: dict[str, Any],
    progress: Progress,
    sleep: Sleep,
) -> httpx.Response:
    """Submit once; after a 429, wait as long as Retry-After says and submit again."""
    for _ in range(MAX_RATE_LIMITED_TRIES):
        # The very bytes the generator checked against the ingest's limits.
        response = client.submit(form_id, submission_body(example))
        if response.status_code != 429:
            return response
        seconds = parse_retry_after(response.headers.get("retry-after")) or 1
        progress(None, None, f"rate limited: waiting {seconds} s")
        sleep(seconds)
    return response


@contextmanager
def _progress(total: int) -> Iterator[Progress]:
    """A progress bar on stderr, updated with how many were sent and rejected, and a note."""
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
        from rich.progress import Progress as Bar
    except ImportError as exc:
        raise ContractToolsMissingError(
            f"{exc.name} is not installed: pip install 'formrelay[contract]'"
        ) from exc
    columns = (
        TextColumn("submitting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rejected: {task.fields[rejected]}  {task.fields[note]}"),
    )
    with Bar(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("submitting", total=total, rejected=0, note="")

        def update(sent: int | None, rejected: int | None, note: str) -> None:
            fields: dict[str, Any] = {"note": note}
            if rejected is not None:
                fields["rejected"] = rejected
            bar.update(task, completed=sent, **fields)

        yield update


def _printable(text: str) -> str:
    """Text safe for a terminal: control characters (from examples) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _shown(example: dict[str, Any]) -> str:
    text = json.dumps(example, ensure_ascii=True)
    if len(text) <= SHOWN_EXAMPLE_CHARS:
        return text
    return f"{text[:SHOWN_EXAMPLE_CHARS]}... ({len(text)} characters: --json shows it whole)"


def print_report(report: Report, out: TextIO) -> None:
    """The report for a reader: each rejection with its errors and example, then the tally."""
    print(f"contract test of form {report.form_id} ({report.source}, seed {report.seed})", file=out)
    for rejection in report.rejections:
        title = rejection.as_dict()["title"] or ""
        print(
            _printable(f"REJECTED example {rejection.index}: {rejection.status} {title}"), file=out
        )
        errors = rejection.problem.get("errors") or []
        for error in errors:
            where = error.get("pointer") or "(document)"
            print(_printable(f"  {where}: {error.get('message')}"), file=out)
        if not errors and rejection.problem.get("detail"):
            print(_printable(f"  {rejection.problem['detail']}"), file=out)
        print(f"  example: {_shown(rejection.example)}", file=out)
    for problem in report.generated.problems:
        where = f" at {problem.pointer}" if problem.pointer else ""
        print(_printable(f"SCHEMA PROBLEM ({problem.kind}){where}: {problem.detail}"), file=out)
    print(
        f"examples sent: {len(report.generated.examples)}, accepted: {report.accepted}, "
        f"rejected: {len(report.rejections)}; schema problems: {len(report.generated.problems)}",
        file=out,
    )
