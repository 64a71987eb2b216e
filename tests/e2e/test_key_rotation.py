"""Zero-downtime key rotation over HTTP, with the operator's real command line.

Given a local stack whose functions cache secrets for 1 s, an operator makes a
read key with `formrelay keys create`, rotates it, finishes, then revokes it,
while a client signs listing requests with the old and the new secret; then two
keys made one right after the other both work at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import REPO, RunningStack, running_stack

CACHE_SECONDS = 1
PAST_THE_CACHE = CACHE_SECONDS + 0.5


def operator(stack: RunningStack, state_dir: Path, *argv: str) -> dict[str, Any]:
    """Run `formrelay <argv> --json` as an operator would; its one JSON object."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": stack.demo["aws_endpoint"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name in ("VIEWS_TABLE", "TENANT_SECRET_PREFIX", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    formrelay = Path(sys.executable).parent / "formrelay"
    command = [str(formrelay), *argv, "--state-dir", str(state_dir), "--json"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def listing_status(stack: RunningStack, key_id: str, secret: str) -> int:
    """The status of one signed GET /v1/submissions (a read-scoped route)."""
    response = stack.client(key_id, secret).request(
        "GET", "/v1/submissions", query={"status": "received"}
    )
    return response.status_code


def test_a_key_rotates_with_no_refused_request_and_stops_at_once_when_revoked(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path, "--secret-cache-seconds", str(CACHE_SECONDS)) as stack:
        created = operator(
            stack, tmp_path, "keys", "create", "--tenant", "demo", "--scopes", "read"
        )
        key_id, old = created["key_id"], created["secret"]
        target = ["--tenant", "demo", "--key-id", key_id]
        assert listing_status(stack, key_id, old) == 200

        # When the operator starts a rotation, both secrets verify
        started = operator(stack, tmp_path, "keys", "rotate", *target)
        assert started["state"] == "pending"
        new = started["secret"]
        assert listing_status(stack, key_id, old) == 200  # never a gap for the old one
        time.sleep(PAST_THE_CACHE)
        assert listing_status(stack, key_id, old) == 200
        assert listing_status(stack, key_id, new) == 200

        # When it finishes, the old secret stops once the cache expires
        operator(stack, tmp_path, "keys", "rotate", *target, "--finish")
        assert listing_status(stack, key_id, new) == 200
        time.sleep(PAST_THE_CACHE)
        assert listing_status(stack, key_id, old) == 403
        assert listing_status(stack, key_id, new) == 200

        # When it revokes the key, the very next request is refused
        revoked = operator(stack, tmp_path, "keys", "revoke", *target)
        assert revoked["state"] == "revoked"
        assert listing_status(stack, key_id, new) == 403
        assert listing_status(stack, stack.demo["key_id"], stack.demo["secret"]) == 200

        # When two keys are made and each used right away, within one cache lifetime
        # (the demo key's request has just cached the tenant's secrets, and they are
        # fetched anew for the first new key), the second works at once as well
        keys = stack.services().keys
        assert listing_status(stack, stack.demo["key_id"], stack.demo["secret"]) == 200
        for _ in range(2):
            made, secret = keys.create("demo", frozenset({"read"}))
            assert listing_status(stack, made.key_id, secret) == 200
