"""Print the layer's requirements: pyproject.toml's [project] dependencies, less those
the Lambda runtime provides (boto3 and its dependencies), shell-quoted on one line;
with `--prune DIR`, remove from an installed layer the runtime's distributions that
pip pulled in as another's dependency (aws-xray-sdk requires botocore).

infra/Makefile installs them into FormrelayLayer, so the dependency list has one
source: pyproject.toml.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# What the python3.12 runtime already has (boto3 and its own dependencies): the
# runtime's boto3 serves us, as it has every call formrelay makes (boto3 >= 1.34).
# A layer's copy would shadow the runtime's (layers come first on the path) and
# weigh ~90 MB, so the layer carries none of them.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)


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


def prune_runtime_distributions(layer: Path) -> list[str]:
    """Delete the runtime's distributions from an installed layer: every file their
    RECORD lists, the directories that leaves empty, and the dist-info. Answers the
    names it removed."""
    root = layer.resolve()
    removed = []
    for info in sorted(root.glob("*.dist-info")):
        name = _name(info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        if name not in RUNTIME_PROVIDED:
            continue
        files = [
            (root / line.split(",", 1)[0]).resolve()
            for line in (info / "RECORD").read_text(encoding="utf-8").splitlines()
            if line
        ]
        for path in files:
            if path.is_relative_to(root) and path.is_file():
                path.unlink()
        for directory in sorted({p.parent for p in files}, key=lambda d: -len(d.parts)):
            while directory != root and directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
                directory = directory.parent
        shutil.rmtree(info, ignore_errors=True)
        removed.append(name)
    return removed


if __name__ == "__main__":
    if sys.argv[1:2] == ["--prune"]:
        for name in prune_runtime_distributions(Path(sys.argv[2])):
            sys.stdout.write(f"left to the runtime: {name}\n")
    else:
        sys.stdout.write(shlex.join(layer_requirements()) + "\n")
