"""Print the layer's requirements: pyproject.toml's [project] dependencies, less those
the Lambda runtime provides (boto3 and botocore), shell-quoted on one line.

infra/Makefile installs them into FormrelayLayer, so the dependency list has one
source: pyproject.toml.
"""

from __future__ import annotations

import re
import shlex
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# What the python3.12 runtime already has (boto3 and its own dependencies): the
# runtime's boto3 serves us, as it has every call formrelay makes (boto3 >= 1.34).
RUNTIME_PROVIDED = frozenset({"boto3", "botocore"})


def _name(requirement: str) -> str:
    """The normalised project name at the start of a requirement (PEP 503)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def layer_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """The project's runtime dependencies that the layer must carry."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return [dep for dep in project["dependencies"] if _name(dep) not in RUNTIME_PROVIDED]


if __name__ == "__main__":
    sys.stdout.write(shlex.join(layer_requirements()) + "\n")
