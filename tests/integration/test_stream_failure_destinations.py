"""The real template's stream mappings, locally: a status view that always fails parks
each record it gives up on, as Lambda's on-failure record, on StatusViewFailureQueue."""

from __future__ import annotations

import importlib
import json
import shutil
import textwrap
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

from formrelay.local.dev import LocalStack
from formrelay.local.template import DEFAULT_TEMPLATE

BROKEN = '''
"""A status view that raises on every batch, and says which records it was given."""
SEEN = []


def handler(event, context):
    SEEN.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
    raise RuntimeError("the status view is broken")
'''


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """Given a handler module that always raises."""
    directory = tmp_path_factory.mktemp("broken")
    (directory / "frs_broken_view.py").write_text(textwrap.dedent(BROKEN))
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(directory))
        yield importlib.import_module("frs_broken_view")


@pytest.fixture(scope="module")
def stack(broken: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Given the real template with StatusViewFunction's handler swapped for the broken one."""
    infra = tmp_path_factory.mktemp("infra") / "infra"
    shutil.copytree(DEFAULT_TEMPLATE.parent, infra)
    text = (infra / "template.yaml").read_text()
    assert text.count("Handler: projections.status_view.handler") == 1
    swapped = text.replace(
        "Handler: projections.status_view.handler", "Handler: frs_broken_view.handler"
    )
    (infra / "template.yaml").write_text(swapped)
    with LocalStack(infra / "template.yaml", stack_name="frs") as running:
        yield running


def test_a_status_view_that_always_fails_parks_the_record_on_its_failure_queue(
    stack: LocalStack, broken: ModuleType
) -> None:
    boto3.client("dynamodb").put_item(
        TableName="frs-EventsTable",
        Item={"pk": {"S": "T#t1#S#s1"}, "sk": {"S": "V#0000000001"}, "type": {"S": "x.y"}},
    )
    sqs = boto3.client("sqs")
    queue_url = stack.resources["StatusViewFailureQueue"]["Ref"]
    parked: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while not parked and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        parked += [json.loads(m["Body"]) for m in messages]
    assert parked, "nothing reached StatusViewFailureQueue"
    ((sequence,),) = broken.SEEN[:1]
    (record,) = parked
    info = record["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (sequence, sequence)
    assert info["streamArn"] == stack.resources["EventsTable"]["StreamArn"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 11  # 1 + MaximumRetryAttempts
    assert record["requestContext"]["functionArn"].endswith(":function:frs-StatusViewFunction")
    assert len(broken.SEEN) == broken.SEEN.count([sequence]) == 11  # alone every time
    dispatcher_queue = stack.resources["DispatcherFailureQueue"]["Ref"]
    assert "Messages" not in sqs.receive_message(QueueUrl=dispatcher_queue)  # its filter
