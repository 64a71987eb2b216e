"""The Lambda Python runtime's own packages, for a process that runs a build locally.

The python3.12 runtime has boto3 and its dependencies on its path, after the
function's code and layers, so a build leaves them out (infra/layer_requirements.py).
Locally they come from this interpreter: a directory of links to exactly these
packages stands in for the runtime's, so nothing else installed here (httpx,
Powertools, the source tree's formrelay) can stand in for a package a build lacks.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from formrelay.domain.errors import FormrelayError

# Top-level modules of boto3 and its dependencies, as the python3.12 runtime has them.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


class RuntimeModuleMissingError(FormrelayError):
    """This interpreter lacks a package that the Lambda runtime provides."""


def _installed(name: str) -> Path:
    """Where this interpreter has a top-level module: its package directory or file."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeModuleMissingError(f"{name} is not installed here (the Lambda runtime has it)")
    origin = Path(spec.origin)
    return origin.parent if spec.submodule_search_locations else origin


def link_runtime_modules(directory: Path) -> Path:
    """Fill directory with links to this interpreter's copies of the runtime's packages."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_MODULES:
        source = _installed(name)
        link = directory / source.name
        if not link.is_symlink():
            link.symlink_to(source, target_is_directory=source.is_dir())
    return directory
