"""PACKAGING: `make build` (sam build, no docker, no AWS) produces functions that run on
Lambda, python3.12 on arm64; `make build-host` lays out the same for this machine,
and every handler imports from it in a clean interpreter.

Each build takes sam and pip about 15-30 s (wheels come from PyPI or pip's cache).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from formrelay.local.builds import BuiltFunction, read_build
from formrelay.local.runtime_provided import link_runtime_modules
from formrelay.local.template import DEFAULT_TEMPLATE, load_template, resources_of_type
from tests.packaging.checks import (
    LAMBDA_LIMIT_BYTES,
    foreign_binaries,
    handler_missing,
    import_in_clean_interpreter,
    missing_distributions,
    runtime_distributions_packaged,
    unresolved_imports,
    unzipped_bytes,
)
from tests.support.builds import BUILD_TIMEOUT_SECONDS, REPO, build_once

# A fresh clone's first build also makes .venv-sam (aws-sam-cli): a minute or two.
pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_SECONDS)

SOURCE_FUNCTIONS = set(
    resources_of_type(load_template(DEFAULT_TEMPLATE), "AWS::Serverless::Function")
)


@pytest.fixture(scope="module")
def lambda_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Given `make build` (for Lambda: python3.12, arm64)."""
    return build_once("build", tmp_path_factory)


@pytest.fixture(scope="module")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Given `make build-host` (the same layout for this machine's python)."""
    return build_once("build-host", tmp_path_factory)


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lambda runtime's own packages (boto3 and its dependencies), and nothing else."""
    return link_runtime_modules(tmp_path_factory.mktemp("runtime") / "runtime")


def _layer(function: BuiltFunction) -> Path:
    (layer,) = function.layer_dirs
    return layer / "python"


def _problems(build: Path) -> list[str]:
    """Everything wrong with a Lambda build, as the checks report it."""
    found: list[str] = []
    for function in read_build(build).values():
        found += handler_missing(function) + unresolved_imports(function)
    layer = _layer(next(iter(read_build(build).values())))
    return found + missing_distributions(layer) + foreign_binaries(layer)


def test_every_function_is_built_with_its_handler_and_the_library_layer(lambda_build: Path) -> None:
    functions = read_build(lambda_build)
    assert set(functions) == SOURCE_FUNCTIONS
    for function in functions.values():
        assert handler_missing(function) == []
        # the entry points are the function's code; the library is the layer's only
        assert (function.code_dir / "handlers").is_dir() and (
            function.code_dir / "projections"
        ).is_dir()
        assert not (function.code_dir / "formrelay").exists()
        assert (_layer(function) / "formrelay" / "__init__.py").is_file()
        assert not (_layer(function) / "handlers").exists()


def test_every_module_level_import_resolves_in_the_build(lambda_build: Path) -> None:
    for function in read_build(lambda_build).values():
        assert unresolved_imports(function) == []


def test_every_dependency_is_in_the_layer_and_boto3_is_the_runtimes(lambda_build: Path) -> None:
    layer = _layer(next(iter(read_build(lambda_build).values())))
    assert missing_distributions(layer) == []
    assert runtime_distributions_packaged(layer) == []
    # the schemas the registry reads at run time travel inside the library
    source = Path(DEFAULT_TEMPLATE).parents[1] / "schemas"
    for schema in source.rglob("*.json"):
        packaged = layer / "formrelay" / "schemas" / schema.relative_to(source)
        assert packaged.read_bytes() == schema.read_bytes(), packaged


def test_binary_wheels_are_for_cpython_312_on_aarch64(lambda_build: Path) -> None:
    layer = _layer(next(iter(read_build(lambda_build).values())))
    assert list(layer.rglob("*.so")), "expected at least one compiled dependency (rpds-py)"
    assert foreign_binaries(layer) == []


def test_each_function_with_its_layers_is_far_under_lambdas_limit(lambda_build: Path) -> None:
    for function in read_build(lambda_build).values():
        size = unzipped_bytes(function)
        print(f"{function.logical_id}: {size / 1e6:.1f} MB unzipped with its layers")
        assert size < LAMBDA_LIMIT_BYTES


def test_every_handler_imports_from_the_host_build_in_a_clean_interpreter(
    host_build: Path, runtime_dir: Path
) -> None:
    for function in read_build(host_build).values():
        done, modules = import_in_clean_interpreter(function, runtime_dir)
        assert done.returncode == 0, f"{function.logical_id}:\n{done.stderr[-3000:]}"
        ours = {name: file for name, file in modules.items() if name.split(".")[0] == "formrelay"}
        assert ours and all(str(file).startswith(str(_layer(function))) for file in ours.values())
        handler_module = function.handler.rpartition(".")[0]
        assert str(modules[handler_module]).startswith(str(function.code_dir))
        # and nothing at all from elsewhere (this venv's site-packages, the source tree)
        allowed = (
            *map(str, function.python_path()),
            str(runtime_dir),
            sysconfig.get_paths()["stdlib"],
        )
        elsewhere = [f for f in modules.values() if f and not str(f).startswith(allowed)]
        assert elsewhere == [], function.logical_id


def test_the_checks_catch_a_missing_module_and_a_missing_dependency(
    lambda_build: Path, host_build: Path, runtime_dir: Path, tmp_path: Path
) -> None:
    # Given copies of the builds, one module of ours and one dependency taken out
    broken = Path(shutil.copytree(lambda_build, tmp_path / "lambda", symlinks=True))
    layer = broken / "FormrelayLayer" / "python"
    (layer / "formrelay" / "api" / "problems.py").unlink()
    shutil.rmtree(layer / "httpx")
    shutil.rmtree(next(layer.glob("httpx-*.dist-info")))
    # (ingest imports httpx only where the connector is built; its validator at once)
    host = Path(shutil.copytree(host_build, tmp_path / "host", symlinks=True))
    shutil.rmtree(host / "FormrelayLayer" / "python" / "fastjsonschema")

    # Then the static checks name both, and the clean interpreter fails to import
    problems = "\n".join(_problems(broken))
    assert "formrelay.api.problems is not in the build" in problems
    assert "httpx is not in the build" in problems
    ingest = read_build(host)["IngestFunction"]
    done, _ = import_in_clean_interpreter(ingest, runtime_dir)
    assert done.returncode != 0 and "No module named 'fastjsonschema'" in done.stderr


def test_sam_validate_lint_passes_with_no_aws_account(lambda_build: Path) -> None:
    """`make lint-sam`: SAM's validation and cfn-lint over the expanded template, with
    no credentials and no AWS configuration (after the build, so .venv-sam exists)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env |= {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "SAM_CLI_TELEMETRY": "0",
    }
    done = subprocess.run(
        ["make", "--no-print-directory", "lint-sam"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "is a valid SAM Template" in done.stdout + done.stderr
