"""The delivery retry workflow's ASL run by moto's interpreter, Lambda tasks served in-process."""

from __future__ import annotations

import datetime
import importlib
import json
import os
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from formrelay.local import asl_timing
from formrelay.local.asl_timing import RETRY_FLOOR_SECONDS
from formrelay.local.dev import LocalStack
from formrelay.local.template import REPO_ROOT

DEFINITION = REPO_ROOT / "infra" / "statemachines" / "delivery_retry.asl.json"

HANDLERS = '''
"""Throwaway attempt functions: they record each call and follow job["waits"]."""
import datetime

# Calls are kept outside this module: concurrent invocations run copies of it, each
# with its own module state, as Lambda containers do.
from frw_calls import CALLS, LOCK


def _at(seconds):
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(name, event):
    with LOCK:
        CALLS.append((name, event, datetime.datetime.now(datetime.UTC)))


def attempt(event, context):
    """Ask for another attempt after each of job["waits"] seconds, then stop."""
    _record("attempt", event)
    job = dict(event["job"])
    job["attempt"] = job.get("attempt", 0) + 1
    if job["attempt"] <= len(job["waits"]):
        wait = job["waits"][job["attempt"] - 1]
        return {"job": job, "next_attempt_at": _at(wait), "outcome": "retryable"}
    return {"job": job, "next_attempt_at": None, "outcome": "delivered"}


def crash(event, context):
    """Every attempt explodes; giving up (the workflow's last resort) works."""
    if "crashed" in event:
        _record("give_up", event)
        return {"job": event["job"], "next_attempt_at": None, "outcome": "dead_lettered"}
    _record("crash", event)
    raise ConnectionError("attempt function exploded")


def crash_always(event, context):
    """Attempts and giving up alike explode."""
    _record("give_up" if "crashed" in event else "crash", event)
    raise ConnectionError("attempt function exploded")
'''

TEMPLATE = f"""
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Environment:
      Variables:
        FORMRELAY_TIME_SCALE: "1"
        DELIVERY_ALLOWED_DESTINATIONS: ""
        RETRY_STATE_MACHINE_ARN: !Ref RetryStateMachine
Resources:
  AttemptFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: frw-attempt
      Handler: frw_handlers.attempt
  CrashFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frw_handlers.crash
  CrashAlwaysFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frw_handlers.crash_always
  MissingFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: frw_no_such_module.handler
  RetryStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      DefinitionUri: {DEFINITION}
      DefinitionSubstitutions:
        RetryAttemptFunctionArn: !GetAtt AttemptFunction.Arn
  CrashStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      DefinitionUri: {DEFINITION}
      DefinitionSubstitutions:
        RetryAttemptFunctionArn: !GetAtt CrashFunction.Arn
  CrashAlwaysStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      DefinitionUri: {DEFINITION}
      DefinitionSubstitutions:
        RetryAttemptFunctionArn: !GetAtt CrashAlwaysFunction.Arn
"""

TIME_SCALE = 0.05


@pytest.fixture(scope="module")
def handlers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """Given throwaway attempt functions importable by the names in the template."""
    directory = tmp_path_factory.mktemp("wf_handlers")
    (directory / "frw_handlers.py").write_text(textwrap.dedent(HANDLERS))
    (directory / "frw_calls.py").write_text(
        "import threading\nCALLS = []\nLOCK = threading.Lock()\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(directory))
        yield importlib.import_module("frw_handlers")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Given a template whose state machines use the real retry workflow definition."""
    path = tmp_path_factory.mktemp("wf_infra") / "template.yaml"
    path.write_text(TEMPLATE)
    return path


@pytest.fixture(scope="class")
def stack(handlers: ModuleType, template: Path) -> Iterator[LocalStack]:
    """Given a local stack with a short time scale and one allowed destination."""
    with LocalStack(
        template, stack_name="frw", time_scale=TIME_SCALE, allow_destinations=["127.0.0.1:9"]
    ) as running:
        yield running


def at(seconds: float) -> str:
    """An RFC 3339 UTC timestamp with Z, seconds from now (fractions included)."""
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(timestamp: str) -> datetime.datetime:
    """The datetime of an RFC 3339 timestamp with Z."""
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def start(stack: LocalStack, machine: str, job: dict[str, Any], first_in: float) -> str:
    """Start one execution (unique name) as the connector would; return its ARN."""
    arn = stack.resources[machine]["Arn"]
    document = {"job": job, "next_attempt_at": at(first_in)}
    started = boto3.client("stepfunctions").start_execution(
        stateMachineArn=arn, name=f"job-{uuid.uuid4().hex}", input=json.dumps(document)
    )
    return started["executionArn"]


def finished(execution_arn: str, timeout: float = 10.0) -> dict[str, Any]:
    """Poll until the execution is no longer RUNNING; return its description."""
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = dict(sfn.describe_execution(executionArn=execution_arn))
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"{execution_arn} still running after {timeout} s")
        time.sleep(0.05)


def calls_for(handlers: ModuleType, job_id: str) -> list[tuple[str, Any, datetime.datetime]]:
    """Recorded calls for one job, in order."""
    with handlers.LOCK:
        return [call for call in handlers.CALLS if call[1].get("job", {}).get("id") == job_id]


class TestRetryWorkflow:
    """One stack for these tests, stopped before the stop test starts its own."""

    def test_stack_applies_time_scale_and_allowed_destinations(self, stack: LocalStack) -> None:
        env = stack.runtime("AttemptFunction").spec.environment
        assert env["FORMRELAY_TIME_SCALE"] == "0.05"
        assert env["DELIVERY_ALLOWED_DESTINATIONS"] == "127.0.0.1:9"
        assert env["RETRY_STATE_MACHINE_ARN"] == stack.resources["RetryStateMachine"]["Arn"]
        assert asl_timing.retry_clock.scale == 0.05
        assert stack.resources["RetryStateMachine"]["Name"] == "frw-RetryStateMachine"

    def test_loops_until_the_function_returns_no_next_attempt(
        self, stack: LocalStack, handlers: ModuleType
    ) -> None:
        job = {"id": "loop", "waits": [0.6, 0.4]}
        began = datetime.datetime.now(datetime.UTC)
        described = finished(start(stack, "RetryStateMachine", job, first_in=0.5))

        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"]) == {
            "job": {**job, "attempt": 3},
            "next_attempt_at": None,
            "outcome": "delivered",
        }
        calls = calls_for(handlers, "loop")
        assert [event["job"].get("attempt", 0) for _, event, _ in calls] == [0, 1, 2]
        for _, event, called_at in calls:  # never before the time asked for, nor much after
            due = parse(event["next_attempt_at"])
            assert due <= called_at < due + datetime.timedelta(seconds=5)
        assert calls[0][2] - began >= datetime.timedelta(seconds=0.5)

    def test_a_time_in_the_past_proceeds_at_once(
        self, stack: LocalStack, handlers: ModuleType
    ) -> None:
        began = time.monotonic()
        described = finished(start(stack, "RetryStateMachine", {"id": "past", "waits": []}, -3600))
        assert described["status"] == "SUCCEEDED"
        assert len(calls_for(handlers, "past")) == 1
        assert time.monotonic() - began < 1.0

    def test_a_crashing_attempt_is_retried_then_given_up_on_record(
        self, stack: LocalStack, handlers: ModuleType
    ) -> None:
        began = time.monotonic()
        execution_arn = start(stack, "CrashStateMachine", {"id": "crash", "waits": []}, 0)
        described = finished(execution_arn)

        assert described["status"] == "SUCCEEDED"
        calls = calls_for(handlers, "crash")
        assert [name for name, _, _ in calls] == ["crash"] * 4 + ["give_up"]  # 1 + MaxAttempts 3
        given_up = calls[-1][1]
        assert given_up["crashed"]["Error"] == "ConnectionError"
        assert given_up["job"]["id"] == "crash"
        elapsed = time.monotonic() - began
        # Retry pauses are scaled, but never below the floor: three pauses of at least 1 s
        assert elapsed >= 0.9 * 3 * RETRY_FLOOR_SECONDS
        history = boto3.client("stepfunctions").get_execution_history(executionArn=execution_arn)
        failures = [e for e in history["events"] if e["type"] == "TaskFailed"]
        assert [e["taskFailedEventDetails"]["error"] for e in failures] == ["ConnectionError"] * 4

    def test_when_giving_up_crashes_too_the_execution_fails_with_the_attempts_error(
        self, stack: LocalStack, handlers: ModuleType
    ) -> None:
        execution_arn = start(stack, "CrashAlwaysStateMachine", {"id": "doom", "waits": []}, 0)
        described = finished(execution_arn, timeout=60)

        assert described["status"] == "FAILED"
        assert described["error"] == "AttemptCrashed"
        cause = json.loads(described["cause"])
        assert (cause["errorType"], cause["errorMessage"]) == (
            "ConnectionError",
            "attempt function exploded",
        )
        names = [name for name, _, _ in calls_for(handlers, "doom")]
        assert names == ["crash"] * 4 + ["give_up"] * 5  # each task: 1 + its MaxAttempts

    def test_twenty_concurrent_executions_all_succeed(
        self, stack: LocalStack, handlers: ModuleType
    ) -> None:
        arns: list[str] = []

        def start_one(index: int) -> None:
            job = {"id": f"many-{index}", "waits": [0.3]}
            arns.append(start(stack, "RetryStateMachine", job, first_in=0.3))

        starters = [threading.Thread(target=start_one, args=(i,)) for i in range(20)]
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join()

        statuses = [finished(arn)["status"] for arn in arns]
        assert statuses == ["SUCCEEDED"] * 20
        assert all(len(calls_for(handlers, f"many-{i}")) == 2 for i in range(20))

    def test_lambda_invoke_at_the_emulator_has_lambdas_shape(self, stack: LocalStack) -> None:
        client = boto3.client("lambda")
        ok = client.invoke(
            FunctionName="frw-attempt",
            Payload=json.dumps({"job": {"id": "direct", "waits": []}, "next_attempt_at": at(0)}),
        )
        crash = client.invoke(FunctionName=stack.resources["CrashFunction"]["Arn"], Payload=b"{}")
        missing = client.invoke(FunctionName="frw-MissingFunction", Payload=b"{}")

        assert ok["StatusCode"] == 200 and "FunctionError" not in ok
        assert json.loads(ok["Payload"].read())["outcome"] == "delivered"
        assert crash["StatusCode"] == 200 and crash["FunctionError"] == "Unhandled"
        crashed = json.loads(crash["Payload"].read())
        assert crashed["errorType"] == "ConnectionError"
        assert crashed["stackTrace"] and all("frw_handlers.py" in f for f in crashed["stackTrace"])
        assert json.loads(missing["Payload"].read())["errorType"] == "ModuleNotFoundError"
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.invoke(FunctionName="not-a-local-function", Payload=b"{}")


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll predicate until it holds or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_stopping_the_stack_ends_waiting_executions(
    handlers: ModuleType, template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORMRELAY_TIME_SCALE", "0.5")  # honoured when no time_scale is given
    stack = LocalStack(template, stack_name="frw2").start()
    try:
        assert stack.runtime("AttemptFunction").spec.environment["FORMRELAY_TIME_SCALE"] == "0.5"
        start(stack, "RetryStateMachine", {"id": "forever", "waits": []}, first_in=3600)
        start(stack, "CrashStateMachine", {"id": "crash-forever", "waits": []}, first_in=0)
        wait_until(lambda: len(calls_for(handlers, "crash-forever")) == 1)  # in a Retry sleep
        running = asl_timing.running_executions()
        assert len(running) == 2
    finally:
        began = time.monotonic()
        stack.stop()
    assert time.monotonic() - began < 5.0
    wait_until(lambda: not any(e.exec_worker and e.exec_worker.env.is_running() for e in running))
    assert os.environ["FORMRELAY_TIME_SCALE"] == "0.5"  # the environment is restored
