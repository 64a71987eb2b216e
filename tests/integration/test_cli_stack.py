"""`--stack NAME` on moto: the commands take the endpoint, table and prefix from the stack.

Given two deployments in one moto account (each with its own tables, provisioned
from infra/template.yaml, and a CloudFormation stack whose outputs name them, as
`sam deploy` leaves them), each test drives `formrelay.cli.main.main` the way an
operator types it and checks which deployment the command read or wrote. The API
commands go over real HTTP to a local server standing in for each stack's API.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from formrelay.auth.tenants import TenantDirectory
from formrelay.cli.main import main
from formrelay.cli.operator import Target, resolve_target
from formrelay.cli.stack import MissingStackOutputError, UnknownStackError
from formrelay.local.provision import provision
from formrelay.local.template import DEFAULT_TEMPLATE, load_template
from tests.support.stacks import create_stack, template_outputs
from tests.support.template_aws import TemplateAws, template_aws

STAGING_PREFIX = "staging/tenants/"


class _Api(BaseHTTPRequestHandler):
    """Answers every GET with its server's name and records what it was sent."""

    def do_GET(self) -> None:
        server: ApiStandIn = self.server  # type: ignore[assignment]
        server.seen.append({"path": self.path, "key_id": self.headers.get("X-Fr-Key-Id")})
        body = json.dumps({"answered_by": server.name}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


class ApiStandIn(ThreadingHTTPServer):
    """A deployment's API endpoint, on localhost."""

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), _Api)
        self.name = name
        self.seen: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@dataclass(frozen=True)
class Deployments:
    """Two stacks in one account: `formrelay` (prod) and `staging`, each with its API."""

    prod: TemplateAws
    staging_views_table: str
    prod_api: ApiStandIn
    staging_api: ApiStandIn


@pytest.fixture(scope="module")
def deployments() -> Iterator[Deployments]:
    apis = [ApiStandIn("formrelay"), ApiStandIn("staging")]
    threads = [threading.Thread(target=api.serve_forever, daemon=True) for api in apis]
    for thread in threads:
        thread.start()
    with template_aws("formrelay") as prod:
        staging = provision(load_template(DEFAULT_TEMPLATE), "staging")
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        create_stack(
            cloudformation,
            "formrelay",
            template_outputs(prod.resources, ApiEndpoint=apis[0].url),
        )
        create_stack(
            cloudformation,
            "staging",
            template_outputs(staging, ApiEndpoint=apis[1].url, TenantSecretPrefix=STAGING_PREFIX),
        )
        create_stack(cloudformation, "not-formrelay", {"SomethingElse": "x"})
        yield Deployments(prod, staging["ViewsTable"]["Ref"], apis[0], apis[1])
    for api in apis:
        api.shutdown()
        api.server_close()


@pytest.fixture
def shell(deployments: Deployments, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An operator's shell with AWS credentials and nothing formrelay-specific set,
    in a directory without a local stack's state file."""
    for name in ("FORMRELAY_STACK", "FORMRELAY_ENDPOINT", "FORMRELAY_KEY_ID", "FORMRELAY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def tenants(deployments: Deployments, views_table: str) -> TenantDirectory:
    return TenantDirectory(views_table, deployments.prod.dynamodb)


def secret_names(deployments: Deployments) -> list[str]:
    listed = deployments.prod.secretsmanager.list_secrets()["SecretList"]
    return [secret["Name"] for secret in listed]


def test_tenants_and_keys_land_in_the_named_stacks_table_and_secrets(
    deployments: Deployments, shell: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = f"t-{secrets.token_hex(4)}"

    code, _, err = run(capsys, "tenants", "create", tenant, "--stack", "staging")
    assert code == 0, err
    code, out, err = run(
        capsys, "keys", "create", "--tenant", tenant, "--scopes", "submit", "--stack", "staging"
    )

    assert code == 0, err
    assert out.count("frsk_") == 1
    assert tenants(deployments, deployments.staging_views_table).get(tenant) is not None
    assert tenants(deployments, deployments.prod.views_table).get(tenant) is None
    assert f"{STAGING_PREFIX}{tenant}" in secret_names(deployments)
    assert f"formrelay/tenants/{tenant}" not in secret_names(deployments)
    # The other stack has no such tenant
    code, out, err = run(capsys, "keys", "list", "--tenant", tenant, "--stack", "formrelay")
    assert (code, out) == (1, "") and "no tenant" in err


def test_formrelay_stack_names_the_stack_and_the_flag_beats_it(
    deployments: Deployments,
    shell: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = f"t-{secrets.token_hex(4)}"
    monkeypatch.setenv("FORMRELAY_STACK", "staging")

    assert run(capsys, "tenants", "create", tenant)[0] == 0
    assert run(capsys, "tenants", "show", "--tenant", tenant)[0] == 0
    code, _, err = run(capsys, "tenants", "show", "--tenant", tenant, "--stack", "formrelay")

    assert code == 1 and "no tenant" in err
    assert tenants(deployments, deployments.staging_views_table).get(tenant) is not None


def test_flags_beat_the_stack_which_beats_the_environment_and_the_state_file(
    deployments: Deployments, shell: Path
) -> None:
    env = {"VIEWS_TABLE": "env-views", "TENANT_SECRET_PREFIX": "env/"}
    (shell / "demo.json").write_text(
        json.dumps({"views_table": "local-views", "aws_endpoint": "http://127.0.0.1:1"})
    )
    staging = deployments.staging_views_table

    assert resolve_target(None, None, shell, env, stack="staging") == Target(
        staging, STAGING_PREFIX, None, local=False
    )
    assert resolve_target(None, None, shell, {**env, "FORMRELAY_STACK": "staging"}) == Target(
        staging, STAGING_PREFIX, None, local=False
    )
    assert resolve_target("flag-views", None, shell, env, stack="staging") == Target(
        "flag-views", STAGING_PREFIX, None, local=False
    )
    # --stack beats FORMRELAY_STACK
    named_twice = resolve_target(None, None, shell, {"FORMRELAY_STACK": "nope"}, stack="formrelay")
    assert named_twice.views_table == deployments.prod.views_table
    # Both flags given: the stack is not even read (a stack that does not exist goes unnoticed)
    assert resolve_target("flag-views", "flag/", shell, env, stack="nope") == Target(
        "flag-views", "flag/", None, local=False
    )


def test_a_stack_that_does_not_exist_or_is_not_formrelays_is_bad_input(
    deployments: Deployments, shell: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UnknownStackError):
        resolve_target(None, None, shell, {}, stack="nope")
    with pytest.raises(MissingStackOutputError):
        resolve_target(None, None, shell, {}, stack="not-formrelay")

    for argv in (
        ["tenants", "show", "--tenant", "acme"],
        ["forms", "put", "contact", "--schema", "x.json"],
        ["status", "0190d6a0-0000-7000-8000-000000000000", "--key-id", "k", "--secret", "s"],
    ):
        code, out, err = run(capsys, *argv, "--stack", "nope")
        assert (code, out) == (2, ""), err
        assert "no stack nope in us-east-1" in err and len(err.strip().splitlines()) == 1
        code, out, err = run(capsys, *argv, "--stack", "not-formrelay")
        assert (code, out) == (2, ""), err
        assert "stack not-formrelay (CREATE_COMPLETE) has no output" in err


def test_api_commands_go_to_the_named_stacks_endpoint(
    deployments: Deployments,
    shell: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submission = "0190d6a0-0000-7000-8000-000000000001"
    monkeypatch.setenv("FORMRELAY_KEY_ID", "acme.0123456789abcdef")
    monkeypatch.setenv("FORMRELAY_SECRET", "frsk_test")
    # A leftover endpoint in the environment is not read while a stack is named
    monkeypatch.setenv("FORMRELAY_ENDPOINT", deployments.prod_api.url)

    code, out, err = run(capsys, "status", submission, "--stack", "staging")

    assert code == 0, err
    assert json.loads(out) == {"answered_by": "staging"}
    assert deployments.staging_api.seen[-1] == {
        "path": f"/v1/submissions/{submission}",
        "key_id": "acme.0123456789abcdef",
    }
    assert json.loads(run(capsys, "status", submission, "--stack", "formrelay")[1]) == {
        "answered_by": "formrelay"
    }
    # --endpoint beats the stack
    code, out, _ = run(
        capsys, "status", submission, "--stack", "staging", "--endpoint", deployments.prod_api.url
    )
    assert json.loads(out) == {"answered_by": "formrelay"}


def test_with_a_stack_the_key_must_be_given_the_local_demo_key_is_not_used(
    deployments: Deployments, shell: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = {"endpoint": deployments.prod_api.url, "key_id": "demo.0123456789abcdef", "secret": "s"}
    (shell / ".formrelay").mkdir()
    (shell / ".formrelay" / "demo.json").write_text(json.dumps(demo))
    seen = len(deployments.staging_api.seen)

    code, out, err = run(capsys, "status", "sub-1", "--stack", "staging")

    assert (code, out) == (2, "")
    assert "missing key_id, secret" in err and "FORMRELAY_KEY_ID" in err
    assert len(deployments.staging_api.seen) == seen


def test_aws_unreachable_is_exit_3(
    deployments: Deployments,
    shell: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    for argv in (
        ["tenants", "show", "--tenant", "acme"],
        ["status", "sub-1", "--key-id", "k", "--secret", "s"],
    ):
        code, out, err = run(capsys, *argv, "--stack", "staging")
        assert (code, out) == (3, ""), err
        assert "could not reach AWS" in err


def test_a_shell_without_an_aws_region_is_told_what_to_set(
    deployments: Deployments,
    shell: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(shell / "no-config"))

    for argv in (
        ["tenants", "show", "--tenant", "acme"],
        ["status", "sub-1", "--key-id", "k", "--secret", "s"],
    ):
        code, out, err = run(capsys, *argv, "--stack", "staging")
        assert (code, out) == (2, ""), err
        assert "AWS_DEFAULT_REGION" in err and len(err.strip().splitlines()) == 1
