"""A `sam build` output directory, read the way Lambda lays it out.

`sam build` writes the built template (template.yaml) beside one directory per
function and per layer, and points each CodeUri and ContentUri at its directory.
A function's code is its directory (Lambda's /var/task); a layer's Python code is
its `python/` directory (Lambda's /opt/python, and python/lib/pythonX.Y/site-packages).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formrelay.domain.errors import FormrelayError
from formrelay.local.template import load_template, resources_of_type

BUILT_TEMPLATE = "template.yaml"


class BuildLayoutError(FormrelayError):
    """A build directory lacks its template, a function's code or one of its layers."""


@dataclass(frozen=True)
class BuiltFunction:
    """One function of a build: its handler, its code and its layers' directories."""

    logical_id: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]  # each layer's root (its /opt), in the template's order

    def python_path(self) -> list[Path]:
        """The sys.path entries Lambda gives this function, before the runtime's own.

        Lambda unpacks the layers into /opt one after another, a later layer's files
        over an earlier one's: here a later layer comes first.
        """
        entries = [self.code_dir]
        for layer in reversed(self.layer_dirs):
            python = layer / "python"
            entries += [python, *sorted(python.glob("lib/python3*/site-packages"))]
        return entries


def _layer_dirs(
    logical_id: str, refs: list[Any], layers: dict[str, Any], root: Path
) -> tuple[Path, ...]:
    """The directories of a function's layers (each a Ref to a layer of this build)."""
    dirs = []
    for ref in refs:
        name = ref.get("Ref") if isinstance(ref, dict) else None
        if name not in layers:
            raise BuildLayoutError(f"{logical_id}: layer {ref!r} is not a layer of this build")
        dirs.append(_existing(root / layers[name]["Properties"]["ContentUri"], f"layer {name}"))
    return tuple(dirs)


def _existing(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise BuildLayoutError(f"{what}: no directory {path}")
    return path


def read_build(build_dir: Path) -> dict[str, BuiltFunction]:
    """Every function of the build in build_dir, by logical id."""
    template_path = build_dir / BUILT_TEMPLATE
    if not template_path.is_file():
        raise BuildLayoutError(f"no built template {template_path} (run `make build-host`)")
    template = load_template(template_path)
    globals_fn: dict[str, Any] = template.get("Globals", {}).get("Function", {})
    layers = resources_of_type(template, "AWS::Serverless::LayerVersion")
    built = {}
    for logical_id, res in resources_of_type(template, "AWS::Serverless::Function").items():
        props: dict[str, Any] = res.get("Properties", {})
        # SAM adds a function's own layers after Globals' (lists merge, globals first).
        refs = [*globals_fn.get("Layers", []), *props.get("Layers", [])]
        code = props.get("CodeUri", globals_fn.get("CodeUri"))
        built[logical_id] = BuiltFunction(
            logical_id=logical_id,
            handler=props.get("Handler") or globals_fn["Handler"],
            code_dir=_existing(build_dir / str(code), f"{logical_id}'s code"),
            layer_dirs=_layer_dirs(logical_id, refs, layers, build_dir),
        )
    return built
