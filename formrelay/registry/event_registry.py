"""The event-schema registry on disk, and the check CI runs on it.

`schemas/events/<type>/<n>.json` holds version n of an event type's data schema;
`schemas/registry.json` (the manifest) gives every event type its compatibility
mode. `check_registry` reads both, refuses a broken layout as a whole (every problem
listed at once), and judges each version against its predecessors under its type's
mode: what `formrelay schemas check` prints and `make check` gates on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formrelay.registry.compatibility import Incompatibility, Mode, Verdict, check
from formrelay.registry.errors import EventRegistryError, InvalidSchemaError
from formrelay.registry.validators import ensure_valid

MANIFEST = "registry.json"
_VERSION_FILE = re.compile(r"\A([1-9][0-9]*)\.json\Z")
_MANIFEST_KEYS = {"$comment", "events"}
_ENTRY_KEYS = {"$comment", "mode"}


@dataclass(frozen=True)
class EventTypeHistory:
    """Every version of one event type's schema (version n at index n-1) and its mode."""

    event_type: str
    mode: Mode
    schemas: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class VersionVerdict:
    """One version of one event type judged against its predecessors under the type's mode."""

    event_type: str
    version: int
    mode: Mode
    verdict: Verdict

    def against(self, found: Incompatibility) -> int:
        """The earlier version a reason fails against (unnamed when only one was compared)."""
        return found.against_version if found.against_version is not None else self.version - 1


def read_manifest(root: Path) -> dict[str, Mode]:
    """Each event type's compatibility mode, as the manifest under root declares it."""
    problems: list[str] = []
    modes = _manifest(root, problems)
    if problems:
        raise EventRegistryError(problems)
    return modes


def read_registry(root: Path) -> list[EventTypeHistory]:
    """Every event type under root with its versions; EventRegistryError lists what is broken."""
    problems: list[str] = []
    modes = _manifest(root, problems)
    events = root / "events"
    on_disk: dict[str, Path] = {}
    if events.is_dir():
        for entry in sorted(events.iterdir()):
            if entry.is_dir():
                on_disk[entry.name] = entry
            else:
                problems.append(f"{entry} is not an event type's directory")
    else:
        problems.append(f"{events} is not a directory")
    problems += [
        f"event type {name} has schemas but no entry in {MANIFEST}"
        for name in sorted(set(on_disk) - set(modes))
    ]
    problems += [
        f"{MANIFEST} names event type {name}, which has no schemas under {events}"
        for name in sorted(set(modes) - set(on_disk))
    ]
    histories = [
        EventTypeHistory(name, modes[name], _versions(on_disk[name], problems))
        for name in sorted(set(on_disk) & set(modes))
    ]
    if problems:
        raise EventRegistryError(problems)
    return histories


def check_registry(root: Path) -> list[VersionVerdict]:
    """The verdict on every version of every event type (version 1 has nothing to break)."""
    verdicts: list[VersionVerdict] = []
    for history in read_registry(root):
        for index, schema in enumerate(history.schemas):
            verdict = check(history.schemas[:index], schema, history.mode)
            verdicts.append(VersionVerdict(history.event_type, index + 1, history.mode, verdict))
    return verdicts


def _manifest(root: Path, problems: list[str]) -> dict[str, Mode]:
    path = root / MANIFEST
    document = _read_json(path, problems)
    if document is None:
        return {}
    if not isinstance(document, dict) or not isinstance(document.get("events"), dict):
        problems.append(f'{path} must be an object with "events": {{type: {{"mode": ...}}}}')
        return {}
    problems += [f"{path}: unknown key {key!r}" for key in sorted(set(document) - _MANIFEST_KEYS)]
    modes: dict[str, Mode] = {}
    for name, entry in document["events"].items():
        mode = _mode(entry)
        if mode is None:
            choices = ", ".join(m.value for m in Mode)
            problems.append(f'{path}: {name} needs {{"mode": one of {choices}}}, not {entry!r}')
        else:
            modes[name] = mode
    return modes


def _mode(entry: Any) -> Mode | None:
    if not isinstance(entry, dict) or set(entry) - _ENTRY_KEYS:
        return None
    try:
        return Mode(str(entry.get("mode")))
    except ValueError:
        return None


def _versions(directory: Path, problems: list[str]) -> tuple[dict[str, Any], ...]:
    """The type's schemas in version order, with every gap, stray file and invalid schema noted."""
    numbered: dict[int, Path] = {}
    for path in sorted(directory.iterdir()):
        match = _VERSION_FILE.match(path.name)
        if match is None or not path.is_file():
            problems.append(f"{path} is not a version's schema (expected 1.json, 2.json, ...)")
        else:
            numbered[int(match.group(1))] = path
    if not numbered:
        problems.append(f"{directory} holds no schema")
        return ()
    missing = sorted(set(range(1, max(numbered) + 1)) - set(numbered))
    if missing:
        listed = ", ".join(f"{n}.json" for n in missing)
        problems.append(f"{directory}: versions must run 1..{max(numbered)}; missing {listed}")
        return ()
    schemas = []
    for number in sorted(numbered):
        schema = _read_json(numbered[number], problems)
        if schema is not None and _valid(schema, numbered[number], problems):
            schemas.append(schema)
    return tuple(schemas) if len(schemas) == len(numbered) else ()


def _valid(schema: Any, path: Path, problems: list[str]) -> bool:
    if not isinstance(schema, dict):
        problems.append(f"{path} holds no JSON object")
        return False
    try:
        ensure_valid(schema, str(path))
    except InvalidSchemaError as exc:
        problems.append(str(exc))
        return False
    return True


def _read_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path} is missing")
    except OSError as exc:
        problems.append(f"cannot read {path}: {exc.strerror}")
    except ValueError as exc:
        problems.append(f"{path} is not JSON: {exc}")
    return None
