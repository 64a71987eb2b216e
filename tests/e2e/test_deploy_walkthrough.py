"""The README's Deploying walk-through, command by command, as written there.

Given the local stack and, in its emulated AWS, a CloudFormation stack named
`formrelay` whose outputs are the template's resolved on the local stack (with its
API as `ApiEndpoint`), as `sam deploy` would leave them, when an operator's shell
(AWS credentials and region, nothing formrelay-specific) runs every `formrelay`
command of the walk-through in order, then each one works and the submission is
delivered. The commands and the schema file are read from README.md, so the
walk-through cannot drift from what works: only the placeholders are filled in
(the key printed by `keys create`, the id printed by `submit`, and a receiver URL
the local stack can reach instead of hooks.example.com).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import REPO, RunningStack, running_stack
from tests.support.stacks import create_stack, template_outputs

README_URL = "https://hooks.example.com/formrelay"
FAILURE_QUEUES = ("StatusViewFailureQueue", "DispatcherFailureQueue", "PublisherFailureQueue")


def walkthrough() -> tuple[str, list[str]]:
    """The walk-through's schema file and its shell lines, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Walk-through", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, flags=re.DOTALL)
    (schema,) = [body for language, body in blocks if language == "json"]
    lines = [
        line.strip()
        for language, body in blocks
        if language == "sh"
        for line in body.splitlines()
        if line.strip()
    ]
    return schema, lines


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A local stack of this module's own, described by a `formrelay` CloudFormation stack."""
    with running_stack(tmp_path_factory.mktemp("walkthrough-state")) as stack:
        endpoint = stack.demo["aws_endpoint"]
        sqs = stack.aws.client("sqs", endpoint_url=endpoint)
        dlq = sqs.get_queue_url(QueueName="formrelay-DeliveryDLQ")["QueueUrl"]
        cursor_key = stack.aws.client("secretsmanager", endpoint_url=endpoint).describe_secret(
            SecretId="formrelay-ListingCursorKey"
        )

        def queue(logical_id: str) -> dict[str, str]:
            url = sqs.get_queue_url(QueueName=f"formrelay-{logical_id}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            return {"Ref": url, "Arn": arn["Attributes"]["QueueArn"]}

        resources = {
            **{q: queue(q) for q in FAILURE_QUEUES},
            "EventsTable": {"Ref": stack.demo["events_table"]},
            "ViewsTable": {"Ref": stack.demo["views_table"]},
            "DeliveryQueue": {
                "Ref": sqs.get_queue_url(QueueName="formrelay-DeliveryQueue")["QueueUrl"]
            },
            "DeliveryDLQ": {
                "Ref": dlq,
                "Arn": sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
                    "Attributes"
                ]["QueueArn"],
            },
            "ListingCursorKey": {"Ref": cursor_key["ARN"]},
            "AnchorsBucket": {"Ref": stack.demo["anchors_bucket"]},
            "FormrelayBus": {"Ref": stack.demo["event_bus"]},
        }
        create_stack(
            stack.aws.client("cloudformation", endpoint_url=endpoint),
            "formrelay",
            template_outputs(resources, ApiEndpoint=stack.endpoint),
        )
        yield stack


def operator_shell(stack: RunningStack) -> dict[str, str]:
    """AWS credentials and region (the emulated AWS's); no FORMRELAY_* and no table names."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FORMRELAY_", "AWS_"))
        and name not in ("VIEWS_TABLE", "TENANT_SECRET_PREFIX")
    }
    return {
        **env,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": stack.demo["aws_endpoint"],
    }


def sh(line: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one `formrelay ...` line of the walk-through, split as a shell splits it."""
    argv = shlex.split(line)
    assert argv[0] == "formrelay", line
    argv[0] = str(Path(sys.executable).parent / "formrelay")
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def key_printed(out: str) -> dict[str, str]:
    """`keys create`'s readable answer: `key_id  ...` and `secret  ...` lines."""
    fields = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    return {"FORMRELAY_KEY_ID": fields["key_id"], "FORMRELAY_SECRET": fields["secret"]}


def test_the_readme_walkthrough_runs_as_written_and_delivers(
    deployed: RunningStack, tmp_path: Path
) -> None:
    schema, lines = walkthrough()
    (tmp_path / "contact.schema.json").write_text(schema)
    env = operator_shell(deployed)
    receiver = deployed.sink_url.rstrip("/") + "/hooks/acme"
    answers: dict[str, Any] = {}
    last_status: str | None = None

    for line in lines:
        if line.startswith("export "):
            assert line == "export FORMRELAY_KEY_ID=<key_id> FORMRELAY_SECRET=<secret>"
            env.update(answers["keys create"])
            continue
        command = line.replace(README_URL, receiver)
        if "<submission_id>" in command:
            command = command.replace("<submission_id>", answers["submit"]["submission_id"])
        done = sh(command, env, tmp_path)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        if line.startswith("formrelay keys create"):
            answers["keys create"] = key_printed(done.stdout)
        elif line.startswith("formrelay submit"):
            answers["submit"] = json.loads(done.stdout)
        elif line.startswith("formrelay status"):
            last_status = command

    submission_id = answers["submit"]["submission_id"]
    assert answers["submit"]["status"] == "received"
    assert last_status is not None  # the walk-through ends reading the status

    def delivered() -> dict[str, Any] | None:
        status = json.loads(sh(last_status, env, tmp_path).stdout)
        states = [d["state"] for d in status.get("destinations", {}).values()]
        return status if states == ["delivered"] else None

    status = deployed.wait_for(delivered, what="the walk-through's submission delivered")
    assert status["submission_id"] == submission_id
    bodies = [json.loads(request["body"]) for request in deployed.sink_received()]
    (delivery,) = [body for body in bodies if body.get("submission_id") == submission_id]
    assert delivery["data"] == {"email": "ada@example.com", "name": "Ada"}
