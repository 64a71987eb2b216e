"""`--stack NAME`: a deployed stack's outputs name the API endpoint, the tables and prefixes.

The commands read them with CloudFormation's DescribeStacks, with the caller's AWS
credentials and region, so an operator never copies a table name. The output names
are those of infra/template.yaml (tests/unit/test_template.py holds them together).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from formrelay.settings import ConfigurationError

STACK_VARIABLE = "FORMRELAY_STACK"
# The outputs the commands read.
API_ENDPOINT = "ApiEndpoint"
VIEWS_TABLE = "ViewsTableName"
TENANT_SECRET_PREFIX = "TenantSecretPrefix"


class UnknownStackError(ConfigurationError):
    """No stack of that name in the caller's account and region."""


class MissingStackOutputError(ConfigurationError):
    """The stack lacks an output the command needs."""


def add_stack_flag(parser: argparse.ArgumentParser) -> None:
    """--stack NAME (or FORMRELAY_STACK)."""
    parser.add_argument(
        "--stack",
        metavar="NAME",
        help=f"take the endpoint, tables and prefixes from this deployed stack ({STACK_VARIABLE})",
    )


def stack_name(flag: str | None, env: Mapping[str, str]) -> str | None:
    """The stack named by --stack, else by FORMRELAY_STACK, else None."""
    name = (flag or env.get(STACK_VARIABLE, "")).strip()
    return name or None


@dataclass(frozen=True)
class StackOutputs:
    """One stack's outputs, by output name."""

    name: str
    status: str
    values: Mapping[str, str]

    def require(self, output: str) -> str:
        """One output's value; MissingStackOutputError if the stack has none."""
        value = self.values.get(output, "").strip()
        if not value:
            raise MissingStackOutputError(
                f"stack {self.name} ({self.status}) has no output {output}: "
                "is it a formrelay stack, deployed from this version's template?"
            )
        return value


StackReader = Callable[[str], StackOutputs]


def describe_stack(name: str, cloudformation: Any | None = None) -> StackOutputs:
    """The named stack's outputs; UnknownStackError if there is no such stack.

    Other refusals (no permission) and unreachable AWS propagate as botocore's errors.
    """
    client = cloudformation or boto3.session.Session().client("cloudformation")
    try:
        stacks = client.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        # CloudFormation answers ValidationError for a name it does not know (or cannot be).
        if exc.response.get("Error", {}).get("Code") != "ValidationError":
            raise
        region = client.meta.region_name
        raise UnknownStackError(
            f"no stack {name} in {region} (check the name and AWS_DEFAULT_REGION)"
        ) from exc
    stack = stacks[0]
    values = {o["OutputKey"]: str(o.get("OutputValue", "")) for o in stack.get("Outputs", [])}
    return StackOutputs(name, str(stack.get("StackStatus", "")), values)
