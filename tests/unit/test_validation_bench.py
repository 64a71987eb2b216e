"""bench/validation.py runs and writes its figures as JSON (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "validation.py"


def test_the_validation_bench_runs_and_writes_every_case(tmp_path: Path) -> None:
    # Given a tiny run of the bench
    out = tmp_path / "validation.json"
    subprocess.run(
        [sys.executable, str(BENCH), "--batches", "2", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )

    # Then the JSON holds every form with a valid and an invalid payload, each measured
    results = json.loads(out.read_text())
    cases = {(c["form"], c["payload"]): c for c in results["cases"]}
    assert set(cases) == {(f, p) for f in ("contact", "application") for p in ("valid", "invalid")}
    for (_, payload), case in cases.items():
        compiled, reference = case["figures"]["compiled"], case["figures"]["jsonschema"]
        assert compiled["median_us"] > 0 and reference["p95_us"] > 0
        # and both validators agree on how many errors the payload has
        assert compiled["errors_reported"] == reference["errors_reported"]
        assert (compiled["errors_reported"] == 0) == (payload == "valid")
    assert isinstance(results["jsonschema_rs"]["available"], bool)
