"""`formrelay schemas diff|check`: is a schema change compatible, and is the event registry sound?

`diff OLD NEW --mode MODE` judges one change; `check` judges every version of every
event type under the mode the manifest (schemas/registry.json) gives it, which is the
gate `make check` runs in CI. Exit codes, the same for both:
0 compatible, 1 incompatible (every reason printed, with its witness), 2 undecided,
4 unusable input (a file unreadable, not JSON or not a draft-07 schema, a broken
registry layout, or a wrong command line).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from formrelay.cli.forms import FormSchemaError, read_schema
from formrelay.registry.compatibility import NO_WITNESS, Mode, Verdict, diff
from formrelay.registry.errors import EventRegistryError, InvalidSchemaError
from formrelay.registry.event_registry import VersionVerdict, check_registry
from formrelay.registry.schemas import schemas_root

COMMAND = "schemas"
EXIT_COMPATIBLE = 0
EXIT_INCOMPATIBLE = 1
EXIT_UNDECIDED = 2
EXIT_UNUSABLE = 4
EXITS = "exit: 0 compatible, 1 incompatible, 2 undecided, 4 unusable input"


class _SchemasParser(argparse.ArgumentParser):
    """A usage error exits 4, not argparse's 2: 2 means undecided here."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_UNUSABLE, f"{self.prog}: error: {message}\n")


def _mode(text: str) -> Mode:
    try:
        return Mode(text.upper())
    except ValueError as exc:
        choices = ", ".join(m.value for m in Mode)
        raise argparse.ArgumentTypeError(f"no mode {text!r}: one of {choices}") from exc


def add_commands(subparsers: Any) -> None:
    """Register `schemas diff` and `schemas check` on the top-level subparsers."""
    schemas = subparsers.add_parser(COMMAND, help="judge schema changes and the event registry")
    actions = schemas.add_subparsers(
        dest="schemas_command", required=True, parser_class=_SchemasParser
    )
    changed = actions.add_parser(
        "diff", help="is NEW compatible with OLD under a mode?", epilog=EXITS
    )
    changed.add_argument("old", type=Path, metavar="OLD.json")
    changed.add_argument("new", type=Path, metavar="NEW.json")
    changed.add_argument(
        "--mode",
        type=_mode,
        default=Mode.BACKWARD,
        metavar="MODE",
        help=f"one of {', '.join(m.value for m in Mode)} (any case; default BACKWARD)",
    )
    changed.add_argument("--json", action="store_true", help="print the verdict as one object")
    gate = actions.add_parser(
        "check",
        help="every event type's versions under its manifest mode (the CI gate)",
        epilog=EXITS,
    )
    gate.add_argument(
        "--root",
        type=Path,
        default=None,
        metavar="DIR",
        help="the registry's root: events/<type>/<n>.json and registry.json "
        "(default: the package's schemas)",
    )
    gate.add_argument("--json", action="store_true", help="print every verdict as one object")


def run(args: argparse.Namespace) -> int:
    """Run one `schemas` command; the exit code as the module docstring lists."""
    try:
        if args.schemas_command == "diff":
            return _diff(args)
        return _check(args)
    except (FormSchemaError, InvalidSchemaError) as exc:
        print(f"formrelay schemas {args.schemas_command}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except EventRegistryError as exc:
        print("formrelay schemas check: the registry is broken:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_UNUSABLE


def exit_code(compatible: bool | None) -> int:
    """0 compatible, 1 incompatible, 2 undecided."""
    if compatible is None:
        return EXIT_UNDECIDED
    return EXIT_COMPATIBLE if compatible else EXIT_INCOMPATIBLE


def _diff(args: argparse.Namespace) -> int:
    old, new = read_schema(args.old), read_schema(args.new)
    verdict = diff(old, new, args.mode)
    if args.json:
        print(json.dumps(verdict.as_dict()))
    else:
        print(f"{verdict.mode.value}: {_summary(verdict)}")
        for line in _reasons(verdict):
            print(line)
    return exit_code(verdict.compatible)


def _check(args: argparse.Namespace) -> int:
    verdicts = check_registry(args.root or schemas_root())
    overall = _overall(v.verdict.compatible for v in verdicts)
    if args.json:
        print(json.dumps({"compatible": overall, "types": _types_document(verdicts)}))
        return exit_code(overall)
    width = max((len(v.event_type) for v in verdicts), default=0)
    for judged in verdicts:
        first = " (first version)" if judged.version == 1 else ""
        row = f"{judged.event_type:<{width}}  v{judged.version:<3} {judged.mode.value:<19}"
        print(f"{row}  {_summary(judged.verdict)}{first}")
        for line in _reasons(judged.verdict, judged):
            print(line)
    types = len({v.event_type for v in verdicts})
    print(f"{types} event types, {len(verdicts)} versions: {_tally(verdicts)}")
    return exit_code(overall)


def _overall(results: Iterable[bool | None]) -> bool | None:
    """False if any is, else None if any is undecided, else True."""
    found = list(results)
    if False in found:
        return False
    return None if None in found else True


def _summary(verdict: Verdict) -> str:
    if verdict.compatible is None:
        return f"undecided ({_count(len(verdict.undecided), 'place')})"
    if verdict.compatible:
        return "compatible"
    return f"INCOMPATIBLE ({_count(len(verdict.incompatibilities), 'reason')})"


def _tally(verdicts: Sequence[VersionVerdict]) -> str:
    counts = {
        label: sum(1 for v in verdicts if v.verdict.compatible is value)
        for label, value in (("incompatible", False), ("undecided", None))
    }
    found = [f"{n} {label}" for label, n in counts.items() if n]
    return ", ".join(found) if found else "all compatible"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _reasons(verdict: Verdict, judged: VersionVerdict | None = None) -> list[str]:
    """Every incompatibility (pointer, direction, reason, witness) and every undecided place."""
    lines = []
    for found in verdict.incompatibilities:
        where = found.direction
        if judged is not None:
            where += f", against v{judged.against(found)}"
        lines.append(f"  {found.pointer or '/'} ({where}): {found.reason}")
        if found.witness is NO_WITNESS:
            lines.append("    no witness found")
        else:
            lines.append(f"    witness: {_compact(found.witness)}")
    for open_ in verdict.undecided:
        lines.append(f"  {open_.pointer or '/'} (undecided): {open_.reason}")
    return lines


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _types_document(verdicts: Sequence[VersionVerdict]) -> list[dict[str, Any]]:
    """`check --json`'s "types": each event type with each version's verdict."""
    types: dict[str, dict[str, Any]] = {}
    for judged in verdicts:
        entry = types.setdefault(
            judged.event_type,
            {"type": judged.event_type, "mode": judged.mode.value, "versions": []},
        )
        document = judged.verdict.as_dict()
        # a version's reasons also say which earlier version and which direction they fail
        document["incompatibilities"] = [
            {**i.as_dict(), "direction": i.direction, "against_version": judged.against(i)}
            for i in judged.verdict.incompatibilities
        ]
        del document["mode"]
        entry["versions"].append({"version": judged.version, **document})
    return list(types.values())
