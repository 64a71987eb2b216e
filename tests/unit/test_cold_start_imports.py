"""The hot entry points start cold without what only a rare path needs: the authorizer
(every request) loads neither schema validation, the HTTP client, Powertools Parameters
nor the connector; ingest loads no jsonschema (only a failing document needs it), HTTP
client, Parameters or connector. Each case is a fresh interpreter, as a cold start is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NEVER_AT_IMPORT = {
    "handlers.authorizer": (
        "boto3",  # its first client loads it: the import stays light
        "jsonschema",
        "fastjsonschema",
        "httpx",
        "aws_lambda_powertools.utilities.parameters",
        "formrelay.delivery.connector",
    ),
    "handlers.ingest": (
        "jsonschema",
        "httpx",
        "aws_lambda_powertools.utilities.parameters",
        "formrelay.delivery.connector",
    ),
}


@pytest.mark.parametrize("entry_point", sorted(NEVER_AT_IMPORT))
def test_a_cold_entry_point_does_not_import_what_its_path_does_not_use(entry_point: str) -> None:
    forbidden = NEVER_AT_IMPORT[entry_point]
    probe = (
        f"import json, sys, {entry_point}; "
        f"print(json.dumps([m for m in {list(forbidden)!r} if m in sys.modules]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "LAMBDA_"))}
    env.update(POWERTOOLS_SERVICE_NAME="formrelay", AWS_DEFAULT_REGION="us-east-1")
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env, cwd=REPO
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
