"""`make build` and `make build-host` from a test, into a directory of the test's own."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The first build of a fresh clone makes .venv-sam too; later ones take seconds.
BUILD_TIMEOUT_SECONDS = 900


def make_build(target: str, build_dir: Path) -> Path:
    """Run `make <target>` (build or build-host) with its output in build_dir.

    One build at a time: sam builds in the source tree, where pip builds the
    library's wheel, and two builds there at once would share setuptools' build/.
    """
    variable = "HOST_BUILD_DIR" if target == "build-host" else "BUILD_DIR"
    lock_path = REPO / ".aws-sam" / "tests.lock"
    lock_path.parent.mkdir(exist_ok=True)
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run(
            ["make", "--no-print-directory", target, f"{variable}={build_dir}"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
    assert done.returncode == 0, (
        f"make {target} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return build_dir


def build_once(target: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make <target>` once per test run: every test file (and xdist worker) shares it.

    The build reads the source tree as it is when the run starts, so one per run
    checks what the run tests; workers share the parent of their base temp dirs.
    """
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent
    build_dir = root / f"make-{target}"
    with (root / f"make-{target}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (build_dir / "template.yaml").is_file():
            make_build(target, build_dir)
    return build_dir
