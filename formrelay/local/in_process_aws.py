"""The emulated AWS as this process reaches it: moto's backends, without its HTTP server.

moto's in-process mock, started with `reset=False` beside the running
ThreadedMotoServer, answers from the very backends the server serves (moto keeps
one set per process), so a write either way is seen at once the other way. Here
the functions, the pollers and the provisioning run in-process and reach moto
through that mock: a botocore hook answers each call in the calling thread, with
no socket, no HTTP parsing and no server thread per request (bench/local_throughput.py
measures the PutItem rate either way). Everything outside the process (the AWS
CLI, `formrelay` from another shell, the `--build-dir` containers, a test's
client given the endpoint) keeps the HTTP endpoint.

What makes moto's calls atomic (`dynamodb_atomicity`, `secretsmanager_atomicity`)
locks the backends' methods, so it holds for both ways in alike.

The mock answers only calls to AWS's own endpoints: while it runs, the process's
environment names no AWS_ENDPOINT_URL, so boto3 clients built without an explicit
endpoint (as every function's are) go to it; a client given the endpoint still
goes over HTTP (and no client uses account-based endpoints, which the mock does not
know). Its credentials stay the emulator's (no mocked ones), and boto3's
default session is kept (code may hold clients of it).
"""

from __future__ import annotations

import os

from moto import mock_aws
from moto.core.config import DefaultConfig
from moto.core.models import MockAWS

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
# botocore sends a call naming an ARN (DescribeStream's StreamArn) to an endpoint of the
# ARN's account, `<account>.streams-ddb.<region>.amazonaws.com`, which moto's mock does
# not recognise ("Not yet implemented"): the regional endpoints it does.
ACCOUNT_ENDPOINTS_VARIABLE = "AWS_ACCOUNT_ID_ENDPOINT_MODE"

_CONFIG: DefaultConfig = {
    "core": {
        "mock_credentials": False,
        "reset_boto3_session": False,
        "passthrough": {"urls": [], "services": []},
        "service_whitelist": None,
    },
    # The server's own config (formrelay.local.emulator): the mock patches moto's config
    # with this while it runs, so it must say the same.
    "stepfunctions": {"execute_state_machine": True},
}


class InProcessAws:
    """moto's in-process mock over the running server's backends, for this process's clients."""

    def __init__(self) -> None:
        self._mock: MockAWS | None = None

    @property
    def active(self) -> bool:
        """True between start() and stop()."""
        return self._mock is not None

    def start(self) -> None:
        """Answer this process's AWS calls from moto's backends; keep the backends' data."""
        if self._mock is not None:
            return
        mock = mock_aws(config=_CONFIG)
        mock.start(reset=False)
        self._mock = mock
        os.environ.pop(ENDPOINT_VARIABLE, None)
        os.environ[ACCOUNT_ENDPOINTS_VARIABLE] = "disabled"

    def stop(self) -> None:
        """Stop answering in-process (the backends keep their data: the caller resets them)."""
        if self._mock is not None:
            self._mock.stop(remove_data=False)
            self._mock = None
