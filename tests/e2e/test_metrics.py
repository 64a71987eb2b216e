"""The functions' metrics in the local stack's log, as CloudWatch would read them (EMF):
one delivered submission and one refused, counted by name, unit and value, in the formrelay
namespace, with no dimension but the service (and the refusal's reason), no tenant anywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack, running_stack

CONTACT = {"email": "ada@example.com", "name": "Ada", "message": "metrics"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, str]]:
    # A stack of its own: every metric in its log comes from what this module did.
    with running_stack(tmp_path_factory.mktemp("metrics")) as stack:
        client = stack.client()
        accepted = client.submit("contact", CONTACT)
        assert accepted.status_code == 202, accepted.text
        submission_id = accepted.json()["submission_id"]
        stack.wait_for(
            lambda: client.status(submission_id).json().get("status") == "delivered",
            timeout=60,
            what="the submission delivered",
        )
        refused = client.submit("contact", {"email": "ada@example.com", "message": 7})
        assert refused.status_code == 422, refused.text
        stack.wait_for(lambda: len(emf_lines(stack.log_path)) >= 3, what="three EMF lines")
        yield stack, submission_id


def emf_lines(log_path: Path) -> list[dict[str, Any]]:
    """Every EMF document the functions printed, wherever it starts on a line."""
    text = log_path.read_text(encoding="utf-8", errors="replace")
    decoder = json.JSONDecoder()
    found, start = [], text.find('{"_aws"')
    while start != -1:
        document, end = decoder.raw_decode(text, start)
        found.append(document)
        start = text.find('{"_aws"', end)
    return found


def counted(lines: list[dict[str, Any]]) -> dict[tuple[str, str], list[float]]:
    """(metric name, unit) -> every value logged for it."""
    values: dict[tuple[str, str], list[float]] = {}
    for line in lines:
        for directive in line["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = line[metric["Name"]]
                key = (metric["Name"], metric["Unit"])
                values.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    return values


def test_a_delivered_and_a_refused_submission_are_counted(run: tuple[RunningStack, str]) -> None:
    stack, _ = run
    values = counted(emf_lines(stack.log_path))
    latency = values.pop(("AttemptLatency", "Milliseconds"))
    assert values == {
        ("SubmissionsAccepted", "Count"): [1.0],
        ("SubmissionsRefused", "Count"): [1.0],
        ("DeliveriesSucceeded", "Count"): [1.0],
    }
    assert len(latency) == 1 and latency[0] >= 0


def test_the_dimensions_are_the_service_and_a_refusals_reason_only(
    run: tuple[RunningStack, str],
) -> None:
    stack, submission_id = run
    lines = emf_lines(stack.log_path)
    for line in lines:
        [directive] = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "formrelay"
        assert directive["Dimensions"] in ([["service"]], [["reason", "service"]])
        assert line["service"] == "formrelay"
    [refusal] = [line for line in lines if "SubmissionsRefused" in line]
    assert refusal["reason"] == "validation-failed"
    # No tenant, key or submission in any of them, as a dimension or otherwise.
    text = json.dumps(lines)
    for identifier in (stack.demo["tenant_id"], stack.demo["key_id"], submission_id):
        assert identifier not in text
    assert "tenant" not in text
