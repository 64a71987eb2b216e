"""bench/warm_path.py and bench/scale.py run and write their figures as JSON.

Each runs as a script, at its smallest, in a process of its own (both set the process's
environment as the local runtime does). No timing is asserted: what a run must show is
that every invocation it times happened, and that what a new submission reads and
writes does not change with the submissions already stored.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, out: Path, *args: str) -> dict[str, Any]:
    subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return dict(json.loads(out.read_text()))


def test_the_warm_path_times_every_invocation_a_submission_causes(tmp_path: Path) -> None:
    # When two submissions go to a form of one destination, then to one of three
    figures = _run(
        "warm_path.py",
        tmp_path / "warm.json",
        *("--submissions", "2", "--warmup", "0", "--sizes", "1024", "--destinations", "1,3"),
    )

    # Then each row timed the authorizer and ingest once a submission, the status view and
    # publisher once an event (received, then one attempt a destination), the dispatcher
    # once, and the connector once a delivery
    assert [(r["payload_bytes"], r["destinations"]) for r in figures["rows"]] == [
        (1024, 1),
        (1024, 3),
    ]
    for row in figures["rows"]:
        fan_out = row["destinations"]
        assert row["invocations_per_submission"] == {
            "AuthorizerFunction": 1,
            "ConnectorFunction": fan_out,
            "DispatcherFunction": 1,
            "IngestFunction": 1,
            "PublisherFunction": 1 + fan_out,
            "StatusViewFunction": 1 + fan_out,
        }
        timed = row["per_invocation"]
        assert timed["connector / delivery"]["n"] == 2 * fan_out
        assert timed["status view / attempted"]["n"] == 2 * fan_out
        assert all(f["median_ms"] is not None for f in timed.values())


def test_a_memory_run_records_a_peak_for_every_invocation(tmp_path: Path) -> None:
    # When one submission goes through under tracemalloc
    figures = _run(
        "warm_path.py",
        tmp_path / "memory.json",
        *("--memory", "--submissions", "1", "--warmup", "0", "--sizes", "1024"),
        *("--destinations", "1"),
    )

    # Then every invocation it caused has a traced peak, and no time is given
    [row] = figures["rows"]
    assert figures["measures"] == "traced peak KiB"
    assert all(f["n"] >= 1 and f["max_kib"] > 0 for f in row["per_invocation"].values())
    assert "per_submission" not in row


def test_reads_and_writes_per_submission_do_not_grow_with_stored_submissions(
    tmp_path: Path,
) -> None:
    # When new submissions are counted with 60 and with 120 stored for the tenant
    figures = _run(
        "scale.py",
        tmp_path / "scale.json",
        *("--sizes", "60,120", "--submissions", "3", "--destinations", "3"),
    )

    # Then a new submission made as many calls and read and wrote as many items with
    # either (the fewest of each: a function's 30 s caches, refreshed, add a read or two
    # to whichever submission comes after they lapse, whatever is stored)
    fewer, more = figures["rows"]
    assert (fewer["stored_submissions"], more["stored_submissions"]) == (60, 120)
    for figure, spread in fewer["per_submission_range"].items():
        assert spread[0] == more["per_submission_range"][figure][0] > 0, figure
    # And a full listing page read as many items
    for small, large in zip(fewer["listing"], more["listing"], strict=True):
        assert small["max_items_read_per_page"] == large["max_items_read_per_page"]
    # And a form of three destinations was counted too, with more calls than one of one
    [three] = figures["fan_out"]
    assert three["destinations"] == 3
    assert three["per_submission_range"]["calls"][0] > fewer["per_submission_range"]["calls"][0]
