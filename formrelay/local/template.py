"""Load a SAM/CloudFormation template, turning short tags (!Ref, !GetAtt...) into dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "infra" / "template.yaml"

_FN_TAGS = (
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "Length",
    "ToJsonString",
)


class TemplateLoader(yaml.SafeLoader):
    """A safe YAML loader that understands CloudFormation intrinsic function tags."""


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    """Build the plain Python value of a tagged node."""
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}")


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    """!Ref X -> {"Ref": X}."""
    return {"Ref": _construct(node, loader)}


def _condition(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    """!Condition X -> {"Condition": X}."""
    return {"Condition": _construct(node, loader)}


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    """!GetAtt A.B (or [A, B]) -> {"Fn::GetAtt": [A, B]}."""
    value = _construct(node, loader)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


def _make_fn(name: str) -> Any:
    """Return a constructor for the !<name> tag."""

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {f"Fn::{name}": _construct(node, loader)}

    return construct


TemplateLoader.add_constructor("!Ref", _ref)
TemplateLoader.add_constructor("!Condition", _condition)
TemplateLoader.add_constructor("!GetAtt", _get_att)
for _name in _FN_TAGS:
    TemplateLoader.add_constructor(f"!{_name}", _make_fn(_name))


def load_template(path: Path = DEFAULT_TEMPLATE) -> dict[str, Any]:
    """Read a template file into a dict of plain values."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=TemplateLoader)
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation template")
    return data


def resources_of_type(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    """Map logical id -> resource for every resource of one type."""
    resources: dict[str, dict[str, Any]] = template.get("Resources", {})
    return {lid: res for lid, res in resources.items() if res.get("Type") == type_name}
