"""The retry workflow port over Step Functions (Standard)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from formrelay.delivery.workflow import RetryWorkflow

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class StepFunctionsRetryWorkflow(RetryWorkflow):
    """The delivery retry state machine."""

    def __init__(
        self, state_machine_arn: str | Callable[[], str], stepfunctions: SFNClient | None = None
    ) -> None:
        """state_machine_arn: the ARN, or where to find it when the first retry starts."""
        self._state_machine_arn = state_machine_arn
        self._stepfunctions = stepfunctions

    @property
    def state_machine_arn(self) -> str:
        """The state machine's ARN."""
        if callable(self._state_machine_arn):
            self._state_machine_arn = self._state_machine_arn()
        return self._state_machine_arn

    @property
    def stepfunctions(self) -> SFNClient:
        """The Step Functions client, built on first use."""
        if self._stepfunctions is None:
            self._stepfunctions = boto3.client("stepfunctions")
        return self._stepfunctions

    def _start_once(self, name: str, state: dict[str, Any]) -> None:
        try:
            self.stepfunctions.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name,
                input=json.dumps(state, sort_keys=True),
            )
        except ClientError as exc:
            # Same name and same input: AWS answers the running execution; another
            # input under a used name is ExecutionAlreadyExists. Either way it exists.
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
