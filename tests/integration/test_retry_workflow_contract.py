"""The retry workflow contract: the in-memory fake and Step Functions (on moto) behave alike.

Each back end provides the workflow and a way to list the executions started
(name and input). On moto the state machine is the template's own definition;
executions are recorded, not run (moto runs none unless told to).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from formrelay.delivery.memory import InMemoryRetryWorkflow
from formrelay.delivery.stepfunctions import StepFunctionsRetryWorkflow
from formrelay.delivery.workflow import RetryWorkflow, execution_name
from formrelay.local.state_machines import LOCAL_ROLE_ARN
from tests.support.template_aws import TemplateAws, template_aws

Started = Callable[[], dict[str, dict[str, Any]]]
DELIVERY = "msg_0123456789abcdef0123456789abcdef"
DEFINITION = Path(__file__).parents[2] / "infra" / "statemachines" / "delivery_retry.asl.json"


def state(attempt: int, next_attempt_at: str = "2026-01-01T00:00:05.000Z") -> dict[str, Any]:
    return {
        "job": {"delivery_id": DELIVERY, "tenant_id": "acme"},
        "attempt": attempt,
        "next_attempt_at": next_attempt_at,
        "outcome": "retryable_failure",
    }


class RetryWorkflowContract:
    """The behaviour every RetryWorkflow back end must show."""

    @pytest.fixture
    def workflow(self) -> Iterator[RetryWorkflow]:
        raise NotImplementedError

    @pytest.fixture
    def started(self, workflow: RetryWorkflow) -> Started:
        """Executions started so far: name -> input."""
        raise NotImplementedError

    def test_a_start_is_one_execution_named_for_its_delivery_round_and_attempt(
        self, workflow: RetryWorkflow, started: Started
    ) -> None:
        workflow.start(state(2), delivery_id=DELIVERY, round_=1, attempt=2)
        assert started() == {f"{DELIVERY}-r1-a2": state(2)}
        assert execution_name(DELIVERY, 1, 2) == f"{DELIVERY}-r1-a2"

    def test_starting_the_same_retry_again_is_the_same_execution(
        self, workflow: RetryWorkflow, started: Started
    ) -> None:
        # Given a retry started once (a queue message then redelivered)
        workflow.start(state(2), delivery_id=DELIVERY, round_=1, attempt=2)

        # When it is started again, even with a later due time
        workflow.start(
            state(2, "2026-01-01T00:09:00.000Z"), delivery_id=DELIVERY, round_=1, attempt=2
        )

        # Then there is still one execution, with the first input
        assert started() == {f"{DELIVERY}-r1-a2": state(2)}

    def test_another_round_is_another_execution(
        self, workflow: RetryWorkflow, started: Started
    ) -> None:
        workflow.start(state(2), delivery_id=DELIVERY, round_=1, attempt=2)
        workflow.start(state(2), delivery_id=DELIVERY, round_=2, attempt=2)
        assert set(started()) == {f"{DELIVERY}-r1-a2", f"{DELIVERY}-r2-a2"}

    def test_the_input_is_what_was_given_even_if_the_caller_changes_it_later(
        self, workflow: RetryWorkflow, started: Started
    ) -> None:
        given = state(2)
        workflow.start(given, delivery_id=DELIVERY, round_=1, attempt=2)
        given["attempt"] = 99
        assert started()[f"{DELIVERY}-r1-a2"] == state(2)


class TestInMemoryRetryWorkflow(RetryWorkflowContract):
    @pytest.fixture
    def workflow(self) -> Iterator[RetryWorkflow]:
        yield InMemoryRetryWorkflow()

    @pytest.fixture
    def started(self, workflow: RetryWorkflow) -> Started:
        assert isinstance(workflow, InMemoryRetryWorkflow)
        return lambda: {e.name: e.state for e in workflow.executions}


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        yield provisioned


class TestStepFunctionsRetryWorkflow(RetryWorkflowContract):
    @pytest.fixture
    def state_machine_arn(self, aws: TemplateAws) -> str:
        stepfunctions = boto3.client("stepfunctions", region_name="us-east-1")
        return stepfunctions.create_state_machine(
            name=f"retry-{uuid.uuid4().hex[:8]}",
            definition=DEFINITION.read_text(encoding="utf-8"),
            roleArn=LOCAL_ROLE_ARN,
            type="STANDARD",
        )["stateMachineArn"]

    @pytest.fixture
    def workflow(self, state_machine_arn: str) -> Iterator[RetryWorkflow]:
        yield StepFunctionsRetryWorkflow(
            state_machine_arn, boto3.client("stepfunctions", region_name="us-east-1")
        )

    @pytest.fixture
    def started(self, state_machine_arn: str) -> Started:
        stepfunctions = boto3.client("stepfunctions", region_name="us-east-1")

        def executions() -> dict[str, dict[str, Any]]:
            listed = stepfunctions.list_executions(stateMachineArn=state_machine_arn)
            return {
                e["name"]: json.loads(
                    stepfunctions.describe_execution(executionArn=e["executionArn"])["input"]
                )
                for e in listed["executions"]
            }

        return executions
