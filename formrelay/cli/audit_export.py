"""`formrelay audit export`: every event of the tenant in a window, to an NDJSON file, resumably.

The export follows the API's cursors page by page. After each page is appended
(and flushed to disk) the next cursor is written, atomically, to a sidecar
`FILE.cursor` with the file's length at that point. A rerun with the same
window continues from the sidecar: it first cuts the file back to the length
recorded, so a page appended by a run stopped before it recorded the cursor is
not written twice. The sidecar is removed when the last page is in.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from formrelay.audit.export import MAX_LIMIT, NEXT_CURSOR_HEADER
from formrelay.cli.common import add_credentials, resolve_credentials
from formrelay.client import FormrelayClient
from formrelay.domain.clock import SystemClock, normalized_time, rfc3339

SIDECAR_SUFFIX = ".cursor"
_SIDECAR_FORMAT = "formrelay-export-cursor/1"


@dataclass
class Progress:
    """Where an export stands: what the sidecar records after each page."""

    since: str
    until: str | None
    cursor: str | None  # None: the first page is next
    length: int  # the file's length once the pages so far were appended
    events: int
    pages: int


def add_command(group: Any) -> None:
    """Register `export` on the `audit` group."""
    parser = group.add_parser(
        "export",
        help="every event of the tenant in a time window to an NDJSON file (resumes)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--since", required=True, type=_time, help="from this time (RFC 3339)")
    parser.add_argument(
        "--until", type=_time, help="up to this time, excluded (default: when the export starts)"
    )
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="FILE")
    parser.add_argument(
        "--limit", type=_limit, default=MAX_LIMIT, help=f"events a page (1-{MAX_LIMIT})"
    )
    parser.add_argument(
        "--max-pages", type=_positive, default=None, metavar="N", help="stop after N pages"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    add_credentials(parser)
    parser.set_defaults(audit_run=run)


def run(args: argparse.Namespace) -> int:
    """Export, resuming from FILE.cursor if a run of the same window left one."""
    output: Path = args.output
    sidecar = sidecar_of(output)
    try:
        progress = _start(output, sidecar, args.since, args.until)
    except ValueError as exc:
        print(f"formrelay: {exc}", file=sys.stderr)
        return 2
    client = FormrelayClient(resolve_credentials(args))
    code, complete = _follow(client, output, sidecar, progress, args)
    summary = {
        "events": progress.events,
        "pages": progress.pages,
        "file": str(output),
        "complete": complete,
    }
    if args.json:
        print(json.dumps(summary))
    elif code == 0:
        print(
            f"{progress.events} events in {progress.pages} pages written to {output}"
            + ("" if complete else f"; not done: run again to continue from {sidecar}")
        )
    return code


def sidecar_of(output: Path) -> Path:
    """Where an export to `output` keeps its cursor while it is under way."""
    return output.with_name(output.name + SIDECAR_SUFFIX)


def _start(output: Path, sidecar: Path, since: str, until: str | None) -> Progress:
    """The progress to continue from: the sidecar's, or a fresh start recorded in one."""
    if sidecar.exists():
        progress = _read_sidecar(sidecar)
        if (progress.since, progress.until) != (since, until):
            raise ValueError(
                f"{sidecar} is of an export of another window (since {progress.since}, "
                f"until {progress.until or 'its start'}): rerun with that window, or remove "
                f"{sidecar} and {output} to start again"
            )
        if not output.exists() or output.stat().st_size < progress.length:
            raise ValueError(f"{output} is shorter than {sidecar} records: remove both to restart")
        return progress
    if output.exists() and output.stat().st_size > 0:
        raise ValueError(f"{output} exists and is no export under way: choose another file")
    progress = Progress(since, until, cursor=None, length=0, events=0, pages=0)
    output.touch()
    _write_sidecar(sidecar, progress)
    return progress


def _follow(
    client: FormrelayClient,
    output: Path,
    sidecar: Path,
    progress: Progress,
    args: argparse.Namespace,
) -> tuple[int, bool]:
    """Fetch and append pages until the last (or --max-pages): (exit code, complete)."""
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    console = Console(stderr=True)
    start, end = _moment(progress.since), _moment(progress.until or rfc3339(SystemClock().now()))
    bar = Bar(
        TextColumn("exporting"),
        BarColumn(),
        TextColumn("{task.fields[events]} events, {task.fields[pages]} pages"),
        TimeElapsedColumn(),
        console=console,
        disable=args.json or not console.is_terminal,
    )
    fetched = 0
    with bar, output.open("r+b") as file:
        task = bar.add_task("export", total=max(end - start, 1.0), events=0, pages=0)
        file.truncate(progress.length)  # a page appended without its cursor recorded goes
        file.seek(progress.length)
        while args.max_pages is None or fetched < args.max_pages:
            answer = client.audit_events(
                progress.since, progress.until, limit=args.limit, cursor=progress.cursor
            )
            if not answer.is_success:
                _refused(answer, sidecar)
                return 1, False
            lines = answer.content
            file.write(lines)
            file.flush()
            os.fsync(file.fileno())
            fetched += 1
            progress.length = file.tell()
            progress.events += lines.count(b"\n")
            progress.pages += 1
            progress.cursor = answer.headers.get(NEXT_CURSOR_HEADER)
            if progress.cursor is None:
                sidecar.unlink()
                return 0, True
            _write_sidecar(sidecar, progress)
            bar.update(
                task,
                completed=_reached(lines, start),
                events=progress.events,
                pages=progress.pages,
            )
    return 0, False


def _reached(lines: bytes, start: float) -> float | None:
    """How far into the window the page's last event is, in seconds (None: an empty page)."""
    if not lines:
        return None
    last = json.loads(lines.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    return _moment(str(last["occurred_at"])) - start


def _refused(answer: httpx.Response, sidecar: Path) -> None:
    print(f"formrelay: the API answered {answer.status_code}: {answer.text}", file=sys.stderr)
    if answer.status_code == 400:
        print(
            f"formrelay: if the cursor in {sidecar} is no longer accepted (the cursor key "
            "changed), remove it and the output file to export again",
            file=sys.stderr,
        )
    else:
        print(f"formrelay: run again to continue from {sidecar}", file=sys.stderr)


def _write_sidecar(sidecar: Path, progress: Progress) -> None:
    """Replace the sidecar in one step: a reader sees the old record or the new, never half."""
    partial = sidecar.with_name(sidecar.name + ".partial")
    with partial.open("w", encoding="utf-8") as file:
        json.dump({"format": _SIDECAR_FORMAT, **asdict(progress)}, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, sidecar)


def _read_sidecar(sidecar: Path) -> Progress:
    try:
        document = json.loads(sidecar.read_text(encoding="utf-8"))
        if document.pop("format") != _SIDECAR_FORMAT:
            raise ValueError("unknown format")
        return Progress(**document)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{sidecar} is not an export's cursor file: {exc}") from exc


def _moment(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _time(text: str) -> str:
    try:
        return normalized_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _limit(text: str) -> int:
    value = _positive(text)
    if value > MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"at most {MAX_LIMIT}")
    return value


def _positive(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)
