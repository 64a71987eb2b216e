"""Tracing costs nothing when it is off: no function imports the X-Ray SDK until an
invocation finds tracing on; on, each invocation is a segment annotated with its
correlation id. Each case runs in a fresh interpreter, as a cold start does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from formrelay.local.template import DEFAULT_TEMPLATE, load_template, resources_of_type
from formrelay.telemetry.tracing import tracing_enabled

REPO = Path(__file__).resolve().parents[2]
ENTRY_POINTS = sorted(
    f"{package}.{path.stem}"
    for package in ("handlers", "projections")
    for path in (REPO / package).glob("*.py")
    if path.stem != "__init__"
)
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _run(probe: str, **environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "LAMBDA_"))}
    env.update({"POWERTOOLS_SERVICE_NAME": "formrelay", **environment})
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env, cwd=REPO
    )
    return result.stdout.strip().splitlines()[-1]


def test_the_entry_points_probed_are_every_function_of_the_template() -> None:
    functions = resources_of_type(load_template(DEFAULT_TEMPLATE), "AWS::Serverless::Function")
    handlers = {f["Properties"]["Handler"].rsplit(".", 1)[0] for f in functions.values()}
    assert handlers == set(ENTRY_POINTS)


@pytest.mark.parametrize(
    "environment",
    [
        {"POWERTOOLS_TRACE_DISABLED": "true", "LAMBDA_TASK_ROOT": "/var/task"},
        {},  # not on Lambda (the tests, the local stack)
    ],
    ids=["disabled-on-lambda", "off-lambda"],
)
def test_no_entry_point_imports_the_xray_sdk_while_tracing_is_off(
    environment: dict[str, str],
) -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {ENTRY_POINTS!r}:\n"
        "    importlib.import_module(name)\n"
        "from formrelay.telemetry.tracing import annotate, traced\n"
        "annotate('corr-1')\n"
        "print(traced(lambda event, context: 'answered')({}, None),"
        " sorted(m for m in sys.modules if m.startswith('aws_xray_sdk')))\n"
    )
    assert _run(probe, **environment) == "answered []"


def test_on_lambda_the_first_invocation_traces_with_the_correlation_id() -> None:
    # The SDK's emitter is replaced by one that keeps what it would have sent to the daemon.
    probe = (
        "import json, sys\n"
        "from formrelay.telemetry.tracing import annotate, traced\n"
        "@traced\n"
        "def handler(event, context):\n"
        "    annotate(event['correlation_id'])\n"
        "    return 'answered'\n"
        "before = 'aws_xray_sdk' in sys.modules\n"
        "from aws_xray_sdk.core import xray_recorder\n"
        "sent = []\n"
        "class Keep:\n"
        "    def send_entity(self, entity): sent.append(entity.to_dict())\n"
        "    def set_daemon_address(self, address): pass\n"
        "xray_recorder.configure(emitter=Keep())\n"
        "answer = handler({'correlation_id': 'corr-42'}, None)\n"
        "print(json.dumps([before, answer, [s.get('annotations', {}) for s in sent]]))\n"
    )
    before, answer, annotations = json.loads(
        _run(probe, LAMBDA_TASK_ROOT="/var/task", _X_AMZN_TRACE_ID=TRACE_HEADER)
    )
    assert before is False
    assert answer == "answered"
    assert any(a.get("correlation_id") == "corr-42" for a in annotations), annotations


@pytest.mark.parametrize(
    ("environment", "enabled"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({}, False),
    ],
)
def test_tracing_is_on_only_on_lambda_and_not_disabled(
    environment: dict[str, str], enabled: bool
) -> None:
    assert tracing_enabled(environment) is enabled
