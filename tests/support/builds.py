"""`make build` and `make build-host` from a test, into a directory of the test's own."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


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
            timeout=600,
        )
    assert done.returncode == 0, (
        f"make {target} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return build_dir
