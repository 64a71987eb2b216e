"""`make bench`: every benchmark, one after another, each in a fresh interpreter, timed.

Each script prints its own figures and writes its JSON under bench/results/; this prints
how long each took and in all (the whole must stay under 15 minutes on 2 cores), writes
bench/results/bench_run.json, and exits 1 if any script failed (after running the rest).

Run: .venv/bin/python bench/run_all.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"

# (name, arguments): the order is the one `make bench` has always run them in.
RUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bench_core.py", ()),
    ("validation.py", ()),
    ("bench_delivery_load.py", ()),
    ("local_throughput.py", ()),
    ("listing_pages.py", ()),
    ("cost.py", ()),
    ("warm_path.py", ()),
    ("warm_path.py", ("--memory", "--submissions", "3")),
    ("scale.py", ()),
    ("cold_start_tracing.py", ()),
    ("cold_start.py", ()),
)


def main() -> None:
    """Run every benchmark (or those named), print the times, write them, fail if one did."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="script names to run")
    args = parser.parse_args()
    chosen = [run for run in RUNS if args.only is None or run[0] in args.only]
    timings: list[tuple[str, float, int]] = []  # (run, seconds, exit code)
    for script, extra in chosen:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(BENCH / script), *extra], check=False)
        seconds = round(time.perf_counter() - started, 1)
        timings.append((" ".join((script, *extra)), seconds, done.returncode))
    total = round(sum(seconds for _, seconds, _ in timings), 1)
    RESULTS.mkdir(exist_ok=True)
    report = {
        "runs": [{"run": r, "seconds": s, "exit_code": c} for r, s, c in timings],
        "total_seconds": total,
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version()},
    }
    (RESULTS / "bench_run.json").write_text(json.dumps(report, indent=2) + "\n")
    table = Table(title="make bench")
    table.add_column("run")
    table.add_column("seconds", justify="right")
    table.add_column("exit", justify="right")
    for run, seconds, code in timings:
        table.add_row(run, f"{seconds:.1f}", str(code))
    table.add_row("in all", f"{total:.1f}", "")
    Console().print(table)
    if any(code != 0 for _, _, code in timings):
        sys.exit(1)


if __name__ == "__main__":
    main()
