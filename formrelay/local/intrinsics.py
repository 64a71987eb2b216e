"""Resolve CloudFormation intrinsic functions against locally provisioned resources."""

from __future__ import annotations

import re
from typing import Any

from formrelay.local.emulator import ACCOUNT_ID, REGION

# logical id -> {"Ref": ..., "Arn": ..., "StreamArn": ..., ...}
ResourceMap = dict[str, dict[str, str]]

PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "formrelay",
    "AWS::NoValue": "",
}

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class UnresolvableError(ValueError):
    """A template value refers to something the local stack does not have."""


def _attribute(resources: ResourceMap, logical_id: str, attribute: str) -> str:
    """Look up one attribute of a provisioned resource."""
    try:
        return resources[logical_id][attribute]
    except KeyError as exc:
        raise UnresolvableError(f"cannot resolve {logical_id}.{attribute}") from exc


def _ref(resources: ResourceMap, name: str) -> str:
    """Resolve a Ref to a pseudo parameter or a resource."""
    if name in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[name]
    return _attribute(resources, name, "Ref")


def _sub(resources: ResourceMap, spec: Any) -> str:
    """Resolve Fn::Sub in its string or [string, variables] form."""
    text, variables = (spec, {}) if isinstance(spec, str) else (spec[0], spec[1])
    values = {key: resolve(value, resources) for key, value in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return _attribute(resources, logical_id, attribute)
        return _ref(resources, name)

    return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def parameter_refs(template: dict[str, Any]) -> ResourceMap:
    """Template parameters as resources whose Ref is their Default (lists comma-joined)."""
    refs: ResourceMap = {}
    for name, spec in template.get("Parameters", {}).items():
        if "Default" in spec:
            default = spec["Default"]
            value = ",".join(map(str, default)) if isinstance(default, list) else str(default)
            refs[name] = {"Ref": value}
    return refs


def resolve(value: Any, resources: ResourceMap) -> Any:
    """Return value with Ref, GetAtt, Sub, Join, Select and Split resolved."""
    if isinstance(value, list):
        return [resolve(item, resources) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return _ref(resources, arg)
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return _attribute(resources, logical_id, attribute)
        if key == "Fn::Sub":
            return _sub(resources, arg)
        if key == "Fn::Join":
            return str(arg[0]).join(str(part) for part in resolve(arg[1], resources))
        if key == "Fn::Select":
            return resolve(arg[1], resources)[int(resolve(arg[0], resources))]
        if key == "Fn::Split":
            return str(resolve(arg[1], resources)).split(arg[0])
    return {key: resolve(item, resources) for key, item in value.items()}
