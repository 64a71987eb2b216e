"""Deployed stacks as CloudFormation describes them, made in moto.

moto's CloudFormation ignores the SAM transform, so the real template is not
deployed: a stand-in stack holds one queue and, as literal values, the outputs
infra/template.yaml declares, resolved on the resources the test provisioned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from formrelay.local.intrinsics import ResourceMap, resolve
from formrelay.local.template import DEFAULT_TEMPLATE, load_template

# What template_aws does not provision (moto has no HTTP API, state machine or role
# from the template, and the local stack makes no alarm topic): stand-in identities
# for the outputs that name them.
STAND_INS: ResourceMap = {
    "HttpApi": {"Ref": "a1b2c3d4e5"},
    "DeliveryRetryStateMachine": {
        "Ref": "arn:aws:states:us-east-1:123456789012:stateMachine:DeliveryRetry"
    },
    "TenantScopedDataRole": {"Arn": "arn:aws:iam::123456789012:role/TenantScopedDataRole"},
    "AlarmTopic": {"Ref": "arn:aws:sns:us-east-1:123456789012:formrelay-AlarmTopic"},
}


def template_outputs(resources: ResourceMap, **replaced: str) -> dict[str, str]:
    """Every output of infra/template.yaml, resolved on resources (replaced: by name)."""
    declared = load_template(DEFAULT_TEMPLATE)["Outputs"]
    known = {**STAND_INS, **resources}
    values = {name: str(resolve(spec["Value"], known)) for name, spec in declared.items()}
    return {**values, **replaced}


def create_stack(cloudformation: Any, name: str, outputs: Mapping[str, str]) -> None:
    """A stack named name whose outputs are these literal values."""
    body = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(body))
