"""bench/validation.py runs and writes its figures as JSON (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench" / "validation.py"


# The bench run as a script, with jsonschema-rs importable or not (it is no dependency).
AS_IS = (
    "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)
WITHOUT_RS = "import sys; sys.modules['jsonschema_rs'] = None; " + AS_IS


def _run(tmp_path: Path, launcher: str) -> dict[str, Any]:
    out = tmp_path / "validation.json"
    subprocess.run(
        [sys.executable, "-c", launcher, str(BENCH), "--batches", "2", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dict(json.loads(out.read_text()))


def test_without_jsonschema_rs_the_bench_runs_and_reports_it_absent(tmp_path: Path) -> None:
    results = _run(tmp_path, WITHOUT_RS)
    assert results["jsonschema_rs"] == {"available": False}
    assert results["versions"]["jsonschema-rs"] is None
    assert all("jsonschema-rs" not in case["figures"] for case in results["cases"])


def test_the_validation_bench_runs_and_writes_every_case(tmp_path: Path) -> None:
    # Given a tiny run of the bench
    results = _run(tmp_path, AS_IS)

    # Then the JSON holds every form with a valid and an invalid payload, each measured
    cases = {(c["form"], c["payload"]): c for c in results["cases"]}
    assert set(cases) == {(f, p) for f in ("contact", "application") for p in ("valid", "invalid")}
    for (_, payload), case in cases.items():
        compiled, reference = case["figures"]["compiled"], case["figures"]["jsonschema"]
        assert compiled["median_us"] > 0 and reference["p95_us"] > 0
        # and both validators agree on how many errors the payload has
        assert compiled["errors_reported"] == reference["errors_reported"]
        assert (compiled["errors_reported"] == 0) == (payload == "valid")
    assert isinstance(results["jsonschema_rs"]["available"], bool)
