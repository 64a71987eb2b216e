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


def _install(layer: Path, dist: str, files: dict[str, str]) -> None:
    info = layer / f"{dist}.dist-info"
    info.mkdir(parents=True)
    for name, text in files.items():
        (layer / name).parent.mkdir(parents=True, exist_ok=True)
        (layer / name).write_text(text)
    listed = [*files, f"{dist}.dist-info/METADATA", f"{dist}.dist-info/RECORD"]
    (info / "METADATA").write_text(f"Name: {dist.rsplit('-', 1)[0]}\n")
    (info / "RECORD").write_text("".join(f"{name},,\n" for name in listed))


def test_the_runtimes_distributions_pulled_in_by_another_leave_the_layer(tmp_path: Path) -> None:
    layer = tmp_path / "python"
    _install(layer, "botocore-1.44.8", {"botocore/__init__.py": "", "botocore/data/s3.json": "{}"})
    _install(layer, "python_dateutil-2.9.0", {"dateutil/__init__.py": ""})
    _install(layer, "six-1.17.0", {"six.py": ""})
    _install(layer, "aws_xray_sdk-2.15.0", {"aws_xray_sdk/__init__.py": ""})
    (layer / "aws_xray_sdk" / "ext").mkdir()

    removed = _script().prune_runtime_distributions(layer)

    assert removed == ["botocore", "python-dateutil", "six"]
    assert sorted(p.name for p in layer.iterdir()) == [
        "aws_xray_sdk",
        "aws_xray_sdk-2.15.0.dist-info",
    ]
    assert (layer / "aws_xray_sdk" / "ext").is_dir()
