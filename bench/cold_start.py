"""Cold start of every function against the seed's authorizer and ingest, in one run.

Each sample is a fresh interpreter that imports one function's entry point and invokes it
once with a small event of its kind, its AWS a moto server provisioned from
infra/template.yaml (the machinery of bench/cold_start_tracing.py, tracing off). The
seed's authorizer and ingest (bench/fixtures/seed, commit 309af15) run the same way with
that folder first on the path, so they import the seed's modules, never today's. A
further interpreter per function runs `python -X importtime` on the import alone: the
ten heaviest imports (cumulative µs) of modules that are not the product's own code.

Prints a table, the ratios against the targets, and writes bench/results/cold_start.json.
Run: .venv/bin/python bench/cold_start.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from cold_start_tracing import (
    REPO,
    RESULTS,
    _machine,
    child_env,
    event_for,
    run_once,
    template_functions,
)

SEED = Path(__file__).parent / "fixtures" / "seed"
SEED_RUNS = {"seed Authorizer": "AuthorizerFunction", "seed Ingest": "IngestFunction"}
OWN = ("formrelay", "handlers", "projections")
# (what, numerator, denominator, bound): numerator <= bound x denominator
TARGETS = (
    ("authorizer import", ("Authorizer", "import_ms"), ("seed Authorizer", "import_ms"), 0.8),
    ("ingest import", ("Ingest", "import_ms"), ("seed Ingest", "import_ms"), 0.5),
    ("authorizer cold", ("Authorizer", "total_ms"), ("seed Authorizer", "total_ms"), 1.0),
    ("ingest cold", ("Ingest", "total_ms"), ("seed Authorizer", "total_ms"), 1.0),
)


def heaviest_imports(module: str, env: dict[str, str], cwd: str, top: int = 10) -> list[Any]:
    """The `top` heaviest imports of `module` by cumulative µs, the product's own left out."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if name.split(".")[0] not in OWN:
            found[name] = max(found.get(name, 0), int(cumulative))
    ranked = sorted(found.items(), key=lambda item: -item[1])[:top]
    return [{"module": name, "cumulative_us": us} for name, us in ranked]


def measure(repeat: int) -> dict[str, Any]:
    """Every function and the two seed entry points, `repeat` cold starts each."""
    rows = []
    with template_functions() as (endpoint, specs, resources):
        runs: list[tuple[str, Any, dict[str, str]]] = [
            (logical_id.removesuffix("Function"), logical_id, {}) for logical_id in sorted(specs)
        ]
        # The seed's settings require every function's tables and queue (today's
        # authorizer names only the Views table): without them it would stop at its
        # settings and do less than its real first invocation.
        every = {k: v for spec in specs.values() for k, v in spec.environment.items()}
        needed = ("EVENTS_TABLE", "VIEWS_TABLE", "DELIVERY_QUEUE_URL")
        seed_env = {k: every[k] for k in needed if k in every}
        seed_env.update(PYTHONPATH=str(SEED), COLD_START_CWD=str(SEED))
        runs += [(name, logical_id, seed_env) for name, logical_id in SEED_RUNS.items()]
        for name, logical_id, extra in runs:
            spec = specs[logical_id]
            event = event_for(resources[logical_id])
            samples = [run_once(spec, event, "off", endpoint, extra) for _ in range(repeat)]
            imports = statistics.median(s["import_ms"] for s in samples)
            firsts = statistics.median(s["first_invocation_ms"] for s in samples)
            env = {**child_env(spec, "off", endpoint), **extra}
            cwd = env.pop("COLD_START_CWD", str(REPO))
            rows.append(
                {
                    "function": name,
                    "import_ms": round(imports, 1),
                    "first_invocation_ms": round(firsts, 1),
                    "total_ms": round(imports + firsts, 1),
                    "outcome": samples[0]["outcome"],
                    "heaviest_imports": heaviest_imports(spec.handler.rsplit(".", 1)[0], env, cwd),
                }
            )
    by_name = {row["function"]: row for row in rows}
    ratios = []
    for what, (num, num_key), (den, den_key), bound in TARGETS:
        ratio = by_name[num][num_key] / by_name[den][den_key]
        ratios.append({"target": what, "ratio": round(ratio, 2), "bound": bound})
    return {"repeat": repeat, "machine": _machine(), "rows": rows, "targets": ratios}


def print_table(figures: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    table = Table(title=f"Cold start (median of {figures['repeat']}, ms, tracing off)")
    for column in ("function", "import", "1st call", "import + 1st", "answer", "heaviest"):
        table.add_column(column, justify="right" if column[0] in "i1" else "left")
    for row in figures["rows"]:
        heavy = ", ".join(
            f"{h['module']} {h['cumulative_us'] / 1000:.0f}" for h in row["heaviest_imports"][:3]
        )
        table.add_row(
            row["function"],
            f"{row['import_ms']:.1f}",
            f"{row['first_invocation_ms']:.1f}",
            f"{row['total_ms']:.1f}",
            row["outcome"],
            heavy,
        )
    console.print(table)
    for target in figures["targets"]:
        verdict = "met" if target["ratio"] <= target["bound"] else "MISSED"
        console.print(
            f"{target['target']}: {target['ratio']:.2f} x seed (target <= {target['bound']}) "
            f"{verdict}"
        )
    console.print(f"({figures['machine']}; the ten heaviest imports are in the JSON)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="cold starts per function")
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    figures = measure(args.repeat)
    print_table(figures)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cold_start.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
