"""`formrelay dev --build-dir`: the functions run from a host build (`make build-host`),
each container a process whose path holds only the build and the runtime's boto3."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import running_stack
from tests.support.builds import BUILD_TIMEOUT_SECONDS, build_once

# A fresh clone's first build also makes .venv-sam (aws-sam-cli): a minute or two.
pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_SECONDS)

CONTACT = {"email": "ada@example.com", "name": "Ada", "message": "Hello from the build"}
# What the functions a delivered submission passes through log when a container starts.
STARTED = re.compile(r"(\w+Function) container \d+: \S+ from (\S+), formrelay from (\S+)")


def test_a_submission_is_delivered_by_the_built_functions(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Given the stack running the functions from a host build
    build = build_once("build-host", tmp_path_factory)
    with running_stack(tmp_path_factory.mktemp("state"), "--build-dir", str(build)) as stack:
        # When a client submits the contact form
        accepted = stack.client().submit("contact", CONTACT)
        assert accepted.status_code == 202, accepted.text
        submission_id = accepted.json()["submission_id"]

        # Then the receiver gets it, and the status says delivered
        def delivered() -> dict[str, Any] | None:
            for request in stack.sink_received():
                if json.loads(request["body"]).get("submission_id") == submission_id:
                    return request
            return None

        request = stack.wait_for(delivered, what="the delivery at the receiver")
        assert json.loads(request["body"])["data"] == CONTACT

        def status() -> dict[str, Any]:
            answer = stack.client().status(submission_id)
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        stack.wait_for(lambda: status()["status"] == "delivered", what="status delivered")
        log = stack.log_path.read_text(encoding="utf-8", errors="replace")

    # And every function on the way ran its handler and the library from the build
    started = {name: (handler, library) for name, handler, library in STARTED.findall(log)}
    on_the_way = {"AuthorizerFunction", "IngestFunction", "DispatcherFunction"}
    on_the_way |= {"ConnectorFunction", "StatusViewFunction", "QueryFunction"}
    assert on_the_way <= set(started), log[-3000:]
    for name, (handler, library) in started.items():
        assert Path(handler).is_relative_to(build / name), (name, handler)
        assert Path(library).is_relative_to(build / "FormrelayLayer" / "python"), (name, library)
