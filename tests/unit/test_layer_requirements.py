"""infra/layer_requirements.py: the layer's dependency list comes from pyproject.toml."""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "infra" / "layer_requirements.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layer_requirements", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_layer_gets_every_project_dependency_but_the_runtimes_boto3() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    printed = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=True
    ).stdout
    assert shlex.split(printed) == [dep for dep in declared if not dep.startswith("boto3")]


def test_a_dependency_added_to_pyproject_reaches_the_layer(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\ndependencies = ["Boto3>=1.34", "botocore", "httpx>=0.27", "new_lib[x]~=1.0"]\n'
    )
    assert _script().layer_requirements(pyproject) == ["httpx>=0.27", "new_lib[x]~=1.0"]
