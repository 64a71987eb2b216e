"""`formrelay tenants|keys ...` on moto: what an operator types, what they see.

Given the template's tables in moto and VIEWS_TABLE/TENANT_SECRET_PREFIX set as
on an operator's shell, each test drives `formrelay.cli.main.main` and reads stdout
(data, secrets once) and stderr (messages, errors: never a traceback).
"""

from __future__ import annotations

import io
import json
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from formrelay.auth.keys import KeyDirectory
from formrelay.auth.nonces import NonceStore
from formrelay.cli.keys import Target, resolve_target
from formrelay.cli.main import main
from formrelay.settings import ConfigurationError
from tests.support.at_once import at_once
from tests.support.authorizer import authorized_tenant
from tests.support.template_aws import TemplateAws, template_aws

PREFIX = "formrelay/tenants/"


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        yield provisioned


@pytest.fixture
def shell(aws: TemplateAws, monkeypatch: pytest.MonkeyPatch) -> TemplateAws:
    """An operator's shell pointed at the tables."""
    monkeypatch.setenv("VIEWS_TABLE", aws.views_table)
    monkeypatch.setenv("TENANT_SECRET_PREFIX", PREFIX)
    return aws


@pytest.fixture
def tenant(shell: TemplateAws, capsys: pytest.CaptureFixture[str]) -> str:
    """A tenant of this test's own, created through the command line."""
    tenant_id = f"t-{secrets.token_hex(4)}"
    assert main(["tenants", "create", tenant_id]) == 0
    capsys.readouterr()
    return tenant_id


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)  # exactly one object: anything else fails here
    return document


def directory(aws: TemplateAws) -> KeyDirectory:
    """A key directory with an empty secret cache (a fresh authorizer container)."""
    return KeyDirectory(
        aws.views_table, PREFIX, dynamodb=aws.dynamodb, secretsmanager=aws.secretsmanager
    )


def verifying(aws: TemplateAws, tenant_id: str, key_id: str) -> list[str]:
    return directory(aws).secrets_for(tenant_id, key_id)


def test_tenants_create_with_limits_then_change_them(
    shell: TemplateAws, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_id = f"t-{secrets.token_hex(4)}"
    create = ["tenants", "create", tenant_id, "--display-name", "Acme Corp"]

    created = run_json(capsys, *create, "--rate", "5", "--burst", "10")

    assert created == {
        "tenant_id": tenant_id,
        "name": "Acme Corp",
        "rate_per_second": 5.0,
        "burst": 10,
    }
    assert run_json(capsys, *create, "--rate", "5", "--burst", "10") == created  # a retry
    code, out, err = run(capsys, *create)
    assert (code, out) == (1, "") and "exists already" in err
    limited = run_json(
        capsys, "tenants", "limits", "--tenant", tenant_id, "--rate", "0.5", "--burst", "2"
    )
    assert (limited["rate_per_second"], limited["burst"]) == (0.5, 2)
    assert run_json(capsys, "tenants", "show", "--tenant", tenant_id) == limited


def test_keys_create_prints_one_object_with_the_secret_once(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "keys", "create", "--tenant", tenant, "--scopes", "submit, read", "--json"
    )

    assert code == 0
    created = json.loads(out)
    assert {"key_id", "secret", "tenant_id", "scopes"} <= set(created)
    assert created["tenant_id"] == tenant and created["key_id"].startswith(f"{tenant}.")
    assert created["scopes"] == ["read", "submit"]
    assert out.count(created["secret"]) == 1 and created["secret"] not in err
    assert verifying(shell, tenant, created["key_id"]) == [created["secret"]]


def test_keys_create_without_json_shows_the_secret_on_stdout_only(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "keys", "create", "--tenant", tenant, "--scopes", "read")

    assert code == 0
    secret = out.split("secret")[1].strip()
    assert secret.startswith("frsk_") and out.count(secret) == 1
    assert "not shown again" in err and secret not in err


def test_keys_create_with_a_ttl_makes_a_key_that_ends_by_itself(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When an operator makes a key that lives for an hour
    before = time.time()
    created = run_json(
        capsys, "keys", "create", "--tenant", tenant, "--scopes", "read", "--ttl", "1h"
    )

    # Then its expiry is an hour away, in what create and list print
    expires = datetime.fromisoformat(created["expires_at"]).timestamp()
    assert before + 3600 - 1 <= expires <= time.time() + 3600
    [listed] = run_json(capsys, "keys", "list", "--tenant", tenant)["keys"]
    assert listed["expires_at"] == created["expires_at"]
    code, table, _ = run(capsys, "keys", "list", "--tenant", tenant)
    assert code == 0 and "EXPIRES" in table and created["expires_at"] in table
    # and a key without one never expires
    lasting = run_json(capsys, "keys", "create", "--tenant", tenant, "--scopes", "read")
    assert lasting["expires_at"] is None


@pytest.mark.parametrize("ttl", ["0", "0s", "soon", "-5m"])
def test_a_ttl_that_is_no_time_to_live_is_bad_input(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str], ttl: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["keys", "create", "--tenant", tenant, "--scopes", "read", f"--ttl={ttl}"])

    assert exited.value.code == 2
    assert "--ttl" in capsys.readouterr().err


def test_keys_list_shows_limits_and_rotation_never_secrets(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    limited = run_json(
        capsys,
        "keys",
        "create",
        "--tenant",
        tenant,
        "--scopes",
        "admin",
        "--rate",
        "2",
        "--burst",
        "4",
    )
    plain = run_json(capsys, "keys", "create", "--tenant", tenant, "--scopes", "read")
    run_json(capsys, "keys", "rotate", "--tenant", tenant, "--key-id", plain["key_id"])

    listed = run_json(capsys, "keys", "list", "--tenant", tenant)
    code, table, _ = run(capsys, "keys", "list", "--tenant", tenant)

    by_id = {key["key_id"]: key for key in listed["keys"]}
    assert listed["tenant_id"] == tenant
    assert by_id[limited["key_id"]]["rate_per_second"] == 2.0
    assert by_id[limited["key_id"]]["burst"] == 4
    assert by_id[limited["key_id"]]["rotation_pending"] is False
    assert by_id[plain["key_id"]]["rotation_pending"] is True
    assert "frsk_" not in json.dumps(listed) and "frsk_" not in table
    assert code == 0 and "pending" in table and "2/s burst 4" in table


def test_rotation_start_then_finish(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = run_json(capsys, "keys", "create", "--tenant", tenant, "--scopes", "read")
    target = ["--tenant", tenant, "--key-id", key["key_id"]]

    started = run_json(capsys, "keys", "rotate", *target)

    assert started["state"] == "pending" and started["scopes"] == ["read"]
    assert (started["key_id"], started["tenant_id"]) == (key["key_id"], tenant)
    assert verifying(shell, tenant, key["key_id"]) == [key["secret"], started["secret"]]
    code, _, err = run(capsys, "keys", "rotate", *target)
    assert code == 1 and "pending already" in err

    finished = run_json(capsys, "keys", "rotate", *target, "--finish")

    assert finished["state"] == "current" and "secret" not in finished
    assert verifying(shell, tenant, key["key_id"]) == [started["secret"]]
    code, _, err = run(capsys, "keys", "rotate", *target, "--finish")
    assert code == 1 and "no rotation pending" in err


def test_revoke_then_revoking_an_unknown_key_is_an_error(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = run_json(capsys, "keys", "create", "--tenant", tenant, "--scopes", "read")

    revoked = run_json(capsys, "keys", "revoke", "--tenant", tenant, "--key-id", key["key_id"])

    assert revoked["state"] == "revoked"
    assert verifying(shell, tenant, key["key_id"]) == []
    code, out, err = run(
        capsys, "keys", "revoke", "--tenant", tenant, "--key-id", f"{tenant}.0000000000000000"
    )
    assert (code, out) == (1, "") and "has no key" in err


def test_another_tenants_key_is_unknown(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = run_json(capsys, "keys", "create", "--tenant", tenant, "--scopes", "read")
    other = f"{tenant}-b"
    run_json(capsys, "tenants", "create", other)

    for action in (["revoke"], ["rotate"], ["rotate", "--finish"]):
        code, _, err = run(capsys, "keys", *action, "--tenant", other, "--key-id", key["key_id"])
        assert code == 1 and "has no key" in err
    assert verifying(shell, tenant, key["key_id"]) == [key["secret"]]


class ThreadStreams(io.TextIOBase):
    """A stdout or stderr that keeps what each thread writes apart (one operator each)."""

    def __init__(self) -> None:
        self._written: dict[int, list[str]] = {}

    def write(self, text: str) -> int:
        self._written.setdefault(threading.get_ident(), []).append(text)
        return len(text)

    def of_this_thread(self) -> str:
        return "".join(self._written.get(threading.get_ident(), []))


def run_at_once(commands: list[list[str]]) -> list[dict[str, Any]]:
    """Operators typing their commands at the same moment; each one's --json answer."""
    out, err = ThreadStreams(), ThreadStreams()

    def type_command(argv: list[str]) -> dict[str, Any]:
        code = main([*argv, "--json"])
        assert code == 0 and "Traceback" not in err.of_this_thread(), err.of_this_thread()
        answer: dict[str, Any] = json.loads(out.of_this_thread())  # exactly one object
        return answer

    with pytest.MonkeyPatch.context() as streams:
        streams.setattr(sys, "stdout", out)
        streams.setattr(sys, "stderr", err)
        return at_once([lambda argv=argv: type_command(argv) for argv in commands])


def test_eight_operators_creating_keys_for_one_tenant_at_once_make_eight_working_keys(
    shell: TemplateAws, tenant: str
) -> None:
    create = ["keys", "create", "--tenant", tenant, "--scopes", "read"]

    created = run_at_once([create] * 8)

    assert len({key["key_id"] for key in created}) == 8
    nonces = NonceStore(shell.views_table, shell.dynamodb)
    for key in created:
        assert verifying(shell, tenant, key["key_id"]) == [key["secret"]]
        assert authorized_tenant(directory(shell), nonces, key["key_id"], key["secret"]) == tenant


def test_operators_rotating_and_revoking_keys_of_one_tenant_at_once_lose_nothing(
    shell: TemplateAws, tenant: str
) -> None:
    create = ["keys", "create", "--tenant", tenant, "--scopes", "read"]
    made = [directory(shell).create(tenant, frozenset({"read"})) for _ in range(6)]
    keys = [{"key_id": key.key_id, "secret": secret} for key, secret in made]
    target = [["--tenant", tenant, "--key-id", key["key_id"]] for key in keys]

    # When three rotations start, two keys are revoked and one more is made, at once
    answers = run_at_once(
        [
            ["keys", "rotate", *target[0]],
            ["keys", "rotate", *target[1]],
            ["keys", "rotate", *target[2]],
            ["keys", "revoke", *target[3]],
            ["keys", "revoke", *target[4]],
            create,
        ],
    )

    # Then every change holds
    for i in range(3):
        assert verifying(shell, tenant, keys[i]["key_id"]) == [
            keys[i]["secret"],
            answers[i]["secret"],
        ]
    assert [verifying(shell, tenant, keys[i]["key_id"]) for i in (3, 4)] == [[], []]
    for key in (keys[5], answers[5]):
        assert verifying(shell, tenant, key["key_id"]) == [key["secret"]]

    # When one rotation finishes, one is cancelled and one key is revoked mid-rotation, at once
    run_at_once(
        [
            ["keys", "rotate", *target[0], "--finish"],
            ["keys", "rotate", *target[1], "--cancel"],
            ["keys", "revoke", *target[2]],
        ],
    )

    # Then those hold, and the untouched keys still verify
    assert verifying(shell, tenant, keys[0]["key_id"]) == [answers[0]["secret"]]
    assert verifying(shell, tenant, keys[1]["key_id"]) == [keys[1]["secret"]]
    assert verifying(shell, tenant, keys[2]["key_id"]) == []
    for key in (keys[5], answers[5]):
        assert verifying(shell, tenant, key["key_id"]) == [key["secret"]]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["keys", "create", "--tenant", "nobody-here", "--scopes", "read"], 1, "no tenant"),
        (["keys", "list", "--tenant", "nobody-here"], 1, "no tenant"),
        (["keys", "create", "--tenant", "{t}", "--scopes", "read,root"], 2, "scopes"),
        (["keys", "create", "--tenant", "{t}", "--scopes", "read", "--rate", "1"], 2, "burst"),
        (["tenants", "create", "Not_A_Tenant"], 2, "tenant id"),
        (["tenants", "limits", "--tenant", "nobody-here", "--rate", "1", "--burst", "1"], 1, "no"),
        (["tenants", "limits", "--tenant", "{t}", "--rate", "0", "--burst", "1"], 2, "rate"),
    ],
)
def test_refusals_are_one_line_on_stderr(
    tenant: str, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    answer, out, err = run(capsys, *[arg.format(t=tenant) for arg in argv])

    assert (answer, out) == (code, "")
    assert message in err and len(err.strip().splitlines()) == 1


def test_without_a_table_anywhere_it_says_where_to_look(
    aws: TemplateAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "keys", "list", "--tenant", "acme", "--state-dir", str(tmp_path))

    assert (code, out) == (2, "")
    assert "VIEWS_TABLE" in err and "formrelay dev --demo" in err


def test_the_target_comes_from_flags_then_env_then_the_local_state_file(tmp_path: Path) -> None:
    env = {"VIEWS_TABLE": "env-views", "TENANT_SECRET_PREFIX": "env/"}
    (tmp_path / "demo.json").write_text(
        json.dumps(
            {
                "views_table": "formrelay-ViewsTable",
                "tenant_secret_prefix": "formrelay/tenants/",
                "aws_endpoint": "http://127.0.0.1:5123",
            }
        )
    )

    assert resolve_target("flag-views", "flag/", tmp_path, env) == Target(
        "flag-views", "flag/", None, local=False
    )
    assert resolve_target(None, None, tmp_path, env) == Target(
        "env-views", "env/", None, local=False
    )
    assert resolve_target(None, None, tmp_path, {}) == Target(
        "formrelay-ViewsTable", "formrelay/tenants/", "http://127.0.0.1:5123", local=True
    )
    local_elsewhere = resolve_target(None, None, tmp_path, {"AWS_ENDPOINT_URL": "http://x:1"})
    assert local_elsewhere.endpoint_url is None and local_elsewhere.local
    (tmp_path / "demo.json").write_text("{}")
    with pytest.raises(ConfigurationError, match="restart"):
        resolve_target(None, None, tmp_path, {})
