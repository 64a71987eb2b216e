"""The tenant-wide export on the local stack: an audit-only key follows the cursors to every
event of its tenant, as each submission's history gives it; a read-only key cannot export,
and an audit-only key cannot submit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from formrelay.auth import scopes
from formrelay.cli.audit_export import sidecar_of
from formrelay.cli.main import main
from formrelay.client import FormrelayClient
from formrelay.domain.clock import SystemClock, rfc3339
from formrelay.domain.events import LEDGER_STREAM
from tests.e2e.conftest import RunningStack

TENANT = "ledgerco"
SINCE = "2000-01-01T00:00:00Z"


@dataclass
class Auditing:
    """A tenant with three delivered submissions, and its keys: every scope, audit, read."""

    stack: RunningStack
    owner: FormrelayClient
    auditor: FormrelayClient
    reader: FormrelayClient
    submission_ids: list[str]


@pytest.fixture(scope="module")
def auditing(stack: RunningStack) -> Auditing:
    seeded = stack.seed_second_tenant(TENANT)
    services = stack.services()
    # Made before the tenant's first request, so no authorizer cache has its keys yet.
    audit_key, audit_secret = services.keys.create(TENANT, frozenset({scopes.AUDIT}))
    read_key, read_secret = services.keys.create(TENANT, frozenset({scopes.READ}))
    owner = stack.client(seeded["key_id"], seeded["secret"])
    ids = []
    for n in range(3):
        accepted = owner.submit("contact", {"topic": f"t{n}"})
        assert accepted.status_code == 202, accepted.text
        ids.append(accepted.json()["submission_id"])
    for submission_id in ids:
        stack.wait_for(
            lambda s=submission_id: owner.status(s).json().get("status") == "delivered",
            what=f"{submission_id} delivered",
        )
    return Auditing(
        stack,
        owner,
        stack.client(audit_key.key_id, audit_secret),
        stack.client(read_key.key_id, read_secret),
        ids,
    )


def histories(a: Auditing) -> list[dict[str, Any]]:
    """Every event of the tenant's submissions, as their histories give them, in time order."""
    events = [e for s in a.submission_ids for e in a.owner.history(s).json()["events"]]
    return sorted(events, key=lambda e: (e["occurred_at"], e["submission_id"], e["version"]))


def test_an_audit_only_key_exports_every_event_page_by_page(auditing: Auditing) -> None:
    until = rfc3339(SystemClock().now())
    expected = histories(auditing)

    def export() -> tuple[list[dict[str, Any]], int]:
        seen: list[dict[str, Any]] = []
        cursor = None
        for pages in range(1, 100):
            answer = auditing.auditor.audit_events(SINCE, until, limit=2, cursor=cursor)
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == "application/x-ndjson"
            assert answer.text == "" or answer.text.endswith("\n")
            lines = [json.loads(line) for line in answer.text.splitlines()]
            # The tenant's ledger is exported too; the scheduled anchor run writes it when
            # it will, so it is left out of what the submissions' histories are held to.
            assert {e["type"] for e in lines if e["submission_id"] == LEDGER_STREAM} <= {
                "audit.anchored"
            }
            seen += [e for e in lines if e["submission_id"] != LEDGER_STREAM]
            cursor = answer.headers.get("x-fr-next-cursor")
            if cursor is None:
                return seen, pages
        raise AssertionError("the export never ended")

    # The index is eventually consistent: wait until every event is exported.
    seen, pages = auditing.stack.wait_for(
        lambda: (found := export())[0] == expected and found, what="every event exported"
    )
    assert pages > 2
    assert {e["tenant_id"] for e in seen} == {TENANT}
    assert all(len(e["hash"]) == 64 and len(e["prev_hash"]) == 64 for e in seen)


def test_a_read_only_key_cannot_export(auditing: Auditing) -> None:
    answer = auditing.reader.audit_events(SINCE)

    assert answer.status_code == 403
    assert answer.json() == {"message": "Forbidden"}


def test_an_audit_only_key_cannot_submit(auditing: Auditing) -> None:
    before = auditing.stack.received_submissions()

    answer = auditing.auditor.submit("contact", {"topic": "audit"})

    assert answer.status_code == 403
    assert auditing.stack.received_submissions() == before


def test_a_bad_window_is_a_problem_not_a_page(auditing: Auditing) -> None:
    answer = auditing.auditor.request("GET", "/v1/audit/events", query={"until": SINCE})

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"


# --- `formrelay audit export` --------------------------------------------------------------


def export_cli(a: Auditing, *args: str) -> int:
    """`formrelay audit export` in this process, with the audit-only key."""
    credentials = a.auditor.credentials
    return main(
        [
            "audit",
            "export",
            *args,
            "--endpoint",
            credentials.endpoint,
            "--key-id",
            credentials.key_id,
            "--secret",
            credentials.secret,
        ]
    )


def all_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def lines_of(path: Path) -> list[dict[str, Any]]:
    """The exported events of the submissions (the ledger, which the scheduled anchor run
    writes when it will, left out)."""
    return [e for e in all_lines(path) if e["submission_id"] != LEDGER_STREAM]


def test_an_export_stopped_early_continues_where_it_stopped_with_no_duplicate(
    auditing: Auditing, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    until = rfc3339(SystemClock().now())
    expected = histories(auditing)
    auditing.stack.wait_for(
        lambda: len(auditing.auditor.audit_events(SINCE, until).text.splitlines()) >= len(expected),
        what="every event in the tenant index",
    )
    output = tmp_path / "events.ndjson"
    window = ["--since", SINCE, "--until", until, "-o", str(output), "--limit", "2"]

    # Given an export stopped after two pages
    assert export_cli(auditing, *window, "--max-pages", "2", "--json") == 0
    stopped = json.loads(capsys.readouterr().out)
    assert stopped == {
        "events": len(all_lines(output)),
        "pages": 2,
        "file": str(output),
        "complete": False,
    }
    written = len(lines_of(output))
    assert 0 < written < len(expected)
    assert lines_of(output) == expected[:written]
    assert sidecar_of(output).exists()
    # and a page appended by a run that stopped before recording its cursor
    with output.open("a", encoding="utf-8") as file:
        file.write(json.dumps(expected[written]) + "\n")

    # When it is run again
    assert export_cli(auditing, *window, "--json") == 0

    # Then the file holds every event once, in order, and the cursor file is gone
    done = json.loads(capsys.readouterr().out)
    assert lines_of(output) == expected
    assert done == {
        "events": len(all_lines(output)),
        "pages": done["pages"],
        "file": str(output),
        "complete": True,
    }
    assert done["pages"] > 2
    assert not sidecar_of(output).exists()


def test_a_rerun_for_another_window_or_over_a_finished_file_is_refused(
    auditing: Auditing, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "events.ndjson"
    window = ["--since", SINCE, "-o", str(output), "--limit", "1"]
    assert export_cli(auditing, *window, "--max-pages", "1") == 0
    kept = output.read_bytes()

    assert export_cli(auditing, "--since", "2001-01-01T00:00:00Z", "-o", str(output)) == 2
    assert "another window" in capsys.readouterr().err
    assert output.read_bytes() == kept

    # Without an --until, the rest of the export keeps the end its first page fixed.
    assert export_cli(auditing, *window) == 0
    assert lines_of(output) == histories(auditing)
    assert export_cli(auditing, *window) == 2
    assert "no export under way" in capsys.readouterr().err
