"""Create in the emulator the Step Functions state machines a template declares."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import boto3

from formrelay.local.emulator import ACCOUNT_ID
from formrelay.local.intrinsics import ResourceMap, resolve
from formrelay.local.provision import physical_name
from formrelay.local.template import resources_of_type

logger = logging.getLogger(__name__)

# moto checks nothing about the role; the name says where it comes from.
LOCAL_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/formrelay-local-statemachine"


class DefinitionError(ValueError):
    """A state machine's definition cannot be read or substituted."""


def substitute(value: Any, substitutions: dict[str, str]) -> Any:
    """Replace ${Name} in every string of a definition, as DefinitionSubstitutions does."""
    if isinstance(value, str):
        for name, replacement in substitutions.items():
            value = value.replace(f"${{{name}}}", replacement)
        return value
    if isinstance(value, list):
        return [substitute(item, substitutions) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, substitutions) for key, item in value.items()}
    return value


def read_definition(props: dict[str, Any], base_dir: Path, resources: ResourceMap) -> str:
    """The definition (inline or DefinitionUri file) as JSON, substitutions applied."""
    if "Definition" in props:
        definition = props["Definition"]
    elif isinstance(props.get("DefinitionUri"), str):
        path = base_dir / props["DefinitionUri"]
        try:
            definition = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DefinitionError(f"cannot read state machine definition {path}") from exc
    else:
        raise DefinitionError("only Definition or a local DefinitionUri can run locally")
    substitutions = resolve(props.get("DefinitionSubstitutions", {}), resources)
    return json.dumps(substitute(definition, {k: str(v) for k, v in substitutions.items()}))


def provision_state_machines(
    template: dict[str, Any], resources: ResourceMap, stack_name: str, base_dir: Path
) -> None:
    """Create each AWS::Serverless::StateMachine; add {Ref (ARN), Arn, Name} to resources.

    Function ARNs in the definition stay as they are: the emulator's Lambda Invoke
    API answers them with the in-process handlers (see lambda_invoke).
    """
    machines = resources_of_type(template, "AWS::Serverless::StateMachine")
    if not machines:
        return
    client = boto3.client("stepfunctions")
    for logical_id, res in machines.items():
        props: dict[str, Any] = res.get("Properties", {})
        name = str(resolve(props.get("Name") or physical_name(stack_name, logical_id), resources))
        arn = client.create_state_machine(
            name=name,
            definition=read_definition(props, base_dir, resources),
            roleArn=LOCAL_ROLE_ARN,
            type="EXPRESS" if props.get("Type") == "EXPRESS" else "STANDARD",
        )["stateMachineArn"]
        resources[logical_id] = {"Ref": arn, "Arn": arn, "Name": name}
        if props.get("Events"):
            logger.warning("%s: state machine events are not run locally", logical_id)
        logger.debug("provisioned state machine %s as %s", logical_id, arn)
