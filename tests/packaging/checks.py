"""What a build must hold to run on Lambda, checked on its directories (no AWS).

Each check returns what it found wrong (empty: nothing), so a test can show the
checks catch a build with a module or a dependency taken out.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement

from formrelay.local.builds import BuiltFunction
from formrelay.local.runtime_provided import RUNTIME_MODULES

FIRST_PARTY = {"handlers", "projections", "formrelay"}
# Distributions the python3.12 runtime has (boto3 and its dependencies).
RUNTIME_DISTRIBUTIONS = {
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
}
LAMBDA_LIMIT_BYTES = 250 * 1024 * 1024  # unzipped code and layers
EM_AARCH64 = 183  # ELF e_machine
# The markers pip resolved the Lambda layer for.
LAMBDA_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
    "extra": "",
}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def find_module(name: str, path: list[Path]) -> Path | None:
    """The file of module `name` (dotted) in the first path entry that has it."""
    parts = name.split(".")
    for entry in path:
        base = entry.joinpath(*parts)
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        if len(parts) == 1 and list(entry.glob(f"{parts[0]}.*.so")):
            return next(entry.glob(f"{parts[0]}.*.so"))
        if base.is_dir() and len(parts) > 1:  # a namespace package's subpackage
            return base
    return None


def _module_level_imports(
    tree: ast.Module, module: str, is_package: bool
) -> list[tuple[str, bool]]:
    """Modules imported when the module is imported (not in functions, not TYPE_CHECKING),
    each with whether it is a `from X import name` (name may be an attribute of X)."""
    found: list[tuple[str, bool]] = []
    package = module if is_package else module.rpartition(".")[0]

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend((alias.name, False) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                found.append((base, False))
                found.extend((f"{base}.{alias.name}", True) for alias in node.names)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try | ast.ClassDef | ast.With):
                visit(node.body)

    visit(tree.body)
    return found


def unresolved_imports(function: BuiltFunction) -> list[str]:
    """Imports the handler makes at module level, transitively through our own code,
    that neither the standard library, the runtime nor the function's code and layers hold."""
    path = function.python_path()
    handler_module = function.handler.rpartition(".")[0]
    pending: list[tuple[str, bool]] = [(handler_module, False)]
    seen: set[str] = set()
    missing: list[str] = []
    while pending:
        module, maybe_attribute = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in RUNTIME_MODULES:
            continue
        location = find_module(module, path)
        if location is None:
            # `from package import name`: name may be an attribute, not a module
            if maybe_attribute and find_module(module.rpartition(".")[0], path) is not None:
                continue
            missing.append(f"{function.logical_id}: {module} is not in the build")
            continue
        if top in FIRST_PARTY and location.suffix == ".py":
            tree = ast.parse(location.read_text(encoding="utf-8"))
            pending += _module_level_imports(tree, module, location.name == "__init__.py")
    return sorted(missing)


def handler_missing(function: BuiltFunction) -> list[str]:
    """The handler's module, if neither the function's code nor a layer has it."""
    module = function.handler.rpartition(".")[0]
    if find_module(module, function.python_path()) is None:
        return [f"{function.logical_id}: no handler module {module}"]
    return []


def _distributions(layer: Path) -> dict[str, Path]:
    """The layer's installed distributions by normalised name."""
    return {
        _normalise(info.name.removesuffix(".dist-info").rsplit("-", 1)[0]): info
        for info in layer.glob("*.dist-info")
    }


def missing_distributions(layer: Path, markers: dict[str, str] = LAMBDA_MARKERS) -> list[str]:
    """Requirements of the layer's distributions that neither it nor the runtime has."""
    installed = _distributions(layer)
    missing = []
    for name, info in sorted(installed.items()):
        metadata = Parser().parsestr((info / "METADATA").read_text(encoding="utf-8"))
        for line in metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate(markers):
                continue
            wanted = _normalise(requirement.name)
            if wanted not in installed and wanted not in RUNTIME_DISTRIBUTIONS:
                missing.append(f"{name} requires {requirement}, not in the layer")
    return missing


def runtime_distributions_packaged(layer: Path) -> list[str]:
    """boto3 and botocore in the layer: the runtime has them (and they weigh 90 MB)."""
    return sorted(set(_distributions(layer)) & {"boto3", "botocore"})


def foreign_binaries(layer: Path) -> list[str]:
    """Binary wheels and shared objects that are not for CPython 3.12 on aarch64."""
    wrong = []
    for wheel in sorted(layer.glob("*.dist-info/WHEEL")):
        info = Parser().parsestr(wheel.read_text(encoding="utf-8"))
        if info["Root-Is-Purelib"] == "true":
            continue
        for tag in info.get_all("Tag") or []:
            interpreter, abi, platform = tag.split("-")
            if interpreter != "cp312" or abi not in {"cp312", "abi3"} or "aarch64" not in platform:
                wrong.append(f"{wheel.parent.name}: wheel tag {tag}")
    for shared in sorted(layer.rglob("*.so")):
        header = shared.read_bytes()[:20]
        machine = int.from_bytes(header[18:20], "little")
        tagged = "cpython-312-aarch64" in shared.name or ".abi3." in shared.name
        if header[:4] != b"\x7fELF" or machine != EM_AARCH64 or not tagged:
            wrong.append(f"{shared.relative_to(layer)}: not a cpython-312 aarch64 object")
    return wrong


def unzipped_bytes(function: BuiltFunction) -> int:
    """The function's code and its layers, unzipped, as Lambda counts them."""
    return sum(
        f.stat().st_size
        for root in (function.code_dir, *function.layer_dirs)
        for f in root.rglob("*")
        if f.is_file()
    )


IMPORT_HANDLER = """
import importlib, json, sys
sys.path[:0] = json.loads(sys.argv[1])
module, _, name = sys.argv[2].rpartition(".")
handler = getattr(importlib.import_module(module), name)
assert callable(handler), sys.argv[2]
print(json.dumps({n: getattr(m, "__file__", None) for n, m in sys.modules.items()}))
"""


def import_in_clean_interpreter(
    function: BuiltFunction, runtime_dir: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, str | None]]:
    """Import the handler in `python -I -S`: only the build, the runtime's boto3, the stdlib."""
    path = [str(p) for p in function.python_path()] + [str(runtime_dir)]
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",
            "-c",
            IMPORT_HANDLER,
            json.dumps(path),
            function.handler,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    modules = json.loads(done.stdout) if done.returncode == 0 else {}
    return done, modules
